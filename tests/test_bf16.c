/* bf16 GEMM (kernels/gemm_bf16.h) against its two twins, element by element, with the bound
 * derived from bf16 rounding (u = 2^-8, stated in gemm_bf16.h):
 *   - vs gemm_ref (fp32 operands, double sums): the operands' rounding, 2u + u² of Σ|a||b|, plus
 *     the fp32 sums' (min(K, KC) + ⌈K/KC⌉ + 2)·2^-23 of Σ|a||b|;
 *   - vs gemm_bf16_ref (the same rounded operands, double sums): the fp32 sums' term alone — so a
 *     wrong rounding (truncation, a lost pair) fails here even where the loose bound would hold;
 * both inner kernels (vdpbf16ps when the CPU has it, and the FMA fallback), every trans case,
 * ragged shapes across the packing blocks, alpha and beta, NaN in C ignored with beta = 0; every
 * element's bits independent of the rows and columns it is computed with. The same for the
 * attention tiles on pair layouts (kernels/tile_bf16.h), with their bound
 * (2u + u²)·Σ|a||b| + (⌈K/2⌉·2 + 2)·2^-24·(Σ|a||b| + |C₀|). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp_formats.h"
#include "kernels/attention.h"
#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matmul.h"
#include "kernels/tile_bf16.h"
#include "test.h"
#include "test_util.h"

#define U_BF16 (1.0 / 256)
#define U_F32 (1.0 / 8388608)   /* 2^-23 */

static float opv(const float *X, int ld, int trans, int i, int k) {
    return trans ? X[(size_t)k * ld + i] : X[(size_t)i * ld + k];
}

/* One case: worst excess over the bound (<= 0 passes), both references. */
static int gemm_case(Bf16Kernel kern, int ta, int tb, int M, int N, int K, float alpha, float beta,
                     uint64_t seed) {
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    float *A = tu_randn(seed, 1, (size_t)(ta ? K : M) * lda, 1);
    float *B = tu_randn(seed, 2, (size_t)(tb ? N : K) * ldb, 1);
    float *C0 = tu_randn(seed, 3, (size_t)M * ldc, 1);
    if (beta == 0) for (size_t i = 0; i < (size_t)M * ldc; i++) C0[i] = NAN;
    float *C = tu_dup(C0, (size_t)M * ldc), *R = tu_dup(C0, (size_t)M * ldc), *Rb = tu_dup(C0, (size_t)M * ldc);
    gemm_bf16_with(kern, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    gemm_bf16_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Rb, ldc);
    const int KC = GEMM_BF16_KC;
    const double sums = ((K < KC ? K : KC) + (K + KC - 1) / KC + 2) * U_F32, blocks = (K + KC - 1) / KC + 1;
    int ok = 1;
    for (int i = 0; i < M && ok; i++)
        for (int j = 0; j < N && ok; j++) {
            double s = 0, sb = 0;
            for (int k = 0; k < K; k++) {
                const float a = opv(A, lda, ta, i, k), b = opv(B, ldb, !tb, j, k);
                s += fabs((double)a * b);
                sb += fabs((double)bf16_round(a) * bf16_round(b));
            }
            const size_t at = (size_t)i * ldc + j;
            const double c0 = beta == 0 ? 0 : fabs((double)beta * C0[at]);
            const double tiny = fabs(alpha) * K * 0x1p-126;
            const double bound = fabs(alpha) * (2 * U_BF16 + U_BF16 * U_BF16 + sums) * s + c0 * blocks * U_F32 + tiny;
            const double bound_b = fabs(alpha) * sums * sb + c0 * blocks * U_F32 + tiny;
            const double e = fabs((double)C[at] - R[at]), eb = fabs((double)C[at] - Rb[at]);
            if (!(e <= bound) || !(eb <= bound_b)) {
                test_fail(__FILE__, __LINE__, "kern %d ta %d tb %d M %d N %d K %d: C[%d,%d] = %.9g, fp32 twin %.9g "
                          "(|err| %.3g > %.3g?), bf16 twin %.9g (|err| %.3g > %.3g?)", kern, ta, tb, M, N, K, i, j,
                          C[at], R[at], e, bound, Rb[at], eb, bound_b);
                ok = 0;
            }
        }
    /* padding columns of C untouched */
    for (int i = 0; i < M && ok; i++)
        for (int j = N; j < ldc; j++)
            if (memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], sizeof(float))) ok = 0;
    EXPECTF(ok, "padding or bound: ta %d tb %d M %d N %d K %d", ta, tb, M, N, K);
    free(A); free(B); free(C0); free(C); free(R); free(Rb);
    return ok;
}

