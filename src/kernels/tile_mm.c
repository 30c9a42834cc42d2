/* tile_mm (see tile_mm.h): register-tiled, unpacked small products. */
#include "kernels/tile_mm.h"

#include <math.h>

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

typedef void (*TileFn)(int, int, float, const float *, size_t, size_t, const float *, size_t, float *, size_t, int);
/* rows of a big tile, columns of a vector, vectors of a strip; the strip kernels by [vectors - 1] */
#define TM_ROWS 8
#define TM_LANES 16
#define TM_VECS 3
static const TileFn tm_big[TM_VECS] = {tile_8x1, tile_8x2, tile_8x3}, tm_one[TM_VECS] = {tile_1x1, tile_1x2, tile_1x3};

#elif !REAL_IS_DOUBLE && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* AVX2 + FMA (machines without AVX-512): tiles of R rows × NV·8 columns, the same FMA chain per
 * element and the same scaled store as the AVX-512 tiles, so the same bits. R·NV <= 8 of the 16
 * ymm registers accumulate; the last vector of a strip loads and stores under a lane mask. */
static inline __m256i tile_lanes(int left) {   /* the first `left` (0..8) lanes set */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), idx);
}

#define DEFINE_TILE2(R, NV)                                                                       \
static void tile2_##R##x##NV(int cols, int K, float alpha, const float *A, size_t a_rs,         \
                             size_t a_cs, const float *B, size_t ldb, float *C, size_t ldc,     \
                             int acc) {                                                           \
    const __m256i ml = tile_lanes(cols - 8 * (NV - 1));                                           \
    __m256 c[R][NV];                                                                              \
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                           \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) c[r][v] = _mm256_setzero_ps();       \
    for (int p = 0; p < K; p++) {                                                                 \
        const float *a = A + (size_t)p * a_cs, *b = B + (size_t)p * ldb;                          \
        __m256 bv[NV];                                                                            \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                                      \
            bv[v] = v == NV - 1 ? _mm256_maskload_ps(b + 8 * v, ml) : _mm256_loadu_ps(b + 8 * v); \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                     \
            const __m256 av = _mm256_set1_ps(a[(size_t)r * a_rs]);                                \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                                  \
                c[r][v] = _mm256_fmadd_ps(av, bv[v], c[r][v]);                                    \
        }                                                                                         \
    }                                                                                             \
    const __m256 va = _mm256_set1_ps(alpha);                                                      \
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                           \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                                    \
            float *cr = C + (size_t)r * ldc + 8 * v;                                              \
            const __m256i m = v == NV - 1 ? ml : _mm256_set1_epi32(-1);                           \
            __m256 x = _mm256_mul_ps(c[r][v], va);                                                \
            if (acc) x = _mm256_add_ps(_mm256_maskload_ps(cr, m), x);                             \
            _mm256_maskstore_ps(cr, m, x);                                                        \
        }                                                                                         \
}
DEFINE_TILE2(4, 1)
DEFINE_TILE2(4, 2)
DEFINE_TILE2(1, 1)
DEFINE_TILE2(1, 2)

typedef void (*TileFn)(int, int, float, const float *, size_t, size_t, const float *, size_t, float *, size_t, int);
#define TM_ROWS 4
#define TM_LANES 8
#define TM_VECS 2
static const TileFn tm_big[TM_VECS] = {tile2_4x1, tile2_4x2}, tm_one[TM_VECS] = {tile2_1x1, tile2_1x2};

#endif

#if !REAL_IS_DOUBLE && (defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__)))
/* column strips of up to TM_VECS vectors, the last one as narrow as it can be; row tiles of
 * TM_ROWS, then single rows */
void tile_mm(int M, int N, int K, real alpha, const real *A, size_t a_rs, size_t a_cs,
             const real *B, size_t ldb, real *C, size_t ldc, int accumulate) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    enum { STRIP = TM_LANES * TM_VECS };
    for (int j = 0; j < N; j += STRIP) {
        const int cols = N - j < STRIP ? N - j : STRIP, nv = (cols + TM_LANES - 1) / TM_LANES;
        int i = 0;
        for (; i + TM_ROWS <= M; i += TM_ROWS)
            tm_big[nv - 1](cols, K, alpha, A + (size_t)i * a_rs, a_rs, a_cs, B + j, ldb, C + (size_t)i * ldc + j, ldc,
                           accumulate);
        for (; i < M; i++)
            tm_one[nv - 1](cols, K, alpha, A + (size_t)i * a_rs, a_rs, a_cs, B + j, ldb, C + (size_t)i * ldc + j, ldc,
                           accumulate);
    }
}

#else   /* portable loops (and the double-precision build): the same contract */

void tile_mm(int M, int N, int K, real alpha, const real *A, size_t a_rs, size_t a_cs,
             const real *B, size_t ldb, real *C, size_t ldc, int accumulate) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            real s = 0;
            for (int p = 0; p < K; p++) s = REAL_FMA(A[(size_t)i * a_rs + (size_t)p * a_cs], B[(size_t)p * ldb + j], s);
            real *c = C + (size_t)i * ldc + j;
            *c = accumulate ? *c + alpha * s : alpha * s;
        }
}

#endif
