/* Matrix multiplication, the one place model code multiplies matrices.
 *
 * Row-major throughout. A Linear layer's weight W is [out, in] (PyTorch layout) and
 *   y[n, out] = x[n, in] · Wᵀ
 * matmul_forward/backward are that layer; gemm() is the general form they are built on. Large
 * products go to OpenBLAS (cblas_sgemm / cblas_dgemm under R1_DOUBLE); small ones, where BLAS's
 * call and packing overhead loses, take our own loop (the crossover is measured, see PERF.md).
 * Every function has a naive twin (*_ref) — plain triple loops accumulating in double — that the
 * tests compare against. No function allocates.
 */
#ifndef R1_KERNELS_MATMUL_H
#define R1_KERNELS_MATMUL_H

#include "kernels/real.h"

/* C[M,N] = alpha · op(A) · op(B) + beta · C, op(X) = X or Xᵀ per trans_a / trans_b.
 * lda/ldb/ldc are row strides (elements) of A, B, C as stored. beta = 0 ignores C's contents
 * (NaNs in C do not propagate). */
void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc);
void gemm_ref(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
              const real *B, int ldb, real beta, real *C, int ldc);

/* The two paths gemm() chooses between, exposed for the crossover benchmark and the tests:
 * gemm_loop is our own single-threaded kernel, gemm_blas calls OpenBLAS (threads as set by
 * threads_set; one thread inside an OpenMP parallel region). gemm() takes gemm_loop when
 * M·N·K < gemm_blas_min_flops(trans_a, trans_b). Same contract as gemm(). */
void gemm_loop(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc);
void gemm_blas(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc);
double gemm_blas_min_flops(int trans_a, int trans_b);

/* y[n, out] = x[n, in] · w[out, in]ᵀ  (accumulate = 1: y += ...) */
void matmul_forward(real *y, const real *x, const real *w, int n, int in, int out, int accumulate);
/* dw[out, in] += dyᵀ · x   (skipped when dw is NULL)
 * dx[n, in]    = dy · w    (+= when accumulate_dx; skipped when dx is NULL) */
void matmul_backward(real *dx, real *dw, const real *dy, const real *x, const real *w, int n,
                     int in, int out, int accumulate_dx);

/* The precision of a product's operands: f32, or bf16 (kernels/gemm_bf16.h: each operand rounded
 * to bf16, fp32 sums) — mixed-precision training's big products. The double build ignores it. */
typedef enum MatPrec { MAT_F32 = 0, MAT_BF16 = 1 } MatPrec;
extern const char *const MAT_PREC_NAMES[];   /* "f32", "bf16", NULL */

/* matmul_forward / matmul_backward in that precision (the same blocks over the threads). */
void matmul_forward_p(MatPrec prec, real *y, const real *x, const real *w, int n, int in, int out,
                      int accumulate);
void matmul_backward_p(MatPrec prec, real *dx, real *dw, const real *dy, const real *x, const real *w,
                       int n, int in, int out, int accumulate_dx);

void matmul_forward_ref(real *y, const real *x, const real *w, int n, int in, int out, int accumulate);
void matmul_backward_ref(real *dx, real *dw, const real *dy, const real *x, const real *w, int n,
                         int in, int out, int accumulate_dx);

#endif
