/* A chat completion request: the JSON body of POST /v1/chat/completions, checked, with the
 * server's defaults for what it leaves out.
 *
 * Fields read (OpenAI's names; the rest are ignored): messages (system, developer = system, user,
 * assistant, tool; content a string, null, or an array of {"type": "text", "text"} parts),
 * temperature [0, 2], top_p (0, 1], max_completion_tokens or max_tokens (>= 1), stop (a string or
 * up to 4), seed (an integer, |seed| <= 2^53), stream, stream_options.include_usage, n (1 only),
 * presence_penalty [-2, 2]; vLLM's top_k, min_p, repetition_penalty and ignore_eos; and thinking_budget
 * (>= 0): the most tokens the model may think before the server closes its thinking.
 * Refused with 400: frequency_penalty other than 0, logprobs true, tools (not supported here).
 * Every error names the field (ApiError.param) and says what is wrong. */
#ifndef R1_SERVE_REQUEST_H
#define R1_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "infer/sampler.h"
#include "serve/api_json.h"
#include "tokenizer/chat.h"

#define SERVE_MAX_STOP 4
#define SERVE_MAX_STOP_BYTES 256
#define SERVE_MAX_MESSAGES 4096

/* The server's settings for fields a request leaves out. */
typedef struct ServeDefaults {
    SamplerParams sampler;
    int max_tokens;             /* 0: until the context is full */
    int thinking_budget;        /* -1: none */
} ServeDefaults;

typedef struct ServeRequest {
    ChatMessage *msgs;          /* [n_msgs], pointing into owned strings */
    int n_msgs;
    SamplerParams sampler;
    int has_seed;
    uint64_t seed;
    int max_tokens;             /* 0: until the context is full */
    char *stop[SERVE_MAX_STOP];
    int n_stop;
    int stream, include_usage;
    int thinking_budget;        /* -1: none */
    int ignore_eos;             /* vLLM's: generate past EOS (benchmarks, tests) */
    char **owned;               /* [n_owned] */
    int n_owned;
} ServeRequest;

/* Parses body[0..n). On error (-1) e holds a 400 and r is left empty (nothing to free). */
int serve_request_parse(const char *body, size_t n, const ServeDefaults *d, ServeRequest *r, ApiError *e);
void serve_request_free(ServeRequest *r);

#endif
