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

#include "kernels/real.h"

size_t attention_scratch_size(int B, int T, int H, int Dqk, int Dv, int n_threads);

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
