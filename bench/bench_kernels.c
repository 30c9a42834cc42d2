/* Kernel benchmarks: the machine's SGEMM peak (OpenBLAS, 2048³, 1 and 2 threads) that the model
 * benchmark compares against, the small-GEMM crossover between our loop and OpenBLAS (what
 * GEMM_BLAS_MIN_FLOPS in src/kernels/matmul.c was picked from), and each kernel at the bench
 * config's shapes (batch 16 × 256, D 256, H 8, Dqk 48, Dv 32, V 4096) at 2 threads; the bf16 GEMM
 * beside SGEMM at the config's training products (and whether OpenBLAS has cblas_sbgemm at all),
 * and the decode products against weights packed in each format (kernels/kn_lowp.h).
 *
 *   build/bench/bench_kernels [--quick]
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/threads.h"
#include "bench.h"
#include <dlfcn.h>

#include "base/fp_formats.h"
#include "kernels/attention.h"
#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/kn_lowp.h"
#include "kernels/cross_entropy.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/swiglu.h"

static float *randn(size_t n, float sd, uint64_t k) {
    float *x = malloc(n * sizeof *x);
    Rng r = rng_make(7, RNG_TEST, k, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal(&r) * sd;
    return x;
}

typedef void (*GemmFn)(int, int, int, int, int, real, const real *, int, const real *, int, real,
                       real *, int);

static void gemm_bf16_dot(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda, const real *B,
                          int ldb, real beta, real *C, int ldc) {
    gemm_bf16_with(BF16_KERNEL_DOT, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
static void gemm_bf16_fma(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda, const real *B,
                          int ldb, real beta, real *C, int ldc) {
    gemm_bf16_with(BF16_KERNEL_FMA, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* GFLOP/s of the decode product C [M, N] = A [M, K]·Wᵀ on a weight packed as fmt, 1 thread. */
static double kn_gflops(KnFormat fmt, int M, int N, int K, double min_s) {
    float *w = randn((size_t)N * K, 0.05f, 60), *A = randn((size_t)M * K, 1, 61), *C = malloc(sizeof(float) * (size_t)M * N);
    void *src = w;
    float *scale = NULL;
    LowpType t = LOWP_F32;
    if (fmt == KN_BF16 || fmt == KN_F8) {   /* the stored forms of the same values */
        const size_t n = (size_t)N * K;
        t = fmt == KN_BF16 ? LOWP_BF16 : LOWP_F8;
        src = malloc(n * 2);
        for (size_t i = 0; i < n; i++) {
            if (fmt == KN_BF16) ((uint16_t *)src)[i] = f32_to_bf16(w[i]);
            else ((uint8_t *)src)[i] = (uint8_t)(i * 37 % 0x7e);
        }
        scale = malloc(sizeof(float) * (size_t)((N + 127) / 128) * ((K + 127) / 128));
        for (int i = 0; i < (N + 127) / 128 * ((K + 127) / 128); i++) scale[i] = 1e-3f;
    }
    const LowpMatrix m = {t, src, scale, N, K};
    void *mem = aligned_alloc(64, kn_weight_bytes(fmt, N, K));
    KnWeight kw;
    kn_weight_pack(&kw, fmt, &m, 1, mem);
    const int ldap = (K + 1) / 2;
    uint32_t *Ap = malloc(sizeof(uint32_t) * (size_t)M * ldap);
    long calls = 0;
    double t0 = bench_now(), el;
    do {
        if (fmt == KN_BF16_DOT)   /* the row conversion is part of the product */
            for (int i = 0; i < M; i++) bf16_pairs_from_f32(Ap + (size_t)i * ldap, A + (size_t)i * K, K);
        kn_weight_gemm(M, N, K, A, K, Ap, ldap, &kw, 0, C, N, 0, 0);
        calls++;
    } while ((el = bench_now() - t0) < min_s);
    if (src != w) free(src);
    free(scale); free(w); free(A); free(C); free(mem); free(Ap);
    return 2.0 * M * N * K * calls / el * 1e-9;
}

