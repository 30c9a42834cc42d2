/* tile_mm (kernels/tile_mm.h): against gemm_ref over ragged shapes, with A read row-major and
 * transposed through its strides and B rows inside a wider matrix; alpha and accumulate; every
 * C element's bits independent of the rows and columns it is computed with (attention's results
 * do not depend on how its tiles fall). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/tile_mm.h"
#include "test.h"
#include "test_util.h"

/* C [M, N] = alpha·op(A)·B (+ C), B [K, N] stored with row stride ldb >= N, vs gemm_ref. */
static int one_case(int M, int N, int K, int trans_a, int accumulate, uint64_t seed) {
    const int ldb = N + 5, ldc = N + 3, lda = trans_a ? M + 2 : K + 1;
    const size_t na = trans_a ? (size_t)K * lda : (size_t)M * lda;
    float *A = tu_randn(seed, 1, na, 1), *B = tu_randn(seed, 2, (size_t)K * ldb, 1);
    float *C = tu_randn(seed, 3, (size_t)M * ldc, 1), *R = tu_dup(C, (size_t)M * ldc);
    const float alpha = 0.75f;
    tile_mm(M, N, K, alpha, A, trans_a ? 1 : (size_t)lda, trans_a ? (size_t)lda : 1, B, ldb, C, ldc,
            accumulate);
    gemm_ref(trans_a, 0, M, N, K, alpha, A, lda, B, ldb, accumulate ? 1 : 0, R, ldc);
    /* columns past N in each C row are padding: they must be untouched too. Float rounding of a
     * K-term sum of N(0, 1) products grows like √K (the reference sums in double). */
    const double atol = 4e-6 * sqrt(K + 1.0);
    int ok = expect_close_f32("tile_mm vs gemm_ref", C, R, (size_t)M * ldc, atol, 1e-5);
    if (!ok) test_fail(__FILE__, __LINE__, "M %d N %d K %d trans_a %d acc %d", M, N, K, trans_a, accumulate);
    free(A); free(B); free(C); free(R);
    return ok;
}

static void test_vs_ref(void) {
    const int Ms[] = {1, 3, 7, 8, 9, 16, 21};
    const int Ns[] = {1, 15, 16, 17, 32, 33, 47, 48, 49, 96, 130};
    const int Ks[] = {0, 1, 5, 48, 257};
    int bad = 0;
    uint64_t seed = 1;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int ta = 0; ta < 2; ta++)
                    bad += !one_case(Ms[a], Ns[b], Ks[c], ta, (int)(seed % 2), seed), seed++;
    EXPECT(bad == 0);
}

/* Rows one at a time, and columns in strips that do not match the kernel's own, give the bits of
 * the whole product. */
static void test_split_independent(void) {
    const int M = 19, N = 100, K = 70;
    float *A = tu_randn(9, 1, (size_t)M * K, 1), *B = tu_randn(9, 2, (size_t)K * N, 1);
    float *C = calloc((size_t)M * N, sizeof *C), *S = calloc((size_t)M * N, sizeof *S);
    tile_mm(M, N, K, 0.5f, A, K, 1, B, N, C, N, 0);
    for (int i = 0; i < M; i++) tile_mm(1, N, K, 0.5f, A + (size_t)i * K, K, 1, B, N, S + (size_t)i * N, N, 0);
    EXPECT(tu_same_bits(C, S, (size_t)M * N));
    memset(S, 0, (size_t)M * N * sizeof *S);
    for (int j0 = 0; j0 < N; j0 += 20) {
        tile_mm(11, 20, K, 0.5f, A, K, 1, B + j0, N, S + j0, N, 0);
        tile_mm(M - 11, 20, K, 0.5f, A + 11 * K, K, 1, B + j0, N, S + 11 * N + j0, N, 0);
    }
    EXPECT(tu_same_bits(C, S, (size_t)M * N));
    free(A); free(B); free(C); free(S);
}

/* The contract's exact form: each element one fmaf chain over p in order, then · alpha, then + C
 * (rounded apart), on every path (AVX-512, AVX2, portable). */
static void test_fma_chain_bits(void) {
    const int M = 9, N = 37, K = 29;
    float *A = tu_randn(4, 1, (size_t)M * K, 1), *B = tu_randn(4, 2, (size_t)K * N, 1);
    float *C = tu_randn(4, 3, (size_t)M * N, 1), *R = tu_dup(C, (size_t)M * N);
    tile_mm(M, N, K, 0.75f, A, K, 1, B, N, C, N, 1);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int p = 0; p < K; p++) s = fmaf(A[(size_t)i * K + p], B[(size_t)p * N + j], s);
            const float scaled = s * 0.75f;
            R[(size_t)i * N + j] = R[(size_t)i * N + j] + scaled;
        }
    EXPECT(tu_same_bits(C, R, (size_t)M * N));
    free(A); free(B); free(C); free(R);
}

int main(void) {
    RUN(test_vs_ref);
    RUN(test_split_independent);
    RUN(test_fma_chain_bits);
    return TEST_EXIT();
}
