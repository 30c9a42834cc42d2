/* Small products in bf16 for fused kernels (attention's per-head tiles under --precision bf16):
 * tile_mm's contract (kernels/tile_mm.h) on operands converted once to bf16 PAIRS along the
 * reduction axis (kernels/bf16.h), so that a (b, h) pair converts each of its K, V, Q, dO once and
 * every tile reads them as vdpbf16ps wants them.
 *
 *   C [M, N] = alpha · A [M, K] · B [K, N]          (accumulate = 1: C += ...)
 *   Ap: row i's pairs at Ap + i·ldap (⌈K/2⌉ of them); Bp: pair row t (rows 2t, 2t+1 of B) at
 *   Bp + t·ldbp, N pairs, one per column.
 *
 * Each C element is one fp32 chain over the pairs in order (then · alpha, then + C): its bits do
 * not depend on M, N or where the tile starts. Bound against the exact product of the f32
 * operands: (2u + u²)·Σ|a||b| + (⌈K/2⌉·2 + 2)·2^-24·(Σ|a||b| + |C|), u = 2^-8 (tests/test_bf16.c).
 * Single-threaded; no allocation.
 */
#ifndef R1_KERNELS_TILE_BF16_H
#define R1_KERNELS_TILE_BF16_H

#include <stddef.h>
#include <stdint.h>

/* dst[i·ld + t] = (bf16(X(i, 2t)), bf16(X(i, 2t+1))) for i < M, t < ⌈K/2⌉, X(i, p) =
 * src[i·rs + p·cs] (a missing last element 0): the rows of a strided matrix as pairs (Ap). */
void pairs_of_rows(uint32_t *dst, size_t ld, const float *src, size_t rs, size_t cs, int M, int K);
/* dst[t·ld + j] = (bf16(B[2t][j]), bf16(B[2t+1][j])) for t < ⌈K/2⌉, j < N, B's rows at stride ldb:
 * the pair rows of a [K, N] matrix (Bp). */
void pairs_of_cols(uint32_t *dst, size_t ld, const float *B, size_t ldb, int K, int N);

void tile_mm_pairs(int M, int N, int K, float alpha, const uint32_t *Ap, size_t ldap,
                   const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate);
/* The same with the inner kernel chosen (gemm_bf16.h's Bf16Kernel: 0 = the best; tests). */
void tile_mm_pairs_with(int kern, int M, int N, int K, float alpha, const uint32_t *Ap, size_t ldap,
                        const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate);
/* tile_mm_pairs with A given by its pair COLUMNS: row i's pair t at Ac[t·ldac + i] — pairs_of_cols
 * of Aᵀ [K, M], so a product over Aᵀ's rows (attention's dV = Pᵀ·dO) converts Aᵀ once for all its
 * column tiles. The same chains, the same bits as tile_mm_pairs on the same pairs. (kern: the
 * inner kernel as tile_mm_pairs_with; 0 = the best.) */
void tile_mm_pairs_cols_with(int kern, int M, int N, int K, float alpha, const uint32_t *Ac, size_t ldac,
                             const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate);

#endif
