/* Kernels against their naive double-precision twins (src/kernels/<op>_ref.c) on random inputs of
 * awkward sizes (1, primes, non-multiples of 16, past the BLAS crossover), strided rows, aliasing
 * where the contracts allow it, and thread counts 1 and 2 giving identical bits where the
 * contracts promise determinism. Also: YaRN inverse frequencies against the V3 values in
 * deepseek-v3-architecture.md §5, and the vectorised exp against libm. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/threads.h"
#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/embed.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "test.h"
#include "test_util.h"

static uint64_t seq;   /* a fresh stream per fill */

static float *randn(size_t n, float sd) { return tu_randn(1234, ++seq, n, sd); }

/* ---- gemm / matmul ---- */

static void check_gemm(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
    const int rowsA = ta ? K : M, colsA = ta ? M : K, rowsB = tb ? N : K, colsB = tb ? K : N;
    const int lda = colsA + pad, ldb = colsB + pad, ldc = N + pad;
    float *A = randn((size_t)rowsA * lda, 1), *B = randn((size_t)rowsB * ldb, 1);
    float *C = randn((size_t)M * ldc, 1);
    if (beta == 0) for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = NAN;   /* must not leak */
    float *C2 = tu_dup(C, (size_t)M * ldc);
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    char what[96];
    snprintf(what, sizeof what, "gemm ta=%d tb=%d %dx%dx%d a=%g b=%g pad=%d", ta, tb, M, N, K,
             alpha, beta, pad);
    for (int i = 0; i < M; i++)   /* padding columns of C untouched: compare full rows */
        if (!expect_close_f32(what, C + (size_t)i * ldc, C2 + (size_t)i * ldc, (size_t)(beta == 0 ? N : ldc),
                              2e-5 * sqrt(K + 1.0), 1e-4)) break;
    free(A); free(B); free(C); free(C2);
}

static void test_gemm_vs_ref(void) {
    const int sz[][3] = {{1, 1, 1}, {1, 17, 3}, {5, 1, 33}, {7, 13, 16}, {17, 31, 47}, {33, 65, 9},
                         {64, 48, 256}, {100, 130, 70}, {257, 129, 96}, {3, 300, 200}, {128, 1, 512},
                         {2, 77, 33}, {4, 64, 256}, {6, 9, 500}, {9, 130, 47}, {16, 3, 16}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_gemm(ta, tb, sz[s][0], sz[s][1], sz[s][2], 1, 0, 0);
                check_gemm(ta, tb, sz[s][0], sz[s][1], sz[s][2], 0.5f, 1, 3);
                check_gemm(ta, tb, sz[s][0], sz[s][1], sz[s][2], -2, 0.25f, 1);
            }
    check_gemm(0, 0, 4, 5, 0, 1, 0, 0);   /* K = 0: C = 0 */
    check_gemm(1, 1, 4, 5, 0, 1, 2, 2);   /* K = 0: C = beta·C */
}

static void test_matmul_vs_ref(void) {
    const int sz[][3] = {{1, 1, 1}, {3, 17, 5}, {31, 64, 48}, {200, 256, 128}, {4096 / 16, 256, 16}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        const int n = sz[s][0], in = sz[s][1], out = sz[s][2];
        float *x = randn((size_t)n * in, 1), *w = randn((size_t)out * in, 0.1f);
        float *dy = randn((size_t)n * out, 1);
        for (int acc = 0; acc < 2; acc++) {
            float *y = randn((size_t)n * out, 1), *y2 = tu_dup(y, (size_t)n * out);
            matmul_forward(y, x, w, n, in, out, acc);
            matmul_forward_ref(y2, x, w, n, in, out, acc);
            expect_close_f32("matmul_forward", y, y2, (size_t)n * out, 1e-5 * sqrt(in), 1e-4);
            float *dx = randn((size_t)n * in, 1), *dx2 = tu_dup(dx, (size_t)n * in);
            float *dw = randn((size_t)out * in, 1), *dw2 = tu_dup(dw, (size_t)out * in);
            matmul_backward(dx, dw, dy, x, w, n, in, out, acc);
            matmul_backward_ref(dx2, dw2, dy, x, w, n, in, out, acc);
            expect_close_f32("matmul_backward dx", dx, dx2, (size_t)n * in, 1e-5 * sqrt(out), 1e-4);
            expect_close_f32("matmul_backward dw", dw, dw2, (size_t)out * in, 1e-5 * sqrt(n), 1e-4);
            /* NULL outputs are skipped */
            float *dx3 = tu_dup(dx, (size_t)n * in);
            matmul_backward(dx3, NULL, dy, x, w, n, in, out, 1);
            matmul_backward(NULL, dw2, dy, x, w, n, in, out, 1);
            free(y); free(y2); free(dx); free(dx2); free(dw); free(dw2); free(dx3);
        }
        free(x); free(w); free(dy);
    }
}

/* ---- rmsnorm ---- */

