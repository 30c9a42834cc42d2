/* Low-precision KN panels: packing and the decode products (see kn_lowp.h). */
#include "kernels/kn_lowp.h"

#include <string.h>

#include "base/error.h"
#include "kernels/bf16.h"
#include "kernels/bf16_simd.h"
#include "kernels/gemm_bf16.h"

#define F8_BLOCK 128

static int n_panels(int N) { return (N + KN_PANEL - 1) / KN_PANEL; }
static int n_blocks(int n) { return (n + F8_BLOCK - 1) / F8_BLOCK; }

size_t lowp_type_size(LowpType t) { return t == LOWP_F32 ? 4 : t == LOWP_F8 ? 1 : 2; }

KnFormat kn_format_of(LowpType t) {
    return t == LOWP_BF16 ? KN_BF16 : t == LOWP_F16 ? KN_F16 : t == LOWP_F8 ? KN_F8 : KN_F32;
}

/* W[n, k] of a stored matrix as f32. */
static inline float lowp_at(const LowpMatrix *s, int n, int k) {
    const size_t i = (size_t)n * s->K + k;
    switch (s->type) {
    case LOWP_F32: return ((const float *)s->data)[i];
    case LOWP_BF16: return bf16_to_f32(((const uint16_t *)s->data)[i]);
    case LOWP_F16: return f16_to_f32(((const uint16_t *)s->data)[i]);
    default: return e4m3_to_f32(((const uint8_t *)s->data)[i]) * s->scale[(size_t)(n / F8_BLOCK) * n_blocks(s->K) + k / F8_BLOCK];
    }
}

void lowp_row_f32(const LowpMatrix *src, int n, float *out) {
    for (int k = 0; k < src->K; k++) out[k] = lowp_at(src, n, k);
}

size_t kn_weight_bytes(KnFormat fmt, int N, int K) {
    const size_t cells = (size_t)n_panels(N) * KN_PANEL;
    switch (fmt) {
    case KN_F32: return cells * K * 4;
    case KN_BF16: case KN_F16: return cells * K * 2;
    case KN_F8: return cells * K + cells * n_blocks(K) * sizeof(float);
    default: return cells * (size_t)((K + 1) / 2) * 4;   /* KN_BF16_DOT */
    }
}

/* The part holding stacked row n, and n's row in it. */
static const LowpMatrix *part_of(const LowpMatrix *parts, int n_parts, int n, int *local) {
    for (int i = 0; i < n_parts; i++) {
        if (n < parts[i].N) { *local = n; return &parts[i]; }
        n -= parts[i].N;
    }
    return NULL;
}

void kn_weight_pack(KnWeight *w, KnFormat fmt, const LowpMatrix *parts, int n_parts, void *mem) {
    int N = 0;
    const int K = parts[0].K;
    for (int i = 0; i < n_parts; i++) {
        CHECK(parts[i].K == K);
        CHECKF(fmt == KN_F32 || fmt == KN_BF16_DOT || kn_format_of(parts[i].type) == fmt, "packing %d from type %d",
               fmt, parts[i].type);
        N += parts[i].N;
    }
    const int P = n_panels(N), Kp = (K + 1) / 2, BK = n_blocks(K);
    CHECK(((uintptr_t)mem & 63) == 0);
    *w = (KnWeight){fmt, N, K, mem};
    float *scales = fmt == KN_F8 ? (float *)((uint8_t *)mem + (size_t)P * KN_PANEL * K) : NULL;
    #pragma omp parallel for schedule(dynamic, 1) if ((size_t)N * K > (1u << 20))
    for (int p = 0; p < P; p++)
        for (int j = 0; j < KN_PANEL; j++) {
            int ln = 0;
            const LowpMatrix *s = part_of(parts, n_parts, p * KN_PANEL + j, &ln);   /* NULL: padding */
            const size_t base = (size_t)p * K * KN_PANEL + j;
            switch (fmt) {
            case KN_F32:
                for (int k = 0; k < K; k++) ((float *)mem)[base + (size_t)k * KN_PANEL] = s ? lowp_at(s, ln, k) : 0;
                break;
            case KN_BF16: case KN_F16: {
                const uint16_t *row = s ? (const uint16_t *)s->data + (size_t)ln * K : NULL;
                for (int k = 0; k < K; k++) ((uint16_t *)mem)[base + (size_t)k * KN_PANEL] = s ? row[k] : 0;
                break;
            }
            case KN_F8: {
                const uint8_t *row = s ? (const uint8_t *)s->data + (size_t)ln * K : NULL;
                for (int k = 0; k < K; k++) ((uint8_t *)mem)[base + (size_t)k * KN_PANEL] = s ? row[k] : 0;
                for (int b = 0; b < BK; b++)
                    scales[((size_t)p * BK + b) * KN_PANEL + j] = s ? s->scale[(size_t)(ln / F8_BLOCK) * BK + b] : 0;
                break;
            }
            default:   /* KN_BF16_DOT */
                for (int t = 0; t < Kp; t++) {
                    uint32_t pr = 0;
                    if (s) {
                        pr = f32_to_bf16(lowp_at(s, ln, 2 * t));
                        if (2 * t + 1 < K) pr |= (uint32_t)f32_to_bf16(lowp_at(s, ln, 2 * t + 1)) << 16;
                    }
                    ((uint32_t *)mem)[(size_t)p * Kp * KN_PANEL + (size_t)t * KN_PANEL + j] = pr;
                }
            }
        }
}

