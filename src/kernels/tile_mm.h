/* Unpacked small products for fused kernels (attention's per-head tiles).
 *
 *   C [M, N] = alpha · A [M, K] · B [K, N]          (accumulate = 1: C += ...)
 *
 * A is read in place through element strides: A(i, p) = A[i·a_rs + p·a_cs], so a row-major A
 * (a_rs = lda, a_cs = 1) and a transposed one (a_rs = 1, a_cs = lda) cost the same. B is read
 * in place by rows: row p is the N contiguous values at B + p·ldb. Nothing is packed — fused
 * kernels call this thousands of times per step on operands already in cache, where a BLAS call's
 * packing and dispatch cost as much as the arithmetic.
 *
 * Each C element is one FMA chain over p = 0..K−1 in order (then · alpha, then + C): the result
 * does not depend on M, on N or on where a tile starts — deterministic under any split over
 * threads. Single-threaded. Float with AVX-512 (tiles of 8 rows × up to 48 columns held in
 * registers, B loads masked at the ragged end); plain loops elsewhere (the double build).
 */
#ifndef R1_KERNELS_TILE_MM_H
#define R1_KERNELS_TILE_MM_H

#include <stddef.h>

#include "kernels/real.h"

void tile_mm(int M, int N, int K, real alpha, const real *A, size_t a_rs, size_t a_cs,
             const real *B, size_t ldb, real *C, size_t ldc, int accumulate);

#endif
