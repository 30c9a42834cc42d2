/* SwiGLU feed-forward, forward and backward (see ffn.h). */
#include "model/ffn.h"

#include "kernels/matmul.h"
#include "kernels/swiglu.h"
#include "model/acts.h"

void ffn_forward_buf(real *y, int accumulate, real *gu, const real *x, const FfnWeights *w,
                     const real *row_scale, int n, int D, real *h, const LinearExec *lx) {
    if (n == 0) return;
    const int F = w->F;
    linear_forward_p(lx, w->prec, gu, x, w->gate_up, n, D, 2 * F, 0);      /* gu [n, 2F] = x·[gate;up]ᵀ */
    swiglu_forward(h, gu, row_scale, n, F);                      /* h [n, F] = s·silu(a)⊙u */
    linear_forward_p(lx, w->prec, y, h, w->down, n, F, D, accumulate);     /* y [n, D] (+)= h·downᵀ */
}

void ffn_forward(real *y, int accumulate, real *gu, const real *x, const FfnWeights *w,
                 const real *row_scale, int n, int D, Arena *scratch, const LinearExec *lx) {
    if (n == 0) return;
    size_t mark = arena_mark(scratch);
    real *h = arena_real(scratch, (size_t)n * w->F);             /* [n, F] */
    ffn_forward_buf(y, accumulate, gu, x, w, row_scale, n, D, h, lx);
    arena_reset(scratch, mark);
}

void ffn_backward(real *dx, int accumulate_dx, FfnWeights *gw, real *dscale, const real *dy,
                  const real *x, const real *gu, const FfnWeights *w, const real *row_scale, int n,
                  int D, Arena *scratch) {
    if (n == 0) return;
    const int F = w->F;
    size_t mark = arena_mark(scratch);
    real *h = arena_real(scratch, (size_t)n * F);        /* [n, F] recomputed hidden */
    real *dh = arena_real(scratch, (size_t)n * F);       /* [n, F] dL/dh (h scaled) */
    real *dgu = arena_real(scratch, (size_t)n * 2 * F);  /* [n, 2F] */
    ffn_backward_buf(dx, accumulate_dx, gw, dscale, dy, x, gu, w, row_scale, n, D, h, dh, dgu);
    arena_reset(scratch, mark);
}

void ffn_backward_buf(real *dx, int accumulate_dx, FfnWeights *gw, real *dscale, const real *dy,
                      const real *x, const real *gu, const FfnWeights *w, const real *row_scale,
                      int n, int D, real *h, real *dh, real *dgu) {
    if (n == 0) return;
    const int F = w->F;
    if (!dscale) {
        /* h first, so that down's two products (d down += dyᵀ·h, dh = dy·down) go together */
        swiglu_forward_keep_sigmoid(h, dgu, gu, row_scale, n, F);   /* σ(a) parked in dgu */
        matmul_backward_p(w->prec, dh, gw->down, dy, h, w->down, n, F, D, 0);
        swiglu_backward_from_sigmoid(dgu, dh, gu, row_scale, n, F);
        matmul_backward_p(w->prec, dx, gw->gate_up, dgu, x, w->gate_up, n, D, 2 * F, accumulate_dx);
        return;
    }
    /* gated rows: dh = dy·down  [n, F] first, since y = (s·h_u)·downᵀ  =>  dL/ds = dh · h_u
     * (h_u the unscaled hidden); then h = s·h_u, dscale and dgu in one pass */
    matmul_backward_p(w->prec, dh, NULL, dy, NULL, w->down, n, F, D, 0);
    swiglu_backward_gated(h, dscale, dgu, dh, gu, row_scale, n, F);
    /* d down [D, F] += dyᵀ·h */
    matmul_backward_p(w->prec, NULL, gw->down, dy, h, w->down, n, F, D, 0);
    /* d[gate;up] += dguᵀ·x ; dx (+)= dgu·[gate;up] */
    matmul_backward_p(w->prec, dx, gw->gate_up, dgu, x, w->gate_up, n, D, 2 * F, accumulate_dx);
}
