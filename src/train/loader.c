#include "train/loader.h"

#include <math.h>
#include <string.h>

#include "base/rng.h"

int loader_init(Loader *l, const uint32_t *tok, uint64_t n_tokens, int T, double val_frac,
                uint64_t seed, const char *what, Err *e) {
    memset(l, 0, sizeof *l);
    if (T <= 0) return err_set(e, "sequence length must be > 0");
    if (val_frac < 0 || val_frac >= 1) return err_set(e, "validation fraction %g: must be in [0, 1)", val_frac);
    uint64_t n_seq = n_tokens > 1 ? (n_tokens - 1) / (uint64_t)T : 0;
    uint64_t n_val = (uint64_t)ceil(val_frac * (double)n_seq);
    if (n_seq == 0 || n_seq - n_val == 0)
        return err_set(e, "%s: %llu tokens are too few for one training sequence of %d+1 tokens%s",
                       what, (unsigned long long)n_tokens, T,
                       n_val ? " after the held-out split" : "");
    if (n_seq - n_val > UINT32_MAX) return err_set(e, "%s: more than 2^32 sequences", what);
    l->tok = tok;
    l->n_tokens = n_tokens;
    l->T = T;
    l->n_seq = n_seq;
    l->n_val = n_val;
    l->n_train = n_seq - n_val;
    l->seed = seed;
    l->perm = xmalloc(l->n_train * sizeof *l->perm);
    l->perm_epoch = UINT64_MAX;
    return 0;
}

void loader_free(Loader *l) {
    free(l->perm);
    memset(l, 0, sizeof *l);
}

static void draw_perm(Loader *l) {
    if (l->perm_epoch == l->epoch) return;
    for (uint64_t i = 0; i < l->n_train; i++) l->perm[i] = (uint32_t)i;
    Rng r = rng_make(l->seed, RNG_DATA, l->epoch, 0);
    rng_shuffle_u32(&r, l->perm, l->n_train);
    l->perm_epoch = l->epoch;
}

static void copy_seq(const Loader *l, uint64_t seq, int *tokens, int *targets) {
    const uint32_t *s = l->tok + seq * (uint64_t)l->T;
    for (int t = 0; t < l->T; t++) {
        tokens[t] = (int)s[t];
        targets[t] = (int)s[t + 1];
    }
}

void loader_seek(Loader *l, uint64_t epoch, uint64_t pos) {
    l->epoch = epoch;
    l->pos = pos;
}

void loader_next_batch(Loader *l, int B, int *tokens, int *targets) {
    for (int b = 0; b < B; b++) {
        if (l->pos >= l->n_train) { l->epoch++; l->pos = 0; }
        draw_perm(l);
        copy_seq(l, l->perm[l->pos++], tokens + (size_t)b * l->T, targets + (size_t)b * l->T);
    }
}

void loader_val_batch(const Loader *l, uint64_t first, int B, int *tokens, int *targets) {
    CHECK(first + (uint64_t)B <= l->n_val);
    for (int b = 0; b < B; b++)
        copy_seq(l, l->n_train + first + (uint64_t)b, tokens + (size_t)b * l->T,
                 targets + (size_t)b * l->T);
}

uint32_t loader_max_id(const Loader *l) {
    uint32_t mx = 0;
    const uint32_t *t = l->tok;
    const uint64_t n = l->n_tokens;
#pragma omp parallel for reduction(max : mx) schedule(static)
    for (uint64_t i = 0; i < n; i++)
        if (t[i] > mx) mx = t[i];
    return mx;
}
