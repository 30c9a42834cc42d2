/* Low-precision decode panels (kernels/kn_lowp.h):
 *   - weights as stored (BF16, F16, FP8 E4M3 with 128×128 block scales, every e4m3 byte value):
 *     the product equals, bit for bit, gemm_small_kn on the weights dequantised to f32 (the
 *     conversion is exact and the FMA chain the same), over ragged shapes, rows, panels and acc,
 *     with the matrix stacked from two tensors (gate|up) whose rows are no multiple of 128;
 *   - bf16 compute (KN_BF16_DOT, both inner kernels) against the fp32 twin gemm_ref with the bound
 *     of bf16 rounding, (2u + u² + (K + 2)·2^-24)·(Σ|x||w| + |C₀|) with u = 2^-8, and against the
 *     twin on the same bf16-rounded operands with the fp32 sums' (K + 2)·2^-24·(Σ|x||w| + |C₀|);
 *   - row counts and panel splits give the same bits; kn_weight_row reads back the weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp_formats.h"
#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/kn_lowp.h"
#include "kernels/matmul.h"
#include "test.h"
#include "test_util.h"

#define U_BF16 (1.0 / 256)
#define U_F32 (1.0 / 16777216)   /* 2^-24 */

static void *aligned(size_t n) { return aligned_alloc(64, (n + 63) / 64 * 64); }

/* A random stored matrix [N, K] of type t (F8: every byte value but the two NaNs, scales in
 * [2^-10, 2^-2]). Free data and scale. */
static LowpMatrix random_matrix(LowpType t, int N, int K, uint64_t seed) {
    LowpMatrix s = {t, NULL, NULL, N, K};
    const size_t n = (size_t)N * K;
    float *f = tu_randn(seed, 1, n, 1);
    void *d = malloc(n * lowp_type_size(t) + 1);
    for (size_t i = 0; i < n; i++) {
        if (t == LOWP_BF16) ((uint16_t *)d)[i] = f32_to_bf16(f[i]);
        else if (t == LOWP_F16) ((uint16_t *)d)[i] = f32_to_f16(f[i]);
        else if (t == LOWP_F8) {
            uint8_t b = (uint8_t)((i * 97 + seed * 13 + (size_t)(fabsf(f[i]) * 1000)) & 0xff);
            ((uint8_t *)d)[i] = e4m3_is_nan(b) ? 0x3c : b;
        } else ((float *)d)[i] = f[i];
    }
    if (t == LOWP_F8) {
        const int bn = (N + 127) / 128, bk = (K + 127) / 128;
        float *sc = malloc(sizeof(float) * (size_t)bn * bk);
        for (int i = 0; i < bn * bk; i++) sc[i] = ldexpf(1.0f + (float)((i * 7 + seed) % 9) / 9.0f, -10 + (int)((i + seed) % 9));
        s.scale = sc;
    }
    s.data = d;
    free(f);
    return s;
}

static void matrix_free(LowpMatrix *s) { free((void *)s->data); free((void *)s->scale); }

