/* Small-row GEMM against a pre-transposed weight, for batched decoding.
 *
 * A decode step multiplies a few rows (4..64) by every weight of the model. With the weight in
 * its Linear layout W [out, in] each output is a dot product (horizontal sums per output, see
 * gemm_loop's NT path); with a transposed copy Wt [in, out] made once per engine, the product is
 * C [M, N] = A [M, K] · Wt [K, N] in the broadcast-A / vector-B form (Wt packed in panels of 64
 * columns, each streamed front to back): a tile of R rows × 64
 * columns of C stays in registers while K streams by, each Wt row segment loaded once per tile,
 * no packing and no horizontal sums. Each C element is one sequential FMA chain over k = 0..K-1,
 * starting from 0 (or from C when accumulating): deterministic, and independent of the row count
 * and of how the columns are split over threads.
 *
 * Float32 with AVX-512, or with AVX2 + FMA; elsewhere a portable loop of the same contract.
 */
#ifndef R1_KERNELS_GEMM_SMALL_H
#define R1_KERNELS_GEMM_SMALL_H

#include <stddef.h>

#include "kernels/real.h"

#define KN_PANEL 64      /* columns per packed panel */

/* Packed transpose of a Linear weight W [N, K] (out × in): panel p holds columns
 * p·KN_PANEL .. +KN_PANEL of Wᵀ as [K, KN_PANEL] rows (zero-padded past N), panels one after
 * the other, so a product streams each panel front to back. kn_packed_size(N, K) reals. */
size_t kn_packed_size(int N, int K);
void kn_pack(real *dst, const real *W, int N, int K);

/* C [M, N] = A [M, K] · Wᵀ (acc = 1: C += ...) with Wp = kn_pack(W) of a weight W [Ntot, K],
 * starting at panel p0 (columns p0·KN_PANEL .. +N of the whole, N <= what is left). Row strides
 * lda, ldc. Single thread; callers split the panels over threads. */
void gemm_small_kn(int M, int N, int K, const real *A, int lda, const real *Wp, int p0, real *C,
                   int ldc, int acc);

/* C [M, cols] (+)= A [M, K] · B [K, cols] with B's rows ldb apart (cols <= KN_PANEL: one panel,
 * or a panel's rows widened from a stored format), the same chains as gemm_small_kn. Machines
 * without AVX-512 only (gemm_small_kn and the low-precision fallbacks run on it). */
#if REAL_IS_DOUBLE || !defined(__AVX512F__)
void gemm_small_panel(int M, int cols, int K, const real *A, int lda, const real *B, int ldb, real *C,
                      int ldc, int acc);
#endif

#endif
