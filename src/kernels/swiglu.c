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

/* h rows (and σ(a) rows at sig, row stride 2F, when sig is not NULL; else σ(a) goes through h). */
static void forward_rows(real *h, real *sig, const real *gu, const real *row_scale, int n, int F) {
    #pragma omp parallel for schedule(dynamic, 32) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F;
        real *hi = h + (size_t)i * F, *s = sig ? sig + (size_t)i * 2 * F : hi;
        ops_sigmoid(s, a, F);
        forward_row(hi, s, a, a + F, row_scale ? row_scale[i] : 1, F);
    }
}

/* dgu rows; σ(a) is computed into the gate half first unless it is already there. */
static void backward_rows(real *dgu, const real *dh, const real *gu, const real *row_scale, int n,
                          int F, int have_sigmoid) {
    #pragma omp parallel for schedule(dynamic, 32) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F;
        real *da = dgu + (size_t)i * 2 * F;
        if (!have_sigmoid) ops_sigmoid(da, a, F);
        backward_row(da, da + F, dh + (size_t)i * F, a, a + F, row_scale ? row_scale[i] : 1, F);
    }
}

void swiglu_backward_gated(real *h, real *dscale, real *dgu, const real *dh, const real *gu,
                           const real *row_scale, int n, int F) {
    #pragma omp parallel for schedule(dynamic, 32) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F, *g = dh + (size_t)i * F;
        real *da = dgu + (size_t)i * 2 * F, *hi = h + (size_t)i * F;
        const real rs = row_scale ? row_scale[i] : 1;
        ops_sigmoid(da, a, F);                      /* σ(a), read by backward_row */
        forward_row(hi, da, a, a + F, 1, F);        /* h_u */
        double acc = 0;
        for (int j = 0; j < F; j++) acc += (double)g[j] * hi[j];
        dscale[i] = (real)acc;
        if (row_scale)
            for (int j = 0; j < F; j++) hi[j] *= rs;
        backward_row(da, da + F, g, a, a + F, rs, F);
    }
}

void swiglu_forward(real *h, const real *gu, const real *row_scale, int n, int F) {
    forward_rows(h, NULL, gu, row_scale, n, F);
}

void swiglu_forward_keep_sigmoid(real *h, real *dgu, const real *gu, const real *row_scale, int n,
                                 int F) {
    forward_rows(h, dgu, gu, row_scale, n, F);
}

void swiglu_backward(real *dgu, const real *dh, const real *gu, const real *row_scale, int n, int F) {
    backward_rows(dgu, dh, gu, row_scale, n, F, 0);
}

void swiglu_backward_from_sigmoid(real *dgu, const real *dh, const real *gu, const real *row_scale,
                                  int n, int F) {
    backward_rows(dgu, dh, gu, row_scale, n, F, 1);
}
