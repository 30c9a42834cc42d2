/* Multi-Token Prediction module k (1..M), forward and backward (deepseek-v3-architecture.md §7,
 * MODEL.md). For sequence b and MTP position i = 0..Tk−1, Tk = T − k:
 *   x_i   = eh_proj( [enorm(embed[tokens[b, i+k]]) ; hnorm(h^{k−1}_{b,i})] )     embedding first
 *   h^k   = block_k(x) over the Tk rows of each sequence, causal, RoPE positions 0..Tk−1
 *   logits_i = lm_head( shared_head.norm(h^k_i) ),  target targets[b, i+k] (−1: none)
 * h⁰ is the main model's final-normed hidden state; h^k (the raw block output) feeds module k+1.
 * embed_tokens and lm_head are the main model's tensors (shared).
 * Rows are compact: row b·Tk + i.
 */
#ifndef R1_MODEL_MTP_H
#define R1_MODEL_MTP_H

#include "base/arena.h"
#include "kernels/real.h"
#include "kernels/rope.h"
#include "model/acts.h"
#include "model/block.h"
#include "model/config.h"
#include "model/params.h"

typedef struct MtpActs {
    int k, B, Tk, n;    /* module index (1..M), rows n = B·Tk of the last forward */
    int *tok;           /* [n] input tokens tokens[b, i+k] */
    int *pos;           /* [n] RoPE position of each row: i */
    int *tgt;           /* [n] targets[b, i+k] */
    real *hin;          /* [n, D] h^{k−1} rows (compact copy) */
    real *cat;          /* [n, 2D] [enorm(embed) ; hnorm(hin)] */
    real *rstd_e;       /* [n] */
    real *rstd_h;       /* [n] */
    real *x;            /* [n, D] eh_proj output = block input */
    BlockActs blk;
    real *hout;         /* [n, D] h^k */
    real *hn;           /* [n, D] shared_head.norm output */
    real *rstd_o;       /* [n] */
    real *logits;       /* [n, V] (overwritten by their gradient in backward) */
    real *lse;          /* [n] */
    real *ce;           /* [n] −log p(target), 0 where none */
    real grad_scale;    /* > 0: forward already replaced logits by their gradient at this CE weight */
} MtpActs;

void mtp_acts_carve(MtpActs *a, Carve *c, const ModelConfig *cfg, int layer, int max_B, int max_T);

/* Runs module k on hprev [B, Tprev, D] (rows i < T−k are used). Returns Σ ce over the valid
 * rows; *aux gets the block's balance loss. grad_scale > 0: the logits are replaced by their
 * gradient at that CE weight (cross_entropy_forward_grad), the ce_scale backward must be given. */
double mtp_forward(MtpActs *a, double *aux, const real *hprev, int Tprev, const int *tokens,
                   const int *targets, int B, int T, int k, const real *embed, const real *lm_head,
                   const MtpWeights *w, const ModelConfig *cfg, const RopeTable *rope, real alpha, int frozen,
                   real grad_scale, Arena *scratch);

/* Backward of module k with CE weight ce_scale per valid row. dhout [n, D] holds on entry the
 * gradient reaching h^k from module k+1 (zeros if none) and is used as scratch. Adds dL/dhprev
 * into dhprev [B, Tprev, D]; gradients of embed/lm_head/module weights go to g_embed, g_lm_head,
 * gw (+=). */
void mtp_backward(real *dhprev, int Tprev, real *dhout, real *g_embed, real *g_lm_head,
                  MtpWeights *gw, MtpActs *a, real ce_scale, real aux_scale, const real *embed,
                  const real *lm_head, const MtpWeights *w, const ModelConfig *cfg, const RopeTable *rope,
                  Arena *scratch);

#endif
