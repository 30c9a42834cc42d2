/* GRPO: group-relative policy optimisation, the RL of DeepSeek-R1 (and R1-Zero); a trainer on
 * the run engine (train/run.h), which owns the update, the folder, checkpoints and resume.
 *
 * One step (r1-recipe.md §2.8):
 *   1. B prompts (rl_prompts.h: a function of (seed, step)), each rendered and tokenized;
 *   2. G completions per prompt from the batched generation engine (temperature, top-p), one
 *      continuous batch of B·G sequences, each seeded by (seed, prompt index, sample index);
 *   3. rule rewards (rewards.h), weighted; group advantages (grpo_loss.h, --scale-rewards);
 *      with dynamic sampling, groups whose rewards are all equal are dropped and more prompts are
 *      drawn (up to max_refill rounds) until B informative groups are in hand;
 *   4. μ = num_iterations passes over the rollout batch, one optimizer update each: per
 *      micro-batch, the policy's per-token log-probs (model_target_logprobs), the reference's
 *      when β > 0, the loss of the chosen variant and dL/dlogp (grpo_loss), backpropagated as
 *      per-position weights on the cross-entropy (model_backward); then the engine's update
 *      (clipping, AdamW, the MoE bias update with the policy forwards' expert loads). The
 *      old log-probs are those of pass 0, before any update (so pass 0 has ratio exactly 1);
 *   5. every ref_sync_steps steps the reference is reset to the policy (R1: every 400 steps).
 *
 * The policy is π_θ at temperature 1: rollouts sampled at another temperature are treated as
 * samples of π_θ (no importance correction), as TRL and nanochat do.
 *
 * A run lives in one folder: metrics.jsonl (one object per step: every reward's mean and std,
 * accuracy, share of zero-variance groups, completion length mean/max, share truncated, KL,
 * clip fractions, entropy, rollout and training tokens/s; and after the last step a line
 * {"step": N, "final": true, ...} of the held-out evaluation), checkpoints/step-N/, out/ref/step-K/
 * (the reference after a sync) and, at the end, the final model as a Hugging Face folder. A resume
 * continues to the same bits: prompts and sampling streams are functions of (seed, step).
 */
#ifndef R1_RL_GRPO_H
#define R1_RL_GRPO_H

#include <stdint.h>

#include "base/error.h"
#include "rl/grpo_loss.h"
#include "rl/rewards.h"
#include "rl/rl_prompts.h"
#include "io/options.h"
#include "train/run.h"

/* An extra reward term computed by the caller (a reward model's score in alignment RL, or a
 * synthetic reward in tests): added to the rule rewards with its weight. */
typedef double (*GrpoRewardFn)(void *ctx, const RewardInput *in);

typedef struct GrpoOptions {
    /* inputs */
    const char *model_dir;          /* HF folder with config.json, model.safetensors, tokenizer.json */
    const char *task, *level, *lang;    /* the prompts: built-in tasks (level "2" or "1-3"), or */
    const char *data;               /*   a JSONL file of {"prompt","answer"} / GSM8K records */
    PromptSource *prompts;          /* instead: an open source (not owned); NULL: from the above */
    PromptFormat prompt_format;
    RewardSet rewards;
    RewardParams reward_params;
    GrpoRewardFn extra_reward;      /* NULL: rule rewards only */
    void *extra_reward_ctx;
    double extra_reward_weight;
    const char *extra_reward_name;  /* its name in metrics.jsonl */
    int64_t extra_reward_from_step; /* the term counts from this step on (R1 switches its reward
                                     * model on only for the last part of alignment RL) */
    /* rollout */
    int prompts_per_step;           /* B */
    int num_generations;            /* G (>= 2) */
    int generation_batch_size;      /* > 0: B = this / G instead of prompts_per_step (TRL's name) */
    double temperature, top_p;
    int top_k;
    int max_completion_length;
    int max_prompt_length;          /* longer prompts are an error (sizes the training buffers) */
    int dynamic_sampling;           /* drop zero-variance groups and refill */
    int max_refill;                 /* extra rounds of B prompts per step */
    MatPrec rollout_precision;      /* the rollouts' products: f32, or bf16 (the policy packed as bf16
                                     * per batch: bf16 compute, samples of the bf16-rounded policy) */
    /* objective */
    GrpoLossConfig loss;            /* type, epsilon_low/high (high < 0: = low), beta */
    RewardScaling scale_rewards;
    int num_iterations;             /* μ */
    int mask_truncated_completions;
    int64_t ref_sync_steps;         /* 0: never reset the reference */
    int micro_batch;                /* sequences per forward/backward: the leaves of an update's
                                     * gradient (train/run.h), summed in one tree */
    int rollout_batches;            /* continuous batches a step's groups are generated in (each
                                     * prompts_per_step / this groups); the ranks share them */
    /* held-out evaluation during the run (R1-Zero's accuracy curve): before steps 0, N, 2N, ...
     * and after the last, eval_n problems x eval_k samples at T 0.6 / top-p 0.95 */
    PromptSource *eval_prompts;     /* not owned; NULL: the TEST split of `task`, or eval_data */
    const char *eval_data;          /* with `data`: JSONL of held-out prompts */
    int64_t eval_every;             /* 0: off */
    int eval_n, eval_k;
    /* run */
    int64_t steps;
    uint64_t seed;
    OptimOptions optim;             /* the MoE bias update runs in RL as in pretraining (V3 keeps
                                     * the auxiliary-loss-free balancing on for all training) */
    RunOptions run;
    /* a command built on GRPO (align): its name and the options its checkpoints record
     * (NULL: "grpo" and GRPO_OPTIONS of this struct) */
    const char *command;
    const OptSet *command_options;
    const void *command_opts;
} GrpoOptions;

extern const OptTable GRPO_PROMPT_TABLE;    /* task, level, lang, data, prompt format, eval_* */
extern const OptTable GRPO_TABLE;           /* the rest of GRPO's own options */
extern const OptSet GRPO_OPTIONS;

GrpoOptions grpo_defaults(void);

typedef struct GrpoStepStats {
    double reward_mean, reward_std;
    double term_mean[REWARD_MAX_TERMS], term_std[REWARD_MAX_TERMS];
    double extra_mean, extra_std;   /* the caller's reward term, when there is one */
    double accuracy;                /* mean accuracy reward, whether or not it is in the set */
    double frac_zero_std;           /* groups with equal rewards, before dynamic sampling */
    double len_mean, len_max, frac_truncated;
    double think;                   /* share of completions with a non-empty chain of thought */
    int eval_done;                  /* the held-out evaluation ran before this step */
    double eval_accuracy, eval_length, eval_think, eval_seconds;
    double kl, clip_low, clip_high, entropy;
    double loss, grad_norm, lr;
    double rollout_tokens_per_s, train_tokens_per_s;
    double rollout_seconds, score_seconds, logprob_seconds, update_seconds;
    int groups_used, refill_rounds;
} GrpoStepStats;

typedef struct GrpoResult {
    int64_t steps_done;
    GrpoStepStats last;
    int interrupted;
    double seconds;
} GrpoResult;

int grpo_run(const GrpoOptions *o, GrpoResult *res, Err *e);

#endif