static void test_rmsnorm_vs_ref(void) {
    const int sz[][2] = {{1, 1}, {3, 5}, {17, 16}, {9, 47}, {64, 256}, {300, 64}, {513, 33}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        const int n = sz[s][0], d = sz[s][1], ldx = d + 7, ldy = d + 3;
        float *x = randn((size_t)n * ldx, 2), *w = randn(d, 1), *dy = randn((size_t)n * ldy, 1);
        float *y = calloc((size_t)n * ldy, sizeof *y), *y2 = calloc((size_t)n * ldy, sizeof *y);
        float *r = calloc(n, sizeof *r), *r2 = calloc(n, sizeof *r);
        rmsnorm_forward(y, ldy, r, x, ldx, w, n, d, 1e-6f);
        rmsnorm_forward_ref(y2, ldy, r2, x, ldx, w, n, d, 1e-6f);
        expect_close_f32("rmsnorm_forward y", y, y2, (size_t)n * ldy, 1e-6, 1e-5);
        expect_close_f32("rmsnorm_forward rstd", r, r2, n, 0, 1e-5);
        float *dx = calloc((size_t)n * ldx, sizeof *dx), *dx2 = calloc((size_t)n * ldx, sizeof *dx);
        float *dw = randn(d, 1), *dw2 = tu_dup(dw, d);
        rmsnorm_backward(dx, ldx, dw, dy, ldy, x, ldx, w, r2, n, d);
        rmsnorm_backward_ref(dx2, ldx, dw2, dy, ldy, x, ldx, w, r2, n, d);
        expect_close_f32("rmsnorm_backward dx", dx, dx2, (size_t)n * ldx, 1e-5, 1e-4);
        expect_close_f32("rmsnorm_backward dw", dw, dw2, d, 1e-5 * sqrt(n), 1e-4);
        /* dx aliasing dy (same stride) */
        float *g = tu_dup(dy, (size_t)n * ldy);
        rmsnorm_backward(g, ldy, NULL, g, ldy, x, ldx, w, r2, n, d);
        for (int i = 0; i < n; i++)
            if (!expect_close_f32("rmsnorm_backward aliased", g + (size_t)i * ldy, dx2 + (size_t)i * ldx, d,
                                  1e-5, 1e-4)) break;
        /* y aliasing x */
        float *xa = tu_dup(x, (size_t)n * ldx);
        rmsnorm_forward(xa, ldx, NULL, xa, ldx, w, n, d, 1e-6f);
        for (int i = 0; i < n; i++)
            if (!expect_close_f32("rmsnorm_forward aliased", xa + (size_t)i * ldx, y2 + (size_t)i * ldy, d,
                                  1e-6, 1e-5)) break;
        free(x); free(w); free(dy); free(y); free(y2); free(r); free(r2); free(dx); free(dx2);
        free(dw); free(dw2); free(g); free(xa);
    }
}

/* The residual-fused norms give the bits of a separate add followed by the plain norm. */
static void test_rmsnorm_residual_fused(void) {
    const int sz[][2] = {{1, 1}, {5, 17}, {300, 256}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        const int n = sz[s][0], d = sz[s][1];
        const size_t nd = (size_t)n * d;
        float *x = tu_randn(70 + s, 1, nd, 1), *res = tu_randn(70 + s, 2, nd, 1), *w = tu_randn(70 + s, 3, d, 1);
        float *x2 = tu_dup(x, nd), *y = calloc(nd, sizeof *y), *y2 = calloc(nd, sizeof *y);
        float *r = calloc(n, sizeof *r), *r2 = calloc(n, sizeof *r);
        rmsnorm_forward_residual(y, r, x, res, w, n, d, 1e-6f);
        for (size_t i = 0; i < nd; i++) x2[i] += res[i];
        rmsnorm_forward(y2, d, r2, x2, d, w, n, d, 1e-6f);
        EXPECT(tu_same_bits(x, x2, nd) && tu_same_bits(y, y2, nd) && tu_same_bits(r, r2, n));
        float *dy = tu_randn(70 + s, 4, nd, 1), *dx = calloc(nd, sizeof *dx), *dx2 = calloc(nd, sizeof *dx);
        float *dw = tu_randn(70 + s, 5, d, 1), *dw2 = tu_dup(dw, d);
        rmsnorm_backward_residual(dx, dw, dy, x, w, r, res, n, d);
        rmsnorm_backward(dx2, d, dw2, dy, d, x, d, w, r, n, d);
        for (size_t i = 0; i < nd; i++) dx2[i] += res[i];
        EXPECT(tu_same_bits(dx, dx2, nd) && tu_same_bits(dw, dw2, d));
        free(x); free(res); free(w); free(x2); free(y); free(y2); free(r); free(r2);
        free(dy); free(dx); free(dx2); free(dw); free(dw2);
    }
}

/* ---- rope ---- */

static RopeParams rope_cfg(int dr, int yarn) {
    if (!yarn) return (RopeParams){.dim = dr, .layout = ROPE_INTERLEAVED, .theta = 10000};
    return (RopeParams){.dim = dr, .layout = ROPE_INTERLEAVED, .theta = 10000, .scaling = ROPE_SCALING_YARN,
                        .factor = 40, .original_max_pos = 4096, .beta_fast = 32, .beta_slow = 1,
                        .mscale = 1, .mscale_all_dim = 1};
}

static void test_rope_yarn_v3_numbers(void) {
    RopeParams c = rope_cfg(64, 1);
    double f[32];
    rope_inv_freq(f, &c);
    /* deepseek-v3-architecture.md §5, "V3 numbers (computed)" */
    EXPECT_NEAR(f[0], 1.0, 0, 1e-6);
    EXPECT_NEAR(f[1], 0.749894, 0, 1e-5);
    EXPECT_NEAR(f[2], 0.562341, 0, 1e-5);
    EXPECT_NEAR(f[3], 0.421697, 0, 1e-5);
    EXPECT_NEAR(f[10], 0.0562341, 0, 1e-5);
    EXPECT_NEAR(f[22], 1.778279e-4, 0, 1e-5);
    EXPECT_NEAR(f[23], 3.33380e-5, 0, 1e-5);
    EXPECT_NEAR(f[23], pow(10000, -46.0 / 64) / 40, 0, 1e-12);
    EXPECT_NEAR(f[31], 3.33380e-6, 0, 1e-5);
    EXPECT_NEAR(rope_yarn_mscale(&c), 1.0, 0, 1e-15);   /* mscale == mscale_all_dim */
    c.mscale_all_dim = 0;                  /* key missing: HF's 0.1·ln s + 1 */
    EXPECT_NEAR(rope_yarn_mscale(&c), 0.1 * log(40) + 1, 0, 1e-15);
    RopeParams p = rope_cfg(16, 0);
    double g[8];
    rope_inv_freq(g, &p);
    for (int j = 0; j < 8; j++) EXPECT_NEAR(g[j], pow(10000, -2.0 * j / 16), 0, 1e-14);
}