static void kernel_cases(Bf16Kernel kern) {
    const int Ms[] = {1, 5, 12, 13, 97};
    const int Ns[] = {1, 31, 33, 257};
    const int Ks[] = {1, 2, 3, 255, 256, 257, 600};
    uint64_t seed = 100;
    for (int t = 0; t < 4; t++)
        for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                    const float alpha = (a + c) % 2 ? 0.5f : 1.0f, beta = (float)((a + b + c) % 3) * 0.5f;
                    if (!gemm_case(kern, t & 1, t >> 1, Ms[a], Ns[b], Ks[c], alpha, beta, seed++)) return;
                }
}

static void test_gemm_bf16_dot(void) {
    if (!bf16_cpu_has_dot()) { test_skip("this CPU has no AVX512-BF16 (the FMA kernel is tested)"); return; }
    kernel_cases(BF16_KERNEL_DOT);
}

static void test_gemm_bf16_fma(void) { kernel_cases(BF16_KERNEL_FMA); }

/* Row blocks and column blocks computed alone give the bits of the whole product. */
static void test_gemm_bf16_split_bits(void) {
    const int M = 150, N = 300, K = 530;
    for (int t = 0; t < 4; t++) {
        const int ta = t & 1, tb = t >> 1, lda = ta ? M : K, ldb = tb ? K : N;
        float *A = tu_randn(9, 1, (size_t)M * K, 1), *B = tu_randn(9, 2, (size_t)K * N, 1);
        float *C = calloc((size_t)M * N, sizeof *C), *P = calloc((size_t)M * N, sizeof *P);
        gemm_bf16(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
        const int r0[] = {0, 7, 40, 101, M}, c0[] = {0, 5, 100, 263, N};
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < 4; y++) {
                const int i = r0[x], j = c0[y];
                gemm_bf16(ta, tb, r0[x + 1] - i, c0[y + 1] - j, K, 1, ta ? A + i : A + (size_t)i * lda, lda,
                          tb ? B + (size_t)j * ldb : B + j, ldb, 0, P + (size_t)i * N + j, N);
            }
        EXPECTF(tu_same_bits(C, P, (size_t)M * N), "ta %d tb %d: blocks differ from the whole", ta, tb);
        free(A); free(B); free(C); free(P);
    }
}

