/* Grouped-query attention (qwen2, llama): forward and backward, beside MLA as the attention of
 * the dense families.
 *
 * Per row (token) with input x [D] (the input_layernorm output) at position pos, Dq = H·Dh,
 * Dkv = Hkv·Dh, Wqkv = Dq + 2·Dkv, rep = H / Hkv:
 *   [q ; k ; v] = x·W_qkvᵀ (+ b_qkv)      [Wqkv]: q [H, Dh], k [Hkv, Dh], v [Hkv, Dh]
 *   q[h] = RoPE_pos(q[h]), k[g] = RoPE_pos(k[g])   (halves layout, all Dh values)
 *   o[h] = causal softmax attention of q[h] over k[h / rep], v[h / rep], scale Dh^-1/2   [Dq]
 *   out  = o·W_oᵀ (+ b_o)                  [D]
 * (HF's repeat_kv: query head h reads key/value head h / rep.) q, k and v stay in one [n, Wqkv]
 * buffer; the attention kernel reads them in place. Backward sums the key/value gradients of a
 * group's rep query heads.
 *
 * The pieces are separate functions so the decode path runs the same projection and output on
 * its rows: gqa_project gives the rotated q and k and v (k, v are what the KV cache stores),
 * gqa_output the o_proj.
 */
#ifndef R1_MODEL_GQA_H
#define R1_MODEL_GQA_H

#include "base/arena.h"
#include "kernels/linear.h"
#include "kernels/real.h"
#include "kernels/rope.h"
#include "model/acts.h"
#include "model/config.h"
#include "model/params.h"

typedef struct GqaActs {
    real *qkv;      /* [n, Wqkv] projections (+ bias), q and k rotated */
    real *o;        /* [n, Dq] attention output (o_proj input) */
    real *lse;      /* [B, H, T] */
} GqaActs;

void gqa_acts_carve(GqaActs *a, Carve *c, const ModelConfig *cfg, int max_n);

/* a->qkv [n, Wqkv] for n rows at positions pos [n]. lx: how the product runs
 * (kernels/linear.h; NULL for training). */
void gqa_project(GqaActs *a, const real *x, const GqaWeights *w, const ModelConfig *cfg,
                 const int *pos, int n, const RopeTable *rope, const LinearExec *lx);

/* out [n, D] (+= when acc) = o [n, Dq]·W_oᵀ (+ b_o). */
void gqa_output(real *out, int acc, const real *o, const GqaWeights *w, const ModelConfig *cfg,
                int n, const LinearExec *lx);

/* out [n, D] = GQA(x) over B sequences of T rows (n = B·T, row b·T+t at position pos[b·T+t]). */
void gqa_forward(real *out, GqaActs *a, const real *x, const GqaWeights *w, const ModelConfig *cfg,
                 const int *pos, int B, int T, const RopeTable *rope, Arena *scratch);

/* dx [n, D] = dL/dx (=), gw += dL/dW, for dL/dout = dout. */
void gqa_backward(real *dx, GqaWeights *gw, const real *dout, const GqaActs *a, const real *x,
                  const GqaWeights *w, const ModelConfig *cfg, const int *pos, int B, int T,
                  const RopeTable *rope, Arena *scratch);

/* Scratch (reals) forward and backward take from the arena. */
size_t gqa_scratch_reals(const ModelConfig *cfg, int B, int T, int threads);

#endif
