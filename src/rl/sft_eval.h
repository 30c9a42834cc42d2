/* Held-out task accuracy during SFT (train/sft.h's accuracy hook): greedy completions of the
 * held-out prompts, each scored against its reference completion. It lives here because it
 * generates (infer/) and verifies answers (rl/verify.h), both above the trainer. */
#ifndef R1_RL_SFT_EVAL_H
#define R1_RL_SFT_EVAL_H

#include <stddef.h>

#include "train/sft.h"

/* score(completion, reference completion) in [0, 1]. */
typedef double (*SftScoreFn)(void *ctx, const char *completion, size_t n, const char *reference, size_t ref_n);

typedef struct SftScorer {
    SftScoreFn score;       /* NULL: 1 when the answers verify equal (rl/verify.h), else 0 */
    void *ctx;
} SftScorer;

/* An SftAccuracyFn: ctx is an SftScorer * (NULL: the verifier). Greedy decoding, stopping at EOS. */
double sft_greedy_accuracy(void *ctx, const Model *m, Tokenizer *tok, const SftSet *val, int n, int max_new);

#endif
