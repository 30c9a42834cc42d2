/* bf16 GEMM (kernels/gemm_bf16.h) against its two twins, element by element, with the bound
 * derived from bf16 rounding (u = 2^-8, stated in gemm_bf16.h):
 *   - vs gemm_ref (fp32 operands, double sums): the operands' rounding, 2u + u² of Σ|a||b|, plus
 *     the fp32 sums' (min(K, KC) + ⌈K/KC⌉ + 2)·2^-23 of Σ|a||b|;
 *   - vs gemm_bf16_ref (the same rounded operands, double sums): the fp32 sums' term alone — so a
 *     wrong rounding (truncation, a lost pair) fails here even where the loose bound would hold;
 * both inner kernels (vdpbf16ps when the CPU has it, and the FMA fallback), every trans case,
 * ragged shapes across the packing blocks, alpha and beta, NaN in C ignored with beta = 0; every
 * element's bits independent of the rows and columns it is computed with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp_formats.h"
#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matmul.h"
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
    return TEST_EXIT();
}
