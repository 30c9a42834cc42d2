/* The narrow floating-point formats of model weights, one value at a time: bfloat16, IEEE half
 * (f16) and OCP FP8 E4M3 (the "fn" variant DeepSeek-V3 ships: no infinities, 0x7F/0xFF are NaN).
 *
 *   bf16   the upper 16 bits of an f32: 8 significant bits, f32's range
 *   f16    1 sign, 5 exponent (bias 15), 10 mantissa bits: 11 significant bits, max 65504
 *   e4m3   1 sign, 4 exponent (bias 7), 3 mantissa bits: 4 significant bits, max 448
 *
 * Widening to f32 is exact in every case. Narrowing from f32 rounds to nearest, ties to even, and
 * keeps subnormals (no flush to zero); a NaN stays a quiet NaN. Header-only so that the kernels'
 * packing loops inline them; safetensors (io) and the low-precision kernels share these. */
#ifndef R1_BASE_FP_FORMATS_H
#define R1_BASE_FP_FORMATS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fp_f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t fp_bits_from_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float bf16_to_f32(uint16_t h) { return fp_f32_from_bits((uint32_t)h << 16); }

static inline uint16_t f32_to_bf16(float f) {
    uint32_t u = fp_bits_from_f32(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);   /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);   /* round to nearest, ties to even (may carry into inf) */
    return (uint16_t)(u >> 16);
}

/* f32 rounded to the nearest bf16 value (as an f32). */
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return fp_f32_from_bits(sign | 0x7f800000u | (man << 13));   /* inf / NaN */
    if (exp == 0) {
        float v = ldexpf((float)man, -24);                                       /* subnormal or 0 */
        return sign ? -v : v;
    }
    return fp_f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t f32_to_f16(float f) {
    uint32_t u = fp_bits_from_f32(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);                      /* NaN */
    if (a >= 0x47800000u) return (uint16_t)(sign | 0x7c00u);                     /* >= 65536: inf */
    if (a < 0x38800000u) {                          /* below 2^-14: subnormal half (or zero) */
        /* round a / 2^-24 to nearest even (the scaling by a power of two is exact) */
        float v = fp_f32_from_bits(a) * 16777216.0f;
        uint32_t q = (uint32_t)v;
        float rem = v - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1u))) q++;
        return (uint16_t)(sign | q);                /* q == 0x400 rolls into the smallest normal */
    }
    uint32_t exp = (a >> 23) - 112u, man = a & 0x7fffffu;
    uint32_t h = (exp << 10) | (man >> 13), rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;                   /* may carry to inf */
    return (uint16_t)(sign | h);
}

/* NaN for the e4m3fn NaN bytes 0x7F / 0xFF. */
static inline float e4m3_to_f32(uint8_t b) {
    int sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 7;
    float v;
    if (exp == 0xf && man == 7) return NAN;                  /* e4m3fn: no infinities */
    if (exp == 0) v = ldexpf((float)man, -9);                /* 2^-6 · m/8 */
    else v = ldexpf(1.0f + (float)man / 8.0f, exp - 7);
    return sign ? -v : v;
}

static inline int e4m3_is_nan(uint8_t b) { return (b & 0x7f) == 0x7f; }

#endif
