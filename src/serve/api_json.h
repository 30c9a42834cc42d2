/* The JSON bodies of the OpenAI-compatible API: error objects, chat completions, stream chunks,
 * the model list. Every body is one line of valid UTF-8 (json_print_line); callers free.
 *
 * Errors: {"error": {"message", "type", "param", "code"}} with the HTTP status beside it. */
#ifndef R1_SERVE_API_JSON_H
#define R1_SERVE_API_JSON_H

#include <stdint.h>

typedef struct ApiError {
    int status;             /* HTTP status */
    const char *type;       /* "invalid_request_error", "rate_limit_error", "server_error" */
    const char *code;       /* e.g. "invalid_value", "context_length_exceeded", or NULL */
    const char *param;      /* the request field at fault, or NULL */
    char message[320];
} ApiError;

/* Fills e and returns -1 (for `return api_error(...)`). */
int api_error(ApiError *e, int status, const char *type, const char *code, const char *param,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
char *api_error_json(const ApiError *e);

/* What a finished completion reports. */
typedef struct ApiUsage {
    int prompt_tokens, completion_tokens, reasoning_tokens;
} ApiUsage;

/* A chat.completion object. finish_reason: "stop" or "length". */
char *api_completion_json(const char *id, int64_t created, const char *model, const char *reasoning,
                          const char *content, const char *finish_reason, const ApiUsage *u);

/* One chat.completion.chunk. role (first chunk), reasoning, content: NULL when absent;
 * finish_reason NULL until the last; usage: NULL, or the usage-only chunk (no choices). */
char *api_chunk_json(const char *id, int64_t created, const char *model, const char *role,
                     const char *reasoning, const char *content, const char *finish_reason,
                     const ApiUsage *usage);

/* {"object": "list", "data": [{"id": model, "object": "model", ...}]} */
char *api_models_json(const char *model, int64_t created);

#endif
