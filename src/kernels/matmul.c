/* gemm and the Linear layer (see matmul.h): OpenBLAS for large products, our own loops for
 * small ones. The crossover (GEMM_BLAS_MIN_FLOPS) was picked from bench/bench_kernels.c. */
#include "kernels/matmul.h"

#include <cblas.h>
#include <string.h>

#include "base/error.h"
#include "kernels/ops.h"

/* Products with M·N·K below this go to the small-matrix loop (measured; see PERF.md). */
#ifndef GEMM_BLAS_MIN_FLOPS
#define GEMM_BLAS_MIN_FLOPS (48.0 * 48.0 * 48.0)
#endif

/* C = alpha·op(A)·op(B) + beta·C by rows; single-threaded (callers parallelise outside). */
static void gemm_small(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
                       const real *B, int ldb, real beta, real *C, int ldc) {
    for (int i = 0; i < M; i++) {
        real *c = C + (size_t)i * ldc;
        if (!tb) {
            if (beta == 0) memset(c, 0, (size_t)N * sizeof *c);
            else if (beta != 1) for (int j = 0; j < N; j++) c[j] *= beta;
            for (int p = 0; p < K; p++) {
                real a = alpha * (ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p]);
                const real *b = B + (size_t)p * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else if (!ta) {
            const real *a = A + (size_t)i * lda;
            for (int j = 0; j < N; j++) {
                real d = alpha * ops_dot(a, B + (size_t)j * ldb, K);
                c[j] = beta == 0 ? d : beta * c[j] + d;
            }
        } else {
            for (int j = 0; j < N; j++) {
                const real *b = B + (size_t)j * ldb;
                real d = 0;
                for (int p = 0; p < K; p++) d += A[(size_t)p * lda + i] * b[p];
                d *= alpha;
                c[j] = beta == 0 ? d : beta * c[j] + d;
            }
        }
    }
}

void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    if ((double)M * N * K < GEMM_BLAS_MIN_FLOPS || K == 0) {
        gemm_small(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (beta == 0)      /* BLAS may compute 0·C, which keeps NaNs; the contract says it must not */
        for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
#if REAL_IS_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void matmul_forward(real *y, const real *x, const real *w, int n, int in, int out, int accumulate) {
    gemm(0, 1, n, out, in, 1, x, in, w, in, accumulate ? 1 : 0, y, out);
}

void matmul_backward(real *dx, real *dw, const real *dy, const real *x, const real *w, int n,
                     int in, int out, int accumulate_dx) {
    if (dw) gemm(1, 0, out, in, n, 1, dy, out, x, in, 1, dw, in);
    if (dx) gemm(0, 0, n, in, out, 1, dy, out, w, in, accumulate_dx ? 1 : 0, dx, in);
}
