/* Multi-head Latent Attention, naive (training) form: forward and backward
 * (deepseek-v3-architecture.md §4).
 *
 * Per row (token) with input x [D] (the input_layernorm output) at position pos:
 *   q   = RMSNorm(x·W_qaᵀ; q_a_layernorm)·W_qbᵀ   or  x·W_qᵀ (q_lora_rank null)   [H, Dqk]
 *   q[h, Dn:] = RoPE_pos(q[h, Dn:])                            (interleaved pairs)
 *   a   = x·W_kvaᵀ  [Rkv + Dr];  c = RMSNorm(a[:Rkv]; kv_a_layernorm)  [Rkv]
 *   k_pe = RoPE_pos(a[Rkv:])  [Dr], one rope key shared by all heads
 *   kv  = c·W_kvbᵀ [H, Dn+Dv];  K[h] = (kv[h, :Dn], k_pe);  V[h] = kv[h, Dn:]
 *   o   = causal softmax attention(Q, K, V) with scale config_softmax_scale   [H·Dv]
 *   out = o·W_oᵀ  [D]
 *
 * The pieces are separate functions so an incremental decode path can reuse them on [n] new rows
 * at explicit positions: mla_project gives q (rotated), the normalised latent c and the rotated
 * k_pe (exactly what an MLA KV cache stores); mla_expand_kv turns cached latents into K, V.
 */
#ifndef R1_MODEL_MLA_H
#define R1_MODEL_MLA_H

#include "base/arena.h"
#include "kernels/linear.h"
#include "kernels/real.h"
#include "kernels/rope.h"
#include "model/acts.h"
#include "model/config.h"
#include "model/params.h"

typedef struct MlaActs {
    real *cq;       /* [n, Rq]  x·W_qaᵀ (Rq > 0) */
    real *cqn;      /* [n, Rq]  q_a_layernorm output */
    real *rstd_q;   /* [n] */
    real *q;        /* [n, H, Dqk] queries, rope part rotated */
    real *kva;      /* [n, Rkv + Dr] x·W_kvaᵀ; its last Dr columns rotated in place (= k_pe) */
    real *c;        /* [n, Rkv] normalised latent */
    real *rstd_kv;  /* [n] */
    real *kv;       /* [n, H, Dn+Dv] c·W_kvbᵀ: per head k_nope then v (attention reads K, V here) */
    real *o;        /* [n, H·Dv] attention output (o_proj input) */
    real *lse;      /* [B, H, T] */
} MlaActs;

void mla_acts_carve(MlaActs *a, Carve *c, const ModelConfig *cfg, int max_n);

/* Projections for n rows at positions pos [n]: fills a->q, a->kva (k_pe = a->kva + Rkv, row
 * stride Rkv + Dr), a->c and the norm statistics (a->cq, a->cqn, a->rstd_q when Rq > 0). lx: how
 * the products run (kernels/linear.h; NULL for training). */
void mla_project(MlaActs *a, const real *x, const MlaWeights *w, const ModelConfig *cfg,
                 const int *pos, int n, const RopeTable *rope, const LinearExec *lx);

/* k [n, H, Dqk], v [n, H, Dv] from latents c [n, Rkv] and rotated rope keys k_pe (row stride
 * ld_pe). */
void mla_expand_kv(real *k, real *v, const real *c, const real *k_pe, int ld_pe,
                   const MlaWeights *w, const ModelConfig *cfg, int n, Arena *scratch);

/* out [n, D] = MLA(x) over B sequences of T rows (n = B·T, row b·T+t at position pos[b·T+t]). */
void mla_forward(real *out, MlaActs *a, const real *x, const MlaWeights *w, const ModelConfig *cfg,
                 const int *pos, int B, int T, const RopeTable *rope, Arena *scratch);

/* dx [n, D] = dL/dx (=), gw += dL/dW, for dL/dout = dout. */
void mla_backward(real *dx, MlaWeights *gw, const real *dout, const MlaActs *a, const real *x,
                  const MlaWeights *w, const ModelConfig *cfg, const int *pos, int B, int T,
                  const RopeTable *rope, Arena *scratch);

#endif
