/* The whole model: embedding -> L decoder blocks (MLA + dense SwiGLU or MoE for DeepSeek-V3;
 * grouped-query attention + dense SwiGLU for qwen2 and llama) -> final RMSNorm -> lm_head, plus
 * the Multi-Token Prediction modules, the losses, forward and backward. MODEL.md describes the
 * architecture as implemented, every tensor, and the choices made.
 *
 * Dimension legend: see model/config.h (B T D H Dn Dr Dqk Dv Rq Rkv E K F V L M).
 * N = B·T rows; rows are laid out sequence-major: row b·T + t is token t of sequence b.
 *
 * Typical training step:
 *     Model m;  model_init(&m, &cfg);  param_init(&m.table, &m.cfg, m.params, seed);   (or load)
 *     ModelActs a;  model_acts_init(&a, &m, max_B, max_T);      once: sized from the maxima
 *     real *grads = xcalloc(m.table.total, sizeof(real));       laid out by m.table
 *     ModelOptions opt = {.mtp_lambda = 0.3, .seq_aux_alpha = 0};
 *     ModelLosses l = model_forward(&m, &a, tokens, targets, B, T, &opt);
 *     model_backward(&m, &a, grads, NULL);                      grads += d(total)/dθ
 *     ... optimizer step over m.table ...
 *     model_bias_update(&m, a_counts_summed_over_microbatches, gamma);   (aux-loss-free balancing)
 *
 * tokens [B, T] are input ids; targets [B, T] are the ids to predict at each position (usually
 * tokens shifted left by one), -1 = no loss at that position. The main loss is the mean
 * cross-entropy over the N_valid positions with a target. MTP module k (1..M) at position i reads
 * the embedding of tokens[b, i+k] and predicts targets[b, i+k] (i.e. token i+k+1 when targets are
 * shifted tokens); its loss sum is divided by the same N_valid (the paper's 1/T), and
 * mtp_loss = (mtp_lambda / M) Σ_k L^k. The aux loss is the complementary sequence-wise balance
 * loss summed over every MoE layer (MTP blocks included), averaged over the sequences, weight
 * seq_aux_alpha (0 = off). total = loss + mtp_loss + aux_loss.
 *
 * Nothing is allocated during forward/backward: activations live in ModelActs (carved once),
 * scratch comes from its arena. Threads: OpenMP loops and OpenBLAS follow threads_set().
 * Reductions are in a fixed order: same inputs and thread count, same bits.
 */
#ifndef R1_MODEL_MODEL_H
#define R1_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "kernels/linear.h"
#include "kernels/real.h"
#include "kernels/rope.h"
#include "model/block.h"
#include "model/config.h"
#include "model/mtp.h"
#include "model/params.h"

typedef struct Model {
    ModelConfig cfg;
    ParamTable table;
    real *params;       /* [table.total], owned, 64-byte aligned; zero after model_init */
    ModelView w;        /* typed views into params */
    RopeTable rope;     /* cos/sin for positions < max_position_embeddings */
    LinearPacks *packs; /* inference only: weights kept in their stored precision (model_lowp.h),
                         * whose views in params hold zeros; NULL: every weight is in params */
    size_t params_mapped;   /* params is a lazily zeroed mapping of this many bytes, else 0 */
} Model;

/* cfg must be validated (config_load does it). Parameters are zero: fill them with param_init,
 * a checkpoint loader, or any writer into m->params laid out by m->table. */
void model_init(Model *m, const ModelConfig *cfg);
/* model_init with params in lazily zeroed memory (base/bigmem.h): the pages of tensors never
 * written take no memory. */
void model_init_lazy(Model *m, const ModelConfig *cfg);
void model_free(Model *m);

/* The precision of the model's big products in forward and backward (the Linear layers' x·Wᵀ,
 * dX = dY·W and dW += dYᵀ·X, lm_head's included): MAT_F32 (the default) or MAT_BF16 (mixed
 * precision: bf16 operands, fp32 sums; the weights, norms, softmax, router and losses stay fp32). */
void model_set_precision(Model *m, MatPrec prec);

typedef struct ModelOptions {
    double mtp_lambda;      /* λ of the MTP loss; 0 = MTP modules are not run at all */
    double seq_aux_alpha;   /* α of the sequence-wise balance loss; 0 = off */
    int freeze_routing;     /* tests only: reuse the expert selection saved by the previous forward
                             * of the same shape (finite differences with routing held fixed) */
    int head_grad_in_forward;   /* training, when model_backward(row_weight = NULL) follows: each
                                 * head's cross-entropy writes its logits gradient in place while
                                 * the rows are in cache (cross_entropy_forward_grad), and backward
                                 * skips that pass. The logits buffers then hold gradients. */
} ModelOptions;

