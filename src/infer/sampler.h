/* Token sampling from one row of logits: greedy, temperature, top-k, top-p, min-p, repetition
 * and presence penalties, with the log-probability of the chosen token.
 *
 * Order of operations on logits z [V] (the order vLLM and Hugging Face use):
 *   1. repetition penalty r (CTRL / HF): for every token present in the context (prompt and
 *      generated so far): z = z / r if z > 0 else z · r;
 *   2. presence penalty a (OpenAI / vLLM): z -= a for every token present in the *generated*
 *      tokens (not the prompt);
 *   3. temperature T = 0: greedy, argmax of the penalised z (ties: the lowest id);
 *      otherwise p = softmax(z / T), then the filters, each on the survivors of the previous:
 *      min-p m keeps p >= m · max p; top-k keeps the k most probable; top-p keeps the smallest
 *      set of most probable tokens whose mass reaches top_p (ties by id, lower first);
 *   4. one uniform u from the sequence's stream (rng.h, RNG_SAMPLE keyed by (seed, prompt index,
 *      sample index)) picks among the survivors in (probability desc, id asc) order in
 *      proportion to their renormalised probabilities. Exactly one draw per sampled token, so a
 *      sequence's text depends only on its key and its logits — not on the batch it ran in, nor
 *      on the thread count.
 *
 * The log-probability returned ("logprob") is that of the chosen token under the *unmodified*
 * model distribution at temperature T: log softmax(z_raw / T)[token], with the raw logits (no
 * penalties, no top-k/top-p/min-p truncation), and T = 1 when greedy. That is the quantity
 * GRPO's policy ratio and KL use (TRL computes its per-token log-probs from logits / T the same
 * way), so rollout log-probs match the trainer's recomputation up to rounding.
 */
#ifndef R1_INFER_SAMPLER_H
#define R1_INFER_SAMPLER_H

#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/options.h"

typedef struct SamplerParams {
    double temperature;         /* >= 0; 0 = greedy */
    int top_k;                  /* >= 0; 0 = off */
    double top_p;               /* (0, 1]; 1 = off */
    double min_p;               /* [0, 1]; 0 = off */
    double repetition_penalty;  /* > 0; 1 = off */
    double presence_penalty;    /* any finite value; 0 = off */
} SamplerParams;

/* temperature 1, everything else off. */
SamplerParams sampler_defaults(void);

/* The sampler's option table (io/options.h): the names the commands' flags share. */
extern const OptSet SAMPLER_OPTIONS;

/* One-line error naming the option through the table, e.g. "--top-p: must be in (0, 1], got 1.5". */
int sampler_validate(const SamplerParams *p, Err *e);

/* Scratch for one sampling call at a time (one per thread), sized for vocabulary V. */
typedef struct SamplerScratch {
    int V;
    float *z;           /* [V] penalised logits */
    double *p;          /* [V] probabilities */
    int *idx;           /* [V] candidate ids */
    unsigned char *seen;/* [V] 0 none, 1 in prompt, 2 generated */
} SamplerScratch;

void sampler_scratch_init(SamplerScratch *s, int V);
void sampler_scratch_free(SamplerScratch *s);

/* Chooses a token from logits [V]. ctx [n_ctx] is the sequence so far: its first n_prompt ids
 * are the prompt, the rest were generated (penalties read it; may be NULL when n_ctx = 0).
 * rng is the sequence's stream (unused when greedy). *logprob (if not NULL) gets the
 * log-probability defined above. */
int sampler_sample(const SamplerParams *p, const float *logits, int V, const int *ctx, int n_ctx,
                   int n_prompt, Rng *rng, SamplerScratch *s, double *logprob);

/* log softmax(z / T)[token] in double (T <= 0 means 1). */
double sampler_logprob(const float *logits, int V, int token, double temperature);

/* The stream of (seed, prompt index, sample index). */
static inline Rng sampler_rng(uint64_t seed, uint64_t prompt_index, uint64_t sample_index) {
    return rng_make(seed, RNG_SAMPLE, prompt_index, sample_index);
}

#endif