/* Llama 3.1's scaling (factor 8, low 1, high 4, L0 8192, theta 500000, head_dim 128): values
 * from the rule as transformers' _compute_llama3_parameters states it, evaluated in numpy. */
static void test_rope_llama3_numbers(void) {
    RopeParams c = {.dim = 128, .layout = ROPE_HALVES, .theta = 500000, .scaling = ROPE_SCALING_LLAMA3,
                    .factor = 8, .original_max_pos = 8192, .low_freq_factor = 1, .high_freq_factor = 4};
    double f[64];
    rope_inv_freq(f, &c);
    EXPECT_NEAR(f[0], 1.0, 0, 1e-12);                       /* high frequency: kept */
    EXPECT_NEAR(f[20], 0.016560440080994446, 0, 1e-12);
    EXPECT_NEAR(f[29], 0.002166570763503359, 0, 1e-12);      /* the smooth band, 29..34 */
    EXPECT_NEAR(f[31], 0.0008567514129196321, 0, 1e-12);
    EXPECT_NEAR(f[34], 0.00017850781276799638, 0, 1e-12);
    EXPECT_NEAR(f[40], 3.428102195952591e-05, 0, 1e-12);     /* low frequency: divided by 8 */
    EXPECT_NEAR(f[63], 3.068925988914511e-07, 0, 1e-12);
    EXPECT_NEAR(rope_yarn_mscale(&c), 1.0, 0, 0);
}

static void test_rope_vs_ref(void) {
    for (int variant = 0; variant < 3; variant++) {
        const int yarn = variant == 1;
        const int dr = yarn ? 64 : 16, H = 3, head_stride = dr + 5, ld = H * head_stride + 2, n = 37;
        RopeParams c = rope_cfg(dr, yarn);
        c.mscale_all_dim = 0;   /* a non-unit magnitude factor, to test it */
        if (variant == 2) {     /* halves, llama3 with every band present among 8 frequencies */
            c.layout = ROPE_HALVES; c.scaling = ROPE_SCALING_LLAMA3; c.factor = 8;
            c.original_max_pos = 64; c.low_freq_factor = 1; c.high_freq_factor = 4;
        }
        RopeTable t;
        rope_table_init(&t, &c, 5000);
        int pos[37];
        for (int i = 0; i < n; i++) pos[i] = (i * 977) % 5000;
        float *x = randn((size_t)n * ld, 1), *x2 = tu_dup(x, (size_t)n * ld);
        rope_forward(x, ld, head_stride, H, pos, n, &t);
        rope_forward_ref(x2, ld, head_stride, H, pos, n, &t);
        expect_close_f32("rope_forward", x, x2, (size_t)n * ld, 2e-6, 2e-6);
        rope_backward(x, ld, head_stride, H, pos, n, &t);
        rope_backward_ref(x2, ld, head_stride, H, pos, n, &t);
        expect_close_f32("rope_backward", x, x2, (size_t)n * ld, 4e-6, 4e-6);
        /* forward then backward = m² · x on the rotated slices (rotation is orthogonal) */
        const double m2 = t.mscale * t.mscale;
        free(x); free(x2);
        float *y = randn((size_t)n * ld, 1), *y0 = tu_dup(y, (size_t)n * ld);
        rope_forward(y, ld, head_stride, H, pos, n, &t);
        rope_backward(y, ld, head_stride, H, pos, n, &t);
        for (int i = 0; i < n; i++)
            for (int h = 0; h < H; h++)
                for (int j = 0; j < head_stride; j++) {
                    size_t o = (size_t)i * ld + (size_t)h * head_stride + j;
                    double want = j < dr ? m2 * y0[o] : y0[o];
                    EXPECT_NEAR(y[o], want, 1e-5, 1e-5);
                }
        free(y); free(y0);
        rope_table_free(&t);
    }
    /* the pair layouts: (0,1),(2,3) interleaved, (0,2),(1,3) in halves; at position 1 pair 0
     * turns by 1 rad, pair 1 by 1e-2 rad */
    RopeParams c = rope_cfg(4, 0);
    for (int halves = 0; halves < 2; halves++) {
        c.layout = halves ? ROPE_HALVES : ROPE_INTERLEAVED;
        RopeTable t;
        rope_table_init(&t, &c, 4);
        float v[4] = {1, 2, 3, 4};
        int p1 = 1;
        rope_forward(v, 4, 4, 1, &p1, 1, &t);
        const int ia[2] = {0, halves ? 1 : 2}, ib[2] = {halves ? 2 : 1, 3};
        const double ang[2] = {1.0, 0.01};
        for (int j = 0; j < 2; j++) {
            const double x0 = ia[j] + 1, x1 = ib[j] + 1;
            EXPECT_NEAR(v[ia[j]], x0 * cos(ang[j]) - x1 * sin(ang[j]), 1e-6, 0);
            EXPECT_NEAR(v[ib[j]], x0 * sin(ang[j]) + x1 * cos(ang[j]), 1e-6, 0);
        }
        rope_table_free(&t);
    }
}

/* ---- attention ---- */

