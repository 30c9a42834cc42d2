/* Naive twins of matmul.h: triple loops accumulating in double, for the tests. */
#include <stddef.h>

#include "kernels/matmul.h"

void gemm_ref(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
              const real *B, int ldb, real beta, real *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++) {
                double a = trans_a ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                double b = trans_b ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                s += a * b;
            }
            real *c = C + (size_t)i * ldc + j;
            *c = (real)((double)alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
        }
}

void matmul_forward_ref(real *y, const real *x, const real *w, int n, int in, int out, int accumulate) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = accumulate ? y[(size_t)i * out + o] : 0.0;
            for (int k = 0; k < in; k++) s += (double)x[(size_t)i * in + k] * w[(size_t)o * in + k];
            y[(size_t)i * out + o] = (real)s;
        }
}

void matmul_backward_ref(real *dx, real *dw, const real *dy, const real *x, const real *w, int n,
                         int in, int out, int accumulate_dx) {
    if (dw)
        for (int o = 0; o < out; o++)
            for (int k = 0; k < in; k++) {
                double s = dw[(size_t)o * in + k];
                for (int i = 0; i < n; i++) s += (double)dy[(size_t)i * out + o] * x[(size_t)i * in + k];
                dw[(size_t)o * in + k] = (real)s;
            }
    if (dx)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < in; k++) {
                double s = accumulate_dx ? dx[(size_t)i * in + k] : 0.0;
                for (int o = 0; o < out; o++) s += (double)dy[(size_t)i * out + o] * w[(size_t)o * in + k];
                dx[(size_t)i * in + k] = (real)s;
            }
}
