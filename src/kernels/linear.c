/* Linear layers for training and for few-row inference steps (see linear.h). */
#include "kernels/linear.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/bf16.h"
#include "kernels/embed.h"
#include "kernels/gemm_small.h"
#include "kernels/matmul.h"

#define LINEAR_BLOCK 128

/* ---- packs ---- */

static int packed_cmp(const void *a, const void *b) {
    const LinearPacked *x = a, *y = b;
    return x->w < y->w ? -1 : x->w > y->w;
}

void linear_packs_build(LinearPacks *lp, const LinearSource *src, int n) {
    memset(lp, 0, sizeof *lp);
    if (n <= 0) return;
    size_t *off = xmalloc(((size_t)n + 1) * sizeof *off);
    off[0] = 0;
    for (int k = 0; k < n; k++) {
        int N = 0;
        for (int i = 0; i < src[k].n_parts; i++) N += src[k].parts[i].N;
        off[k + 1] = off[k] + kn_weight_bytes(src[k].fmt, N, src[k].parts[0].K);
    }
    lp->bytes = off[n];
    lp->mem = aligned_alloc(64, off[n] + 64);
    CHECKF(lp->mem != NULL, "out of memory: %zu bytes of packed weights", off[n]);
    lp->t = xmalloc((size_t)n * sizeof *lp->t);
    lp->n = n;
    /* large weights pack their panels in parallel themselves; the others go one per thread */
    #pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < n; k++) {
        lp->t[k].w = src[k].w;
        kn_weight_pack(&lp->t[k].kw, src[k].fmt, src[k].parts, src[k].n_parts, (char *)lp->mem + off[k]);
    }
    qsort(lp->t, (size_t)n, sizeof *lp->t, packed_cmp);
    for (int k = 1; k < n; k++) CHECKF(lp->t[k - 1].w != lp->t[k].w, "a weight packed twice");
    free(off);
}

void linear_packs_free(LinearPacks *lp) {
    free(lp->t);
    free(lp->mem);
    memset(lp, 0, sizeof *lp);
}