static void attention_case(int B, int T, int H, int Dqk, int Dv, float qsd) {
    const size_t nq = (size_t)B * T * H * Dqk, nv = (size_t)B * T * H * Dv;
    float *q = randn(nq, qsd), *k = randn(nq, 1), *v = randn(nv, 1), *dout = randn(nv, 1);
    float *o = calloc(nv, 4), *o2 = calloc(nv, 4), *l = calloc((size_t)B * H * T, 4), *l2 = calloc((size_t)B * H * T, 4);
    const float scale = 1.0f / sqrtf((float)Dqk);
    size_t ss = attention_scratch_size(B, T, H, Dqk, Dv, omp_get_max_threads());
    float *scr = malloc(ss * sizeof *scr);
    attention_forward(o, l, q, k, v, B, T, H, Dqk, Dv, scale, scr);
    attention_forward_ref(o2, l2, q, k, v, B, T, H, Dqk, Dv, scale);
    char what[80];
    snprintf(what, sizeof what, "attention B%d T%d H%d Dqk%d Dv%d out", B, T, H, Dqk, Dv);
    expect_close_f32(what, o, o2, nv, 2e-5, 1e-4);
    expect_close_f32("attention lse", l, l2, (size_t)B * H * T, 2e-5, 1e-5);
    float *dq = calloc(nq, 4), *dk = calloc(nq, 4), *dv = calloc(nv, 4);
    float *dq2 = calloc(nq, 4), *dk2 = calloc(nq, 4), *dv2 = calloc(nv, 4);
    for (size_t i = 0; i < nq; i++) dq[i] = dk[i] = NAN;   /* written, not accumulated */
    attention_backward(dq, dk, dv, dout, o, l, q, k, v, B, T, H, Dqk, Dv, scale, scr);
    attention_backward_ref(dq2, dk2, dv2, dout, o2, l2, q, k, v, B, T, H, Dqk, Dv, scale);
    expect_close_f32("attention dq", dq, dq2, nq, 5e-5, 2e-4);
    expect_close_f32("attention dk", dk, dk2, nq, 5e-5, 2e-4);
    expect_close_f32("attention dv", dv, dv2, nv, 5e-5, 2e-4);
    free(q); free(k); free(v); free(dout); free(o); free(o2); free(l); free(l2); free(scr);
    free(dq); free(dk); free(dv); free(dq2); free(dk2); free(dv2);
}

static void test_attention_vs_ref(void) {
    attention_case(1, 1, 1, 1, 1, 1);
    attention_case(2, 5, 3, 7, 4, 1);
    attention_case(1, 64, 2, 48, 32, 1);
    attention_case(2, 65, 1, 17, 33, 2);
    attention_case(1, 130, 2, 48, 32, 3);   /* peaked softmax */
    attention_case(3, 200, 1, 16, 16, 1);
}

/* MLA's layout: K = (k_nope from a [n, H, Dn+Dv] block, a rope key shared by every head, rows of
 * stride ldr), V beside k_nope. The view functions must give the bits of the plain functions on
 * K and V assembled per head; dK's two blocks and dV land in place, nothing else is touched. */
static void attention_kv_case(int B, int T, int H, int Dn, int Dr, int Dv) {
    const int Dqk = Dn + Dr, W = Dn + Dv, ldr = Dr + 3, n = B * T;
    const size_t nq = (size_t)n * H * Dqk, nv = (size_t)n * H * Dv, nkv = (size_t)n * H * W;
    float *q = tu_randn(90, 1, nq, 1), *kvb = tu_randn(90, 2, nkv, 1), *pe = tu_randn(90, 3, (size_t)n * ldr, 1);
    float *dout = tu_randn(90, 4, nv, 1), *k = malloc(nq * 4), *v = malloc(nv * 4);
    for (int i = 0; i < n; i++)
        for (int h = 0; h < H; h++) {
            memcpy(k + ((size_t)i * H + h) * Dqk, kvb + ((size_t)i * H + h) * W, (size_t)Dn * 4);
            memcpy(k + ((size_t)i * H + h) * Dqk + Dn, pe + (size_t)i * ldr, (size_t)Dr * 4);
            memcpy(v + ((size_t)i * H + h) * Dv, kvb + ((size_t)i * H + h) * W + Dn, (size_t)Dv * 4);
        }
    const float scale = 0.3f;
    float *scr = malloc(attention_scratch_size(B, T, H, Dqk, Dv, omp_get_max_threads()) * sizeof *scr);
    float *o = calloc(nv, 4), *o2 = calloc(nv, 4), *l = calloc((size_t)n * H, 4), *l2 = calloc((size_t)n * H, 4);
    attention_forward(o, l, q, k, v, B, T, H, Dqk, Dv, scale, scr);
    const AttKV kv = {.k1 = {kvb, (size_t)H * W, (size_t)W}, .k2 = {pe, (size_t)ldr, 0},
                      .v = {kvb + Dn, (size_t)H * W, (size_t)W}, .D1 = Dn, .D2 = Dr, .Dv = Dv};
    attention_forward_kv(o2, l2, q, &kv, B, T, H, scale, scr);
    EXPECT(tu_same_bits(o, o2, nv) && tu_same_bits(l, l2, (size_t)n * H));
    float *dq = calloc(nq, 4), *dk = calloc(nq, 4), *dv = calloc(nv, 4), *dq2 = calloc(nq, 4);
    float *dkv = malloc(nkv * 4), *dpe = malloc((size_t)n * H * (Dr + 1) * 4);
    for (size_t i = 0; i < nkv; i++) dkv[i] = NAN;
    for (size_t i = 0; i < (size_t)n * H * (Dr + 1); i++) dpe[i] = -7;
    attention_backward(dq, dk, dv, dout, o, l, q, k, v, B, T, H, Dqk, Dv, scale, scr);
    /* dk_pe per head, rows of H·(Dr+1) with one guard column per head */
    const AttKVGrad g = {.k1 = {dkv, (size_t)H * W, (size_t)W}, .k2 = {dpe, (size_t)H * (Dr + 1), (size_t)Dr + 1},
                         .v = {dkv + Dn, (size_t)H * W, (size_t)W}};
    attention_backward_kv(dq2, &g, dout, o, l, q, &kv, B, T, H, scale, scr);
    EXPECT(tu_same_bits(dq, dq2, nq));
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int h = 0; h < H; h++) {
            const float *dki = dk + ((size_t)i * H + h) * Dqk, *dvi = dv + ((size_t)i * H + h) * Dv;
            const float *g1 = dkv + ((size_t)i * H + h) * W, *g2 = dpe + ((size_t)i * H + h) * (Dr + 1);
            bad += !tu_same_bits(g1, dki, Dn) + !tu_same_bits(g1 + Dn, dvi, Dv);
            bad += !tu_same_bits(g2, dki + Dn, Dr) + (g2[Dr] != -7);
        }
    EXPECTF(bad == 0, "B%d T%d H%d Dn%d Dr%d Dv%d: %d head rows differ", B, T, H, Dn, Dr, Dv, bad);
    free(q); free(kvb); free(pe); free(dout); free(k); free(v); free(scr); free(o); free(o2); free(l);
    free(l2); free(dq); free(dk); free(dv); free(dq2); free(dkv); free(dpe);
}

