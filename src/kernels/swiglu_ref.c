/* Naive twin of swiglu.h, in double. */
#include <stddef.h>

#include "kernels/swiglu.h"

#include <math.h>

void swiglu_forward_ref(real *h, const real *gu, const real *row_scale, int n, int F) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) {
            double a = gu[(size_t)i * 2 * F + j], u = gu[(size_t)i * 2 * F + F + j];
            double s = 1 / (1 + exp(-a)), r = row_scale ? row_scale[i] : 1.0;
            h[(size_t)i * F + j] = (real)(a * s * u * r);
        }
}

void swiglu_backward_ref(real *dgu, const real *dh, const real *gu, const real *row_scale, int n, int F) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) {
            double a = gu[(size_t)i * 2 * F + j], u = gu[(size_t)i * 2 * F + F + j];
            double s = 1 / (1 + exp(-a)), g = (double)dh[(size_t)i * F + j] * (row_scale ? row_scale[i] : 1.0);
            dgu[(size_t)i * 2 * F + j] = (real)(g * u * s * (1 + a * (1 - s)));
            dgu[(size_t)i * 2 * F + F + j] = (real)(g * a * s);
        }
}
