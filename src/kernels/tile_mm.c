/* tile_mm (see tile_mm.h): register-tiled, unpacked small products. */
#include "kernels/tile_mm.h"

#include "base/error.h"

#if !REAL_IS_DOUBLE && defined(__AVX512F__)
#include "kernels/acc_tile.h"

/* One tile: R rows × NV·16 columns (masked to `cols`), compile-time R and NV so the R·NV
 * accumulators stay in registers (R·NV <= 24 of the 32 zmm). Per p: R broadcasts of A, NV loads
 * of B, R·NV FMAs. */
#define DEFINE_TILE(R, NV)                                                                        \
static void tile_##R##x##NV(int cols, int K, float alpha, const float *A, size_t a_rs,          \
                            size_t a_cs, const float *B, size_t ldb, float *C, size_t ldc,      \
                            int acc) {                                                            \
    const __mmask16 ml = acc_tail_mask(cols);                                                     \
    __m512 c[R][NV];                                                                              \
    acc_zero(R, NV, c);                                                                           \
    for (int p = 0; p < K; p++) {                                                                 \
        const float *a = A + (size_t)p * a_cs, *b = B + (size_t)p * ldb;                          \
        __m512 bv[NV];                                                                            \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                      \
            bv[v] = _mm512_maskz_loadu_ps(acc_mask(NV, v, ml), b + 16 * v);                       \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                     \
            const __m512 av = _mm512_set1_ps(a[(size_t)r * a_rs]);                                \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                  \
                c[r][v] = _mm512_fmadd_ps(av, bv[v], c[r][v]);                                    \
        }                                                                                         \
    }                                                                                             \
    acc_store_scaled(R, NV, c, alpha, C, ldc, acc, ml);                                           \
}
DEFINE_TILE(8, 1)
DEFINE_TILE(8, 2)
DEFINE_TILE(8, 3)
DEFINE_TILE(1, 1)
DEFINE_TILE(1, 2)
DEFINE_TILE(1, 3)

void tile_mm(int M, int N, int K, real alpha, const real *A, size_t a_rs, size_t a_cs,
             const real *B, size_t ldb, real *C, size_t ldc, int accumulate) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    /* column strips of up to 48 (3 vectors), the last one as narrow as it can be */
    for (int j = 0; j < N; j += 48) {
        const int cols = N - j < 48 ? N - j : 48, nv = (cols + 15) / 16;
        int i = 0;
        for (; i + 8 <= M; i += 8) {
            const real *a = A + (size_t)i * a_rs;
            real *c = C + (size_t)i * ldc + j;
            if (nv == 3) tile_8x3(cols, K, alpha, a, a_rs, a_cs, B + j, ldb, c, ldc, accumulate);
            else if (nv == 2) tile_8x2(cols, K, alpha, a, a_rs, a_cs, B + j, ldb, c, ldc, accumulate);
            else tile_8x1(cols, K, alpha, a, a_rs, a_cs, B + j, ldb, c, ldc, accumulate);
        }
        for (; i < M; i++) {
            const real *a = A + (size_t)i * a_rs;
            real *c = C + (size_t)i * ldc + j;
            if (nv == 3) tile_1x3(cols, K, alpha, a, a_rs, a_cs, B + j, ldb, c, ldc, accumulate);
            else if (nv == 2) tile_1x2(cols, K, alpha, a, a_rs, a_cs, B + j, ldb, c, ldc, accumulate);
            else tile_1x1(cols, K, alpha, a, a_rs, a_cs, B + j, ldb, c, ldc, accumulate);
        }
    }
}

#else   /* portable loops (and the double-precision build): the same contract */

void tile_mm(int M, int N, int K, real alpha, const real *A, size_t a_rs, size_t a_cs,
             const real *B, size_t ldb, real *C, size_t ldc, int accumulate) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            real s = 0;
            for (int p = 0; p < K; p++) s += A[(size_t)i * a_rs + (size_t)p * a_cs] * B[(size_t)p * ldb + j];
            real *c = C + (size_t)i * ldc + j;
            *c = accumulate ? *c + alpha * s : alpha * s;
        }
}

#endif
