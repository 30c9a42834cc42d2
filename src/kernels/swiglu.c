/* SwiGLU forward/backward on the fused [gate | up] rows (see swiglu.h). Rows in parallel; the
 * sigmoid goes through ops_sigmoid (vectorised exp) into a row buffer first, then one pass. */
#include <stddef.h>

#include "kernels/swiglu.h"

#include "kernels/ops.h"

/* One row: h = rs·a·σ(a)·u with σ(a) already in s (s may be h itself). */
static void forward_row(real *h, const real *s, const real *a, const real *u, real rs, int F) {
    for (int j = 0; j < F; j++) h[j] = a[j] * s[j] * u[j] * rs;
}

/* One row: da, du from g = dh·rs with σ(a) already in da (read before it is overwritten). */
static void backward_row(real *da, real *du, const real *g0, const real *a, const real *u, real rs,
                         int F) {
    for (int j = 0; j < F; j++) {
        const real s = da[j], gj = g0[j] * rs;
        du[j] = gj * a[j] * s;
        da[j] = gj * u[j] * s * (1 + a[j] * (1 - s));
    }
}

void swiglu_forward(real *h, const real *gu, const real *row_scale, int n, int F) {
    #pragma omp parallel for schedule(static) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F;
        real *hi = h + (size_t)i * F;
        ops_sigmoid(hi, a, F);                          /* hi = σ(a) */
        forward_row(hi, hi, a, a + F, row_scale ? row_scale[i] : 1, F);
    }
}

void swiglu_forward_keep_sigmoid(real *h, real *dgu, const real *gu, const real *row_scale, int n,
                                 int F) {
    #pragma omp parallel for schedule(static) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F;
        real *s = dgu + (size_t)i * 2 * F;
        ops_sigmoid(s, a, F);                           /* kept for swiglu_backward_from_sigmoid */
        forward_row(h + (size_t)i * F, s, a, a + F, row_scale ? row_scale[i] : 1, F);
    }
}

void swiglu_backward(real *dgu, const real *dh, const real *gu, const real *row_scale, int n, int F) {
    #pragma omp parallel for schedule(static) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F;
        real *da = dgu + (size_t)i * 2 * F;
        ops_sigmoid(da, a, F);                          /* da = σ(a) for now */
        backward_row(da, da + F, dh + (size_t)i * F, a, a + F, row_scale ? row_scale[i] : 1, F);
    }
}

void swiglu_backward_from_sigmoid(real *dgu, const real *dh, const real *gu, const real *row_scale,
                                  int n, int F) {
    #pragma omp parallel for schedule(static) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F;
        real *da = dgu + (size_t)i * 2 * F;
        backward_row(da, da + F, dh + (size_t)i * F, a, a + F, row_scale ? row_scale[i] : 1, F);
    }
}