static void test_attention_kv_views(void) {
    attention_kv_case(1, 1, 1, 1, 1, 1);
    attention_kv_case(2, 37, 3, 8, 4, 5);
    attention_kv_case(2, 70, 2, 32, 16, 32);
}

/* GQA's layout: q, k, v column blocks of one [n, H·D + 2·Hkv·D] row, query head h on key/value
 * head h / rep. Must give the bits of the plain functions on K and V repeated per query head;
 * dq lands in the q columns (nothing else of the row touched), dK and dV per query head. */
static void attention_gqa_case(int B, int T, int Hkv, int rep, int D) {
    const int H = Hkv * rep, n = B * T, Dq = H * D, Dkv = Hkv * D, W = Dq + 2 * Dkv;
    const size_t nq = (size_t)n * Dq;
    float *qkv = tu_randn(91, 1, (size_t)n * W, 1), *dout = tu_randn(91, 2, nq, 1);
    float *q = malloc(nq * 4), *k = malloc(nq * 4), *v = malloc(nq * 4);
    for (int i = 0; i < n; i++)
        for (int h = 0; h < H; h++) {
            const float *r = qkv + (size_t)i * W;
            memcpy(q + ((size_t)i * H + h) * D, r + (size_t)h * D, (size_t)D * 4);
            memcpy(k + ((size_t)i * H + h) * D, r + Dq + (size_t)(h / rep) * D, (size_t)D * 4);
            memcpy(v + ((size_t)i * H + h) * D, r + Dq + Dkv + (size_t)(h / rep) * D, (size_t)D * 4);
        }
    const float scale = 0.4f;
    float *scr = malloc(attention_scratch_size(B, T, H, D, D, omp_get_max_threads()) * sizeof *scr);
    float *o = calloc(nq, 4), *o2 = calloc(nq, 4), *l = calloc((size_t)n * H, 4), *l2 = calloc((size_t)n * H, 4);
    attention_forward(o, l, q, k, v, B, T, H, D, D, scale, scr);
    const AttKV kv = {.k1 = {qkv + Dq, (size_t)W, (size_t)D}, .v = {qkv + Dq + Dkv, (size_t)W, (size_t)D},
                      .D1 = D, .D2 = 0, .Dv = D, .group = rep, .ldq = (size_t)W};
    attention_forward_kv(o2, l2, qkv, &kv, B, T, H, scale, scr);
    EXPECT(tu_same_bits(o, o2, nq) && tu_same_bits(l, l2, (size_t)n * H));
    float *dq = calloc(nq, 4), *dk = calloc(nq, 4), *dv = calloc(nq, 4);
    float *dqkv = malloc((size_t)n * W * 4), *dk2 = calloc(nq, 4), *dv2 = calloc(nq, 4);
    for (size_t i = 0; i < (size_t)n * W; i++) dqkv[i] = -7;
    attention_backward(dq, dk, dv, dout, o, l, q, k, v, B, T, H, D, D, scale, scr);
    const AttKVGrad g = {.k1 = {dk2, (size_t)Dq, (size_t)D}, .v = {dv2, (size_t)Dq, (size_t)D}};
    attention_backward_kv(dqkv, &g, dout, o, l, qkv, &kv, B, T, H, scale, scr);
    EXPECT(tu_same_bits(dk, dk2, nq) && tu_same_bits(dv, dv2, nq));
    int bad = 0;
    for (int i = 0; i < n; i++) {
        bad += !tu_same_bits(dqkv + (size_t)i * W, dq + (size_t)i * Dq, (size_t)Dq);
        for (int j = Dq; j < W; j++) bad += dqkv[(size_t)i * W + j] != -7;
    }
    EXPECTF(bad == 0, "B%d T%d Hkv%d rep%d D%d: %d dq rows differ", B, T, Hkv, rep, D, bad);
    free(qkv); free(dout); free(q); free(k); free(v); free(scr); free(o); free(o2); free(l); free(l2);
    free(dq); free(dk); free(dv); free(dqkv); free(dk2); free(dv2);
}

static void test_attention_gqa_views(void) {
    attention_gqa_case(1, 1, 1, 1, 2);
    attention_gqa_case(2, 37, 2, 3, 8);
    attention_gqa_case(1, 70, 1, 4, 32);
}

/* ---- swiglu ---- */

