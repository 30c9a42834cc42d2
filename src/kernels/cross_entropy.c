/* Cross-entropy with a stable log-sum-exp (see cross_entropy.h). Rows in parallel; each row is
 * max, then Σ exp(x − max) through the vectorised exp, so no T×V temporary exists. */
#include <stddef.h>

#include "kernels/cross_entropy.h"

#include <math.h>

#include "base/error.h"
#include "kernels/ops.h"

/* log Σ exp(x) without writing anything: exp values go through a small stack tile. */
static real row_lse(const real *x, int V) {
    real m = ops_max(x, V);
    if (m == -INFINITY || m == INFINITY || m != m) return m;
    real tile[256];
    double s = 0;
    for (int j = 0; j < V; j += 256) s += ops_exp_shift_sum(tile, x + j, m, V - j < 256 ? V - j : 256);
    return m + (real)log(s);
}

/* One row of the gradient: w·(softmax − onehot), or 0 without a target. */
static void grad_row(real *d, const real *x, real lse, int tg, real w, int V) {
    if (tg < 0 || w == 0) {
        for (int j = 0; j < V; j++) d[j] = 0;
        return;
    }
    ops_exp_shift_scale(d, x, lse, w, V);
    d[tg] -= w;
}

void cross_entropy_forward(real *loss, real *lse, const real *logits, const int *targets, int n, int V) {
    #pragma omp parallel for schedule(dynamic, 8) if ((long)n * V > 65536)
    for (int i = 0; i < n; i++) {
        const real *x = logits + (size_t)i * V;
        CHECK(targets[i] < V);
        const real l = row_lse(x, V);
        lse[i] = l;
        loss[i] = targets[i] < 0 ? 0 : l - x[targets[i]];
    }
}

void cross_entropy_backward(real *dlogits, const real *logits, const real *lse, const int *targets,
                            const real *row_weight, real scale, int n, int V) {
    #pragma omp parallel for schedule(dynamic, 8) if ((long)n * V > 65536)
    for (int i = 0; i < n; i++)
        grad_row(dlogits + (size_t)i * V, logits + (size_t)i * V, lse[i], targets[i],
                 (row_weight ? row_weight[i] : 1) * scale, V);
}

void cross_entropy_forward_grad(real *loss, real *lse, real *logits, const int *targets, real scale,
                                int n, int V) {
    #pragma omp parallel for schedule(dynamic, 8) if ((long)n * V > 65536)
    for (int i = 0; i < n; i++) {
        real *x = logits + (size_t)i * V;
        const int tg = targets[i];
        CHECK(tg < V);
        const real l = row_lse(x, V);
        lse[i] = l;
        loss[i] = tg < 0 ? 0 : l - x[tg];
        grad_row(x, x, l, tg, scale, V);
    }
}