static const float *f8_scales(const KnWeight *w) {
    return (const float *)((const uint8_t *)w->data + (size_t)n_panels(w->N) * KN_PANEL * w->K);
}

/* Element (k, n) of the packed weight as the kernels see it. */
static float kn_at(const KnWeight *w, int k, int n) {
    const int p = n / KN_PANEL, j = n % KN_PANEL;
    const size_t at = (size_t)p * w->K * KN_PANEL + (size_t)k * KN_PANEL + j;
    switch (w->fmt) {
    case KN_F32: return ((const float *)w->data)[at];
    case KN_BF16: return bf16_to_f32(((const uint16_t *)w->data)[at]);
    case KN_F16: return f16_to_f32(((const uint16_t *)w->data)[at]);
    case KN_F8:
        return e4m3_to_f32(((const uint8_t *)w->data)[at]) * f8_scales(w)[((size_t)p * n_blocks(w->K) + k / F8_BLOCK) * KN_PANEL + j];
    default: {
        const int Kp = (w->K + 1) / 2;
        const uint32_t pr = ((const uint32_t *)w->data)[(size_t)p * Kp * KN_PANEL + (size_t)(k / 2) * KN_PANEL + j];
        return bf16_to_f32((uint16_t)(k % 2 ? pr >> 16 : pr));
    }
    }
}

void kn_weight_row(const KnWeight *w, int n, float *out) {
    CHECK(n >= 0 && n < w->N);
    for (int k = 0; k < w->K; k++) out[k] = kn_at(w, k, n);
}

#if defined(__AVX512F__)
#include "kernels/acc_tile.h"

#define KQ_KC 64    /* K rows of a panel per pass over the row tiles (a divisor of F8_BLOCK) */

/* 16 weights of a panel row as f32, by format; s = their outputs' scales (F8). */
static inline __m512 load_bf16(const void *b, __m512 s) {
    (void)s;
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(b)), 16));
}
static inline __m512 load_f16(const void *b, __m512 s) { (void)s; return _mm512_cvtph_ps(_mm256_loadu_si256(b)); }
/* e4m3 -> f16 by moving the fields (e4m3 = f16 · 2^8 exactly, subnormals included), then the
 * exact ·256 and the one rounding of ·scale: the value e4m3_to_f32(b) · s has. */
static inline __m512 load_f8(const void *b, __m512 s) {
    const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128(b));
    const __m256i h = _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(x, _mm256_set1_epi16(0x7f)), 7),
                                      _mm256_slli_epi16(_mm256_and_si256(x, _mm256_set1_epi16(0x80)), 8));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtph_ps(h), _mm512_set1_ps(256.0f)), s);
}

