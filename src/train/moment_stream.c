/* ZeRO-1 moments streamed to and from rank 0 piece by piece (moment_stream.h). */
#include "train/moment_stream.h"

#include <stdlib.h>
#include <string.h>

static float *moment(const AdamW *opt, int g) { return g ? opt->v : opt->m; }

/* The list of pieces (the same on every rank) from every rank's shard. Collective. */
static void build_pieces(MomentStream *s) {
    const int ranks = dist_ranks(s->d);
    size_t mine[2] = {s->opt->mom_first, s->opt->mom_n}, tot;
    size_t *all = dist_allgather(s->d, mine, sizeof mine, &tot, NULL);
    CHECK(tot == sizeof mine * (size_t)ranks);
    /* the ranks with a shard, by first element (insertion sort: few ranks) */
    int *order = xmalloc(sizeof(int) * (size_t)ranks), n = 0;
    for (int k = 0; k < ranks; k++) {
        if (all[2 * k + 1] == 0) continue;
        int at = n++;
        for (; at > 0 && all[2 * order[at - 1]] > all[2 * k]; at--) order[at] = order[at - 1];
        order[at] = k;
    }
    int cap = 16;
    s->pieces = xmalloc(sizeof(MomentPiece) * (size_t)cap);
    s->n_pieces = 0;
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < n; i++) {
            const int k = order[i];
            const size_t first = all[2 * k], count = all[2 * k + 1];
            if (i > 0) {   /* shards never overlap: each is a range of whole chunks */
                const int prev = order[i - 1];
                CHECKF(all[2 * prev] + all[2 * prev + 1] <= first, "shards of ranks %d and %d overlap", prev, k);
            }
            const size_t step = k == 0 ? count : MOMENT_PIECE;
            for (size_t off = 0; off < count; off += step) {
                if (s->n_pieces == cap) {
                    cap *= 2;
                    s->pieces = xrealloc(s->pieces, sizeof(MomentPiece) * (size_t)cap);
                }
                s->pieces[s->n_pieces++] =
                    (MomentPiece){g, k, first + off, count - off < step ? count - off : step};
            }
        }
    free(order);
    free(all);
}

static void stream_init(MomentStream *s, const Dist *d, const AdamW *opt) {
    memset(s, 0, sizeof *s);
    s->d = d;
    s->opt = opt;
    s->cur = -1;
    build_pieces(s);
}

/* Rank 0: the next piece, from its own shard or received from its owner. */
static void take_next(MomentStream *s) {
    const MomentPiece *p = &s->pieces[++s->cur];
    if (p->rank == dist_rank(s->d)) {
        s->data = moment(s->opt, p->g) + (p->first - s->opt->mom_first);
        return;
    }
    if (!s->buf) s->buf = xmalloc(sizeof(float) * MOMENT_PIECE);
    dist_recv(s->d, s->buf, p->n * sizeof(float), p->rank);
    s->data = s->buf;
}

/* MomentSource.get: the pieces taken in order until the one holding `first`. */
static size_t stream_get(void *ctx, int g, size_t first, size_t n, const float **out) {
    MomentStream *s = ctx;
    CHECKF(g > s->last_g || (g == s->last_g && first >= s->last_end),
           "moment %d element %zu asked for after element %zu of moment %d: not in file order", g, first,
           s->last_end, s->last_g);
    for (;;) {
        const MomentPiece *p = s->cur >= 0 ? &s->pieces[s->cur] : NULL;
        if (p && p->g == g && first >= p->first && first < p->first + p->n) {
            const size_t k = p->first + p->n - first < n ? p->first + p->n - first : n;
            *out = s->data + (first - p->first);
            s->last_g = g;
            s->last_end = first + k;
            return k;
        }
        CHECKF(s->cur + 1 < s->n_pieces, "moment %d element %zu is in no rank's shard", g, first);
        take_next(s);
    }
}

const MomentSource *moment_stream_save(MomentStream *s, const Dist *d, const AdamW *opt) {
    stream_init(s, d, opt);
    const int me = dist_rank(d);
    if (me == 0) {
        s->src = (MomentSource){stream_get, s};
        return &s->src;
    }
    for (int i = 0; i < s->n_pieces; i++) {
        const MomentPiece *p = &s->pieces[i];
        if (p->rank == me) dist_send(d, moment(opt, p->g) + (p->first - opt->mom_first), p->n * sizeof(float), 0);
    }
    return NULL;
}

void moment_stream_end(MomentStream *s) {
    if (dist_rank(s->d) == 0)
        while (s->cur + 1 < s->n_pieces) take_next(s);
    free(s->pieces);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

int moment_stream_load(const Dist *d, AdamW *opt, MomentReader *mr, Err *e) {
    MomentStream s;
    stream_init(&s, d, opt);
    const int me = dist_rank(d);
    int rc = 0;
    for (int i = 0; i < s.n_pieces; i++) {
        const MomentPiece *p = &s.pieces[i];
        float *mine = moment(opt, p->g) + (p->first - opt->mom_first);
        if (me != 0) {
            if (p->rank == me) dist_recv(d, mine, p->n * sizeof(float), 0);
            continue;
        }
        if (p->rank != 0 && !s.buf) s.buf = xmalloc(sizeof(float) * MOMENT_PIECE);
        float *dst = p->rank == 0 ? mine : s.buf;
        if (rc == 0) rc = checkpoint_moments_read(mr, p->g, p->first, p->n, dst, e);
        if (rc != 0) memset(dst, 0, p->n * sizeof(float));   /* the owner still waits for it */
        if (p->rank != 0) dist_send(d, dst, p->n * sizeof(float), p->rank);
    }
    s.cur = s.n_pieces - 1;   /* nothing left to take */
    moment_stream_end(&s);
    return rc;
}