static void test_stored_formats_exact(void) {
    const LowpType types[] = {LOWP_BF16, LOWP_F16, LOWP_F8};
    const int Ms[] = {1, 2, 5, 6, 7, 13, 64};
    const int Ns[] = {1, 15, 64, 130, 300};
    const int Ks[] = {1, 7, 64, 129, 300};
    uint64_t seed = 1;
    for (int ti = 0; ti < 3; ti++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                const int N = Ns[b], K = Ks[c], N1 = N > 1 ? N * 2 / 3 : N;
                /* two stacked parts (gate|up): rows N1.. from a second tensor with its own scales */
                LowpMatrix parts[2] = {random_matrix(types[ti], N1, K, seed), random_matrix(types[ti], N - N1, K, seed + 1)};
                seed += 2;
                const int np = N1 < N ? 2 : 1;
                float *W = malloc(sizeof(float) * (size_t)N * K);
                for (int n = 0; n < N; n++)
                    lowp_row_f32(n < N1 ? &parts[0] : &parts[1], n < N1 ? n : n - N1, W + (size_t)n * K);
                KnWeight kw;
                void *mem = aligned(kn_weight_bytes(kn_format_of(types[ti]), N, K));
                kn_weight_pack(&kw, kn_format_of(types[ti]), parts, np, mem);
                float *Wt = aligned(sizeof(float) * kn_packed_size(N, K));
                kn_pack(Wt, W, N, K);
                int bad = 0;
                float *row = malloc(sizeof(float) * K);
                for (int n = 0; n < N; n++) {
                    kn_weight_row(&kw, n, row);
                    bad += memcmp(row, W + (size_t)n * K, sizeof(float) * K) != 0;
                }
                EXPECTF(bad == 0, "type %d N %d K %d: kn_weight_row differs from the dequantised rows", ti, N, K);
                for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++) {
                    const int M = Ms[a];
                    float *A = tu_randn(seed, 2, (size_t)M * K, 1);
                    float *C0 = tu_randn(seed, 3, (size_t)M * N, 1), *C1 = tu_dup(C0, (size_t)M * N);
                    for (int acc = 0; acc < 2; acc++) {
                        kn_weight_gemm(M, N, K, A, K, NULL, 0, &kw, 0, C0, N, acc, 0);
                        gemm_small_kn(M, N, K, A, K, Wt, 0, C1, N, acc);
                        EXPECTF(tu_same_bits(C0, C1, (size_t)M * N), "type %d M %d N %d K %d acc %d: not the f32 kernel's bits",
                                ti, M, N, K, acc);
                    }
                    free(A); free(C0); free(C1);
                }
                free(row); free(W); free(Wt); free(mem);
                matrix_free(&parts[0]);
                matrix_free(&parts[1]);
            }
}

/* Every e4m3 byte (NaNs aside) widens to e4m3_to_f32(b)·scale, subnormals included. */
static void test_f8_every_byte(void) {
    uint8_t bytes[256];
    float scale = 0.0078125f * 1.25f;
    for (int i = 0; i < 256; i++) bytes[i] = e4m3_is_nan((uint8_t)i) ? 0 : (uint8_t)i;
    const float scales[2] = {scale, scale};   /* [1, 2] blocks */
    LowpMatrix s = {LOWP_F8, bytes, scales, 1, 256};
    void *mem = aligned(kn_weight_bytes(KN_F8, 1, 256));
    KnWeight kw;
    kn_weight_pack(&kw, KN_F8, &s, 1, mem);
    float A[256] = {0}, C;
    int bad = 0;
    for (int i = 0; i < 256; i++) {
        A[i] = 1;
        kn_weight_gemm(1, 1, 256, A, 256, NULL, 0, &kw, 0, &C, 1, 0, 0);
        const float want = e4m3_to_f32(bytes[i]) * scale;
        if (C != want) { if (bad++ < 3) test_fail(__FILE__, __LINE__, "byte 0x%02x: %g, want %g", bytes[i], C, want); }
        A[i] = 0;
    }
    EXPECT(bad == 0);
    free(mem);
}

