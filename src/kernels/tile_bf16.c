/* bf16 tiles on pair layouts (see tile_bf16.h). */
#include "kernels/tile_bf16.h"

#include "base/error.h"
#include "kernels/acc_tile.h"
#include "kernels/bf16.h"
#include "kernels/bf16_simd.h"
#include "kernels/gemm_bf16.h"

void pairs_of_rows(uint32_t *dst, size_t ld, const float *src, size_t rs, size_t cs, int M, int K) {
    const int Kp = (K + 1) / 2;
    for (int i = 0; i < M; i++) {
        const float *x = src + (size_t)i * rs;
        uint32_t *d = dst + (size_t)i * ld;
        if (cs == 1) { bf16_pairs_from_f32(d, x, K); continue; }
        for (int t = 0; t < Kp; t++) {
            const uint32_t lo = f32_to_bf16(x[(size_t)(2 * t) * cs]);
            const uint32_t hi = 2 * t + 1 < K ? f32_to_bf16(x[(size_t)(2 * t + 1) * cs]) : 0;
            d[t] = lo | hi << 16;
        }
    }
}

void pairs_of_cols(uint32_t *dst, size_t ld, const float *B, size_t ldb, int K, int N) {
    const int Kp = (K + 1) / 2;
    for (int t = 0; t < Kp; t++) {
        const float *lo = B + (size_t)(2 * t) * ldb, *hi = 2 * t + 1 < K ? lo + ldb : NULL;
        uint32_t *d = dst + (size_t)t * ld;
        int j = 0;
#if defined(__AVX512F__)
        for (; j + 16 <= N; j += 16)
            _mm512_storeu_si512(d + j, bf16x16_pairs(_mm512_loadu_ps(lo + j), hi ? _mm512_loadu_ps(hi + j) : _mm512_setzero_ps()));
#endif
        for (; j < N; j++) d[j] = (uint32_t)f32_to_bf16(lo[j]) | (hi ? (uint32_t)f32_to_bf16(hi[j]) << 16 : 0);
    }
}

#if defined(__AVX512F__)

/* One tile: R rows × NV·16 columns (masked to cols), compile-time R and NV, built around its K
 * step: DOT, vdpbf16ps; FMA, two FMAs per pair on the widened values (the odd product first, as
 * the instruction adds). A step reads the pair row b and updates c. */
#define TP_STEP_dot(R, NV)                                                                        \
        __m512bh bv[NV];                                                                          \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                      \
            bv[v] = (__m512bh)_mm512_maskz_loadu_epi32(acc_mask(NV, v, ml), b + 16 * v);          \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                     \
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[(size_t)r * lda + (size_t)p * aps]); \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                  \
                c[r][v] = _mm512_dpbf16_ps(c[r][v], a, bv[v]);                                    \
        }
#define TP_STEP_fma(R, NV)                                                                        \
        __m512 bl[NV], bh[NV];                                                                    \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                    \
            const __m512i x = _mm512_maskz_loadu_epi32(acc_mask(NV, v, ml), b + 16 * v);          \
            bl[v] = bf16_pair_lo_ps(x);                                                           \
            bh[v] = bf16_pair_hi_ps(x);                                                           \
        }                                                                                         \
        acc_fma_pairs(R, NV, c, A + (size_t)p * aps, lda, 0, bl, bh);
#define DEFINE_TP_KERNEL(KIND, ATTR, R, NV)                                                       \
ATTR static void tp_##KIND##_##R##x##NV(int cols, int Kp, float alpha, const uint32_t *A, size_t lda,\
                                        size_t aps, const uint32_t *B, size_t ldb, float *C, size_t ldc, \
                                        int acc) {                                                \
    const __mmask16 ml = acc_tail_mask(cols);                                                     \
    __m512 c[R][NV];                                                                              \
    acc_zero(R, NV, c);                                                                           \
    for (int p = 0; p < Kp; p++) {                                                                \
        const uint32_t *b = B + (size_t)p * ldb;                                                  \
        TP_STEP_##KIND(R, NV)                                                                     \
    }                                                                                             \
    acc_store_scaled(R, NV, c, alpha, C, ldc, acc, ml);                                           \
}
#define TP_DOT_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define DEFINE_TP(R, NV) DEFINE_TP_KERNEL(dot, TP_DOT_TARGET, R, NV) DEFINE_TP_KERNEL(fma, , R, NV)
DEFINE_TP(8, 1)
DEFINE_TP(8, 2)
DEFINE_TP(8, 3)
DEFINE_TP(1, 1)
DEFINE_TP(1, 2)
DEFINE_TP(1, 3)