static void test_swiglu_vs_ref(void) {
    const int sz[][2] = {{1, 1}, {3, 17}, {64, 128}, {7, 300}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++)
        for (int scaled = 0; scaled < 2; scaled++) {
            const int n = sz[s][0], F = sz[s][1];
            float *gu = randn((size_t)n * 2 * F, 3), *dh = randn((size_t)n * F, 1);
            float *rs = scaled ? randn(n, 1) : NULL;
            gu[0] = 40; if (n * F > 1) gu[1] = -40;   /* saturated sigmoid */
            float *h = calloc((size_t)n * F, 4), *h2 = calloc((size_t)n * F, 4);
            swiglu_forward(h, gu, rs, n, F);
            swiglu_forward_ref(h2, gu, rs, n, F);
            expect_close_f32("swiglu_forward", h, h2, (size_t)n * F, 1e-6, 1e-5);
            float *d = calloc((size_t)n * 2 * F, 4), *d2 = calloc((size_t)n * 2 * F, 4);
            swiglu_backward(d, dh, gu, rs, n, F);
            swiglu_backward_ref(d2, dh, gu, rs, n, F);
            expect_close_f32("swiglu_backward", d, d2, (size_t)n * 2 * F, 1e-6, 1e-5);
            /* the backward pass's pair: σ(a) parked in dgu's gate half, then read back; the
             * same bits as the pair above (dgu starts as NaN: every entry must be written) */
            float *h3 = calloc((size_t)n * F, 4), *d3 = malloc((size_t)n * 2 * F * 4);
            for (size_t j = 0; j < (size_t)n * 2 * F; j++) d3[j] = NAN;
            swiglu_forward_keep_sigmoid(h3, d3, gu, rs, n, F);
            EXPECT(memcmp(h3, h, (size_t)n * F * 4) == 0);
            swiglu_backward_from_sigmoid(d3, dh, gu, rs, n, F);
            EXPECT(memcmp(d3, d, (size_t)n * 2 * F * 4) == 0);
            /* the gated one-pass backward: h = s·h_u, dscale = Σ dh·h_u, the same dgu bits */
            float *h4 = malloc((size_t)n * F * 4), *d4 = malloc((size_t)n * 2 * F * 4);
            float *hu = calloc((size_t)n * F, 4), *ds = malloc((size_t)n * 4);
            for (size_t j = 0; j < (size_t)n * 2 * F; j++) d4[j] = NAN;
            swiglu_backward_gated(h4, ds, d4, dh, gu, rs, n, F);
            EXPECT(memcmp(h4, h, (size_t)n * F * 4) == 0);
            EXPECT(memcmp(d4, d, (size_t)n * 2 * F * 4) == 0);
            swiglu_forward(hu, gu, NULL, n, F);
            for (int i = 0; i < n; i++) {
                double want = 0;
                for (int j = 0; j < F; j++) want += (double)dh[(size_t)i * F + j] * hu[(size_t)i * F + j];
                EXPECT(ds[i] == (float)want);
            }
            free(h4); free(d4); free(hu); free(ds);
            free(h3); free(d3);
            free(gu); free(dh); free(rs); free(h); free(h2); free(d); free(d2);
        }
}

/* ---- embed ---- */

static void test_embed_vs_ref(void) {
    const int V = 50, D = 19, n = 333;
    int tok[333];
    Rng r = rng_make(5, RNG_TEST, 77, 0);
    for (int i = 0; i < n; i++) tok[i] = (int)rng_below(&r, i < 100 ? 5 : V);   /* many repeats */
    float *tab = randn((size_t)V * D, 1), *dh = randn((size_t)n * D, 1);
    float *h = calloc((size_t)n * D, 4), *h2 = calloc((size_t)n * D, 4);
    embed_forward(h, tab, tok, n, D);
    embed_forward_ref(h2, tab, tok, n, D);
    EXPECT(tu_same_bits(h, h2, (size_t)n * D));
    float *dt = randn((size_t)V * D, 1), *dt2 = tu_dup(dt, (size_t)V * D);
    embed_backward(dt, dh, tok, n, D);
    embed_backward_ref(dt2, dh, tok, n, D);
    EXPECT(tu_same_bits(dt, dt2, (size_t)V * D));   /* same order of additions: same bits */
    free(tab); free(dh); free(h); free(h2); free(dt); free(dt2);
}

/* ---- cross-entropy ---- */

