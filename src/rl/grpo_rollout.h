/* GRPO's rollout batch (internal to rl/grpo.c): completions generated for groups of prompts,
 * scored by the rewards, kept or dropped by dynamic sampling, summarised for metrics, and the
 * held-out evaluation, which samples the same way. */
#ifndef R1_RL_GRPO_ROLLOUT_H
#define R1_RL_GRPO_ROLLOUT_H

#include "base/strbuf.h"
#include "model/model.h"
#include "rl/grpo.h"
#include "tokenizer/tokenizer.h"
#include "train/run.h"

/* What rollouts need of a run. */
typedef struct GrpoPolicy {
    const GrpoOptions *o;
    const Model *m;
    Tokenizer *tok;
    int eos;
    int max_prompt;         /* longest prompt in tokens this run accepts */
} GrpoPolicy;

/* The rollout batch: sequence i of group g is i = g·G + j. */
typedef struct Rollout {
    int n;                  /* sequences (groups × G) */
    int cap;
    int **tokens;           /* [n] prompt + completion ids, owned */
    int *n_prompt, *len;    /* [n] */
    int *finish;            /* [n] GenFinish */
    double *reward;         /* [n] weighted sum */
    double *terms;          /* [n × REWARD_MAX_TERMS] unweighted */
    double *accuracy;       /* [n] */
    double *extra;          /* [n] the caller's reward term (unweighted) */
    double *think;          /* [n] 1: a non-empty chain of thought */
    double *adv;            /* [n] */
} Rollout;

/* Where a batch of completions comes from: the training rollouts, or the held-out evaluation
 * (other prompts, R1's evaluation sampling, accuracy only). */
typedef struct RolloutSpec {
    const PromptSource *src;
    int G;
    double temperature, top_p;
    int top_k;
    uint64_t seed;
    int eval;               /* 1: score accuracy only (no rule-reward set, no extra reward) */
} RolloutSpec;

void rollout_reserve(Rollout *r, int n);
void rollout_clear(Rollout *r);
void rollout_free(Rollout *r);
/* Generates G completions for each of n_groups prompts (indices first_index..), scores them and
 * appends them to r; adds the time and tokens to st. */
int rollout_groups(const GrpoPolicy *p, const RolloutSpec *sp, int64_t step, uint64_t first_index, int n_groups,
                   Rollout *r, GrpoStepStats *st, Err *e);
/* The same for n_groups prompts generated as `batches` continuous batches (batch c: groups
 * [c·n_groups/batches, (c+1)·n_groups/batches)), which the ranks share (run_share); every rank
 * ends with all of them, in order. A group's completions depend on its batch's members alone
 * (the session's numerics see the whole batch), so the batches, not the ranks, fix the bits. */
int rollout_batches(const GrpoPolicy *p, const RolloutSpec *sp, Run *run, int batches, int64_t step,
                    uint64_t first_index, int n_groups, Rollout *r, GrpoStepStats *st, Err *e);
/* Keeps the groups whose rewards differ (dynamic sampling), at most max_groups. Returns the kept. */
int rollout_keep_informative(Rollout *r, int G, int max_groups);
/* Groups whose rewards are all equal. */
int rollout_zero_std_groups(const Rollout *r, int G);
/* Moves the first n_seq sequences of `from` to the end of r (from keeps none). */
void rollout_take(Rollout *r, Rollout *from, int n_seq);
/* The batch's reward, accuracy, length and truncation statistics into st. */
void rollout_stats(const GrpoOptions *o, const Rollout *r, GrpoStepStats *st);
int rollout_is_truncated(int finish);
/* Held-out pass@1 of the current policy into st's eval_* fields (in `batches` batches shared by
 * the ranks), and the metrics line's per-problem fields appended to per_problem:
 * `, "eval_k": K, "eval_correct": [c0, c1, ...]`, problem i's correct samples out of K, the
 * problems in the same order at every evaluation (for a paired comparison of two of them). */
int grpo_heldout_eval(const GrpoPolicy *p, Run *run, int batches, GrpoStepStats *st, StrBuf *per_problem, Err *e);

#endif
