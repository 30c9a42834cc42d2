/* The accumulator tile of the register-tiled AVX-512 kernels (tile_mm, tile_bf16, gemm_small,
 * kn_lowp, matmul, gemm_bf16; private to src/kernels): R rows × V vectors of 16 floats, c[R][V],
 * filled before the K loop and written to C after it. Every caller passes compile-time R and V, so once these
 * always-inline helpers are in the kernel their loops unroll and c stays in zmm registers. A row's
 * last vector is under the mask ml (the columns left of a strip), the others are whole. */
#ifndef R1_KERNELS_ACC_TILE_H
#define R1_KERNELS_ACC_TILE_H

#if defined(__AVX512F__)
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fp_formats.h"

#define ACC_INLINE static inline __attribute__((always_inline))

/* The lanes of the last of the vectors of a strip of `cols` columns (1..16 of them). */
ACC_INLINE __mmask16 acc_tail_mask(int cols) {
    const int left = cols - 16 * ((cols - 1) / 16);
    return (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1);
}

/* The mask of vector v of V: whole, or ml on the last. */
ACC_INLINE __mmask16 acc_mask(int V, int v, __mmask16 ml) { return v == V - 1 ? ml : (__mmask16)0xFFFF; }

ACC_INLINE void acc_zero(int R, int V, __m512 c[R][V]) {
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) c[r][v] = _mm512_setzero_ps();
}

/* c = C (+ r·ldc + 16·v) when acc, else 0. */
ACC_INLINE void acc_load(int R, int V, __m512 c[R][V], const float *C, size_t ldc, int acc, __mmask16 ml) {
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)
            c[r][v] = acc ? _mm512_maskz_loadu_ps(acc_mask(V, v, ml), C + (size_t)r * ldc + 16 * v) : _mm512_setzero_ps();
}

/* C = c. */
ACC_INLINE void acc_store(int R, int V, __m512 c[R][V], float *C, size_t ldc, __mmask16 ml) {
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16 * v, acc_mask(V, v, ml), c[r][v]);
}

/* C = alpha·c, or C + alpha·c when acc (the product rounded before the sum). */
ACC_INLINE void acc_store_scaled(int R, int V, __m512 c[R][V], float alpha, float *C, size_t ldc, int acc,
                                 __mmask16 ml) {
    const __m512 va = _mm512_set1_ps(alpha);
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) {
            float *cr = C + (size_t)r * ldc + 16 * v;
            __m512 x = _mm512_mul_ps(c[r][v], va);
            if (acc) x = _mm512_add_ps(_mm512_maskz_loadu_ps(acc_mask(V, v, ml), cr), x);
            _mm512_mask_storeu_ps(cr, acc_mask(V, v, ml), x);
        }
}

/* One K step p of the broadcast kernels: c[r][v] += A[r·lda + p]·bv[v]. */
ACC_INLINE void acc_fma_bcast(int R, int V, __m512 c[R][V], const float *A, size_t lda, int p, const __m512 *bv) {
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
        const __m512 a = _mm512_set1_ps(A[(size_t)r * lda + p]);
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) c[r][v] = _mm512_fmadd_ps(a, bv[v], c[r][v]);
    }
}

/* The same on bf16 pairs without the dot instruction: row r's pair A[r·lda + p] (lo | hi << 16)
 * against the widened columns bl, bh, the odd product first (the order vdpbf16ps adds them in). */
ACC_INLINE void acc_fma_pairs(int R, int V, __m512 c[R][V], const uint32_t *A, size_t lda, int p, const __m512 *bl,
                              const __m512 *bh) {
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
        const uint32_t pr = A[(size_t)r * lda + p];
        const __m512 al = _mm512_set1_ps(bf16_to_f32((uint16_t)pr));
        const __m512 ah = _mm512_set1_ps(bf16_to_f32((uint16_t)(pr >> 16)));
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)
            c[r][v] = _mm512_fmadd_ps(al, bl[v], _mm512_fmadd_ps(ah, bh[v], c[r][v]));
    }
}

/* The small-M kernels come in every tile of R = 1..6 rows by V = 1..4 vectors: DEF(R, V) defines
 * the kernel P##R##_##V, and ACC_GRID_TABLE(P) is the [V-1][R-1] table of them. */
#define ACC_DEFINE_ROWS(DEF, V) DEF(6, V) DEF(5, V) DEF(4, V) DEF(3, V) DEF(2, V) DEF(1, V)
#define ACC_DEFINE_GRID(DEF) \
    ACC_DEFINE_ROWS(DEF, 4) ACC_DEFINE_ROWS(DEF, 3) ACC_DEFINE_ROWS(DEF, 2) ACC_DEFINE_ROWS(DEF, 1)
#define ACC_GRID_TABLE(P)                                                                        \
    {{P##1_1, P##2_1, P##3_1, P##4_1, P##5_1, P##6_1},                                           \
     {P##1_2, P##2_2, P##3_2, P##4_2, P##5_2, P##6_2},                                           \
     {P##1_3, P##2_3, P##3_3, P##4_3, P##5_3, P##6_3},                                           \
     {P##1_4, P##2_4, P##3_4, P##4_4, P##5_4, P##6_4}}

/* One row of a two-vector tile (the 32-column kernels of matmul and gemm_bf16): cr[0..32) =
 * va·x + beta·cr under the masks m0, m1 (beta = 0: cr unread). */
ACC_INLINE void acc_store_pair(float *cr, __m512 x0, __m512 x1, __m512 va, float beta, __mmask16 m0,
                               __mmask16 m1) {
    x0 = _mm512_mul_ps(x0, va);
    x1 = _mm512_mul_ps(x1, va);
    if (beta != 0) {
        const __m512 vb = _mm512_set1_ps(beta);
        x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), x0);
        x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), x1);
    }
    _mm512_mask_storeu_ps(cr, m0, x0);
    _mm512_mask_storeu_ps(cr + 16, m1, x1);
}

#endif
#endif
