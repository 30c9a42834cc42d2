/* The accumulator tile of the register-tiled AVX-512 kernels (tile_mm, tile_bf16, gemm_small,
 * kn_lowp; private to src/kernels): R rows × V vectors of 16 floats, c[R][V], filled before the
 * K loop and written to C after it. Every caller passes compile-time R and V, so once these
 * always-inline helpers are in the kernel their loops unroll and c stays in zmm registers. A row's
 * last vector is under the mask ml (the columns left of a strip), the others are whole. */
#ifndef R1_KERNELS_ACC_TILE_H
#define R1_KERNELS_ACC_TILE_H

#if defined(__AVX512F__)
#include <immintrin.h>
#include <stddef.h>

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

#endif
#endif
