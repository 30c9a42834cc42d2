/* Causal softmax attention (the naive/training form of MLA: explicit per-head K and V).
 *
 *   q   [B, T, H, Dqk]     k [B, T, H, Dqk]      v [B, T, H, Dv]      (contiguous)
 *   out [B, T, H, Dv]      lse [B, H, T]: log-sum-exp of each score row, saved for backward
 *   score[b,h,t,s] = scale · q[b,t,h]·k[b,s,h] for s ≤ t;  P = softmax_s(score)
 *   out[b,t,h] = Σ_s P[b,h,t,s] v[b,s,h]
 * Softmax in fp32 or better. Backward recomputes P from lse (no T×T buffer kept across the
 * step):  dP = dout·vᵀ,  dscore = P ⊙ (dP − rowsum(P ⊙ dP)),  dq = scale·dscore·k,
 * dk = scale·dscoreᵀ·q,  dv = Pᵀ·dout.  dq, dk, dv are written (=).
 * `scratch` must hold attention_scratch_size() reals (per-thread T×T tiles or similar).
 */
#ifndef R1_KERNELS_ATTENTION_H
#define R1_KERNELS_ATTENTION_H

#include <stddef.h>

#include "kernels/matmul.h"
#include "kernels/real.h"

size_t attention_scratch_size(int B, int T, int H, int Dqk, int Dv, int n_threads);

/* The same attention on keys and values read in place from wider activations, and their gradients
 * written in place: MLA's keys are two column blocks of different tensors (k_nope from the kv_b
 * output, the rotary key shared by all heads), and its values sit beside k_nope in the kv_b
 * output; grouped-query attention reads q, k and v as column blocks of one fused projection. So
 * no per-head K and V need to be assembled.
 * A view: head h of row r (r = b·T + t) starts at p + r·ld + h·hs (hs = 0: one block for all heads;
 * inputs only). K[h] = (k1[h] (D1 columns), k2[h] (D2 columns)), Dqk = D1 + D2; V[h] = v[h] (Dv).
 * group > 1 (GQA): query head h reads key/value head h / group of the input views; the gradient
 * views are still indexed by the query head (each query head's share, which the caller sums over
 * its group). ldq: row stride of q and dq (0: H·Dqk, contiguous). out, dout, lse are laid out as
 * above. Same arithmetic as attention_forward/backward: same bits.
 * prec MAT_BF16 (mixed-precision training): the products after the scores (P·V, dout·vᵀ, dscore·k,
 * Pᵀ·dout, dscoreᵀ·q) take bf16 operands — each converted once per (b, h) pair into the pair
 * layouts of kernels/tile_bf16.h — with fp32 sums; the scores q·k, the softmax, lse and its
 * gradient stay fp32. */
typedef struct { const real *p; size_t ld, hs; } HeadsView;
typedef struct { real *p; size_t ld, hs; } HeadsGrad;
typedef struct { HeadsView k1, k2, v; int D1, D2, Dv; int group; size_t ldq; MatPrec prec; } AttKV;
typedef struct { HeadsGrad k1, k2, v; } AttKVGrad;

void attention_forward_kv(real *out, real *lse, const real *q, const AttKV *kv, int B, int T, int H,
                          real scale, real *scratch);
void attention_backward_kv(real *dq, const AttKVGrad *dkv, const real *dout, const real *out,
                           const real *lse, const real *q, const AttKV *kv, int B, int T, int H,
                           real scale, real *scratch);

void attention_forward(real *out, real *lse, const real *q, const real *k, const real *v, int B,
                       int T, int H, int Dqk, int Dv, real scale, real *scratch);
void attention_backward(real *dq, real *dk, real *dv, const real *dout, const real *out,
                        const real *lse, const real *q, const real *k, const real *v, int B, int T,
                        int H, int Dqk, int Dv, real scale, real *scratch);

void attention_forward_ref(real *out, real *lse, const real *q, const real *k, const real *v, int B,
                           int T, int H, int Dqk, int Dv, real scale);
void attention_backward_ref(real *dq, real *dk, real *dv, const real *dout, const real *out,
                            const real *lse, const real *q, const real *k, const real *v, int B,
                            int T, int H, int Dqk, int Dv, real scale);

#endif