/* tile_mm_pairs on strided A (row-major and transposed) and B rows inside a wider matrix. */
static int tile_case(int kern, int M, int N, int K, int trans_a, int acc, uint64_t seed) {
    const int ldb = N + 5, ldc = N + 3, lda = trans_a ? M + 2 : K + 1, Kp = (K + 1) / 2;
    const size_t a_rs = trans_a ? 1 : (size_t)lda, a_cs = trans_a ? (size_t)lda : 1;
    float *A = tu_randn(seed, 1, (size_t)(trans_a ? K : M) * lda, 1), *B = tu_randn(seed, 2, (size_t)K * ldb, 1);
    float *C0 = tu_randn(seed, 3, (size_t)M * ldc, 1), *C = tu_dup(C0, (size_t)M * ldc), *P = tu_dup(C0, (size_t)M * ldc);
    uint32_t *Ap = malloc(sizeof(uint32_t) * (size_t)M * Kp + 4), *Bp = malloc(sizeof(uint32_t) * (size_t)Kp * (N + 7) + 4);
    pairs_of_rows(Ap, (size_t)Kp, A, a_rs, a_cs, M, K);
    pairs_of_cols(Bp, (size_t)N + 7, B, (size_t)ldb, K, N);
    const float alpha = 0.75f;
    tile_mm_pairs_with(kern, M, N, K, alpha, Ap, (size_t)Kp, Bp, (size_t)N + 7, C, (size_t)ldc, acc);
    for (int i = 0; i < M; i++)   /* one row and one column strip of 17 at a time: the same bits */
        for (int j = 0; j < N; j += 17)
            tile_mm_pairs_with(kern, 1, N - j < 17 ? N - j : 17, K, alpha, Ap + (size_t)i * Kp, (size_t)Kp, Bp + j, (size_t)N + 7,
                               P + (size_t)i * ldc + j, (size_t)ldc, acc);
    int ok = tu_same_bits(C, P, (size_t)M * ldc);
    for (int i = 0; i < M && ok; i++)
        for (int j = 0; j < N && ok; j++) {
            double exact = 0, rounded = 0, s = 0, sb = 0;
            for (int k = 0; k < K; k++) {
                const float a = A[i * a_rs + k * a_cs], b = B[(size_t)k * ldb + j];
                exact += (double)a * b;
                rounded += (double)bf16_round(a) * bf16_round(b);
                s += fabs((double)a * b);
                sb += fabs((double)bf16_round(a) * bf16_round(b));
            }
            const size_t at = (size_t)i * ldc + j;
            const double c0 = acc ? C0[at] : 0, sums = (2 * Kp + 2) * (U_F32 / 2);
            const double want = alpha * exact + c0, want_b = alpha * rounded + c0;
            const double bound = alpha * (2 * U_BF16 + U_BF16 * U_BF16 + sums) * s + sums * fabs(c0) + K * 0x1p-126;
            const double bound_b = alpha * sums * sb + sums * fabs(c0) + K * 0x1p-126;
            if (!(fabs(C[at] - want) <= bound) || !(fabs(C[at] - want_b) <= bound_b)) {
                test_fail(__FILE__, __LINE__, "kern %d M %d N %d K %d ta %d acc %d: C[%d,%d] = %.9g, fp32 twin %.9g, bf16 twin %.9g",
                          kern, M, N, K, trans_a, acc, i, j, C[at], want, want_b);
                ok = 0;
            }
        }
    EXPECTF(ok, "tile_mm_pairs: M %d N %d K %d (or rows/strips alone differ)", M, N, K);
    if (ok && trans_a) {   /* A stored as Aᵀ [K, lda]: its pair columns give the same chains */
        const size_t ldac = (size_t)M + 3;
        uint32_t *Ac = malloc(sizeof(uint32_t) * (size_t)Kp * ldac + 4);
        float *Q = tu_dup(C0, (size_t)M * ldc);
        pairs_of_cols(Ac, ldac, A, (size_t)lda, K, M);
        tile_mm_pairs_cols_with(kern, M, N, K, alpha, Ac, ldac, Bp, (size_t)N + 7, Q, (size_t)ldc, acc);
        ok = tu_same_bits(C, Q, (size_t)M * ldc);
        EXPECTF(ok, "tile_mm_pairs_cols: M %d N %d K %d differs from tile_mm_pairs", M, N, K);
        free(Ac); free(Q);
    }
    free(A); free(B); free(C0); free(C); free(P); free(Ap); free(Bp);
    return ok;
}

static void tile_cases(int kern) {
    const int Ms[] = {1, 7, 8, 9, 17}, Ns[] = {1, 15, 16, 47, 48, 49, 100}, Ks[] = {1, 2, 3, 16, 63, 200};
    uint64_t seed = 300;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                if (!tile_case(kern, Ms[a], Ns[b], Ks[c], (int)((a + b) % 2), (int)((b + c) % 2), seed++)) return;
}

static void test_tile_pairs_dot(void) {
    if (!bf16_cpu_has_dot()) { test_skip("this CPU has no AVX512-BF16 (the FMA kernel is tested)"); return; }
    tile_cases(BF16_KERNEL_DOT);
}

static void test_tile_pairs_fma(void) { tile_cases(BF16_KERNEL_FMA); }

