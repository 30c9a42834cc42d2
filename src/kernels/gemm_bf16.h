/* General matrix products with bf16 operands and fp32 accumulation (mixed-precision training's
 * big products: forward x·Wᵀ, dX = dY·W, dW += dYᵀ·X).
 *
 *   C [M, N] = alpha · bf16(op(A)) · bf16(op(B)) + beta · C      (f32 A, B, C in memory)
 *
 * Same contract as gemm() in matmul.h (row-major, row strides, trans flags; beta = 0 ignores C),
 * except that each operand element is rounded to bf16 (nearest even) as it is packed. Debian's
 * OpenBLAS 0.3.21 is built without its bf16 routines (no cblas_sbgemm symbol in any of its
 * flavours), so this is our own: GotoBLAS-style blocks (B in KC×NC, A in MC×KC, both packed into
 * per-thread buffers as bf16 pairs along K), a 12×32 register tile updated by vdpbf16ps.
 *
 * Each C element is one fp32 chain per K block of GEMM_BF16_KC in order, the blocks' sums added
 * to C in order: the bits depend on neither M, N, where the element's row or column block starts,
 * nor the thread that computes it. Single-threaded (matmul.h's Linear layer splits row blocks over
 * the threads). No allocation: the packing buffers are thread-local (about 300 KB per thread).
 *
 * Bound (tests/test_bf16.c): with u = 2^-8 (bf16's unit roundoff) and the exact products of the
 * f32 operands, per element
 *   |C − (alpha·Σ a·b + beta·C₀)| <= |alpha|·(2u + u² + (min(K, KC) + ⌈K/KC⌉ + 2)·2^-23)·Σ|a||b|
 *                                    + (⌈K/KC⌉ + 1)·|beta·C₀|·2^-23 + |alpha|·K·2^-126
 * — rounding each operand costs 2u + u² of a product (which is then exact in fp32), each of the
 * chain's additions and the blocks' sums round once, subnormal products may be flushed (FTZ).
 */
#ifndef R1_KERNELS_GEMM_BF16_H
#define R1_KERNELS_GEMM_BF16_H

#define GEMM_BF16_KC 256   /* K per block: the accumulation order */

/* Which inner kernel runs: the best this CPU has, or one of the two by name (tests and benches). */
typedef enum Bf16Kernel { BF16_KERNEL_AUTO = 0, BF16_KERNEL_DOT = 1, BF16_KERNEL_FMA = 2 } Bf16Kernel;

void gemm_bf16(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* gemm_bf16 with the inner kernel chosen; BF16_KERNEL_DOT on a CPU without AVX512-BF16 aborts. */
void gemm_bf16_with(Bf16Kernel kern, int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* The naive twin: operands rounded to bf16 the same way, products summed in double. */
void gemm_bf16_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
