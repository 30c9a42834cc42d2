/* Small-row GEMM against pre-transposed weights (see gemm_small.h). */
#include "kernels/gemm_small.h"

#include <math.h>
#include <stddef.h>

#if !REAL_IS_DOUBLE && defined(__AVX512F__)
#include "kernels/acc_tile.h"

#define KN_KC 64    /* K rows of a panel per pass over the row tiles */
#define KN_PF 16    /* B rows prefetched ahead (the first row tile brings a panel in from memory) */

/* C[R, V·16 columns, the last vector under mask ml] (+)= A[R, K]·B[K, ...], for compile-time R
 * and V so the R·V accumulators stay in registers. */
#define DEFINE_KN(R, V)                                                                           \
static void kn_##R##_##V(int K, const float *A, int lda, const float *B, int ldb, float *C,     \
                         int ldc, int acc, __mmask16 ml) {                                        \
    __m512 c[R][V];                                                                               \
    acc_load(R, V, c, C, ldc, acc, ml);                                                           \
    for (int p = 0; p < K; p++) {                                                                 \
        const float *b = B + (size_t)p * ldb;                                                     \
        __m512 bv[V];                                                                             \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)                                       \
            _mm_prefetch((const char *)(b + (size_t)KN_PF * ldb + 16 * v), _MM_HINT_T0);         \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)                                       \
            bv[v] = v == V - 1 ? _mm512_maskz_loadu_ps(ml, b + 16 * v) : _mm512_loadu_ps(b + 16 * v); \
        acc_fma_bcast(R, V, c, A, (size_t)lda, p, bv);                                            \
    }                                                                                             \
    acc_store(R, V, c, C, ldc, ml);                                                               \
}
ACC_DEFINE_GRID(DEFINE_KN)

typedef void (*KnFn)(int, const float *, int, const float *, int, float *, int, int, __mmask16);
static const KnFn kn_table[4][6] = ACC_GRID_TABLE(kn_);

void gemm_small_kn(int M, int N, int K, const real *A, int lda, const real *Wp, int p0, real *C,
                   int ldc, int acc) {
    if (M <= 0 || N <= 0) return;
    for (int j0 = 0, p = p0; j0 < N; j0 += KN_PANEL, p++) {
        const int nb = N - j0 < KN_PANEL ? N - j0 : KN_PANEL;
        const int V = (nb + 15) / 16;
        const __mmask16 ml = acc_tail_mask(nb);
        const float *B = Wp + (size_t)p * K * KN_PANEL;
        /* K in chunks of KN_KC rows (16 KB of panel, kept in L1 across the row tiles); each
         * chunk continues the accumulators from C, so each element stays one FMA chain */
        for (int k0 = 0; k0 < K; k0 += KN_KC) {
            const int kc = K - k0 < KN_KC ? K - k0 : KN_KC;
            for (int i0 = 0; i0 < M; i0 += 6) {
                const int R = M - i0 < 6 ? M - i0 : 6;
                kn_table[V - 1][R - 1](kc, A + (size_t)i0 * lda + k0, lda, B + (size_t)k0 * KN_PANEL,
                                       KN_PANEL, C + (size_t)i0 * ldc + j0, ldc, acc || k0 > 0, ml);
            }
        }
    }
}

#elif !REAL_IS_DOUBLE && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* AVX2 + FMA (machines without AVX-512): tiles of R rows × V vectors of 8 columns (R·V <= 12 of
 * the 16 ymm registers), each element the same FMA chain from C (or 0) as the AVX-512 tiles. */
