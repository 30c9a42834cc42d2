/* Causal softmax attention, forward and backward (see attention.h).
 *
 * Work is split over (b, h) pairs, one OpenMP task each; a pair is processed by one thread with
 * its own T×T tiles from `scratch`, so the result does not depend on the thread count. Within a
 * pair, rows go in blocks of ATT_BR queries; a block only touches keys up to its last row, which
 * skips most of the masked upper triangle. Scores are computed with gemm on strided views of
 * q/k/v ([B, T, H, D] rows have stride H·D); K and V are transposed once per pair so that every
 * product is NN or TN (OpenBLAS's small-matrix kernels are fastest there, see matmul.c).
 */
#include "kernels/attention.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

#define ATT_BR 64   /* query rows per block */

/* Per thread: two T×T tiles, then Kᵀ [Dqk, T] and Vᵀ [Dv, T]. */
static size_t per_thread(int T, int Dqk, int Dv) { return 2 * (size_t)T * T + (size_t)(Dqk + Dv) * T; }

size_t attention_scratch_size(int B, int T, int H, int Dqk, int Dv, int n_threads) {
    if (n_threads < 1) n_threads = 1;
    return (size_t)n_threads * per_thread(T, Dqk, Dv) + 64;
}

/* dst[D, T] = src[T, D]ᵀ, src rows of stride ld. */
static void transpose(real *dst, const real *src, int T, int D, int ld) {
    for (int t0 = 0; t0 < T; t0 += 16) {
        const int t1 = t0 + 16 < T ? t0 + 16 : T;
        for (int j = 0; j < D; j++)
            for (int t = t0; t < t1; t++) dst[(size_t)j * T + t] = src[(size_t)t * ld + j];
    }
}

/* Threads used: the same count attention_scratch_size was (by contract) sized with. */
static int att_threads(int B, int H) {
    int nt = omp_get_max_threads();
    return nt > B * H ? (B * H > 0 ? B * H : 1) : nt;
}

void attention_forward(real *out, real *lse, const real *q, const real *k, const real *v, int B,
                       int T, int H, int Dqk, int Dv, real scale, real *scratch) {
    const int ldq = H * Dqk, ldv = H * Dv;
    const int nt = att_threads(B, H);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        real *S = scratch + (size_t)omp_get_thread_num() * per_thread(T, Dqk, Dv);
        real *Kt = S + 2 * (size_t)T * T;                                 /* [Dqk, T] */
        const real *Q = q + (size_t)b * T * ldq + (size_t)h * Dqk;
        const real *K = k + (size_t)b * T * ldq + (size_t)h * Dqk;
        transpose(Kt, K, T, Dqk, ldq);
        const real *V = v + (size_t)b * T * ldv + (size_t)h * Dv;
        real *O = out + (size_t)b * T * ldv + (size_t)h * Dv;
        real *L = lse + (size_t)bh * T;
        for (int r0 = 0; r0 < T; r0 += ATT_BR) {
            const int r1 = r0 + ATT_BR < T ? r0 + ATT_BR : T, rb = r1 - r0;
            real *Sb = S + (size_t)r0 * T;
            gemm(0, 0, rb, r1, Dqk, scale, Q + (size_t)r0 * ldq, ldq, Kt, T, 0, Sb, T);
            for (int t = r0; t < r1; t++) {
                real *row = S + (size_t)t * T;
                L[t] = ops_softmax_row(row, t + 1);
                for (int s = t + 1; s < r1; s++) row[s] = 0;
            }
            gemm(0, 0, rb, Dv, r1, 1, Sb, T, V, ldv, 0, O + (size_t)r0 * ldv, ldv);
        }
    }
}

void attention_backward(real *dq, real *dk, real *dv, const real *dout, const real *out,
                        const real *lse, const real *q, const real *k, const real *v, int B, int T,
                        int H, int Dqk, int Dv, real scale, real *scratch) {
    const int ldq = H * Dqk, ldv = H * Dv;
    const int nt = att_threads(B, H);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        real *P = scratch + (size_t)omp_get_thread_num() * per_thread(T, Dqk, Dv);   /* [T, T] */
        real *dS = P + (size_t)T * T;                                     /* [T, T] dscore */
        real *Kt = dS + (size_t)T * T, *Vt = Kt + (size_t)Dqk * T;         /* [Dqk, T], [Dv, T] */
        const size_t oq = (size_t)b * T * ldq + (size_t)h * Dqk, ov = (size_t)b * T * ldv + (size_t)h * Dv;
        const real *Q = q + oq, *K = k + oq, *V = v + ov, *O = out + ov, *dO = dout + ov;
        const real *L = lse + (size_t)bh * T;
        transpose(Kt, K, T, Dqk, ldq);
        transpose(Vt, V, T, Dv, ldv);
        for (int r0 = 0; r0 < T; r0 += ATT_BR) {
            const int r1 = r0 + ATT_BR < T ? r0 + ATT_BR : T, rb = r1 - r0;
            gemm(0, 0, rb, r1, Dqk, scale, Q + (size_t)r0 * ldq, ldq, Kt, T, 0, P + (size_t)r0 * T, T);
            gemm(0, 0, rb, r1, Dv, 1, dO + (size_t)r0 * ldv, ldv, Vt, T, 0, dS + (size_t)r0 * T, T);
            for (int t = r0; t < r1; t++) {
                real *p = P + (size_t)t * T, *ds = dS + (size_t)t * T;
                const real delta = ops_dot(dO + (size_t)t * ldv, O + (size_t)t * ldv, Dv);
                ops_exp_shift_scale(p, p, L[t], 1, t + 1);
                for (int s = 0; s <= t; s++) ds[s] = p[s] * (ds[s] - delta);
                for (int s = t + 1; s < r1; s++) p[s] = ds[s] = 0;
            }
            /* dq[r-block] = scale · dS[r-block, 0:r1] · K[0:r1] */
            gemm(0, 0, rb, Dqk, r1, scale, dS + (size_t)r0 * T, T, K, ldq, 0, dq + oq + (size_t)r0 * ldq, ldq);
        }
        /* key block s0..s1 sees query rows t >= s0 only */
        for (int s0 = 0; s0 < T; s0 += ATT_BR) {
            const int s1 = s0 + ATT_BR < T ? s0 + ATT_BR : T, sb = s1 - s0, nr = T - s0;
            gemm(1, 0, sb, Dv, nr, 1, P + (size_t)s0 * T + s0, T, dO + (size_t)s0 * ldv, ldv, 0,
                 dv + ov + (size_t)s0 * ldv, ldv);
            gemm(1, 0, sb, Dqk, nr, scale, dS + (size_t)s0 * T + s0, T, Q + (size_t)s0 * ldq, ldq, 0,
                 dk + oq + (size_t)s0 * ldq, ldq);
        }
    }
}