static void test_cross_entropy_vs_ref(void) {
    const int sz[][2] = {{1, 1}, {3, 17}, {5, 4096}, {40, 333}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        const int n = sz[s][0], V = sz[s][1];
        float *x = randn((size_t)n * V, 3), *rw = randn(n, 1);
        int *tg = malloc(n * sizeof *tg);
        for (int i = 0; i < n; i++) tg[i] = (i * 7919) % V;
        if (n > 2) tg[1] = -1;                                   /* ignored position */
        if (n > 2) for (int j = 0; j < V; j++) x[2 * V + j] += 1000;   /* needs the max shift */
        float *loss = calloc(n, 4), *lse = calloc(n, 4), *loss2 = calloc(n, 4), *lse2 = calloc(n, 4);
        cross_entropy_forward(loss, lse, x, tg, n, V);
        cross_entropy_forward_ref(loss2, lse2, x, tg, n, V);
        /* rows shifted by 1000 carry float's ulp(1000) ≈ 6e-5 in logits − lse */
        for (int i = 0; i < n; i++)
            expect_close_f32("cross_entropy loss", loss + i, loss2 + i, 1, (n > 2 && i == 2) ? 1e-4 : 1e-5, 1e-5);
        expect_close_f32("cross_entropy lse", lse, lse2, n, 1e-5, 1e-6);
        if (n > 2) EXPECT(loss[1] == 0);
        for (int weighted = 0; weighted < 2; weighted++) {
            float *d = calloc((size_t)n * V, 4), *d2 = calloc((size_t)n * V, 4);
            cross_entropy_backward(d, x, lse, tg, weighted ? rw : NULL, 0.25f, n, V);
            cross_entropy_backward_ref(d2, x, lse2, tg, weighted ? rw : NULL, 0.25f, n, V);
            for (int i = 0; i < n; i++)
                expect_close_f32("cross_entropy_backward", d + (size_t)i * V, d2 + (size_t)i * V, V,
                                 (n > 2 && i == 2) ? 3e-5 : 1e-7, (n > 2 && i == 2) ? 2e-4 : 1e-5);
            /* aliasing dlogits = logits */
            float *xa = tu_dup(x, (size_t)n * V);
            cross_entropy_backward(xa, xa, lse, tg, weighted ? rw : NULL, 0.25f, n, V);
            EXPECT(tu_same_bits(xa, d, (size_t)n * V));
            /* forward and gradient in one pass: the same loss, lse and gradient bits */
            if (!weighted) {
                float *xf = tu_dup(x, (size_t)n * V), *lossf = calloc(n, 4), *lsef = calloc(n, 4);
                cross_entropy_forward_grad(lossf, lsef, xf, tg, 0.25f, n, V);
                EXPECT(tu_same_bits(xf, d, (size_t)n * V));
                EXPECT(tu_same_bits(lossf, loss, (size_t)n) && tu_same_bits(lsef, lse, (size_t)n));
                free(xf); free(lossf); free(lsef);
            }
            free(d); free(d2); free(xa);
        }
        free(x); free(rw); free(tg); free(loss); free(lse); free(loss2); free(lse2);
    }
}

/* ---- ops ---- */

static void test_ops_exp_accuracy(void) {
    const int n = 20001;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (int i = 0; i < n; i++) x[i] = -100.0f + 190.0f * i / (n - 1);
    double s = ops_exp_shift_sum(y, x, 0, n), s2 = 0;
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double e = exp((double)x[i]);
        s2 += (float)e;
        if (e > 1e-37 && e < 1e38) {
            double rel = fabs(y[i] - e) / e;
            worst = rel > worst ? rel : worst;
        } else if (e <= 1e-37) {
            EXPECT(y[i] >= 0 && y[i] < 2e-37);
        }
    }
    EXPECTF(worst < 4e-7, "exp worst relative error %.3g", worst);
    EXPECT(isinf(s) || fabs(s - s2) <= 1e-5 * s2);
    float z[3] = {NAN, -INFINITY, 100};
    ops_exp_shift_scale(z, z, 0, 1, 3);
    EXPECT(isnan(z[0]) && z[1] == 0 && isinf(z[2]));
    float sg[40], sx[40];
    for (int i = 0; i < 40; i++) sx[i] = (float)(i - 20) * 2;
    ops_sigmoid(sg, sx, 40);
    for (int i = 0; i < 40; i++) EXPECT_NEAR(sg[i], 1 / (1 + exp(-(double)sx[i])), 1e-7, 1e-6);
    /* relative error over a dense grid wherever σ is a normal float; 0 past exp's overflow */
    ops_sigmoid(y, x, n);
    double worst_sg = 0;
    for (int i = 0; i < n; i++) {
        const double want = 1 / (1 + exp(-(double)x[i]));
        if (want > 1e-37) worst_sg = fmax(worst_sg, fabs(y[i] - want) / want);
        else EXPECT(y[i] >= 0 && y[i] < 2e-37);
    }
    EXPECTF(worst_sg < 1e-6, "sigmoid worst relative error %.3g", worst_sg);
    float sn[2] = {NAN, -INFINITY};
    ops_sigmoid(sn, sn, 2);
    EXPECT(isnan(sn[0]) && sn[1] == 0);
    free(x);
    free(y);
}

/* Attention's fused row passes against double arithmetic: values below n, zeros in [n, n_pad),
 * nothing written at or past n_pad (guard values), for n on and off the 16-lane boundaries. */
static void test_ops_attention_rows(void) {
    const int cases[][2] = {{1, 1}, {1, 16}, {5, 8}, {16, 16}, {17, 32}, {31, 33}, {64, 64}, {100, 130}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const int n = cases[c][0], n_pad = cases[c][1], cap = n_pad + 40;
        float *x = tu_randn(40 + c, 1, cap, 3), *y = tu_randn(40 + c, 2, cap, 1);
        float *x0 = tu_dup(x, cap), *y0 = tu_dup(y, cap);
        float sum;
        const float m = ops_exp_row(x, n, n_pad, &sum);
        double dm = -INFINITY, ds = 0;
        for (int i = 0; i < n; i++) dm = x0[i] > dm ? x0[i] : dm;
        for (int i = 0; i < n; i++) ds += exp((double)x0[i] - dm);
        int bad = m != (float)dm || fabs(sum - ds) > 1e-6 * ds;
        for (int i = 0; i < n; i++) bad += fabs(x[i] - exp((double)x0[i] - dm)) > 1e-6;
        for (int i = n; i < n_pad; i++) bad += x[i] != 0;
        for (int i = n_pad; i < cap; i++) bad += x[i] != x0[i];
        const float lse = (float)(dm + log(ds)), delta = 0.3f;
        memcpy(x, x0, (size_t)cap * sizeof *x);
        ops_softmax_grad_row(x, y, n, n_pad, lse, delta);
        for (int i = 0; i < n; i++) {
            const double p = exp((double)x0[i] - lse);
            bad += fabs(x[i] - p) > 1e-6 || fabs(y[i] - p * (y0[i] - delta)) > 1e-5;
        }
        for (int i = n; i < n_pad; i++) bad += x[i] != 0 || y[i] != 0;
        for (int i = n_pad; i < cap; i++) bad += x[i] != x0[i] || y[i] != y0[i];
        EXPECTF(bad == 0, "n %d n_pad %d: %d wrong values", n, n_pad, bad);
        free(x); free(y); free(x0); free(y0);
    }
}