/* C[R, V·16 columns, the last under mask ml] (+)= A[R, K]·B[K, ...] with B's rows of KN_PANEL
 * elements of ES bytes widened by LOAD: gemm_small_kn's tile, element for element. */
#define DEFINE_KQ(NAME, ES, LOAD, R, V)                                                          \
static void kq_##NAME##_##R##_##V(int K, const float *A, int lda, const uint8_t *B, float *C,   \
                                  int ldc, int acc, __mmask16 ml, const float *sc) {             \
    __m512 c[R][V];                                                                              \
    acc_load(R, V, c, C, ldc, acc, ml);                                                          \
    __m512 sv[V];                                                                                \
    _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)                                          \
        sv[v] = sc ? _mm512_loadu_ps(sc + 16 * v) : _mm512_setzero_ps();                         \
    for (int p = 0; p < K; p++) {                                                                \
        const uint8_t *b = B + (size_t)p * KN_PANEL * ES;                                        \
        _mm_prefetch((const char *)(b + 16 * KN_PANEL * ES), _MM_HINT_T0);                       \
        __m512 bv[V];                                                                            \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) bv[v] = LOAD(b + 16 * v * ES, sv[v]); \
        acc_fma_bcast(R, V, c, A, (size_t)lda, p, bv);                                           \
    }                                                                                            \
    acc_store(R, V, c, C, ldc, ml);                                                              \
}
#define DEFINE_KQ_BF16(R, V) DEFINE_KQ(bf16, 2, load_bf16, R, V)
#define DEFINE_KQ_F16(R, V) DEFINE_KQ(f16, 2, load_f16, R, V)
#define DEFINE_KQ_F8(R, V) DEFINE_KQ(f8, 1, load_f8, R, V)
ACC_DEFINE_GRID(DEFINE_KQ_BF16)
ACC_DEFINE_GRID(DEFINE_KQ_F16)
ACC_DEFINE_GRID(DEFINE_KQ_F8)

typedef void (*KqFn)(int, const float *, int, const uint8_t *, float *, int, int, __mmask16, const float *);
static const KqFn kq_table[3][4][6] = {ACC_GRID_TABLE(kq_bf16_), ACC_GRID_TABLE(kq_f16_), ACC_GRID_TABLE(kq_f8_)};

/* bf16 pairs: C (+)= Ap[R, Kp pairs]·B[Kp pairs, V·16 columns] around a K step that reads the
 * pair row b: dot, vdpbf16ps; fma, two FMAs per pair on the widened values (the odd product
 * first, as the instruction adds them). */
#define KD_STEP_dot(R, V)                                                                         \
        _mm_prefetch((const char *)(b + 8 * KN_PANEL), _MM_HINT_T0);                              \
        __m512bh bv[V];                                                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b + 16 * v);\
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                     \
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[(size_t)r * ldap + p]);        \
            _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)                                   \
                c[r][v] = _mm512_dpbf16_ps(c[r][v], a, bv[v]);                                    \
        }
#define KD_STEP_fma(R, V)                                                                         \
        __m512 bl[V], bh[V];                                                                      \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) {                                     \
            const __m512i x = _mm512_loadu_si512(b + 16 * v);                                     \
            bl[v] = bf16_pair_lo_ps(x);                                                           \
            bh[v] = bf16_pair_hi_ps(x);                                                           \
        }                                                                                         \
        acc_fma_pairs(R, V, c, Ap, (size_t)ldap, p, bl, bh);
#define DEFINE_KD_KERNEL(KIND, ATTR, R, V)                                                        \
ATTR static void kd_##KIND##_##R##_##V(int Kp, const uint32_t *Ap, int ldap, const uint32_t *B, float *C,\
                                      int ldc, int acc, __mmask16 ml) {                           \
    __m512 c[R][V];                                                                               \
    acc_load(R, V, c, C, ldc, acc, ml);                                                           \
    for (int p = 0; p < Kp; p++) {                                                                \
        const uint32_t *b = B + (size_t)p * KN_PANEL;                                             \
        KD_STEP_##KIND(R, V)                                                                      \
    }                                                                                             \
    acc_store(R, V, c, C, ldc, ml);                                                               \
}
#define KD_DOT_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define DEFINE_KD(R, V) DEFINE_KD_KERNEL(dot, KD_DOT_TARGET, R, V) DEFINE_KD_KERNEL(fma, , R, V)
ACC_DEFINE_GRID(DEFINE_KD)

