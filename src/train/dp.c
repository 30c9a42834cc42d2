/* The tree of sums over leaves and ranks (dp.h). */
#include "train/dp.h"

#include <string.h>

#include "base/bigmem.h"

void dp_chunk_span(const ParamChunks *pc, int a, int b, size_t *first, size_t *end) {
    if (a >= b) {
        *first = *end = 0;
        return;
    }
    *first = pc->c[a].offset;
    *end = pc->c[b - 1].offset + pc->c[b - 1].n;
}

/* Trainable elements of chunks [a, b). */
static size_t chunk_elems(const ParamChunks *pc, int a, int b) {
    size_t n = 0;
    for (int c = a; c < b; c++) n += pc->c[c].n;
    return n;
}

/* Where [a, b) splits: the first chunk boundary at or past half its elements. */
static int split_chunks(const ParamChunks *pc, int a, int b) {
    size_t half = (chunk_elems(pc, a, b) + 1) / 2, acc = 0;
    int c = a;
    while (c < b && acc < half) acc += pc->c[c++].n;
    return c;
}

void dp_shards_init(DpShards *s, const Dist *d, const ParamTable *pt) {
    memset(s, 0, sizeof *s);
    s->d = d;
    param_chunks_build(&s->pc, pt, 0, 0);
    const ParamChunks *pc = &s->pc;
    const int ranks = dist_ranks(d), rank = dist_rank(d);
    while ((1 << s->levels) < ranks) s->levels++;
    CHECK(s->levels < DP_MAX_LEVELS && (1 << s->levels) == ranks);
    int a = 0, b = pc->n;
    for (int k = 0; k < s->levels; k++) {
        s->lo[k] = a;
        s->hi[k] = b;
        s->mid[k] = split_chunks(pc, a, b);
        size_t f, e;
        dp_chunk_span(pc, (rank >> k) & 1 ? s->mid[k] : a, (rank >> k) & 1 ? b : s->mid[k], &f, &e);
        if (e - f > s->scratch_n) s->scratch_n = e - f;
        if ((rank >> k) & 1) a = s->mid[k];
        else b = s->mid[k];
    }
    s->c_lo = a;
    s->c_hi = b;
    if (s->levels > 0) s->scratch = big_calloc((s->scratch_n ? s->scratch_n : 1) * sizeof(real), "gradient exchange");
}

void dp_shards_free(DpShards *s) {
    free(s->scratch);
    if (s->pc.c) param_chunks_free(&s->pc);
    memset(s, 0, sizeof *s);
}

/* Whether the ranks that share rank's bits from k up own no leaf (their subtree is empty). */
static int subtree_empty(int64_t n_leaves, int ranks, int rank, int k) {
    int64_t lo, hi;
    dist_tree_range(n_leaves, ranks >> k, rank >> k, &lo, &hi);
    return lo == hi;
}

static void add_into(real *restrict y, const real *restrict x, size_t n) {
    #pragma omp parallel for schedule(static) if (n >= ((size_t)1 << 16))
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void dp_reduce_scatter(DpShards *s, real *g, int64_t n_leaves) {
    const int ranks = dist_ranks(s->d), rank = dist_rank(s->d);
    for (int k = 0; k < s->levels; k++) {
        const int upper = (rank >> k) & 1, peer = rank ^ (1 << k);
        size_t kf, ke, gf, ge;   /* the half kept, the half given */
        dp_chunk_span(&s->pc, upper ? s->mid[k] : s->lo[k], upper ? s->hi[k] : s->mid[k], &kf, &ke);
        dp_chunk_span(&s->pc, upper ? s->lo[k] : s->mid[k], upper ? s->mid[k] : s->hi[k], &gf, &ge);
        const int mine_empty = subtree_empty(n_leaves, ranks, rank, k);
        const int peer_empty = subtree_empty(n_leaves, ranks, peer, k);
        const size_t sz = sizeof(real);
        if (!mine_empty && !peer_empty) {
            dist_exchange(s->d, peer, g + gf, (ge - gf) * sz, s->scratch, (ke - kf) * sz);
            add_into(g + kf, s->scratch, ke - kf);
        } else if (mine_empty && !peer_empty) {
            dist_exchange(s->d, peer, NULL, 0, g + kf, (ke - kf) * sz);
        } else if (!mine_empty && peer_empty) {
            dist_exchange(s->d, peer, g + gf, (ge - gf) * sz, NULL, 0);
        }
    }
}

void dp_allgather(const DpShards *s, real *buf) {
    const int rank = dist_rank(s->d);
    for (int k = s->levels - 1; k >= 0; k--) {
        const int upper = (rank >> k) & 1, peer = rank ^ (1 << k);
        size_t kf, ke, gf, ge;
        dp_chunk_span(&s->pc, upper ? s->mid[k] : s->lo[k], upper ? s->hi[k] : s->mid[k], &kf, &ke);
        dp_chunk_span(&s->pc, upper ? s->lo[k] : s->mid[k], upper ? s->mid[k] : s->hi[k], &gf, &ge);
        dist_exchange(s->d, peer, buf + kf, (ke - kf) * sizeof(real), buf + gf, (ge - gf) * sizeof(real));
    }
}

void dp_pool_free(DpPool *p) {
    for (int i = 0; i < 64; i++) free(p->buf[i]);
    memset(p, 0, sizeof *p);
}

static int tree(DpPool *p, int depth, int64_t lo, int64_t hi, real *out, DpLeafFn fn, void *ctx, Err *e) {
    if (hi - lo == 1) return fn(ctx, lo, out, e);
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (tree(p, depth + 1, lo, mid, out, fn, ctx, e) != 0) return -1;
    CHECK(depth < 64);
    if (!p->buf[depth]) p->buf[depth] = big_calloc(p->n * sizeof(real), "gradient tree");
    else memset(p->buf[depth], 0, p->n * sizeof(real));
    real *right = p->buf[depth];
    if (tree(p, depth + 1, mid, hi, right, fn, ctx, e) != 0) return -1;
    add_into(out, right, p->n);
    return 0;
}

int dp_tree(DpPool *p, size_t n, int64_t lo, int64_t hi, real *out, DpLeafFn fn, void *ctx, Err *e) {
    CHECK(hi > lo);
    if (p->n != n) {
        dp_pool_free(p);
        p->n = n;
    }
    return tree(p, 0, lo, hi, out, fn, ctx, e);
}
