/* GEMM with bf16 operands and fp32 accumulation (see gemm_bf16.h). */
#include "kernels/gemm_bf16.h"

#include <string.h>

#include "base/error.h"
#include "kernels/bf16.h"
#include "kernels/bf16_simd.h"

#define KC GEMM_BF16_KC
#define KCP (KC / 2)    /* pairs per K block */

static float op_at(const float *X, int ld, int trans, int i, int k) {
    return trans ? X[(size_t)k * ld + i] : X[(size_t)i * ld + k];
}

/* C = beta·C (beta = 0: zeros, whatever C held). */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
}

void gemm_bf16_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)bf16_round(op_at(A, lda, ta, i, k)) * bf16_round(op_at(B, ldb, !tb, j, k));
            float *c = C + (size_t)i * ldc + j;
            *c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
        }
}

#if defined(__AVX512F__)
#include "kernels/acc_tile.h"

#define MR 12           /* rows of the register tile */
#define NR 32           /* columns of the register tile (two vectors) */
#define MC 96           /* rows of A per packed block (a multiple of MR) */
#define NC 512          /* columns of B per packed block (a multiple of NR) */

/* A block: row r's pairs at a_pack[r·KCP ..]. B block: panel q's pair row p at b_pack[(q·KCP + p)·NR ..]. */
static _Thread_local uint32_t a_pack[MC * KCP] __attribute__((aligned(64)));
static _Thread_local uint32_t b_pack[NC * KCP] __attribute__((aligned(64)));

static __mmask16 lanes(int n) { return (__mmask16)(n >= 16 ? 0xFFFF : n > 0 ? (1u << n) - 1 : 0); }