static inline __m256i kn_lanes(int left) {   /* the first `left` (0..8) lanes set */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define DEFINE_KN2(R, V)                                                                          \
static void kn2_##R##_##V(int K, const float *A, int lda, const float *B, int ldb, float *C,    \
                          int ldc, int acc, __m256i ml) {                                         \
    __m256 c[R][V];                                                                               \
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)                                           \
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                                       \
            c[r][v] = acc ? _mm256_maskload_ps(C + (size_t)r * ldc + 8 * v,                       \
                                               v == V - 1 ? ml : _mm256_set1_epi32(-1))           \
                          : _mm256_setzero_ps();                                                  \
    for (int p = 0; p < K; p++) {                                                                 \
        const float *b = B + (size_t)p * ldb;                                                     \
        __m256 bv[V];                                                                             \
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                                       \
            bv[v] = v == V - 1 ? _mm256_maskload_ps(b + 8 * v, ml) : _mm256_loadu_ps(b + 8 * v);  \
        _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) {                                     \
            const __m256 a = _mm256_set1_ps(A[(size_t)r * lda + p]);                              \
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) c[r][v] = _mm256_fmadd_ps(a, bv[v], c[r][v]); \
        }                                                                                         \
    }                                                                                             \
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)                                           \
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                                       \
            _mm256_maskstore_ps(C + (size_t)r * ldc + 8 * v, v == V - 1 ? ml : _mm256_set1_epi32(-1), c[r][v]); \
}
DEFINE_KN2(6, 2) DEFINE_KN2(5, 2) DEFINE_KN2(4, 2) DEFINE_KN2(3, 2) DEFINE_KN2(2, 2) DEFINE_KN2(1, 2)
DEFINE_KN2(6, 1) DEFINE_KN2(5, 1) DEFINE_KN2(4, 1) DEFINE_KN2(3, 1) DEFINE_KN2(2, 1) DEFINE_KN2(1, 1)

typedef void (*Kn2Fn)(int, const float *, int, const float *, int, float *, int, int, __m256i);
static const Kn2Fn kn2_table[2][6] = {{kn2_1_1, kn2_2_1, kn2_3_1, kn2_4_1, kn2_5_1, kn2_6_1},
                                      {kn2_1_2, kn2_2_2, kn2_3_2, kn2_4_2, kn2_5_2, kn2_6_2}};

void gemm_small_panel(int M, int cols, int K, const float *A, int lda, const float *B, int ldb, float *C,
                      int ldc, int acc) {
    for (int j = 0; j < cols; j += 16) {
        const int w = cols - j < 16 ? cols - j : 16, V = (w + 7) / 8;
        const __m256i ml = kn_lanes(w - 8 * (V - 1));
        for (int i0 = 0; i0 < M; i0 += 6) {
            const int R = M - i0 < 6 ? M - i0 : 6;
            kn2_table[V - 1][R - 1](K, A + (size_t)i0 * lda, lda, B + j, ldb, C + (size_t)i0 * ldc + j, ldc, acc, ml);
        }
    }
}

#else

void gemm_small_panel(int M, int cols, int K, const real *A, int lda, const real *B, int ldb, real *C,
                      int ldc, int acc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < cols; j++) {
            /* one fused chain per output from C (or 0), the AVX-512 tiles' order: the same bits */
            real s = acc ? C[(size_t)i * ldc + j] : 0;
            for (int p = 0; p < K; p++) s = REAL_FMA(A[(size_t)i * lda + p], B[(size_t)p * ldb + j], s);
            C[(size_t)i * ldc + j] = s;
        }
}

#endif

#if REAL_IS_DOUBLE || !defined(__AVX512F__)
void gemm_small_kn(int M, int N, int K, const real *A, int lda, const real *Wp, int p0, real *C,
                   int ldc, int acc) {
    for (int j0 = 0, p = p0; j0 < N; j0 += KN_PANEL, p++)
        gemm_small_panel(M, N - j0 < KN_PANEL ? N - j0 : KN_PANEL, K, A, lda, Wp + (size_t)p * K * KN_PANEL,
                         KN_PANEL, C + j0, ldc, acc);
}
#endif

size_t kn_packed_size(int N, int K) {
    return (size_t)((N + KN_PANEL - 1) / KN_PANEL) * K * KN_PANEL;
}

void kn_pack(real *dst, const real *W, int N, int K) {
    for (int p = 0; p * KN_PANEL < N; p++) {
        real *d = dst + (size_t)p * K * KN_PANEL;
        for (int j = 0; j < KN_PANEL; j++) {
            const int col = p * KN_PANEL + j;
            const real *w = W + (size_t)col * K;
            for (int k = 0; k < K; k++) d[(size_t)k * KN_PANEL + j] = col < N ? w[k] : 0;
        }
    }
}
