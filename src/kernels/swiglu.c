/* SwiGLU forward/backward on the fused [gate | up] rows (see swiglu.h). Rows in parallel; the
 * sigmoid goes through ops_sigmoid (vectorised exp) into the output row first, then one pass. */
#include <stddef.h>

#include "kernels/swiglu.h"

#include "kernels/ops.h"

void swiglu_forward(real *h, const real *gu, const real *row_scale, int n, int F) {
    #pragma omp parallel for schedule(static) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F, *u = a + F;
        real *hi = h + (size_t)i * F;
        const real rs = row_scale ? row_scale[i] : 1;
        ops_sigmoid(hi, a, F);                          /* hi = σ(a) */
        for (int j = 0; j < F; j++) hi[j] = a[j] * hi[j] * u[j] * rs;
    }
}

void swiglu_backward(real *dgu, const real *dh, const real *gu, const real *row_scale, int n, int F) {
    #pragma omp parallel for schedule(static) if ((long)n * F > 16384)
    for (int i = 0; i < n; i++) {
        const real *a = gu + (size_t)i * 2 * F, *u = a + F, *g = dh + (size_t)i * F;
        real *da = dgu + (size_t)i * 2 * F, *du = da + F;
        const real rs = row_scale ? row_scale[i] : 1;
        ops_sigmoid(da, a, F);                          /* da = σ(a) for now */
        for (int j = 0; j < F; j++) {
            const real s = da[j], gj = g[j] * rs;
            du[j] = gj * a[j] * s;
            da[j] = gj * u[j] * s * (1 + a[j] * (1 - s));
        }
    }
}
