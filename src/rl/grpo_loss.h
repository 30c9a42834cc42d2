/* GRPO's objective and its variants, as functions of per-token log-probabilities.
 *
 * The model turns a rollout batch into per-token log-probs logp = log π_θ(o_t | q, o_<t); this
 * file turns those into a loss and its gradient dL/dlogp, which the model then backpropagates
 * (as a per-position weight on the cross-entropy: CE = −logp). Keeping the RL math here, away
 * from the model, is what lets it be checked formula by formula against a PyTorch reference.
 *
 * Per token (r1-recipe.md §2):
 *   ρ = exp(logp − logp_old)
 *   ℓ = −min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A) + β·k3,   k3 = exp(ref − logp) − (ref − logp) − 1
 * Aggregation over the tokens of a batch (mask = 1 on completion tokens that count):
 *   grpo     (1/N_seq) Σ_i (1/|o_i|) Σ_t ℓ_it          sample-level mean (DeepSeekMath)
 *   bnpo     Σ ℓ / Σ mask over this micro-batch        token-level, local
 *   dapo     Σ ℓ / (mask tokens of the whole generation batch)   token-level, global
 *   dr_grpo  Σ ℓ / (N_seq · max_completion_len)        constant denominator (Dr. GRPO)
 * N_seq counts the sequences of the whole generation batch, so micro-batches add up to the
 * full-batch loss.
 */
#ifndef R1_RL_GRPO_LOSS_H
#define R1_RL_GRPO_LOSS_H

#include "base/error.h"

typedef enum GrpoLossType { GRPO_LOSS_GRPO, GRPO_LOSS_BNPO, GRPO_LOSS_DR_GRPO, GRPO_LOSS_DAPO } GrpoLossType;
typedef enum RewardScaling { SCALE_GROUP, SCALE_BATCH, SCALE_NONE } RewardScaling;

/* The names, indexed by the enums, NULL-terminated. */
extern const char *const GRPO_LOSS_TYPE_NAMES[];
extern const char *const REWARD_SCALING_NAMES[];

/* Parses "grpo|bnpo|dr_grpo|dapo" and "group|batch|none"; the error names the value. */
int grpo_loss_type_parse(const char *s, GrpoLossType *out, Err *e);
int reward_scaling_parse(const char *s, RewardScaling *out, Err *e);

/* Group-relative advantages for n_groups groups of G rewards each (group g = rewards[g*G ..]):
 *   A_i = r_i − mean_group(r), divided by (std + eps) where std is the group's (SCALE_GROUP) or the
 *   whole batch's (SCALE_BATCH) unbiased standard deviation, as TRL; SCALE_NONE (Dr. GRPO) divides by
 *   nothing. Returns the number of groups whose rewards are all equal (zero advantage). */
int grpo_advantages(double *adv, const double *rewards, int n_groups, int G, RewardScaling scaling,
                    double eps);

typedef struct GrpoLossConfig {
    GrpoLossType type;
    double epsilon_low;         /* ε, TRL `epsilon` (0.2) */
    double epsilon_high;        /* TRL `epsilon_high` (= ε unless set; DAPO 0.28) */
    double beta;                /* KL coefficient; 0 = no reference model */
    long n_seq_total;           /* sequences in the whole generation batch (grpo, dr_grpo) */
    long n_tokens_total;        /* masked tokens in the whole generation batch (dapo) */
    int max_completion_len;     /* dr_grpo's constant */
} GrpoLossConfig;

typedef struct GrpoLossStats {
    double loss;                /* this micro-batch's share of the objective */
    double kl_sum;              /* Σ k3 over masked tokens */
    long clip_low, clip_high;   /* tokens whose gradient the clip removed (ρ < 1−ε with A < 0; ρ > 1+ε_high with A > 0) */
    long tokens;                /* masked tokens seen */
} GrpoLossStats;

/* One micro-batch of n_seq sequences; sequence i owns tokens [start[i], start[i+1]).
 *   logp, old_logp [N]; ref_logp [N] (NULL when beta = 0); mask [N] in {0, 1}; adv [n_seq]
 *   dlogp [N] = dL/dlogp (written; 0 where mask = 0). Returns the loss. */
double grpo_loss(const GrpoLossConfig *cfg, int n_seq, const int *start, const float *logp,
                 const float *old_logp, const float *ref_logp, const float *mask, const double *adv,
                 double *dlogp, GrpoLossStats *stats);

#endif
