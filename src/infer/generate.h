/* Batched generation with continuous batching over the MLA latent KV cache.
 *
 * Requests (token prompts) wait in order; up to n_slots run at once, each in its own cache slot.
 * Every step builds one batch of rows: first one decode row per running sequence (its last
 * sampled token), then prompt rows of sequences still in prefill, in chunks (at most
 * prefill_chunk prompt rows per step in total). One engine_forward runs them all (MoE layers
 * group the step's rows by expert); the rows that end a prompt or decode a token get logits and
 * sample their next token. A sequence that stops (a stop id such as EOS, a stop string, max new
 * tokens, or a full context) frees its slot at once and the next waiting prompt takes it.
 *
 * Sampling: request r samples with the stream (seed, prompt_index, sample_index) (sampler.h),
 * one draw per token, so its text does not depend on which requests share its batch, on the
 * slot it lands in, or on the thread count — up to floating-point differences in the logits
 * themselves: a step of more than LINEAR_MAX_ROWS rows runs its Linear products as one matmul
 * rather than the packed few-row kernel (kernels/linear.h), and MLA's absorbed attention and the
 * MoE router multiply all of a step's rows in one product whose kernel depends on the row count,
 * so a request's logits may differ in the last bits between batches (tests hold the tokens equal
 * and log-probs to rounding; a near-tie can still flip a token, likelier where a routing choice
 * flips, and with bf16 products). The same requests, options and seed give the same bits at any
 * thread count.
 *
 * Outputs: the generated ids (prompt excluded; a stop id that ended the sequence is included,
 * as a policy must learn to emit it), and on request the log-probability of each under the
 * unmodified distribution at temperature T (sampler.h), which GRPO uses.
 *
 * Context: the context is max_len tokens (prompt + generated). A longer prompt is an error
 * naming the request, or with truncate_left keeps its last max(1, max_len − max_new_tokens)
 * tokens. Generation ends with GEN_LENGTH when the context is full.
 *
 * Shared prompts (share_prompts, on by default): requests whose prompts are the same token
 * sequence (GRPO's G samples of a prompt, `r1 generate -n`) prefill it once. The first such request
 * feeds the prompt; the others wait without rows and, in the step that ends its prefill, copy its
 * prompt's cache rows into their own slots and sample their first token from the same
 * last-position logits, each with its own stream. A request whose prompt a running sequence's
 * cache already holds copies all but its last token's rows and feeds only that one (session.h).
 * A cache row depends on the tokens up to it alone, so a copied row is the row the request would
 * have computed, up to the rounding of the steps it is computed in (Sampling above): sharing
 * changes which rows each step holds, so against sharing off the bits may differ as between two
 * batches (tests/test_prompt_share.c).
 *
 * The engine runs step by step in a generation session (session.h), which sequences may join
 * and leave while it runs; generate() drives one over a fixed list of requests.
 *
 * Speculative decoding (speculative = 1, greedy only, the model needs an MTP module): each step
 * the MTP module drafts one token past the next, the main model verifies both in one forward;
 * accepted drafts give two tokens per forward. Output is that of plain greedy decoding.
 */
#ifndef R1_INFER_GENERATE_H
#define R1_INFER_GENERATE_H

#include <stdint.h>

#include "base/error.h"
#include "infer/decode.h"
#include "infer/sampler.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

typedef struct GenRequest {
    const int *prompt;      /* [n_prompt] ids (the caller's memory) */
    int n_prompt;
    uint64_t prompt_index;  /* sampling stream key */
    uint64_t sample_index;
} GenRequest;

typedef enum GenFinish {
    GEN_RUNNING = 0, GEN_EOS, GEN_STOP_STRING, GEN_MAX_TOKENS, GEN_LENGTH,
    GEN_CANCELLED           /* ended by its caller (session.h) */
} GenFinish;
const char *gen_finish_name(GenFinish f);   /* "eos", "stop", "max_tokens", "length", "cancelled" */

typedef struct GenOutput {
    int *tokens;            /* [n] generated ids, owned (gen_outputs_free) */
    float *logprobs;        /* [n] when want_logprobs, else NULL */
    int n;
    int n_prompt;           /* prompt tokens used (after left truncation) */
    GenFinish finish;
    int stop_at;            /* GEN_STOP_STRING: byte offset of the stop string in the decoded
                             * generated text, else -1 */
} GenOutput;

/* Called for every generated token as soon as it is sampled (streaming); request index. */
typedef void (*GenTokenFn)(void *ctx, int request, int token);

typedef struct GenOptions {
    SamplerParams sampler;
    uint64_t seed;
    int max_new_tokens;     /* > 0 */
    int n_slots;            /* concurrent sequences (> 0) */
    int prefill_chunk;      /* prompt rows per step (> 0) */
    int max_len;            /* context per sequence; 0 = max_position_embeddings */
    int truncate_left;
    int stop_id;            /* generation ends at this id (the EOS), kept in the output; -1: none */
    const char *const *stop_strings;
    int n_stop_strings;
    const Tokenizer *tok;   /* needed for stop strings (token bytes), else may be NULL */
    int want_logprobs;
    GenTokenFn on_token;
    void *on_token_ctx;
    AttnMode attn;          /* ATTN_ABSORBED (default) or ATTN_NAIVE (reference; f32 weights only) */
    KnFormat weight_format; /* the engine's packed copies of f32 weights: KN_F32 (default) or
                             * KN_BF16_DOT (bf16 products: rollouts); see decode.h */
    int speculative;        /* MTP draft + verify; requires temperature 0 */
    int vocab_limit;        /* > 0: only ids below it are sampled — the tokenizer's size, when the
                             * model's vocab_size is rounded up with rows that are no token */
    int share_prompts;      /* 1 (gen_options): requests with the same prompt prefill it once
                             * (above); off with speculative decoding, whose MTP cache is not shared */
} GenOptions;

/* The one constructor of generation options: sampler sp, seed, at most max_new_tokens new
 * tokens; with a tokenizer (may be NULL), generation stops at its EOS (stop_id) and samples only
 * ids it has (vocab_limit). The rest: 64 slots, prefill chunk 256, the absorbed attention, the
 * whole context, no stop strings, shared prompts. */
GenOptions gen_options(SamplerParams sp, uint64_t seed, int max_new_tokens, const Tokenizer *tok);

typedef struct GenStats {
    int64_t prefill_tokens, decode_tokens;  /* prompt (and forced) rows fed; tokens sampled */
    int64_t shared_prompt_tokens;           /* prompt rows copied from another sequence's cache
                                             * (share_prompts) instead of being fed */
    int64_t steps;                          /* engine forwards */
    double prefill_seconds;                 /* steps that fed prompt rows */
    double decode_seconds;                  /* steps of decode rows only */
    int64_t decode_step_tokens;             /* tokens generated in decode-only steps */
    int64_t drafted, accepted;              /* speculative drafts and accepted drafts */
    size_t cache_bytes;                     /* the engine's KV cache */
} GenStats;

/* Generates for n requests; out [n] is filled (free with gen_outputs_free). stats may be NULL.
 * Errors (-1): invalid options (naming the flag), an empty prompt, a prompt longer than the
 * context without truncate_left, out-of-vocabulary ids, speculative without MTP or with T > 0. */
int generate(const Model *m, const GenRequest *reqs, int n, const GenOptions *o, GenOutput *out,
             GenStats *stats, Err *e);
void gen_outputs_free(GenOutput *out, int n);

#endif