typedef struct ModelLosses {
    double loss;            /* mean main cross-entropy over the N_valid targets (0 if none) */
    double mtp_loss;        /* (λ/M) Σ_k L^k */
    double aux_loss;        /* Σ over MoE layers of mean over sequences of α Σ_i f_i P_i */
    double total;           /* loss + mtp_loss + aux_loss */
    int n_valid;            /* positions with a target */
} ModelLosses;

/* Everything forward saves for backward, sized once for B <= max_B, T <= max_T. */
typedef struct ModelActs {
    int max_B, max_T;
    int B, T, N;                /* shape of the last forward */
    ModelOptions opt;           /* options of the last forward */
    int n_valid;
    const int *tokens;          /* [B, T] of the last forward (caller's memory, must stay valid
                                 * until backward returns) */
    int *targets;               /* [N] copy of the targets */
    int *pos;                   /* [max_B·max_T] position of each row: row % T */
    real *h;                    /* [(L+1), N, D] h[0] = embeddings, h[l+1] = block l output */
    BlockActs *blk;             /* [L] */
    real *hf;                   /* [N, D] final-normed hidden state (lm_head input, MTP h⁰) */
    real *rstd_f;               /* [N] */
    real *logits;               /* [N, V] main logits; overwritten by their gradient in backward */
    real *lse;                  /* [N] log-sum-exp of each logits row */
    real *ce;                   /* [N] −log p(target) per position (0 where target < 0) */
    MtpActs *mtp;               /* [M] */
    int *expert_counts;         /* [(L+M), E] (token, expert) assignments of the last forward,
                                 * rows of dense layers and of MTP modules not run are 0 */
    ModelLosses losses;
    Arena arena;                /* scratch for forward/backward; reset after each call */
    /* gradient view cache: rebuilt when backward is handed a different grads buffer */
    real *grad_base;
    ModelView gw;
    size_t bytes;               /* activation bytes (excluding the arena) */
    void *mem;                  /* owned */
} ModelActs;

void model_acts_init(ModelActs *a, const Model *m, int max_B, int max_T);
void model_acts_free(ModelActs *a);

/* Forward pass over tokens [B, T] (B <= max_B, T <= max_T, T <= max_position_embeddings).
 * targets [B, T] may be NULL (loss and mtp_loss are 0; the balance loss, which needs no targets,
 * is still computed when α > 0). Afterwards a->logits [B·T, V] hold the main logits, a->ce the
 * per-position −log p(target), a->expert_counts the loads. */
ModelLosses model_forward(const Model *m, ModelActs *a, const int *tokens, const int *targets,
                          int B, int T, const ModelOptions *opt);

/* Backward of the last forward: grads [table.total] += dJ/dθ (e_score_correction_bias gets
 * none), with J = Σ_i w_i·ce_i + mtp_loss + aux_loss, where w_i = row_weight[i] when
 * row_weight [B·T] is given and 1/N_valid otherwise (then J = total). For a policy gradient on
 * log-probs, J = Σ_i c_i·logp_i, pass row_weight[i] = −c_i. Overwrites a->logits. */
void model_backward(const Model *m, ModelActs *a, real *grads, const real *row_weight);

/* Per-position log-probabilities of targets, cheaply (MTP and aux skipped): logp [B·T] = −ce,
 * 0 where targets < 0. Leaves the activations ready for a model_backward of the same pass
 * (with mtp/aux off). */
void model_target_logprobs(const Model *m, ModelActs *a, const int *tokens, const int *targets,
                           int B, int T, real *logp);

/* Expert loads of layer l (0..L+M-1) in the last forward: [E] counts, NULL for a dense layer. */
const int *model_expert_counts(const ModelActs *a, const ModelConfig *cfg, int layer);

/* acc [(L+M), E] += the expert counts of the last forward (sum over a step's micro-batches). */
void model_expert_counts_add(const ModelActs *a, const ModelConfig *cfg, int64_t *acc);

/* Auxiliary-loss-free balancing, called after the optimizer step: for every MoE layer l with a
 * correction bias, b_i += γ·sign(mean_j c_j − c_i), with counts [(L+M), E] (e.g. expert_counts
 * summed over the micro-batches of the step). */
void model_bias_update(Model *m, const int64_t *counts, double gamma);

/* Model FLOPs of one forward+backward at (B, T) (multiply-adds ×2, backward = 2× forward),
 * for throughput reports; counts the routed experts actually computed (K per token). */
double model_train_flops(const ModelConfig *cfg, int B, int T, int with_mtp);

#endif
