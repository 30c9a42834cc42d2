/* bf16 basics (see bf16.h): CPU detection and row conversions. */
#include "kernels/bf16.h"

#include "kernels/bf16_simd.h"

int bf16_cpu_has_dot(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

void bf16_from_f32_n(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), bf16x16_from_ps(_mm512_loadu_ps(src + i)));
#endif
    for (; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

void bf16_pairs_from_f32(uint32_t *dst, const float *src, int n) {
    bf16_from_f32_n((uint16_t *)dst, src, (size_t)n);   /* little-endian: x[2t] is the low half */
    if (n & 1) ((uint16_t *)dst)[n] = 0;
}
