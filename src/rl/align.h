/* Alignment RL (DeepSeek-R1 stage 4, r1-recipe.md §1.3): GRPO over a mix of reasoning prompts,
 * scored by the rule rewards, and general prompts, scored by reward models — helpfulness on the
 * summary after </think>, harmlessness on the whole response — with the reward-model term switched
 * on only for the last part of the run (GrpoOptions.extra_reward_from_step).
 *
 * The prompt mix is written as a JSONL prompt file ({"prompt", "answer"} records, read back by
 * rl_prompts.h's file source): reasoning records carry the task's reference; general records
 * (the "chat" task's requests and the safety requests of tasks/safety.h) carry the reference
 * "general", which no answer matches, so their rule accuracy is a constant 0 within a group and
 * only the reward models move their advantages. The RM callback returns 0 for reasoning records.
 */
#ifndef R1_RL_ALIGN_H
#define R1_RL_ALIGN_H

#include <stdint.h>

#include "base/error.h"
#include "rl/grpo.h"
#include "rl/rewards.h"
#include "rl/reward_model.h"

#define ALIGN_GENERAL_REF "general"

typedef struct AlignMix {
    const char *tasks;      /* reasoning tasks, comma-separated (arith, linear, countdown, ...) */
    int level_lo, level_hi;
    int n;                  /* records in the pool */
    double general_frac;    /* share of general records (half chat requests, half safety) */
    uint64_t seed;
} AlignMix;

/* The mixed prompt pool as JSONL, appended to out. Errors name the task. */
int align_prompts(const AlignMix *mix, StrBuf *out, Err *e);
/* ... written to path. */
int align_write_prompts(const char *path, const AlignMix *mix, Err *e);

typedef struct AlignRm {
    RewardModel *helpful;   /* may be NULL */
    RewardModel *harmless;  /* may be NULL */
    int helpful_full;       /* 1: the helpful RM reads the whole response (default: the summary) */
    int n_calls, n_errors;  /* completions scored; scoring failures (scored 0) */
} AlignRm;

/* GrpoRewardFn: 0 for reasoning prompts; for general ones, helpful(summary) + harmless(whole). */
double align_rm_reward(void *ctx, const RewardInput *in);

/* `r1 align`: GRPO (its task and level name the reasoning mix) plus the reward models. */
typedef struct AlignOptions {
    GrpoOptions grpo;
    const char *rm_helpful;     /* helpfulness RM folder (required) */
    const char *rm_harmless;    /* harmlessness RM folder (NULL: none) */
    int helpful_full;           /* the helpful RM reads the whole response, not the summary */
    double general_frac;        /* share of general prompts in the pool */
    int pool;                   /* prompts in the pool (written to out/align_prompts.jsonl) */
    double rm_weight;           /* weight of the RM term */
    double rm_from_frac;        /* the RM term counts from step floor(frac·steps) on */
} AlignOptions;

extern const OptSet ALIGN_OPTIONS;

AlignOptions align_defaults(void);

typedef struct AlignResult {
    GrpoResult grpo;
    int64_t rm_from_step;
    int n_calls;                /* general completions scored by the RMs */
} AlignResult;

int align_run(const AlignOptions *o, AlignResult *res, Err *e);

#endif
