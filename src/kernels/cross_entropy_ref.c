/* Naive twin of cross_entropy.h, in double (recomputes the log-sum-exp itself in backward). */
#include <stddef.h>

#include "kernels/cross_entropy.h"

#include <math.h>

static double lse_ref(const real *x, int V) {
    double m = -INFINITY, s = 0;
    for (int j = 0; j < V; j++) m = x[j] > m ? x[j] : m;
    for (int j = 0; j < V; j++) s += exp(x[j] - m);
    return m + log(s);
}

void cross_entropy_forward_ref(real *loss, real *lse, const real *logits, const int *targets, int n, int V) {
    for (int i = 0; i < n; i++) {
        const real *x = logits + (size_t)i * V;
        double l = lse_ref(x, V);
        lse[i] = (real)l;
        loss[i] = targets[i] < 0 ? 0 : (real)(l - x[targets[i]]);
    }
}

void cross_entropy_backward_ref(real *dlogits, const real *logits, const real *lse, const int *targets,
                                const real *row_weight, real scale, int n, int V) {
    for (int i = 0; i < n; i++) {
        const real *x = logits + (size_t)i * V;
        real *d = dlogits + (size_t)i * V;
        double w = (row_weight ? row_weight[i] : 1.0) * scale, l = lse_ref(x, V);
        int tg = targets[i];
        for (int j = 0; j < V; j++) {
            double g = tg < 0 ? 0 : w * (exp(x[j] - l) - (j == tg));
            d[j] = (real)g;     /* x[j] read before d[j] written: aliasing is fine */
        }
    }
}