typedef void (*KdFn)(int, const uint32_t *, int, const uint32_t *, float *, int, int, __mmask16);
static const KdFn kd_table[2][4][6] = {ACC_GRID_TABLE(kd_dot_), ACC_GRID_TABLE(kd_fma_)};

void kn_weight_gemm(int M, int N, int K, const float *A, int lda, const uint32_t *Ap, int ldap,
                    const KnWeight *w, int p0, float *C, int ldc, int acc, int kern) {
    if (M <= 0 || N <= 0) return;
#if REAL_IS_DOUBLE
    CHECK(w->fmt != KN_F32);
#else
    if (w->fmt == KN_F32) { gemm_small_kn(M, N, K, A, lda, w->data, p0, C, ldc, acc); return; }
#endif
    CHECK(K == w->K);
    int dot = 0;
    if (w->fmt == KN_BF16_DOT) {
        if (kern == BF16_KERNEL_AUTO) kern = bf16_cpu_has_dot() ? BF16_KERNEL_DOT : BF16_KERNEL_FMA;
        CHECKF(kern != BF16_KERNEL_DOT || bf16_cpu_has_dot(), "this CPU has no AVX512-BF16");
        dot = kern == BF16_KERNEL_DOT;
    }
    const int Kp = (K + 1) / 2, bk = n_blocks(K);
    const size_t es = w->fmt == KN_F8 ? 1 : 2;
    const float *scale = w->fmt == KN_F8 ? f8_scales(w) : NULL;
    for (int j0 = 0, p = p0; j0 < N; j0 += KN_PANEL, p++) {
        const int nb = N - j0 < KN_PANEL ? N - j0 : KN_PANEL;
        const int V = (nb + 15) / 16;
        const __mmask16 ml = acc_tail_mask(nb);
        if (w->fmt == KN_BF16_DOT) {
            const uint32_t *B = (const uint32_t *)w->data + (size_t)p * Kp * KN_PANEL;
            for (int k0 = 0; k0 < Kp; k0 += KQ_KC / 2) {
                const int kc = Kp - k0 < KQ_KC / 2 ? Kp - k0 : KQ_KC / 2;
                for (int i0 = 0; i0 < M; i0 += 6) {
                    const int R = M - i0 < 6 ? M - i0 : 6;
                    kd_table[dot ? 0 : 1][V - 1][R - 1](kc, Ap + (size_t)i0 * ldap + k0, ldap, B + (size_t)k0 * KN_PANEL,
                                                        C + (size_t)i0 * ldc + j0, ldc, acc || k0 > 0, ml);
                }
            }
            continue;
        }
        const KqFn *tab = kq_table[w->fmt == KN_BF16 ? 0 : w->fmt == KN_F16 ? 1 : 2][V - 1];
        const uint8_t *B = (const uint8_t *)w->data + (size_t)p * K * KN_PANEL * es;
        for (int k0 = 0; k0 < K; k0 += KQ_KC) {
            const int kc = K - k0 < KQ_KC ? K - k0 : KQ_KC;
            const float *sc = scale ? scale + ((size_t)p * bk + k0 / F8_BLOCK) * KN_PANEL : NULL;
            for (int i0 = 0; i0 < M; i0 += 6) {
                const int R = M - i0 < 6 ? M - i0 : 6;
                tab[R - 1](kc, A + (size_t)i0 * lda + k0, lda, B + (size_t)k0 * KN_PANEL * es, C + (size_t)i0 * ldc + j0,
                           ldc, acc || k0 > 0, ml, sc);
            }
        }
    }
}

#else   /* no AVX-512: the f32 panel kernel over widened chunks of the weights (the same chains) */

