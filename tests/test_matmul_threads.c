/* The Linear layer on two threads (src/kernels/matmul.c): dW and dX side by side, or one product
 * cut into two row halves, each half a single-threaded product. Checked here: the same bits on
 * every run at two threads, agreement with one thread (to rounding: OpenBLAS may pick another
 * kernel for a half's size) and with the naive double twin, accumulation (+=) kept, NULL outputs
 * skipped, and dx overlapping x (in place) handled by the sequential path rather than racing. Shapes: training-sized rows (>= 256, the
 * cut is a multiple of 16, odd counts included), the router's 16 outputs, the bench's widths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/threads.h"
#include "kernels/matmul.h"
#include "test.h"
#include "test_util.h"

static uint64_t seq;

static float *randn(size_t n, float sd) { return tu_randn(4321, ++seq, n, sd); }

/* forward, backward (both outputs, then each alone): at 2 threads twice (identical bits), at 1
 * thread (close) */
static void check_shape(int n, int in, int out) {
    const int saved = threads_count();
    float *x = randn((size_t)n * in, 1), *w = randn((size_t)out * in, 0.1f), *dy = randn((size_t)n * out, 1);
    float *y0 = randn((size_t)n * out, 1), *dx0 = randn((size_t)n * in, 1), *dw0 = randn((size_t)out * in, 1);
    float *res[3][5];
    for (int run = 0; run < 3; run++) {
        threads_set(run == 0 ? 1 : 2);
        float **r = res[run];
        r[0] = tu_dup(y0, (size_t)n * out);
        matmul_forward(r[0], x, w, n, in, out, 1);      /* y += x·wᵀ */
        r[1] = tu_dup(dx0, (size_t)n * in);
        r[2] = tu_dup(dw0, (size_t)out * in);
        matmul_backward(r[1], r[2], dy, x, w, n, in, out, 1);           /* side by side */
        r[3] = tu_dup(dx0, (size_t)n * in);
        matmul_backward(r[3], NULL, dy, x, w, n, in, out, 0);           /* dx alone (=) */
        r[4] = tu_dup(dw0, (size_t)out * in);
        matmul_backward(NULL, r[4], dy, x, w, n, in, out, 0);           /* dw alone */
    }
    threads_set(saved);
    const size_t len[5] = {(size_t)n * out, (size_t)n * in, (size_t)out * in, (size_t)n * in, (size_t)out * in};
    const char *names[5] = {"forward", "dx (pair)", "dw (pair)", "dx alone", "dw alone"};
    const double tol_in = 1e-5 * sqrt(in), tol_out = 1e-5 * sqrt(out), tol_n = 1e-5 * sqrt(n);
    const double atol[5] = {tol_in, tol_out, tol_n, tol_out, tol_n};
    for (int i = 0; i < 5; i++) {
        EXPECTF(tu_same_bits(res[1][i], res[2][i], len[i]), "%s %dx%dx%d differs between two runs at 2 threads",
                names[i], n, in, out);
        char what[96];
        snprintf(what, sizeof what, "%s %dx%dx%d, 1 vs 2 threads", names[i], n, in, out);
        expect_close_f32(what, res[1][i], res[0][i], len[i], atol[i], 1e-5);
    }
    /* and right: against the double twin */
    float *y = tu_dup(y0, (size_t)n * out), *dx = tu_dup(dx0, (size_t)n * in), *dw = tu_dup(dw0, (size_t)out * in);
    matmul_forward_ref(y, x, w, n, in, out, 1);
    matmul_backward_ref(dx, dw, dy, x, w, n, in, out, 1);
    expect_close_f32("forward vs ref", res[1][0], y, (size_t)n * out, 1e-5 * sqrt(in), 1e-4);
    expect_close_f32("dx vs ref", res[1][1], dx, (size_t)n * in, 1e-5 * sqrt(out), 1e-4);
    expect_close_f32("dw vs ref", res[1][2], dw, (size_t)out * in, 1e-5 * sqrt(n), 1e-4);
    for (int run = 0; run < 3; run++)
        for (int i = 0; i < 5; i++) free(res[run][i]);
    free(x); free(w); free(dy); free(y0); free(dx0); free(dw0); free(y); free(dx); free(dw);
}

static void test_two_threads(void) {
    check_shape(512, 256, 128);
    check_shape(300, 64, 80);      /* halves of 160 + 140 rows */
    check_shape(4096 / 8, 256, 16);
    check_shape(257, 128, 384);
    check_shape(40, 33, 17);       /* below the row cut: unchanged path */
}

/* dx = x in place (a square layer): dW must see x before dX overwrites it */
static void test_dx_in_place(void) {
    const int saved = threads_count();
    threads_set(2);
    const int n = 384, d = 96;
    float *x = randn((size_t)n * d, 1), *w = randn((size_t)d * d, 0.1f), *dy = randn((size_t)n * d, 1);
    float *dw = calloc((size_t)d * d, sizeof *dw), *dw2 = calloc((size_t)d * d, sizeof *dw2);
    float *dx2 = tu_dup(x, (size_t)n * d), *x2 = tu_dup(x, (size_t)n * d);
    matmul_backward_ref(dx2, dw2, dy, x2, w, n, d, d, 0);
    matmul_backward(x, dw, dy, x, w, n, d, d, 0);
    expect_close_f32("in-place dw", dw, dw2, (size_t)d * d, 1e-5 * sqrt(n), 1e-4);
    expect_close_f32("in-place dx", x, dx2, (size_t)n * d, 1e-5 * sqrt(d), 1e-4);
    threads_set(saved);
    free(x); free(w); free(dy); free(dw); free(dw2); free(dx2); free(x2);
}

int main(void) {
    RUN(test_two_threads);
    RUN(test_dx_in_place);
    return TEST_EXIT();
}