static void dot_case(int kern, int M, int N, int K, int acc, uint64_t seed) {
    LowpMatrix s = random_matrix(LOWP_F32, N, K, seed);
    const float *W = s.data;
    KnWeight kw;
    void *mem = aligned(kn_weight_bytes(KN_BF16_DOT, N, K));
    kn_weight_pack(&kw, KN_BF16_DOT, &s, 1, mem);
    const int ldap = (K + 1) / 2;
    float *A = tu_randn(seed, 2, (size_t)M * K, 1);
    uint32_t *Ap = malloc(sizeof(uint32_t) * (size_t)M * ldap);
    for (int i = 0; i < M; i++) bf16_pairs_from_f32(Ap + (size_t)i * ldap, A + (size_t)i * K, K);
    float *C0 = tu_randn(seed, 3, (size_t)M * N, 1), *C = tu_dup(C0, (size_t)M * N);
    kn_weight_gemm(M, N, K, NULL, 0, Ap, ldap, &kw, 0, C, N, acc, kern);
    int ok = 1;
    for (int i = 0; i < M && ok; i++)
        for (int j = 0; j < N && ok; j++) {
            double exact = acc ? C0[(size_t)i * N + j] : 0, rounded = exact, s1 = 0, sb = 0;
            for (int k = 0; k < K; k++) {
                const float a = A[(size_t)i * K + k], w = W[(size_t)j * K + k];
                exact += (double)a * w;
                rounded += (double)bf16_round(a) * bf16_round(w);
                s1 += fabs((double)a * w);
                sb += fabs((double)bf16_round(a) * bf16_round(w));
            }
            const double c0 = acc ? fabs(C0[(size_t)i * N + j]) : 0;
            const double bound = (2 * U_BF16 + U_BF16 * U_BF16 + (K + 2) * U_F32) * (s1 + c0) + K * 0x1p-126;
            const double bound_b = (K + 2) * U_F32 * (sb + c0) + K * 0x1p-126;
            const double c = C[(size_t)i * N + j];
            if (!(fabs(c - exact) <= bound) || !(fabs(c - rounded) <= bound_b)) {
                test_fail(__FILE__, __LINE__, "kern %d M %d N %d K %d acc %d: C[%d,%d] = %.9g; fp32 twin %.9g (bound %.3g), "
                          "bf16 twin %.9g (bound %.3g)", kern, M, N, K, acc, i, j, c, exact, bound, rounded, bound_b);
                ok = 0;
            }
        }
    /* one row at a time and one panel at a time: the same bits */
    float *P = tu_dup(C0, (size_t)M * N);
    for (int i = 0; i < M; i++)
        for (int p = 0; p * KN_PANEL < N; p++) {
            const int nb = N - p * KN_PANEL < KN_PANEL ? N - p * KN_PANEL : KN_PANEL;
            kn_weight_gemm(1, nb, K, NULL, 0, Ap + (size_t)i * ldap, ldap, &kw, p, P + (size_t)i * N + p * KN_PANEL, N, acc, kern);
        }
    EXPECTF(tu_same_bits(C, P, (size_t)M * N), "kern %d M %d N %d K %d: rows or panels alone differ", kern, M, N, K);
    float *row = malloc(sizeof(float) * K);
    int bad = 0;
    for (int n = 0; n < N; n++) {
        kn_weight_row(&kw, n, row);
        for (int k = 0; k < K; k++) bad += row[k] != bf16_round(W[(size_t)n * K + k]);
    }
    EXPECT(bad == 0);
    free(row); free(P); free(A); free(Ap); free(C0); free(C); free(mem);
    matrix_free(&s);
}

static void dot_cases(int kern) {
    const int Ms[] = {1, 3, 6, 7, 64};
    const int Ns[] = {1, 17, 64, 200};
    const int Ks[] = {1, 2, 63, 64, 65, 300};
    uint64_t seed = 50;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) dot_case(kern, Ms[a], Ns[b], Ks[c], (int)((a + c) % 2), seed++);
}

static void test_bf16_dot_kernel(void) {
    if (!bf16_cpu_has_dot()) { test_skip("this CPU has no AVX512-BF16 (the FMA kernel is tested)"); return; }
    dot_cases(BF16_KERNEL_DOT);
}

static void test_bf16_dot_fma_fallback(void) { dot_cases(BF16_KERNEL_FMA); }

int main(void) {
    RUN(test_stored_formats_exact);
    RUN(test_f8_every_byte);
    RUN(test_bf16_dot_kernel);
    RUN(test_bf16_dot_fma_fallback);
    return TEST_EXIT();
}