/* x[i] (16 vectors of 16 words) = its transpose: word j of vector i <- word i of vector j. */
static inline void transpose16(__m512i x[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {            /* 2×2 blocks of words */
        t[i] = _mm512_unpacklo_epi32(x[i], x[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(x[i], x[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)              /* 4×4 blocks */
        for (int j = 0; j < 2; j++) {
            x[i + 2 * j] = _mm512_unpacklo_epi64(t[i + j], t[i + j + 2]);
            x[i + 2 * j + 1] = _mm512_unpackhi_epi64(t[i + j], t[i + j + 2]);
        }
    for (int i = 0; i < 16; i += 8)              /* 128-bit lanes of 8×8 blocks */
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_i32x4(x[i + j], x[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_i32x4(x[i + j], x[i + j + 4], 0xdd);
        }
    for (int i = 0; i < 8; i++) {                /* 256-bit halves of the 16×16 */
        x[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        x[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

/* 16 pairs (32 values) of a contiguous row, from src[0 .. n) (n <= 32; the rest zero). */
static inline __m512i pairs16(const float *src, int n) {
    const __m512 v0 = _mm512_maskz_loadu_ps(lanes(n), src);
    const __m512 v1 = _mm512_maskz_loadu_ps(lanes(n - 16), src + 16);
    return _mm512_inserti64x4(_mm512_castsi256_si512(bf16x16_from_ps(v0)), bf16x16_from_ps(v1), 1);
}

/* Rows i0..i0+mc of op(A), columns k0..k0+kc, into a_pack (rows up to the next MR multiple zero). */
static void pack_a(int ta, const float *A, int lda, int i0, int mc, int k0, int kc) {
    const int kpn = (kc + 1) / 2, mpad = (mc + MR - 1) / MR * MR;
    if (!ta) {
        for (int r = 0; r < mc; r++) bf16_pairs_from_f32(a_pack + (size_t)r * KCP, A + (size_t)(i0 + r) * lda + k0, kc);
    } else {
        /* A stored [K, M]: rows k and k+1 side by side make the pairs of 16 rows of op(A); 16 such
         * vectors (pairs p..p+15) transposed give 16 rows' runs of 16 pairs */
        for (int i = 0; i < mc; i += 16) {
            const __mmask16 m = lanes(mc - i);
            for (int p0 = 0; p0 < kpn; p0 += 16) {
                __m512i x[16];
                for (int p = 0; p < 16; p++) {
                    const int k = 2 * (p0 + p);
                    if (k >= kc) { x[p] = _mm512_setzero_si512(); continue; }
                    const float *lo = A + (size_t)(k0 + k) * lda + i0 + i;
                    const __m512 vl = _mm512_maskz_loadu_ps(m, lo);
                    const __m512 vh = k + 1 < kc ? _mm512_maskz_loadu_ps(m, lo + lda) : _mm512_setzero_ps();
                    x[p] = bf16x16_pairs(vl, vh);
                }
                transpose16(x);
                const __mmask16 mp = lanes(kpn - p0);
                for (int r = 0; r < 16 && i + r < mc; r++)
                    _mm512_mask_storeu_epi32(a_pack + (size_t)(i + r) * KCP + p0, mp, x[r]);
            }
        }
    }
    for (int r = mc; r < mpad; r++) memset(a_pack + (size_t)r * KCP, 0, (size_t)kpn * sizeof(uint32_t));
}

/* Columns j0..j0+nc of op(B), rows k0..k0+kc, into b_pack (columns up to the next NR multiple zero). */
static void pack_b(int tb, const float *B, int ldb, int j0, int nc, int k0, int kc) {
    const int kpn = (kc + 1) / 2;
    for (int q = 0; q * NR < nc; q++) {
        const int jq = j0 + q * NR, nq = nc - q * NR < NR ? nc - q * NR : NR;
        uint32_t *dst = b_pack + (size_t)q * KCP * NR;
        if (!tb) {
            for (int p = 0; p < kpn; p++) {
                const float *lo = B + (size_t)(k0 + 2 * p) * ldb + jq;
                const float *hi = 2 * p + 1 < kc ? lo + ldb : NULL;
                for (int v = 0; v < 2; v++) {
                    const __mmask16 m = lanes(nq - 16 * v);
                    const __m512 vl = _mm512_maskz_loadu_ps(m, lo + 16 * v);
                    const __m512 vh = hi ? _mm512_maskz_loadu_ps(m, hi + 16 * v) : _mm512_setzero_ps();
                    _mm512_store_si512(dst + (size_t)p * NR + 16 * v, bf16x16_pairs(vl, vh));
                }
            }
        } else {
            /* B stored [N, K]: column j's K values are contiguous, so its pairs are too; 16 columns'
             * runs of 16 pairs transposed give 16 pair rows of those columns */
            for (int c0 = 0; c0 < NR; c0 += 16)
                for (int p0 = 0; p0 < kpn; p0 += 16) {
                    __m512i x[16];
                    for (int c = 0; c < 16; c++)
                        x[c] = c0 + c < nq ? pairs16(B + (size_t)(jq + c0 + c) * ldb + k0 + 2 * p0, kc - 2 * p0)
                                           : _mm512_setzero_si512();
                    transpose16(x);
                    for (int p = 0; p < 16 && p0 + p < kpn; p++)
                        _mm512_store_si512(dst + (size_t)(p0 + p) * NR + c0, x[p]);
                }
        }
    }
}

/* The tile [rows <= MR, cols <= NR] of C from kpn pairs of a (rows at stride KCP) and b (NR per
 * pair row): vdpbf16ps with each row's pair broadcast. */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void micro_dot(int kpn, const uint32_t *a, const uint32_t *b, float *C, int ldc, int rows,
                      int cols, float alpha, float beta) {
    __m512 c0[MR], c1[MR];
    _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kpn; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR + 16);
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[(size_t)r * KCP + p]);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
        }
    }
    const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
    const __m512 va = _mm512_set1_ps(alpha);
    _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)
        if (r < rows) acc_store_pair(C + (size_t)r * ldc, c0[r], c1[r], va, beta, m0, m1);
}

/* The same tile with fp32 FMAs on the widened bf16 values, the odd product first (the order the
 * instruction's definition adds them in). */
static void micro_fma(int kpn, const uint32_t *a, const uint32_t *b, float *C, int ldc, int rows,
                      int cols, float alpha, float beta) {
    __m512 c0[MR], c1[MR];
    _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kpn; p++) {
        const __m512i b0 = _mm512_load_si512(b + (size_t)p * NR), b1 = _mm512_load_si512(b + (size_t)p * NR + 16);
        const __m512 b0l = bf16_pair_lo_ps(b0), b0h = bf16_pair_hi_ps(b0);
        const __m512 b1l = bf16_pair_lo_ps(b1), b1h = bf16_pair_hi_ps(b1);
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {
            const uint32_t pr = a[(size_t)r * KCP + p];
            const __m512 al = _mm512_set1_ps(bf16_to_f32((uint16_t)pr));
            const __m512 ah = _mm512_set1_ps(bf16_to_f32((uint16_t)(pr >> 16)));
            c0[r] = _mm512_fmadd_ps(al, b0l, _mm512_fmadd_ps(ah, b0h, c0[r]));
            c1[r] = _mm512_fmadd_ps(al, b1l, _mm512_fmadd_ps(ah, b1h, c1[r]));
        }
    }
    const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
    const __m512 va = _mm512_set1_ps(alpha);
    _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)
        if (r < rows) acc_store_pair(C + (size_t)r * ldc, c0[r], c1[r], va, beta, m0, m1);
}

void gemm_bf16_with(Bf16Kernel kern, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    if (kern == BF16_KERNEL_AUTO) kern = bf16_cpu_has_dot() ? BF16_KERNEL_DOT : BF16_KERNEL_FMA;
    CHECKF(kern != BF16_KERNEL_DOT || bf16_cpu_has_dot(), "this CPU has no AVX512-BF16");
    if (K == 0) { scale_c(M, N, beta, C, ldc); return; }
    for (int jc = 0; jc < N; jc += NC) {
        const int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < K; pc += KC) {
            const int kc = K - pc < KC ? K - pc : KC, kpn = (kc + 1) / 2;
            const float bet = pc == 0 ? beta : 1;
            pack_b(tb, B, ldb, jc, nc, pc, kc);
            for (int ic = 0; ic < M; ic += MC) {
                const int mc = M - ic < MC ? M - ic : MC;
                pack_a(ta, A, lda, ic, mc, pc, kc);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR) {
                        const int rows = mc - ir < MR ? mc - ir : MR, cols = nc - jr < NR ? nc - jr : NR;
                        const uint32_t *ap = a_pack + (size_t)ir * KCP, *bp = b_pack + (size_t)(jr / NR) * KCP * NR;
                        float *cp = C + (size_t)(ic + ir) * ldc + jc + jr;
                        if (kern == BF16_KERNEL_DOT) micro_dot(kpn, ap, bp, cp, ldc, rows, cols, alpha, bet);
                        else micro_fma(kpn, ap, bp, cp, ldc, rows, cols, alpha, bet);
                    }
            }
        }
    }
}

#else   /* no AVX-512: the same blocks and order in plain loops */

void gemm_bf16_with(Bf16Kernel kern, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    CHECKF(kern != BF16_KERNEL_DOT, "this build has no AVX512-BF16 kernel");
    if (M == 0 || N == 0) return;
    if (K == 0) { scale_c(M, N, beta, C, ldc); return; }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float *c = C + (size_t)i * ldc + j;
            for (int pc = 0; pc < K; pc += KC) {
                const int kc = K - pc < KC ? K - pc : KC;
                float s = 0;
                for (int k = pc; k < pc + kc; k++)
                    s += bf16_round(op_at(A, lda, ta, i, k)) * bf16_round(op_at(B, ldb, !tb, j, k));
                const float bet = pc == 0 ? beta : 1;
                *c = alpha * s + (bet == 0 ? 0 : bet * *c);
            }
        }
}

#endif

void gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_bf16_with(BF16_KERNEL_AUTO, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
