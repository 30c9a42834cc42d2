/* gemm_small_kn (kernels/gemm_small.h): against gemm_ref over ragged shapes; every C element's
 * bits independent of the row count and the panel split it is computed with (decode steps of any
 * size give the same numbers); acc adds to C; kn_pack's layout; the exact FMA chains. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_small.h"
#include "kernels/matmul.h"
#include "test.h"

static void fill(real *x, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (real)(((s >> 8) & 0xFFFF) / 32768.0 - 1.0);
    }
}

static void test_pack(void) {
    const int N = 70, K = 37;
    EXPECT(kn_packed_size(N, K) == (size_t)2 * K * KN_PANEL);
    real *w = malloc(sizeof(real) * N * K), *p = malloc(sizeof(real) * kn_packed_size(N, K));
    fill(w, (size_t)N * K, 1);
    kn_pack(p, w, N, K);
    int bad = 0;
    for (int j = 0; j < 2 * KN_PANEL; j++)
        for (int k = 0; k < K; k++) {
            const real v = p[(size_t)(j / KN_PANEL) * K * KN_PANEL + (size_t)k * KN_PANEL + j % KN_PANEL];
            bad += v != (j < N ? w[(size_t)j * K + k] : 0);
        }
    EXPECT(bad == 0);
    free(w); free(p);
}

/* C = A·W ᵀ with W [N, K] (Linear layout), via Wt [K, N]; vs gemm_ref */
static void test_vs_ref(void) {
    const int Ms[] = {1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 33, 64};
    const int Ns[] = {1, 15, 16, 17, 64, 80, 130};
    const int Ks[] = {1, 7, 32, 129};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                const int M = Ms[a], N = Ns[b], K = Ks[c];
                real *A = malloc(sizeof(real) * M * K), *W = malloc(sizeof(real) * N * K);
                real *Wt = malloc(sizeof(real) * kn_packed_size(N, K));
                real *C0 = malloc(sizeof(real) * M * N), *C1 = malloc(sizeof(real) * M * N);
                real *Cr = malloc(sizeof(real) * M * N);
                fill(A, (size_t)M * K, 2 + a); fill(W, (size_t)N * K, 3 + b);
                fill(C0, (size_t)M * N, 4); memcpy(C1, C0, sizeof(real) * M * N);
                memcpy(Cr, C0, sizeof(real) * M * N);
                kn_pack(Wt, W, N, K);
                gemm_small_kn(M, N, K, A, K, Wt, 0, C0, N, 0);
                gemm_small_kn(M, N, K, A, K, Wt, 0, C1, N, 1);
                gemm_ref(0, 1, M, N, K, 1, A, K, W, K, 1, Cr, N);
                int ok = expect_close_f32("acc vs ref", C1, Cr, (size_t)M * N, 1e-5, 1e-5);
                gemm_ref(0, 1, M, N, K, 1, A, K, W, K, 0, Cr, N);
                ok &= expect_close_f32("vs ref", C0, Cr, (size_t)M * N, 1e-5, 1e-5);
                if (!ok) test_fail(__FILE__, __LINE__, "M %d N %d K %d", M, N, K);
                free(A); free(W); free(Wt); free(C0); free(C1); free(Cr);
            }
}

/* Each row computed alone and each column block computed alone give the bits of the whole. */
static void test_row_count_independent(void) {
    const int M = 23, N = 150, K = 96;
    real *A = malloc(sizeof(real) * M * K), *W = malloc(sizeof(real) * K * N);
    real *Wt = malloc(sizeof(real) * kn_packed_size(N, K));
    real *C = malloc(sizeof(real) * M * N), *Ci = malloc(sizeof(real) * M * N);
    fill(A, (size_t)M * K, 7); fill(W, (size_t)K * N, 8);
    kn_pack(Wt, W, N, K);
    gemm_small_kn(M, N, K, A, K, Wt, 0, C, N, 0);
    for (int i = 0; i < M; i++) gemm_small_kn(1, N, K, A + (size_t)i * K, K, Wt, 0, Ci + (size_t)i * N, N, 0);
    EXPECT(memcmp(C, Ci, sizeof(real) * M * N) == 0);
    memset(Ci, 0, sizeof(real) * M * N);
    for (int j0 = 0; j0 < N; j0 += KN_PANEL) {
        const int nb = N - j0 < KN_PANEL ? N - j0 : KN_PANEL;
        gemm_small_kn(M - 5, nb, K, A + 5 * K, K, Wt, j0 / KN_PANEL, Ci + 5 * N + j0, N, 0);
        gemm_small_kn(5, nb, K, A, K, Wt, j0 / KN_PANEL, Ci + j0, N, 0);
    }
    EXPECT(memcmp(C, Ci, sizeof(real) * M * N) == 0);
    free(A); free(W); free(Wt); free(C); free(Ci);
}

/* The contract's exact form on every path (AVX-512, AVX2, portable): each element one fused chain
 * over k in order, from C when accumulating. */
static void test_fma_chain_bits(void) {
    const int M = 7, N = 83, K = 70;
    real *w = malloc(sizeof(real) * N * K), *a = malloc(sizeof(real) * M * K);
    real *wp = malloc(sizeof(real) * kn_packed_size(N, K)), *c = malloc(sizeof(real) * M * N);
    real *r = malloc(sizeof(real) * M * N);
    fill(w, (size_t)N * K, 3);
    fill(a, (size_t)M * K, 4);
    fill(c, (size_t)M * N, 5);
    memcpy(r, c, sizeof(real) * M * N);
    kn_pack(wp, w, N, K);
    gemm_small_kn(M, N, K, a, K, wp, 0, c, N, 1);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            real s = r[(size_t)i * N + j];
            for (int k = 0; k < K; k++) s = REAL_FMA(a[(size_t)i * K + k], w[(size_t)j * K + k], s);
            r[(size_t)i * N + j] = s;
        }
    EXPECT(memcmp(c, r, sizeof(real) * M * N) == 0);
    free(w); free(a); free(wp); free(c); free(r);
}

int main(void) {
    RUN(test_pack);
    RUN(test_vs_ref);
    RUN(test_row_count_independent);
    RUN(test_fma_chain_bits);
    return TEST_EXIT();
}
