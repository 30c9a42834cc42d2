/* RMSNorm forward/backward (see rmsnorm.h). Rows in parallel; dw from per-chunk partial sums
 * added in chunk order, so it has the same bits whatever the thread count. */
#include <stddef.h>

#include "kernels/rmsnorm.h"

#include <math.h>

#include "base/error.h"

/* Σ x_j² with 16 fixed partial sums (vectorises), returned in double. */
static double sumsq(const real *x, int d) {
    real acc[16] = {0};
    int j = 0;
    for (; j + 16 <= d; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += x[j + l] * x[j + l];
    for (int l = 0; j < d; j++, l++) acc[l] += x[j] * x[j];
    double s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

/* Σ g_j w_j x_j, same fixed order. */
static double sum3(const real *g, const real *w, const real *x, int d) {
    real acc[16] = {0};
    int j = 0;
    for (; j + 16 <= d; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += g[j + l] * w[j + l] * x[j + l];
    for (int l = 0; j < d; j++, l++) acc[l] += g[j] * w[j] * x[j];
    double s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

/* One row: y = w ⊙ x · r; returns r. */
static real norm_row(real *y, const real *x, const real *w, int d, real eps) {
    const real r = (real)(1.0 / sqrt(sumsq(x, d) / d + (double)eps));
    for (int j = 0; j < d; j++) y[j] = w[j] * (x[j] * r);
    return r;
}

void rmsnorm_forward(real *y, int ldy, real *rstd, const real *x, int ldx, const real *w, int n,
                     int d, real eps) {
    #pragma omp parallel for schedule(dynamic, 64) if ((long)n * d > 16384)
    for (int i = 0; i < n; i++) {
        const real r = norm_row(y + (size_t)i * ldy, x + (size_t)i * ldx, w, d, eps);
        if (rstd) rstd[i] = r;
    }
}

void rmsnorm_forward_residual(real *y, real *rstd, real *x, const real *res, const real *w, int n,
                              int d, real eps) {
    #pragma omp parallel for schedule(dynamic, 64) if ((long)n * d > 16384)
    for (int i = 0; i < n; i++) {
        real *xi = x + (size_t)i * d;
        const real *ri = res + (size_t)i * d;
        for (int j = 0; j < d; j++) xi[j] += ri[j];
        const real r = norm_row(y + (size_t)i * d, xi, w, d, eps);
        if (rstd) rstd[i] = r;
    }
}

/* Rows per dw partial sum. Fixed (not per thread), so dw's summation order — rows in order within
 * a chunk, chunks in order — is the same on any thread count. */
#define DW_CHUNK_ROWS 64
#define DW_MAX_D 16384   /* a chunk's partial dw lives on the stack */

/* Backward with an optional residual gradient added to dx (res may be NULL; not aliasing dx).
 * One pass over the rows: each chunk of rows adds its dw partial (read from dy before dx, which may
 * alias dy, is written) and writes dx; the partials are added to dw in chunk order. */
static void backward(real *dx, int lddx, real *dw, const real *dy, int lddy, const real *x, int ldx,
                     const real *w, const real *rstd, const real *res, int n, int d) {
    CHECK(d <= DW_MAX_D);
    const int big = (long)n * d > 16384;
    const int chunks = (n + DW_CHUNK_ROWS - 1) / DW_CHUNK_ROWS;
    #pragma omp parallel for schedule(dynamic, 1) ordered if (big)
    for (int c = 0; c < chunks; c++) {
        real part[DW_MAX_D];
        const int i0 = c * DW_CHUNK_ROWS, i1 = i0 + DW_CHUNK_ROWS < n ? i0 + DW_CHUNK_ROWS : n;
        if (dw) for (int j = 0; j < d; j++) part[j] = 0;
        for (int i = i0; i < i1; i++) {
            const real *g = dy + (size_t)i * lddy, *xi = x + (size_t)i * ldx;
            real *o = dx + (size_t)i * lddx;
            const real r = rstd[i];
            if (dw) for (int j = 0; j < d; j++) part[j] += g[j] * (xi[j] * r);
            const real cf = (real)(sum3(g, w, xi, d) / d) * r * r * r;
            if (res) {
                const real *ri = res + (size_t)i * d;
                for (int j = 0; j < d; j++) o[j] = (r * (g[j] * w[j]) - cf * xi[j]) + ri[j];
            } else {
                for (int j = 0; j < d; j++) o[j] = r * (g[j] * w[j]) - cf * xi[j];
            }
        }
        #pragma omp ordered
        if (dw) for (int j = 0; j < d; j++) dw[j] += part[j];
    }
}

void rmsnorm_backward(real *dx, int lddx, real *dw, const real *dy, int lddy, const real *x, int ldx,
                      const real *w, const real *rstd, int n, int d) {
    backward(dx, lddx, dw, dy, lddy, x, ldx, w, rstd, NULL, n, d);
}

void rmsnorm_backward_residual(real *dx, real *dw, const real *dy, const real *x, const real *w,
                               const real *rstd, const real *res, int n, int d) {
    backward(dx, d, dw, dy, d, x, d, w, rstd, res, n, d);
}