#include "kernels/gemm_small.h"

#if !REAL_IS_DOUBLE
enum { KW_KC = 64 };   /* K rows of a panel widened at a time (16 KB) */

/* Rows k0 .. k0+kc of panel p, its first nb columns, widened to f32 as kn_at reads them, into
 * out[k·KN_PANEL + j]: the format chosen once per chunk, the rows read front to back. */
static void widen_rows(const KnWeight *w, int p, int k0, int kc, int nb, float *out) {
    const size_t at = ((size_t)p * w->K + (size_t)k0) * KN_PANEL;
    for (int k = 0; k < kc; k++) {
        float *o = out + (size_t)k * KN_PANEL;
        const size_t row = at + (size_t)k * KN_PANEL;
        switch (w->fmt) {
        case KN_BF16:
            for (int j = 0; j < nb; j++) o[j] = bf16_to_f32(((const uint16_t *)w->data)[row + j]);
            break;
        case KN_F16:
            for (int j = 0; j < nb; j++) o[j] = f16_to_f32(((const uint16_t *)w->data)[row + j]);
            break;
        case KN_F8: {
            const float *sc = f8_scales(w) + ((size_t)p * n_blocks(w->K) + (size_t)(k0 + k) / F8_BLOCK) * KN_PANEL;
            for (int j = 0; j < nb; j++) o[j] = e4m3_to_f32(((const uint8_t *)w->data)[row + j]) * sc[j];
            break;
        }
        default:
            for (int j = 0; j < nb; j++) o[j] = kn_at(w, k0 + k, p * KN_PANEL + j);
        }
    }
}
#endif

void kn_weight_gemm(int M, int N, int K, const float *A, int lda, const uint32_t *Ap, int ldap,
                    const KnWeight *w, int p0, float *C, int ldc, int acc, int kern) {
    CHECKF(kern != BF16_KERNEL_DOT, "this build has no AVX512-BF16 kernel");
    if (M <= 0 || N <= 0) return;
#if REAL_IS_DOUBLE   /* gemm_small_* take doubles here: one explicit f32 chain per output instead */
    if (w->fmt != KN_BF16_DOT) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = acc ? C[(size_t)i * ldc + j] : 0;
                for (int k = 0; k < K; k++) s = fmaf(A[(size_t)i * lda + k], kn_at(w, k, p0 * KN_PANEL + j), s);
                C[(size_t)i * ldc + j] = s;
            }
        return;
    }
#else
    if (w->fmt == KN_F32) { gemm_small_kn(M, N, K, A, lda, w->data, p0, C, ldc, acc); return; }
#endif
    if (w->fmt == KN_BF16_DOT) {   /* the pairs' order: the odd product first, as vdpbf16ps adds */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                const int n = p0 * KN_PANEL + j;
                float s = acc ? C[(size_t)i * ldc + j] : 0;
                for (int t = 0; t < (K + 1) / 2; t++) {
                    const uint32_t a = Ap[(size_t)i * ldap + t];
                    s = fmaf(bf16_to_f32((uint16_t)(a >> 16)), 2 * t + 1 < K ? kn_at(w, 2 * t + 1, n) : 0, s);
                    s = fmaf(bf16_to_f32((uint16_t)a), kn_at(w, 2 * t, n), s);
                }
                C[(size_t)i * ldc + j] = s;
            }
        return;
    }
#if !REAL_IS_DOUBLE
    float chunk[KW_KC * KN_PANEL];
    for (int j0 = 0; j0 < N; j0 += KN_PANEL) {
        const int nb = N - j0 < KN_PANEL ? N - j0 : KN_PANEL;
        for (int k0 = 0; k0 < K; k0 += KW_KC) {
            const int kc = K - k0 < KW_KC ? K - k0 : KW_KC;
            widen_rows(w, p0 + j0 / KN_PANEL, k0, kc, nb, chunk);
            gemm_small_panel(M, nb, kc, A + k0, lda, chunk, KN_PANEL, C + j0, ldc, acc || k0 > 0);
        }
    }
#endif
}

#endif
