/* Small vector helpers shared by the kernels: exp over arrays, dot products, sigmoid, and
 * attention's row passes.
 *
 * Under float builds with AVX-512 the exp is our own polynomial (range reduction by ln 2, degree-6
 * minimax-style Taylor correction, relative error < 2e-7 — within ~2 ulp of expf), because gcc
 * does not vectorise libm's expf without -ffast-math. Under R1_DOUBLE everything is plain libm,
 * so the gradient-check build is exact to double rounding. All functions are deterministic: the
 * same input gives the same bits regardless of thread count (they are single-threaded; callers
 * parallelise over rows).
 */
#ifndef R1_KERNELS_OPS_H
#define R1_KERNELS_OPS_H

#include "kernels/real.h"

/* y[i] = exp(x[i] − shift); returns Σ y[i] accumulated in double. y may alias x. */
double ops_exp_shift_sum(real *y, const real *x, real shift, int n);
/* y[i] = exp(x[i] − shift) · mul. y may alias x. */
void ops_exp_shift_scale(real *y, const real *x, real shift, real mul, int n);
/* max_i x[i] (−INFINITY for n = 0) */
real ops_max(const real *x, int n);
/* Σ a[i]·b[i] with a fixed summation order (16 partial sums, then summed in order). */
real ops_dot(const real *a, const real *b, int n);
/* y[i] = σ(x[i]) = 1/(1+exp(−x[i])). y may alias x. */
void ops_sigmoid(real *y, const real *x, int n);
/* Attention's rows, one pass each (x, y of n_pad >= n values; entries n..n_pad−1 set to 0):
 * ops_exp_row: x[s] = exp(x[s] − max) for s < n; returns the max, *sum = Σ x[s] (float, 16
 * fixed-order partial sums; n >= 1). The caller divides by the sum later (after P·V).
 * ops_softmax_grad_row: x holds scores, y holds dP: x[s] = p = exp(x[s] − lse),
 * y[s] = p·(y[s] − delta) for s < n. */
real ops_exp_row(real *x, int n, int n_pad, real *sum);
/* A Linear layer's bias: y[i, j] += b[j] (forward) and db[j] += Σ_i dy[i, j] summed over the rows
 * in order (backward), for n rows of m values with row stride ld. */
void ops_add_bias(real *y, int ld, const real *b, int n, int m);
void ops_bias_grad(real *db, const real *dy, int ld, int n, int m);
void ops_softmax_grad_row(real *x, real *y, int n, int n_pad, real lse, real delta);

#endif
