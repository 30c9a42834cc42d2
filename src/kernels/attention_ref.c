/* Naive twin of attention.h: every score, probability and sum in double, O(T²) memory-free. */
#include "kernels/attention.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"

static double score(const real *q, const real *k, int b, int t, int s, int h, int T, int H, int D,
                    double scale) {
    const real *qi = q + (((size_t)b * T + t) * H + h) * D, *ki = k + (((size_t)b * T + s) * H + h) * D;
    double d = 0;
    for (int j = 0; j < D; j++) d += (double)qi[j] * ki[j];
    return scale * d;
}

/* log Σ_{s<=t} exp(score(t, s)) of one causal row, in double */
static double row_lse(const real *q, const real *k, int b, int t, int h, int T, int H, int D, double scale) {
    double m = -INFINITY, sum = 0;
    for (int s = 0; s <= t; s++) {
        double x = score(q, k, b, t, s, h, T, H, D, scale);
        m = x > m ? x : m;
    }
    for (int s = 0; s <= t; s++) sum += exp(score(q, k, b, t, s, h, T, H, D, scale) - m);
    return m + log(sum);
}

void attention_forward_ref(real *out, real *lse, const real *q, const real *k, const real *v, int B,
                           int T, int H, int Dqk, int Dv, real scale) {
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                double l = row_lse(q, k, b, t, h, T, H, Dqk, scale);
                lse[((size_t)b * H + h) * T + t] = (real)l;
                real *o = out + (((size_t)b * T + t) * H + h) * Dv;
                for (int j = 0; j < Dv; j++) {
                    double acc = 0;
                    for (int s = 0; s <= t; s++)
                        acc += exp(score(q, k, b, t, s, h, T, H, Dqk, scale) - l) *
                               v[(((size_t)b * T + s) * H + h) * Dv + j];
                    o[j] = (real)acc;
                }
            }
}

/* The reference recomputes lse itself (in double) rather than trusting the saved one, so it
 * checks the math, not the fast kernel's bookkeeping; `out` and `lse` are unused. Being a test
 * twin, it allocates its double accumulators. */
void attention_backward_ref(real *dq, real *dk, real *dv, const real *dout, const real *out,
                            const real *lse, const real *q, const real *k, const real *v, int B,
                            int T, int H, int Dqk, int Dv, real scale) {
    size_t nq = (size_t)B * T * H * Dqk, nv = (size_t)B * T * H * Dv;
    double *aq = calloc(nq ? nq : 1, sizeof *aq), *ak = calloc(nq ? nq : 1, sizeof *ak);
    double *av = calloc(nv ? nv : 1, sizeof *av);
    CHECK(aq && ak && av);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                double l = row_lse(q, k, b, t, h, T, H, Dqk, scale);
                const real *go = dout + (((size_t)b * T + t) * H + h) * Dv;
                /* P_ts, dP_ts = go·v_s, and Σ_s P dP */
                double rowdot = 0;
                for (int s = 0; s <= t; s++) {
                    double p = exp(score(q, k, b, t, s, h, T, H, Dqk, scale) - l), dp = 0;
                    const real *vs = v + (((size_t)b * T + s) * H + h) * Dv;
                    for (int j = 0; j < Dv; j++) dp += (double)go[j] * vs[j];
                    rowdot += p * dp;
                }
                const real *qt = q + (((size_t)b * T + t) * H + h) * Dqk;
                double *dqt = aq + (((size_t)b * T + t) * H + h) * Dqk;
                for (int s = 0; s <= t; s++) {
                    double p = exp(score(q, k, b, t, s, h, T, H, Dqk, scale) - l), dp = 0;
                    const real *vs = v + (((size_t)b * T + s) * H + h) * Dv;
                    double *dvs = av + (((size_t)b * T + s) * H + h) * Dv;
                    const real *ks = k + (((size_t)b * T + s) * H + h) * Dqk;
                    double *dks = ak + (((size_t)b * T + s) * H + h) * Dqk;
                    for (int j = 0; j < Dv; j++) dp += (double)go[j] * vs[j];
                    for (int j = 0; j < Dv; j++) dvs[j] += p * go[j];
                    double ds = p * (dp - rowdot) * scale;
                    for (int j = 0; j < Dqk; j++) {
                        dqt[j] += ds * ks[j];
                        dks[j] += ds * qt[j];
                    }
                }
            }
    for (size_t i = 0; i < nq; i++) { dq[i] = (real)aq[i]; dk[i] = (real)ak[i]; }
    for (size_t i = 0; i < nv; i++) dv[i] = (real)av[i];
    free(aq);
    free(ak);
    free(av);
}
