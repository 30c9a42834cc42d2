/* Naive twin of rmsnorm.h, in double. */
#include <stddef.h>

#include "kernels/rmsnorm.h"

#include <math.h>

void rmsnorm_forward_ref(real *y, int ldy, real *rstd, const real *x, int ldx, const real *w, int n,
                         int d, real eps) {
    for (int i = 0; i < n; i++) {
        const real *xi = x + (size_t)i * ldx;
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)xi[j] * xi[j];
        double r = 1.0 / sqrt(ss / d + (double)eps);
        if (rstd) rstd[i] = (real)r;
        for (int j = 0; j < d; j++) y[(size_t)i * ldy + j] = (real)((double)w[j] * xi[j] * r);
    }
}

void rmsnorm_backward_ref(real *dx, int lddx, real *dw, const real *dy, int lddy, const real *x,
                          int ldx, const real *w, const real *rstd, int n, int d) {
    if (dw)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += (double)dy[(size_t)i * lddy + j] * x[(size_t)i * ldx + j] * rstd[i];
            dw[j] = (real)(dw[j] + s);
        }
    for (int i = 0; i < n; i++) {
        const real *g = dy + (size_t)i * lddy, *xi = x + (size_t)i * ldx;
        double r = rstd[i], s = 0;
        for (int j = 0; j < d; j++) s += (double)g[j] * w[j] * xi[j];
        double c = s / d * r * r * r;
        /* dx may alias dy: each element is read before it is written */
        for (int j = 0; j < d; j++) dx[(size_t)i * lddx + j] = (real)(r * g[j] * w[j] - c * xi[j]);
    }
}
