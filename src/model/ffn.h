/* SwiGLU feed-forward on n rows: the dense MLP of the first layers, each routed expert, and the
 * shared experts.  FFN(x) = down( silu(x·gateᵀ) ⊙ (x·upᵀ) ), with [gate; up] one [2F, D] matrix.
 *
 *   x [n, D]   gu [n, 2F] (saved: the fused gate|up pre-activations)   y [n, D]
 *   row_scale [n] (may be NULL): multiplies row i of the hidden h — a routed expert's gate weight.
 * Backward recomputes h from gu (h is not saved), so the saved state per row is 2F reals.
 */
#ifndef R1_MODEL_FFN_H
#define R1_MODEL_FFN_H

#include "base/arena.h"
#include "kernels/linear.h"
#include "kernels/real.h"
#include "model/params.h"

/* y [n, D] = FFN(x) (+= when accumulate). gu [n, 2F] is written and kept for backward. lx: how
 * the products run (kernels/linear.h; NULL for training). */
void ffn_forward(real *y, int accumulate, real *gu, const real *x, const FfnWeights *w,
                 const real *row_scale, int n, int D, Arena *scratch, const LinearExec *lx);

/* dx [n, D] = (or += when accumulate_dx) dL/dx; gw += dL/dW; dscale [n] (may be NULL) =
 * dL/d row_scale[i] (the gate-weight gradient of a routed expert). */
void ffn_backward(real *dx, int accumulate_dx, FfnWeights *gw, real *dscale, const real *dy,
                  const real *x, const real *gu, const FfnWeights *w, const real *row_scale, int n,
                  int D, Arena *scratch);

/* The same with explicit scratch instead of an arena (safe to call from several threads at
 * once on disjoint data, as the MoE does per expert): h [n, F]; dh [n, F], dgu [n, 2F]. */
void ffn_forward_buf(real *y, int accumulate, real *gu, const real *x, const FfnWeights *w,
                     const real *row_scale, int n, int D, real *h, const LinearExec *lx);
void ffn_backward_buf(real *dx, int accumulate_dx, FfnWeights *gw, real *dscale, const real *dy,
                      const real *x, const real *gu, const FfnWeights *w, const real *row_scale,
                      int n, int D, real *h, real *dh, real *dgu);

#endif
