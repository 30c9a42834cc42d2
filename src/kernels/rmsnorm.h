/* RMSNorm over the last dimension:  y[i, :] = w ⊙ x[i, :] · r_i,  r_i = 1/sqrt(mean_j x[i,j]² + eps).
 * Statistics in at least fp32 (double accumulation is fine). Rows may be strided (a norm over
 * the first Rkv columns of a wider row, as MLA's kv_a_layernorm is).
 *
 *   x  [n, d] with row stride ldx      y [n, d] with row stride ldy (may alias x for forward)
 *   w  [d]                             rstd [n]: saved r_i for backward (may be NULL in forward)
 * Backward, per row with g = dy:
 *   dw_j += Σ_i g_ij x_ij r_i
 *   dx_ij = r_i (g_ij w_j) − r_i³ x_ij (1/d) Σ_k g_ik w_k x_ik        (= : activation gradient)
 */
#ifndef R1_KERNELS_RMSNORM_H
#define R1_KERNELS_RMSNORM_H

#include "kernels/real.h"

void rmsnorm_forward(real *y, int ldy, real *rstd, const real *x, int ldx, const real *w, int n,
                     int d, real eps);
/* dx may alias dy. dw may be NULL. */
void rmsnorm_backward(real *dx, int lddx, real *dw, const real *dy, int lddy, const real *x, int ldx,
                      const real *w, const real *rstd, int n, int d);

/* The residual stream's norms, with the residual add fused into the same pass over each row
 * (contiguous rows of d; the bits of the add followed by the norm, one pass fewer):
 *   forward:  x += res, then y = RMSNorm(x)            (x is updated in place)
 *   backward: dx = RMSNorm backward(dy) + res          (res must not alias dx; dx may alias dy) */
void rmsnorm_forward_residual(real *y, real *rstd, real *x, const real *res, const real *w, int n,
                              int d, real eps);
void rmsnorm_backward_residual(real *dx, real *dw, const real *dy, const real *x, const real *w,
                               const real *rstd, const real *res, int n, int d);

void rmsnorm_forward_ref(real *y, int ldy, real *rstd, const real *x, int ldx, const real *w, int n,
                         int d, real eps);
void rmsnorm_backward_ref(real *dx, int lddx, real *dw, const real *dy, int lddy, const real *x,
                          int ldx, const real *w, const real *rstd, int n, int d);

#endif