typedef void (*TpFn)(int, int, float, const uint32_t *, size_t, size_t, const uint32_t *, size_t, float *, size_t,
                     int);
static const TpFn tp_table[2][2][3] = {
    {{tp_dot_1x1, tp_dot_1x2, tp_dot_1x3}, {tp_dot_8x1, tp_dot_8x2, tp_dot_8x3}},
    {{tp_fma_1x1, tp_fma_1x2, tp_fma_1x3}, {tp_fma_8x1, tp_fma_8x2, tp_fma_8x3}},
};

/* Row i's pair p of A at Ap[i·ldap + p·aps]. */
static void tile_pairs(int kern, int M, int N, int K, float alpha, const uint32_t *Ap, size_t ldap, size_t aps,
                       const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    if (kern == BF16_KERNEL_AUTO) kern = bf16_cpu_has_dot() ? BF16_KERNEL_DOT : BF16_KERNEL_FMA;
    CHECKF(kern != BF16_KERNEL_DOT || bf16_cpu_has_dot(), "this CPU has no AVX512-BF16");
    const int Kp = (K + 1) / 2;
    kern = kern == BF16_KERNEL_DOT ? 0 : 1;
    for (int j = 0; j < N; j += 48) {
        const int cols = N - j < 48 ? N - j : 48, nv = (cols + 15) / 16;
        int i = 0;
        for (; i + 8 <= M; i += 8)
            tp_table[kern][1][nv - 1](cols, Kp, alpha, Ap + (size_t)i * ldap, ldap, aps, Bp + j, ldbp,
                                      C + (size_t)i * ldc + j, ldc, accumulate);
        for (; i < M; i++)
            tp_table[kern][0][nv - 1](cols, Kp, alpha, Ap + (size_t)i * ldap, ldap, aps, Bp + j, ldbp,
                                      C + (size_t)i * ldc + j, ldc, accumulate);
    }
}

#else   /* portable: the same chain per element */

static void tile_pairs(int kern, int M, int N, int K, float alpha, const uint32_t *Ap, size_t ldap, size_t aps,
                       const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    CHECKF(kern != BF16_KERNEL_DOT, "this build has no AVX512-BF16 kernel");
    const int Kp = (K + 1) / 2;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int p = 0; p < Kp; p++) {
                const uint32_t a = Ap[(size_t)i * ldap + (size_t)p * aps], b = Bp[(size_t)p * ldbp + j];
                s += bf16_to_f32((uint16_t)(a >> 16)) * bf16_to_f32((uint16_t)(b >> 16));
                s += bf16_to_f32((uint16_t)a) * bf16_to_f32((uint16_t)b);
            }
            float *c = C + (size_t)i * ldc + j;
            *c = accumulate ? *c + alpha * s : alpha * s;
        }
}

#endif

void tile_mm_pairs_with(int kern, int M, int N, int K, float alpha, const uint32_t *Ap, size_t ldap,
                        const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate) {
    tile_pairs(kern, M, N, K, alpha, Ap, ldap, 1, Bp, ldbp, C, ldc, accumulate);
}

void tile_mm_pairs(int M, int N, int K, float alpha, const uint32_t *Ap, size_t ldap,
                   const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate) {
    tile_pairs(BF16_KERNEL_AUTO, M, N, K, alpha, Ap, ldap, 1, Bp, ldbp, C, ldc, accumulate);
}

void tile_mm_pairs_cols_with(int kern, int M, int N, int K, float alpha, const uint32_t *Ac, size_t ldac,
                             const uint32_t *Bp, size_t ldbp, float *C, size_t ldc, int accumulate) {
    tile_pairs(kern, M, N, K, alpha, Ac, 1, ldac, Bp, ldbp, C, ldc, accumulate);
}
