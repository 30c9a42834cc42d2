/* Linear layers for training and for few-row inference steps (see linear.h). */
#include "kernels/linear.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/gemm_small.h"
#include "kernels/matmul.h"

#define LINEAR_BLOCK 128

static int weight_cmp(const void *a, const void *b) {
    const LinearWeight *x = a, *y = b;
    return x->w < y->w ? -1 : x->w > y->w;
}

void linear_exec_init(LinearExec *lx, const LinearWeight *ws, int n, int max_rows) {
    memset(lx, 0, sizeof *lx);
    size_t d = 1;
    for (int i = 0; i < n; i++) {
        if ((size_t)ws[i].out > d) d = (size_t)ws[i].out;
        if ((size_t)ws[i].in > d) d = (size_t)ws[i].in;
    }
    lx->pad_dim = d;
    lx->padx = xmalloc(4 * d * sizeof *lx->padx);
    lx->pady = xmalloc(4 * d * sizeof *lx->pady);
    if (max_rows < LINEAR_KN_MIN_ROWS || n == 0) return;
    /* distinct weights, by address (a tied lm_head is the embedding, listed once) */
    LinearWeight *u = xmalloc((size_t)n * sizeof *u);
    memcpy(u, ws, (size_t)n * sizeof *u);
    qsort(u, (size_t)n, sizeof *u, weight_cmp);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || u[m - 1].w != u[i].w) u[m++] = u[i];
    size_t *off = xmalloc(((size_t)m + 1) * sizeof *off);
    off[0] = 0;
    for (int k = 0; k < m; k++) off[k + 1] = off[k] + kn_packed_size(u[k].out, u[k].in);
    lx->wt_mem = aligned_alloc(64, off[m] * sizeof(real) + 64);
    CHECKF(lx->wt_mem != NULL, "out of memory: %zu transposed weights", off[m]);
    LinearPacked *p = xmalloc((size_t)m * sizeof *p);
    #pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < m; k++) {
        kn_pack(lx->wt_mem + off[k], u[k].w, u[k].out, u[k].in);
        p[k] = (LinearPacked){u[k].w, lx->wt_mem + off[k]};
    }
    lx->wt = p;
    lx->n_wt = m;
    free(off);
    free(u);
}

void linear_exec_free(LinearExec *lx) {
    free(lx->wt);
    free(lx->wt_mem);
    free(lx->padx);
    free(lx->pady);
    memset(lx, 0, sizeof *lx);
}

static const real *packed_find(const LinearExec *lx, const real *w) {
    int lo = 0, hi = lx->n_wt - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        if (lx->wt[mid].w == w) return lx->wt[mid].t;
        if (lx->wt[mid].w < w) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

/* Column blocks of LINEAR_BLOCK over the threads. */
static void lin_blocks(real *y, const real *x, const real *w, int n, int in, int out, int acc) {
    if (n > LINEAR_MAX_ROWS || out <= LINEAR_BLOCK) {
        matmul_forward(y, x, w, n, in, out, acc);
        return;
    }
    const int nb = (out + LINEAR_BLOCK - 1) / LINEAR_BLOCK;
    const int par = (double)n * in * out >= LINEAR_PAR_MIN && !omp_in_parallel();
    #pragma omp parallel for schedule(static) if (par)
    for (int b = 0; b < nb; b++) {
        int o0 = b * LINEAR_BLOCK, o1 = o0 + LINEAR_BLOCK < out ? o0 + LINEAR_BLOCK : out;
        gemm(0, 1, n, o1 - o0, in, 1, x, in, w + (size_t)o0 * in, in, acc ? 1 : 0, y + o0, out);
    }
}

/* Against a packed transpose: panels of KN_PANEL over the threads. */
static void lin_kn(real *y, const real *x, const real *wt, int n, int in, int out, int acc) {
    const int nb = (out + KN_PANEL - 1) / KN_PANEL;
    const int par = nb > 1 && (double)n * in * out >= LINEAR_PAR_MIN && !omp_in_parallel();
    #pragma omp parallel for schedule(static) if (par)
    for (int b = 0; b < nb; b++) {
        const int o0 = b * KN_PANEL, o1 = o0 + KN_PANEL < out ? o0 + KN_PANEL : out;
        gemm_small_kn(n, o1 - o0, in, x, in, wt, b, y + o0, out, acc);
    }
}

void linear_forward(const LinearExec *lx, real *y, const real *x, const real *w, int n, int in,
                    int out, int acc) {
    const real *wt;
    if (!lx) {
        matmul_forward(y, x, w, n, in, out, acc);
        return;
    }
    if (lx->n_wt > 0 && n <= LINEAR_MAX_ROWS && (wt = packed_find(lx, w)) != NULL) {
        lin_kn(y, x, wt, n, in, out, acc);
        return;
    }
    if (n < 2 || n > 3 || omp_in_parallel() || (size_t)in > lx->pad_dim || (size_t)out > lx->pad_dim) {
        lin_blocks(y, x, w, n, in, out, acc);
        return;
    }
    memcpy(lx->padx, x, (size_t)n * in * sizeof *x);
    memset(lx->padx + (size_t)n * in, 0, (size_t)(4 - n) * in * sizeof *x);
    if (acc) memcpy(lx->pady, y, (size_t)n * out * sizeof *y);
    lin_blocks(lx->pady, lx->padx, w, 4, in, out, acc);
    memcpy(y, lx->pady, (size_t)n * out * sizeof *y);
}
