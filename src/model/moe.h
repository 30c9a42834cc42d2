/* DeepSeekMoE on n rows: router, group-limited top-k selection, routed experts computed one
 * matmul per expert over the rows routed to it, shared experts, the complementary sequence-wise
 * balance loss, and the auxiliary-loss-free bias update (deepseek-v3-architecture.md §6).
 *
 *   x [n, D] (the post_attention_layernorm output)    y [n, D] = Σ_{e∈Sel} g_e·Expert_e(x) + Shared(x)
 *
 * Router, per row: z = x·W_gateᵀ [E]; s = sigmoid(z) (or softmax(z), scoring_func); selection on
 * c = s + e_score_correction_bias (bias only for noaux_tc). Groups (G > 1, not greedy): group
 * score = sum of the top-2 c in the group (noaux_tc) or the group max (group_limited_greedy); the
 * topk_group best groups are kept, the others masked with −inf; Sel = the K largest c. Ties: the
 * lower index wins everywhere. Gate weights from the unbiased s: w_e = s_e (/ Σ_{Sel} s if
 * norm_topk_prob), g_e = routed_scaling_factor·w_e. Gradients flow through g (and the balance
 * loss), never through the selection.
 *
 * Rows are grouped by expert (counting sort, tokens ascending within an expert) so each expert
 * runs one [n_e, D]×[2Im, D]ᵀ matmul; outputs are summed per token in slot order (deterministic).
 *
 * Balance loss (seq_aux): rows are n_seq sequences of seq_len rows. Per sequence,
 *   f_i = E/(K·seq_len)·#{t : i ∈ Sel_t} (constant), P_i = (1/seq_len) Σ_t s_{i,t}/Σ_j s_{j,t},
 *   L = α Σ_i f_i P_i; the layer's aux loss is the mean of L over the sequences.
 */
#ifndef R1_MODEL_MOE_H
#define R1_MODEL_MOE_H

#include <stdint.h>

#include "base/arena.h"
#include "kernels/linear.h"
#include "kernels/real.h"
#include "model/acts.h"
#include "model/config.h"
#include "model/params.h"

typedef struct MoeActs {
    real *scores;       /* [n, E] s: sigmoid (or softmax) affinities */
    int *sel;           /* [n, K] selected experts, in selection order */
    real *gate;         /* [n, K] g = routed_scaling_factor · w */
    int *row_of;        /* [n, K] row of (token, slot) in the expert-grouped buffers */
    int *tok_of;        /* [n·K] token of each grouped row */
    real *gate_g;       /* [n·K] g of each grouped row (swiglu row scale) */
    int *offset;        /* [E + 1] first grouped row of each expert */
    int *count;         /* [E] rows routed to each expert (expert load) */
    real *gu;           /* [n·K, 2Im] grouped expert gate|up pre-activations */
    real *shared_gu;    /* [n, 2·S·Im] */
    real *f;            /* [n_seq, E] balance-loss f_i per sequence (when α > 0) */
    int n, n_seq, seq_len;
    real alpha;
} MoeActs;

/* Carves buffers for up to max_n rows in max_seq sequences (c->base NULL: measure only). */
void moe_acts_carve(MoeActs *a, Carve *c, const ModelConfig *cfg, int max_n, int max_seq);

/* y [n, D] = MoE(x). With frozen != 0 the selection already in a->sel (from an earlier forward
 * over the same rows) is reused instead of recomputed. Returns the layer's balance loss (0 when
 * alpha == 0 or n_seq == 0). n_seq·seq_len must equal n when alpha > 0. lx: how the experts'
 * products run (kernels/linear.h; NULL for training). Work below LINEAR_PAR_MIN multiply-adds
 * (a decode step's few rows) stays on the calling thread; the bits never depend on it. */
double moe_forward(real *y, MoeActs *a, const real *x, const MoeWeights *w, const ModelConfig *cfg,
                   int n, int n_seq, int seq_len, real alpha, int frozen, Arena *scratch,
                   const LinearExec *lx);

/* dx [n, D] = dL/dx for dL/dy = dy (and the balance loss of the forward, weight aux_scale times
 * its α: the caller's dJ/d(aux loss), normally 1); gw += parameter gradients. */
void moe_backward(real *dx, MoeWeights *gw, const real *dy, const MoeActs *a, const real *x,
                  const MoeWeights *w, const ModelConfig *cfg, real aux_scale, Arena *scratch);

/* Router only (for decode paths and tests): fills a->scores, a->sel, a->gate for n rows. */
void moe_route(MoeActs *a, const real *x, const MoeWeights *w, const ModelConfig *cfg, int n,
               int frozen, Arena *scratch);

/* b_i += γ·sign(mean_j c_j − c_i) for the E experts of one layer. */
void moe_bias_update(real *bias, const int64_t *counts, int E, double gamma);

#endif