/* Attention with prec MAT_BF16 (MLA's two key blocks and the GQA grouping as views) against its
 * fp32 twin (the same attention with prec MAT_F32). Forward, per output element: P·V with P and V
 * rounded, so |Δout| <= (2u + u²)·Σ_s p_s|v_s| + (⌈T/2⌉·2 + 3)·2^-24·Σ_s p_s|v_s| (the scores and
 * the softmax are fp32 in both, which the twin's own rounding covers with 1e-6·Σ p|v|); lse
 * identical. Backward: relative L2 errors of dq, dk, dv below 2 % (measured: below 0.6 %; the
 * products round every operand by 2^-9 and dscore = p·(dp − δ) loses relative precision where
 * dp ≈ δ). */
static void attention_bf16_case(int B, int T, int H, int Dn, int Dr, int Dv, int group) {
    const int Dqk = Dn + Dr, Hkv = H / group, n = B * T;
    const size_t nq = (size_t)n * H * Dqk, nk1 = (size_t)n * Hkv * Dn, nk2 = (size_t)n * Dr, nv = (size_t)n * Hkv * Dv;
    float *q = tu_randn(70, 1, nq, 1), *k1 = tu_randn(70, 2, nk1, 1), *k2 = tu_randn(70, 3, nk2 + 1, 1);
    float *v = tu_randn(70, 4, nv, 1), *dout = tu_randn(70, 5, (size_t)n * H * Dv, 1);
    AttKV kv = {.k1 = {k1, (size_t)Hkv * Dn, (size_t)Dn}, .k2 = {Dr ? k2 : NULL, (size_t)Dr, 0},
                .v = {v, (size_t)Hkv * Dv, (size_t)Dv}, .D1 = Dn, .D2 = Dr, .Dv = Dv, .group = group};
    const size_t no = (size_t)n * H * Dv, nl = (size_t)B * H * T;
    float *o[2], *l[2], *dq[2], *dk1[2], *dk2[2], *dv[2];
    float *scr = malloc(attention_scratch_size(B, T, H, Dqk, Dv, 8) * sizeof(float));
    for (int p = 0; p < 2; p++) {
        kv.prec = p ? MAT_BF16 : MAT_F32;
        o[p] = calloc(no, 4); l[p] = calloc(nl, 4);
        dq[p] = calloc(nq, 4); dk1[p] = calloc((size_t)n * H * Dn, 4); dk2[p] = calloc((size_t)n * H * (Dr ? Dr : 1), 4);
        dv[p] = calloc((size_t)n * H * Dv, 4);
        attention_forward_kv(o[p], l[p], q, &kv, B, T, H, 0.3f, scr);
        const AttKVGrad g = {.k1 = {dk1[p], (size_t)H * Dn, (size_t)Dn}, .k2 = {Dr ? dk2[p] : NULL, (size_t)H * Dr, (size_t)Dr},
                             .v = {dv[p], (size_t)H * Dv, (size_t)Dv}};
        attention_backward_kv(dq[p], &g, dout, o[p], l[p], q, &kv, B, T, H, 0.3f, scr);
    }
    EXPECTF(tu_same_bits(l[0], l[1], nl), "lse differs (the scores and softmax are fp32 in both)");
    /* Σ_s p_s |v_s| per output, from the fp32 twin's probabilities */
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                const int kh = h / group;
                const float *qi = q + ((size_t)(b * T + t) * H + h) * Dqk;
                const double L = l[0][((size_t)b * H + h) * T + t];
                for (int j = 0; j < Dv; j++) {
                    double spv = 0;
                    for (int s2 = 0; s2 <= t; s2++) {
                        double sc = 0;
                        const size_t r = (size_t)(b * T + s2);
                        for (int d = 0; d < Dn; d++) sc += (double)qi[d] * k1[(r * Hkv + kh) * Dn + d];
                        for (int d = 0; d < Dr; d++) sc += (double)qi[Dn + d] * k2[r * Dr + d];
                        spv += exp(0.3 * sc - L) * fabs(v[(r * Hkv + kh) * Dv + j]);
                    }
                    const size_t at = ((size_t)(b * T + t) * H + h) * Dv + j;
                    const double bound = (2 * U_BF16 + U_BF16 * U_BF16 + ((T + 1) / 2 * 2 + 3) * U_F32 / 2 + 1e-6) * spv;
                    if (!(fabs((double)o[1][at] - o[0][at]) <= bound) && bad++ < 3)
                        test_fail(__FILE__, __LINE__, "out[%zu] = %.9g, fp32 %.9g, bound %.3g", at, o[1][at], o[0][at], bound);
                }
            }
    EXPECT(bad == 0);
    const float *gs[4][2] = {{dq[0], dq[1]}, {dk1[0], dk1[1]}, {dk2[0], dk2[1]}, {dv[0], dv[1]}};
    const size_t gn[4] = {nq, (size_t)n * H * Dn, Dr ? (size_t)n * H * Dr : 0, (size_t)n * H * Dv};
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        double d2 = 0, n2 = 0;
        for (size_t j = 0; j < gn[i]; j++) {
            d2 += ((double)gs[i][1][j] - gs[i][0][j]) * ((double)gs[i][1][j] - gs[i][0][j]);
            n2 += (double)gs[i][0][j] * gs[i][0][j];
        }
        EXPECTF(gn[i] == 0 || (sqrt(d2 / n2) <= 0.02 && d2 > 0), "gradient %d: relative L2 error %.3g", i, sqrt(d2 / n2));
        if (gn[i] && sqrt(d2 / n2) > worst) worst = sqrt(d2 / n2);
    }
    printf("  attention B%d T%d H%d: gradients' relative L2 error at most %.3g\n", B, T, H, worst);
    for (int p = 0; p < 2; p++) { free(o[p]); free(l[p]); free(dq[p]); free(dk1[p]); free(dk2[p]); free(dv[p]); }
    free(q); free(k1); free(k2); free(v); free(dout); free(scr);
}