/* ---- determinism across thread counts ---- */

static void test_thread_determinism(void) {
    const int saved = threads_count();
    const int B = 3, T = 97, H = 2, Dqk = 24, Dv = 16, n = 513, d = 96, V = 777, F = 80;
    const size_t nq = (size_t)B * T * H * Dqk, nv = (size_t)B * T * H * Dv;
    float *q = randn(nq, 1), *k = randn(nq, 1), *v = randn(nv, 1), *dout = randn(nv, 1);
    float *x = randn((size_t)n * d, 1), *w = randn(d, 1), *g = randn((size_t)n * d, 1);
    float *logits = randn((size_t)n * V, 2), *gu = randn((size_t)n * 2 * F, 1), *dh = randn((size_t)n * F, 1);
    float *A = randn((size_t)300 * 200, 1), *Bm = randn((size_t)200 * 250, 1);
    int *tg = malloc(n * sizeof *tg);
    for (int i = 0; i < n; i++) tg[i] = (i * 31) % V;
    float *res[2][12];
    for (int run = 0; run < 2; run++) {
        threads_set(run + 1);
        float **r = res[run];
        size_t ss = attention_scratch_size(B, T, H, Dqk, Dv, run + 1);
        float *scr = malloc(ss * sizeof *scr);
        r[0] = calloc(nv, 4); r[1] = calloc((size_t)B * H * T, 4);
        attention_forward(r[0], r[1], q, k, v, B, T, H, Dqk, Dv, 0.2f, scr);
        r[2] = calloc(nq, 4); r[3] = calloc(nq, 4); r[4] = calloc(nv, 4);
        attention_backward(r[2], r[3], r[4], dout, r[0], r[1], q, k, v, B, T, H, Dqk, Dv, 0.2f, scr);
        free(scr);
        r[5] = calloc((size_t)n * d, 4); float *rs = calloc(n, 4);
        rmsnorm_forward(r[5], d, rs, x, d, w, n, d, 1e-6f);
        r[6] = calloc((size_t)n * d, 4); r[7] = calloc(d, 4);
        rmsnorm_backward(r[6], d, r[7], g, d, x, d, w, rs, n, d);
        free(rs);
        r[8] = calloc((size_t)n * V, 4); float *loss = calloc(n, 4), *lse = calloc(n, 4);
        cross_entropy_forward(loss, lse, logits, tg, n, V);
        cross_entropy_backward(r[8], logits, lse, tg, NULL, 0.5f, n, V);
        memcpy(r[8], loss, n * 4); memcpy(r[8] + n, lse, n * 4);
        free(loss); free(lse);
        r[9] = calloc((size_t)n * 2 * F, 4);
        swiglu_forward(r[9], gu, NULL, n, F);
        swiglu_backward(r[9] + (size_t)n * F, dh, gu, NULL, n / 2, F);
        r[10] = calloc((size_t)V * F, 4);
        embed_backward(r[10], dh, tg, n, F);
        /* gemm: OpenBLAS promises no bitwise equality across thread counts, only across runs */
        r[11] = calloc((size_t)300 * 250, 4);
        float *c2 = calloc((size_t)300 * 250, 4);
        gemm(0, 0, 300, 250, 200, 1, A, 200, Bm, 250, 0, r[11], 250);
        gemm(0, 0, 300, 250, 200, 1, A, 200, Bm, 250, 0, c2, 250);
        EXPECTF(tu_same_bits(r[11], c2, (size_t)300 * 250), "gemm differs between two runs at %d threads", run + 1);
        if (run == 1) memcpy(r[11], res[0][11], (size_t)300 * 250 * 4);
        free(c2);
    }
    const size_t len[12] = {nv, (size_t)B * H * T, nq, nq, nv, (size_t)n * d, (size_t)n * d, d,
                            (size_t)n * V, (size_t)n * 2 * F, (size_t)V * F, (size_t)300 * 250};
    const char *names[12] = {"att out", "att lse", "att dq", "att dk", "att dv", "rms y", "rms dx",
                             "rms dw", "ce", "swiglu", "embed dtable", "gemm (see above)"};
    for (int i = 0; i < 12; i++) {
        EXPECTF(tu_same_bits(res[0][i], res[1][i], len[i]), "%s differs between 1 and 2 threads", names[i]);
        free(res[0][i]); free(res[1][i]);
    }
    threads_set(saved);
    free(q); free(k); free(v); free(dout); free(x); free(w); free(g); free(logits); free(gu);
    free(dh); free(A); free(Bm); free(tg);
}

int main(void) {
    RUN(test_gemm_vs_ref);
    RUN(test_matmul_vs_ref);
    RUN(test_rmsnorm_vs_ref);
    RUN(test_rmsnorm_residual_fused);
    RUN(test_rope_yarn_v3_numbers);
    RUN(test_rope_llama3_numbers);
    RUN(test_rope_vs_ref);
    RUN(test_attention_vs_ref);
    RUN(test_attention_kv_views);
    RUN(test_attention_gqa_views);
    RUN(test_swiglu_vs_ref);
    RUN(test_embed_vs_ref);
    RUN(test_cross_entropy_vs_ref);
    RUN(test_ops_exp_accuracy);
    RUN(test_ops_attention_rows);
    RUN(test_thread_determinism);
    return TEST_EXIT();
}
