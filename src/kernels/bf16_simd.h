/* AVX-512F helpers of the bf16 kernels (private to src/kernels): f32 -> bf16 rounding to nearest
 * even in integer arithmetic (the bits of f32_to_bf16 in base/fp_formats.h, 16 lanes at once) and
 * bf16 -> f32 widening. */
#ifndef R1_KERNELS_BF16_SIMD_H
#define R1_KERNELS_BF16_SIMD_H

#if defined(__AVX512F__)
#include <immintrin.h>

/* 16 floats -> 16 bf16 (in a 256-bit vector), round to nearest even, NaN kept quiet. */
static inline __m256i bf16x16_from_ps(__m512 x) {
    const __m512i u = _mm512_castps_si512(x);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

/* The same, each bf16 left in the low half of its 32-bit lane (high half 0). */
static inline __m512i bf16x16_from_ps_epi32(__m512 x) {
    return _mm512_cvtepu16_epi32(bf16x16_from_ps(x));
}

/* Pairs (lo[i], hi[i]) of two rows of 16 floats: lane i = bf16(lo[i]) | bf16(hi[i]) << 16. */
static inline __m512i bf16x16_pairs(__m512 lo, __m512 hi) {
    return _mm512_or_si512(bf16x16_from_ps_epi32(lo), _mm512_slli_epi32(bf16x16_from_ps_epi32(hi), 16));
}

/* The even (low) and odd (high) halves of 16 pairs, widened to f32. */
static inline __m512 bf16_pair_lo_ps(__m512i p) { return _mm512_castsi512_ps(_mm512_slli_epi32(p, 16)); }
static inline __m512 bf16_pair_hi_ps(__m512i p) {
    return _mm512_castsi512_ps(_mm512_and_si512(p, _mm512_set1_epi32((int)0xffff0000u)));
}

#endif
#endif