static void test_attention_bf16_vs_fp32(void) {
    attention_bf16_case(2, 37, 3, 16, 8, 12, 1);    /* MLA: two key blocks */
    attention_bf16_case(1, 64, 4, 24, 0, 24, 2);    /* GQA: two query heads per key head */
    attention_bf16_case(1, 9, 1, 7, 0, 5, 1);       /* odd everything */
}

/* The conversions: round to nearest even on ties, NaN quiet, the pair layout. */
static void test_bf16_rounding(void) {
    EXPECT(f32_to_bf16(1.0f) == 0x3f80);
    EXPECT(f32_to_bf16(fp_f32_from_bits(0x3f808000u)) == 0x3f80);   /* tie, even stays */
    EXPECT(f32_to_bf16(fp_f32_from_bits(0x3f818000u)) == 0x3f82);   /* tie, odd rounds up */
    EXPECT(f32_to_bf16(fp_f32_from_bits(0x3f808001u)) == 0x3f81);
    EXPECT(isnan(bf16_to_f32(f32_to_bf16(NAN))));
    float x[37];
    uint16_t h[37];
    uint32_t p[19];
    for (int i = 0; i < 37; i++) x[i] = (float)(i * 1.37 - 20.1);
    bf16_from_f32_n(h, x, 37);
    bf16_pairs_from_f32(p, x, 37);
    int bad = 0;
    for (int i = 0; i < 37; i++) bad += h[i] != f32_to_bf16(x[i]);
    for (int t = 0; t < 19; t++)
        bad += p[t] != ((uint32_t)f32_to_bf16(x[2 * t]) | (2 * t + 1 < 37 ? (uint32_t)f32_to_bf16(x[2 * t + 1]) << 16 : 0));
    EXPECT(bad == 0);
}

int main(void) {
    RUN(test_bf16_rounding);
    RUN(test_gemm_bf16_dot);
    RUN(test_gemm_bf16_fma);
    RUN(test_gemm_bf16_split_bits);
    RUN(test_tile_pairs_dot);
    RUN(test_tile_pairs_fma);
    RUN(test_attention_bf16_vs_fp32);
    return TEST_EXIT();
}