const KnWeight *linear_packs_find(const LinearPacks *lp, const real *w) {
    if (!lp) return NULL;
    int lo = 0, hi = lp->n - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        if (lp->t[mid].w == w) return &lp->t[mid].kw;
        if (lp->t[mid].w < w) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

/* ---- the executor ---- */

static int weight_cmp(const void *a, const void *b) {
    const LinearWeight *x = a, *y = b;
    return x->w < y->w ? -1 : x->w > y->w;
}

void linear_exec_init(LinearExec *lx, const LinearWeight *ws, int n, int max_rows, KnFormat fmt,
                      const LinearPacks *stored) {
    memset(lx, 0, sizeof *lx);
    CHECK(fmt == KN_F32 || fmt == KN_BF16_DOT);
    CHECK(!REAL_IS_DOUBLE || (fmt == KN_F32 && !stored));
    size_t d = 1;
    for (int i = 0; i < n; i++) {
        if ((size_t)ws[i].out > d) d = (size_t)ws[i].out;
        if ((size_t)ws[i].in > d) d = (size_t)ws[i].in;
    }
    lx->stored = stored;
    lx->pad_dim = d;
    lx->max_rows = max_rows;
    lx->padx = xmalloc(4 * d * sizeof *lx->padx);
    lx->pady = xmalloc(4 * d * sizeof *lx->pady);
    lx->threads = omp_get_max_threads() > omp_get_num_procs() ? omp_get_max_threads() : omp_get_num_procs();
    int low = fmt != KN_F32;
    for (int i = 0; i < (stored ? stored->n : 0); i++) low |= stored->t[i].kw.fmt == KN_BF16_DOT;
    if (low) lx->xpairs = xmalloc((size_t)lx->threads * max_rows * (d / 2 + 1) * sizeof *lx->xpairs);
    if ((fmt == KN_F32 && max_rows < LINEAR_KN_MIN_ROWS) || n == 0 || REAL_IS_DOUBLE) return;
    /* distinct weights without a stored pack, by address (a tied lm_head is the embedding, listed once) */
    LinearWeight *u = xmalloc((size_t)n * sizeof *u);
    memcpy(u, ws, (size_t)n * sizeof *u);
    qsort(u, (size_t)n, sizeof *u, weight_cmp);
    int m = 0;
    for (int i = 0; i < n; i++)
        if ((m == 0 || u[m - 1].w != u[i].w) && !linear_packs_find(stored, u[i].w)) u[m++] = u[i];
    LowpMatrix *mat = xmalloc((size_t)(m ? m : 1) * sizeof *mat);
    LinearSource *src = xmalloc((size_t)(m ? m : 1) * sizeof *src);
    for (int k = 0; k < m; k++) {
        mat[k] = (LowpMatrix){LOWP_F32, u[k].w, NULL, u[k].out, u[k].in};
        src[k] = (LinearSource){u[k].w, fmt, &mat[k], 1};
    }
    linear_packs_build(&lx->own, src, m);
    free(src);
    free(mat);
    free(u);
}

void linear_exec_free(LinearExec *lx) {
    linear_packs_free(&lx->own);
    free(lx->padx);
    free(lx->pady);
    free(lx->xpairs);
    memset(lx, 0, sizeof *lx);
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

/* Against a pack: panels of KN_PANEL over the threads (bf16 pairs: the rows converted first, into
 * the calling thread's buffer). */
static void lin_kn(const LinearExec *lx, real *y, const real *x, const KnWeight *kw, int n, int in,
                   int out, int acc) {
#if REAL_IS_DOUBLE
    (void)lx; (void)y; (void)x; (void)kw; (void)n; (void)in; (void)out; (void)acc;
    CHECK(0);
#else
    const int nb = (out + KN_PANEL - 1) / KN_PANEL;
    const int par = nb > 1 && (double)n * in * out >= LINEAR_PAR_MIN && !omp_in_parallel();
    const uint32_t *xp = NULL;
    const int ldp = in / 2 + 1;
    if (kw->fmt == KN_BF16_DOT) {
        const int tid = omp_get_thread_num();
        CHECK(n <= lx->max_rows && tid < lx->threads && (size_t)in <= lx->pad_dim);
        uint32_t *p = lx->xpairs + (size_t)tid * lx->max_rows * (lx->pad_dim / 2 + 1);
        for (int i = 0; i < n; i++) bf16_pairs_from_f32(p + (size_t)i * ldp, x + (size_t)i * in, in);
        xp = p;
    }
    #pragma omp parallel for schedule(static) if (par)
    for (int b = 0; b < nb; b++) {
        const int o0 = b * KN_PANEL, o1 = o0 + KN_PANEL < out ? o0 + KN_PANEL : out;
        kn_weight_gemm(n, o1 - o0, in, x, in, xp, ldp, kw, b, y + o0, out, acc, 0);
    }
#endif
}

void linear_forward(const LinearExec *lx, real *y, const real *x, const real *w, int n, int in,
                    int out, int acc) {
    if (!lx) {
        matmul_forward(y, x, w, n, in, out, acc);
        return;
    }
    const KnWeight *kw = linear_packs_find(lx->stored, w);
    if (!kw) kw = linear_packs_find(&lx->own, w);
    if (kw && (kw->fmt != KN_F32 || n <= LINEAR_MAX_ROWS)) {
        CHECK(kw->N == out && kw->K == in);
        lin_kn(lx, y, x, kw, n, in, out, acc);
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

void linear_forward_p(const LinearExec *lx, MatPrec prec, real *y, const real *x, const real *w, int n,
                      int in, int out, int acc) {
    if (lx) linear_forward(lx, y, x, w, n, in, out, acc);
    else matmul_forward_p(prec, y, x, w, n, in, out, acc);
}

void linear_rows(const LinearExec *lx, real *h, const real *table, const int *tok, int n, int D) {
    const KnWeight *kw = lx ? linear_packs_find(lx->stored, table) : NULL;
    if (!kw) {
        embed_forward(h, table, tok, n, D);
        return;
    }
#if REAL_IS_DOUBLE
    CHECK(0);
#else
    CHECK(kw->K == D);
    for (int i = 0; i < n; i++) kn_weight_row(kw, tok[i], h + (size_t)i * D);
#endif
}