/* Best GFLOP/s of `reps` timed calls after one warm-up, each call repeated until ≥ min_s. */
static double gemm_gflops(GemmFn f, int ta, int tb, int M, int N, int K, int reps, double min_s) {
    float *A = randn((size_t)M * K, 1, 1), *B = randn((size_t)K * N, 1, 2), *C = randn((size_t)M * N, 1, 3);
    const int lda = ta ? M : K, ldb = tb ? K : N;
    f(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        long calls = 0;
        double t0 = bench_now(), t;
        do {
            f(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N);
            calls++;
        } while ((t = bench_now() - t0) < min_s);
        double g = 2.0 * M * N * K * calls / t * 1e-9;
        best = g > best ? g : best;
    }
    free(A); free(B); free(C);
    return best;
}

int main(int argc, char **argv) {
    bench_init(argv);
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    printf("# OpenBLAS core: %s\n", blas_core_name());

    /* ---- SGEMM peak ---- */
    const int P = quick ? 1024 : 2048;
    threads_set(2);
    double peak2 = gemm_gflops(gemm_blas, 0, 0, P, P, P, 3, 0.5);
    threads_set(1);
    double peak1 = gemm_gflops(gemm_blas, 0, 0, P, P, P, 3, 0.5);
    bench_record("sgemm_peak_2t", peak2, "GFLOP/s", NULL, 0);
    bench_record("sgemm_peak_1t", peak1, "GFLOP/s", NULL, 0);

    /* ---- bf16 GEMM (mixed-precision training) beside SGEMM, 1 thread, the bench config's products ---- */
    printf("# cblas_sbgemm in this OpenBLAS: %s; AVX512-BF16: %s\n",
           dlsym(RTLD_DEFAULT, "cblas_sbgemm") ? "present" : "absent (built without BUILD_BFLOAT16)",
           bf16_cpu_has_dot() ? "yes" : "no");
    const int big[][5] = {{0, 1, 4096, 768, 256}, {0, 0, 4096, 256, 768}, {1, 0, 768, 256, 4096}, {0, 1, 4096, 4096, 256}};
    for (size_t s = 0; s < sizeof big / sizeof *big; s++) {
        const int *z = big[s];
        const double sg = gemm_gflops(gemm_blas, z[0], z[1], z[2], z[3], z[4], 3, quick ? 0.05 : 0.3);
        const double bf = bf16_cpu_has_dot() ? gemm_gflops(gemm_bf16_dot, z[0], z[1], z[2], z[3], z[4], 3, quick ? 0.05 : 0.3) : 0;
        const double bfma = gemm_gflops(gemm_bf16_fma, z[0], z[1], z[2], z[3], z[4], 3, quick ? 0.05 : 0.3);
        printf("#   %s%s %4dx%4dx%4d  sgemm %7.1f  bf16 dot %7.1f  bf16 fma %7.1f GFLOP/s\n", z[0] ? "T" : "N",
               z[1] ? "T" : "N", z[2], z[3], z[4], sg, bf, bfma);
        char name[64];
        snprintf(name, sizeof name, "gemm_bf16_%s%s_%dx%dx%d", z[0] ? "T" : "N", z[1] ? "T" : "N", z[2], z[3], z[4]);
        bench_record(name, bf, "GFLOP/s", "sgemm_1t", sg);
    }
    /* ---- decode products against packed weights (f32, bf16 compute, BF16 and FP8 as stored), 1 thread ---- */
    const KnFormat fmts[] = {KN_F32, KN_BF16_DOT, KN_BF16, KN_F8};
    const char *fnames[] = {"f32", "bf16dot", "bf16", "f8"};
    for (int rows = 1; rows <= 64; rows *= 64) {
        double f32 = 0;
        for (int f = 0; f < 4; f++) {
            if (fmts[f] == KN_BF16_DOT && !bf16_cpu_has_dot()) continue;
            const double g = kn_gflops(fmts[f], rows, 1536, 256, quick ? 0.05 : 0.3);
            if (f == 0) f32 = g;
            char name[64];
            snprintf(name, sizeof name, "decode_kn_%s_%drows", fnames[f], rows);
            bench_record(name, g, "GFLOP/s", f ? "decode_kn_f32" : NULL, f ? f32 : 0);
        }
    }

    /* ---- small-GEMM crossover, 1 thread (as inside attention's parallel loop) ---- */
    printf("# small gemm, 1 thread, GFLOP/s: shape  ours  openblas  (gemm() uses ours below M·N·K ="
           " NN %.0f, NT %.0f, TN %.0f, TT %.0f)\n", gemm_blas_min_flops(0, 0), gemm_blas_min_flops(0, 1),
           gemm_blas_min_flops(1, 0), gemm_blas_min_flops(1, 1));
    const int shapes[][5] = {   /* ta tb M N K */
        {0, 0, 8, 8, 8}, {0, 0, 16, 16, 16}, {0, 0, 24, 24, 24}, {0, 0, 32, 32, 32},
        {0, 0, 48, 48, 48}, {0, 0, 64, 64, 64}, {0, 0, 96, 96, 96}, {0, 0, 128, 128, 128},
        {0, 1, 8, 8, 8}, {0, 1, 16, 16, 16}, {0, 1, 32, 32, 32}, {0, 1, 48, 48, 48}, {0, 1, 64, 64, 64},
        {0, 1, 96, 96, 96}, {0, 1, 128, 128, 128}, {0, 1, 192, 192, 192}, {0, 1, 256, 256, 256},
        {0, 1, 1, 512, 256}, {0, 1, 2, 512, 256}, {0, 1, 4, 512, 256}, {0, 1, 6, 512, 256},
        {0, 1, 8, 512, 256}, {0, 1, 16, 512, 256},
        {1, 1, 16, 16, 16}, {1, 1, 64, 64, 64}, {1, 1, 128, 128, 128},
        {1, 0, 32, 32, 32}, {1, 0, 64, 64, 64},
        {0, 1, 64, 256, 48}, {0, 0, 64, 32, 256}, {1, 0, 64, 48, 256}, {0, 1, 64, 128, 32},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int *z = shapes[s];
        double ours = gemm_gflops(gemm_loop, z[0], z[1], z[2], z[3], z[4], 3, quick ? 0.02 : 0.1);
        double blas = gemm_gflops(gemm_blas, z[0], z[1], z[2], z[3], z[4], 3, quick ? 0.02 : 0.1);
        printf("#   %s%s %4dx%4dx%4d  %7.2f  %7.2f  %s\n", z[0] ? "T" : "N", z[1] ? "T" : "N", z[2],
               z[3], z[4], ours, blas, ours > blas ? "ours" : "blas");
        char name[64];
        snprintf(name, sizeof name, "gemm_small_%s%s_%dx%dx%d", z[0] ? "T" : "N", z[1] ? "T" : "N",
                 z[2], z[3], z[4]);
        bench_record(name, ours, "GFLOP/s", "openblas_1t", blas);
    }

    /* ---- kernels at the bench config's shapes, 1 and 2 threads (best of N: the minimum filters
     * out other load on the machine) ---- */
    for (int nt = 1; nt <= 2; nt++) {
    threads_set(nt);
    char nm[64];
    const int B = 16, T = 256, H = 8, Dqk = 48, Dv = 32, n = B * T, D = 256, V = 4096, F = 768;
    {
        const size_t nq = (size_t)n * H * Dqk, nv = (size_t)n * H * Dv;
        float *q = randn(nq, 1, 10), *k = randn(nq, 1, 11), *v = randn(nv, 1, 12), *g = randn(nv, 1, 13);
        float *o = malloc(nv * 4), *l = malloc((size_t)B * H * T * 4);
        float *dq = malloc(nq * 4), *dk = malloc(nq * 4), *dv = malloc(nv * 4);
        float *scr = malloc(attention_scratch_size(B, T, H, Dqk, Dv, threads_count()) * sizeof *scr);
        const float sc = 1 / sqrtf(Dqk);
        attention_forward(o, l, q, k, v, B, T, H, Dqk, Dv, sc, scr);
        double tf, tb;
        BENCH_BEST_FWD_BWD(quick ? 3 : 10, tf, tb, attention_forward(o, l, q, k, v, B, T, H, Dqk, Dv, sc, scr),
                           attention_backward(dq, dk, dv, g, o, l, q, k, v, B, T, H, Dqk, Dv, sc, scr));
        /* causal FLOPs: half of the T×T products */
        const double ff = 2.0 * B * H * (T * (T + 1) / 2.0) * (Dqk + Dv);
        snprintf(nm, sizeof nm, "%s_%dt", "attention_fwd", nt);
        bench_record(nm, ff / tf * 1e-9, "GFLOP/s", nt == 1 ? "sgemm_peak_1t" : "sgemm_peak_2t", nt == 1 ? peak1 : peak2);
        snprintf(nm, sizeof nm, "%s_%dt", "attention_bwd", nt);
        bench_record(nm, 2 * ff / tb * 1e-9, "GFLOP/s", nt == 1 ? "sgemm_peak_1t" : "sgemm_peak_2t", nt == 1 ? peak1 : peak2);
        printf("# attention B%d T%d H%d Dqk%d Dv%d, %d threads: forward %.2f ms, backward %.2f ms\n", B, T, H,
               Dqk, Dv, nt, tf * 1e3, tb * 1e3);
        free(q); free(k); free(v); free(g); free(o); free(l); free(dq); free(dk); free(dv); free(scr);
    }
    {
        float *x = randn((size_t)n * D, 1, 20), *w = randn(D, 1, 21), *y = malloc((size_t)n * D * 4);
        float *r = malloc(n * 4), *dw = calloc(D, 4);
        double tf, tb;
        BENCH_BEST_FWD_BWD(20, tf, tb, rmsnorm_forward(y, D, r, x, D, w, n, D, 1e-6f), rmsnorm_backward(y, D, dw, y, D, x, D, w, r, n, D));
        bench_record_fwd_bwd_us("rmsnorm", nt, tf, tb);
        free(x); free(w); free(y); free(r); free(dw);
    }
    {
        float *gu = randn((size_t)n * 2 * F, 1, 30), *h = malloc((size_t)n * F * 4), *dg = malloc((size_t)n * 2 * F * 4);
        double tf, tb;
        BENCH_BEST_FWD_BWD(10, tf, tb, swiglu_forward(h, gu, NULL, n, F), swiglu_backward(dg, h, gu, NULL, n, F));
        bench_record_fwd_bwd_us("swiglu", nt, tf, tb);
        free(gu); free(h); free(dg);
    }
    {
        float *x = randn((size_t)n * V, 2, 40), *d = malloc((size_t)n * V * 4), *loss = malloc(n * 4), *lse = malloc(n * 4);
        int *tg = malloc(n * sizeof *tg);
        for (int i = 0; i < n; i++) tg[i] = (i * 31) % V;
        double tf, tb;
        BENCH_BEST_FWD_BWD(5, tf, tb, cross_entropy_forward(loss, lse, x, tg, n, V), cross_entropy_backward(d, x, lse, tg, NULL, 1.0f / n, n, V));
        bench_record_fwd_bwd_us("cross_entropy", nt, tf, tb);
        free(x); free(d); free(loss); free(lse); free(tg);
    }
    }
    return 0;
}
