/* Byte-level BPE training (see train.h). */
#include "tokenizer/train.h"

#include <libgen.h>
#include <omp.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "tokenizer/chat.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tokmap.h"

static const struct { const char *text; int special; } SPECIALS[] = {
    {CHAT_BOS, 1}, {CHAT_EOS, 1}, {CHAT_PAD, 1}, {CHAT_USER, 0}, {CHAT_ASSISTANT, 0},
    {CHAT_THINK, 0}, {CHAT_END_THINK, 0}, {CHAT_ANSWER, 0}, {CHAT_END_ANSWER, 0},
};
#define N_SPECIAL ((uint32_t)(sizeof SPECIALS / sizeof SPECIALS[0]))
#define CHUNK (1u << 20)

cJSON *tokenizer_pre_split_json(const char *const *patterns, int n) {
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *steps = cJSON_AddArrayToObject(pre, "pretokenizers");
    for (int i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "type", "Split");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "pattern"), "Regex", patterns[i]);
        cJSON_AddStringToObject(s, "behavior", "Isolated");
        cJSON_AddBoolToObject(s, "invert", 0);
        cJSON_AddItemToArray(steps, s);
    }
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", 0);
    cJSON_AddBoolToObject(bl, "trim_offsets", 1);
    cJSON_AddBoolToObject(bl, "use_regex", 0);
    cJSON_AddItemToArray(steps, bl);
    return pre;
}

cJSON *tokenizer_pre_deepseek_v3_json(void) { return tokenizer_pre_split_json(PRETOK_DEEPSEEK_V3, 3); }

/* tokenizer.json skeleton: added tokens, V3 pre-tokenizer, byte-level decoder; the model's vocab
 * and merges are filled by the caller. */
static cJSON *skeleton(void) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (uint32_t i = 0; i < N_SPECIAL; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", i);
        cJSON_AddStringToObject(t, "content", SPECIALS[i].text);
        cJSON_AddBoolToObject(t, "single_word", 0);
        cJSON_AddBoolToObject(t, "lstrip", 0);
        cJSON_AddBoolToObject(t, "rstrip", 0);
        cJSON_AddBoolToObject(t, "normalized", !SPECIALS[i].special);
        cJSON_AddBoolToObject(t, "special", SPECIALS[i].special);
        cJSON_AddItemToArray(added, t);
    }
    cJSON *norm = cJSON_AddObjectToObject(root, "normalizer");
    cJSON_AddStringToObject(norm, "type", "Sequence");
    cJSON_AddArrayToObject(norm, "normalizers");
    cJSON_AddItemToObject(root, "pre_tokenizer", tokenizer_pre_deepseek_v3_json());
    const char *pp[2] = {"post_processor", "decoder"};
    for (int k = 0; k < 2; k++) {
        cJSON *d = cJSON_AddObjectToObject(root, pp[k]);
        cJSON_AddStringToObject(d, "type", "ByteLevel");
        cJSON_AddBoolToObject(d, "add_prefix_space", 1);
        cJSON_AddBoolToObject(d, "trim_offsets", k == 1);
        cJSON_AddBoolToObject(d, "use_regex", 1);
    }
    cJSON *m = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddNullToObject(m, "dropout");
    cJSON_AddNullToObject(m, "unk_token");
    cJSON_AddNullToObject(m, "continuing_subword_prefix");
    cJSON_AddNullToObject(m, "end_of_word_suffix");
    cJSON_AddBoolToObject(m, "fuse_unk", 0);
    cJSON_AddBoolToObject(m, "byte_fallback", 0);
    cJSON_AddBoolToObject(m, "ignore_merges", 0);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab");
    for (uint32_t i = 0; i < N_SPECIAL; i++) cJSON_AddNumberToObject(vocab, SPECIALS[i].text, i);
    cJSON_AddArrayToObject(m, "merges");
    return root;
}

/* ---- word counting ---- */

typedef struct WordCounts {
    BytesMap map;            /* word bytes -> index into count */
    uint64_t *count;
    size_t cap;
    uint64_t total;
} WordCounts;

static void wc_init(WordCounts *w) {
    bytesmap_init(&w->map, 1 << 16);
    w->cap = 1 << 16;
    w->count = xmalloc(w->cap * sizeof *w->count);
    w->total = 0;
}

static void wc_free(WordCounts *w) {
    bytesmap_free(&w->map);
    free(w->count);
}

static void wc_add(WordCounts *w, const char *p, size_t n, uint64_t c) {
    uint64_t h = tokmap_hash_bytes(p, n);
    long k = bytesmap_find(&w->map, p, n, h);
    if (k < 0) {
        k = bytesmap_add(&w->map, p, n, h, 0);
        if ((size_t)k >= w->cap) {
            w->cap *= 2;
            w->count = xrealloc(w->count, w->cap * sizeof *w->count);
        }
        w->count[k] = 0;
    }
    w->count[k] += c;
    w->total += c;
}

static int on_word(void *ctx, const char *p, size_t n) {
    wc_add(ctx, p, n, 1);
    return 0;
}

typedef struct Chunk { const char *p; size_t n; } Chunk;

static void cut_chunks(const char *p, size_t n, Chunk **ch, size_t *nch, size_t *cap) {
    while (n > 0) {
        size_t k = n <= CHUNK ? n : CHUNK;
        if (k < n) {   /* extend to just after the next newline */
            const char *nl = memchr(p + k, '\n', n - k);
            k = nl ? (size_t)(nl - p) + 1 : n;
        }
        if (*nch == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *ch = xrealloc(*ch, *cap * sizeof **ch);
        }
        (*ch)[(*nch)++] = (Chunk){p, k};
        p += k;
        n -= k;
    }
}

/* ---- merging ---- */

typedef struct WhereList { uint32_t *v; uint32_t n, cap; } WhereList;

typedef struct Trainer {
    /* words */
    size_t n_words;
    uint32_t *sym;           /* all words' symbols */
    size_t *woff;            /* [n_words] */
    uint32_t *wlen;          /* [n_words] current length */
    uint64_t *wcnt;          /* [n_words] */
    /* pairs */
    U64Map pidx;             /* (a << 32 | b) -> pair index */
    int64_t *pcount;
    uint64_t *pkey;
    WhereList *where;
    unsigned char *touched;
    size_t n_pairs, pcap;
    /* heap of (count, key): max count first, then smallest key */
    struct HeapE { uint64_t count, key; } *heap;
    size_t hn, hcap;
    /* tokens */
    char **tok;
    uint32_t *tlen;
} Trainer;

static int heap_less(const struct HeapE *a, const struct HeapE *b) {   /* a has lower priority */
    return a->count != b->count ? a->count < b->count : a->key > b->key;
}

static void hpush(Trainer *t, uint64_t count, uint64_t key) {
    if (t->hn == t->hcap) {
        t->hcap = t->hcap ? t->hcap * 2 : 1 << 16;
        t->heap = xrealloc(t->heap, t->hcap * sizeof *t->heap);
    }
    struct HeapE x = {count, key};
    size_t i = t->hn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&t->heap[p], &x)) break;
        t->heap[i] = t->heap[p];
        i = p;
    }
    t->heap[i] = x;
}

static struct HeapE hpop(Trainer *t) {
    struct HeapE top = t->heap[0], x = t->heap[--t->hn];
    size_t i = 0, n = t->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&t->heap[c], &t->heap[c + 1])) c++;
        if (!heap_less(&x, &t->heap[c])) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n) t->heap[i] = x;
    return top;
}

static size_t pair_get(Trainer *t, uint32_t a, uint32_t b) {
    uint64_t key = (uint64_t)a << 32 | b;
    int ins;
    uint64_t *v = u64map_put(&t->pidx, key, t->n_pairs, &ins);
    if (ins) {
        if (t->n_pairs == t->pcap) {
            t->pcap = t->pcap ? t->pcap * 2 : 1 << 16;
            t->pcount = xrealloc(t->pcount, t->pcap * sizeof *t->pcount);
            t->pkey = xrealloc(t->pkey, t->pcap * sizeof *t->pkey);
            t->where = xrealloc(t->where, t->pcap * sizeof *t->where);
            t->touched = xrealloc(t->touched, t->pcap);
        }
        size_t i = t->n_pairs++;
        t->pcount[i] = 0;
        t->pkey[i] = key;
        t->where[i] = (WhereList){0};
        t->touched[i] = 0;
    }
    return (size_t)*v;
}

static void where_add(WhereList *w, uint32_t word) {
    if (w->n && w->v[w->n - 1] == word) return;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->v = xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = word;
}

static void trainer_free(Trainer *t) {
    free(t->sym); free(t->woff); free(t->wlen); free(t->wcnt);
    u64map_free(&t->pidx);
    for (size_t i = 0; i < t->n_pairs; i++) free(t->where[i].v);
    free(t->pcount); free(t->pkey); free(t->where); free(t->touched); free(t->heap);
}

/* Byte -> initial id: specials first, then bytes sorted by their byte-level code point. */
static void byte_ids(uint32_t id_of[256], uint32_t byte_of[256]) {
    uint32_t order[256];
    for (uint32_t b = 0; b < 256; b++) order[b] = b;
    for (int i = 1; i < 256; i++) {   /* insertion sort by code point */
        uint32_t x = order[i];
        int j = i - 1;
        while (j >= 0 && bytelevel_cp((unsigned char)order[j]) > bytelevel_cp((unsigned char)x)) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = x;
    }
    for (uint32_t k = 0; k < 256; k++) {
        id_of[order[k]] = N_SPECIAL + k;
        byte_of[k] = order[k];
    }
}

static int train_words(const WordCounts *wc, const TrainOpts *o, const char *out_path, TrainStats *st, Err *e) {
    double t0 = clock_now();
    Trainer t = {0};
    uint32_t id_of[256], byte_of[256];
    byte_ids(id_of, byte_of);
    t.n_words = wc->map.n;
    t.woff = xmalloc((t.n_words + 1) * sizeof *t.woff);
    t.wlen = xmalloc((t.n_words + 1) * sizeof *t.wlen);
    t.wcnt = xmalloc((t.n_words + 1) * sizeof *t.wcnt);
    t.sym = xmalloc((wc->map.data_len + 1) * sizeof *t.sym);
    size_t off = 0;
    for (size_t w = 0; w < t.n_words; w++) {
        const unsigned char *p = (const unsigned char *)wc->map.data + wc->map.off[w];
        t.woff[w] = off;
        t.wlen[w] = wc->map.len[w];
        t.wcnt[w] = wc->count[w];
        for (uint32_t i = 0; i < t.wlen[w]; i++) t.sym[off + i] = id_of[p[i]];
        off += t.wlen[w];
    }
    u64map_init(&t.pidx, 1 << 16);
    for (size_t w = 0; w < t.n_words; w++) {
        const uint32_t *s = t.sym + t.woff[w];
        for (uint32_t i = 0; i + 1 < t.wlen[w]; i++) {
            size_t pi = pair_get(&t, s[i], s[i + 1]);
            t.pcount[pi] += (int64_t)t.wcnt[w];
            where_add(&t.where[pi], (uint32_t)w);
        }
    }
    for (size_t i = 0; i < t.n_pairs; i++) hpush(&t, (uint64_t)t.pcount[i], t.pkey[i]);

    uint32_t vocab = N_SPECIAL + 256, target = o->vocab_size;
    size_t tok_cap = target > vocab ? target : vocab;
    uint32_t *tl = xmalloc(tok_cap * sizeof *tl), *ml = xmalloc(tok_cap * sizeof *ml), *mr = xmalloc(tok_cap * sizeof *mr);
    StrBuf blob = {0};
    size_t *toff = xmalloc(tok_cap * sizeof *toff);
    for (uint32_t k = 0; k < 256; k++) {
        unsigned char c = (unsigned char)byte_of[k];
        toff[N_SPECIAL + k] = blob.len;
        sb_append_n(&blob, (const char *)&c, 1);
        tl[N_SPECIAL + k] = 1;
    }
    uint32_t *stamp = xcalloc(t.n_words + 1, sizeof *stamp);
    size_t *touched_list = NULL, ntl = 0, tlc = 0;
    uint64_t minf = o->min_frequency ? o->min_frequency : 1;
    uint32_t n_merges = 0;
    while (vocab < target && t.hn) {
        struct HeapE top = hpop(&t);
        size_t pi = (size_t)*u64map_get(&t.pidx, top.key);
        int64_t cur = t.pcount[pi];
        if (cur <= 0 || (uint64_t)cur > top.count) continue;
        if ((uint64_t)cur < top.count) { hpush(&t, (uint64_t)cur, top.key); continue; }
        if ((uint64_t)cur < minf) break;
        uint32_t a = (uint32_t)(top.key >> 32), b = (uint32_t)top.key, nid = vocab++;
        toff[nid] = blob.len;
        char *ba = blob.s + toff[a];
        size_t la = tl[a];
        /* copy first: the append may move blob.s */
        StrBuf tmp = {0};
        sb_append_n(&tmp, ba, la);
        sb_append_n(&tmp, blob.s + toff[b], tl[b]);
        sb_append_n(&blob, tmp.s, tmp.len);
        tl[nid] = (uint32_t)tmp.len;
        sb_free(&tmp);
        ml[n_merges] = a;
        mr[n_merges++] = b;
        /* apply to every word containing (a, b) */
        WhereList wl = t.where[pi];
        t.where[pi] = (WhereList){0};
        for (uint32_t k = 0; k < wl.n; k++) {
            uint32_t w = wl.v[k];
            if (stamp[w] == nid) continue;
            stamp[w] = nid;
            uint32_t *s = t.sym + t.woff[w], L = t.wlen[w];
            int has = 0;
            for (uint32_t i = 0; i + 1 < L; i++)
                if (s[i] == a && s[i + 1] == b) { has = 1; break; }
            if (!has) continue;
            int64_t c = (int64_t)t.wcnt[w];
            for (uint32_t i = 0; i + 1 < L; i++) t.pcount[pair_get(&t, s[i], s[i + 1])] -= c;
            uint32_t j = 0;
            for (uint32_t i = 0; i < L;) {
                if (i + 1 < L && s[i] == a && s[i + 1] == b) { s[j++] = nid; i += 2; }
                else s[j++] = s[i++];
            }
            t.wlen[w] = L = j;
            for (uint32_t i = 0; i + 1 < L; i++) {
                size_t q = pair_get(&t, s[i], s[i + 1]);
                t.pcount[q] += c;
                if (s[i] == nid || s[i + 1] == nid) {
                    where_add(&t.where[q], w);
                    if (!t.touched[q]) {
                        t.touched[q] = 1;
                        if (ntl == tlc) {
                            tlc = tlc ? tlc * 2 : 1024;
                            touched_list = xrealloc(touched_list, tlc * sizeof *touched_list);
                        }
                        touched_list[ntl++] = q;
                    }
                }
            }
        }
        free(wl.v);
        CHECKF(t.pcount[pi] == 0, "pair count %lld after its merge", (long long)t.pcount[pi]);
        for (size_t k = 0; k < ntl; k++) {
            size_t q = touched_list[k];
            t.touched[q] = 0;
            if (t.pcount[q] > 0) hpush(&t, (uint64_t)t.pcount[q], t.pkey[q]);
        }
        ntl = 0;
        if (o->verbose && n_merges % 1000 == 0)
            fprintf(stderr, "\rtokenizer train: %u merges, vocab %u / %u", n_merges, vocab, target);
    }
    if (o->verbose) fprintf(stderr, "\rtokenizer train: %u merges, vocab %u / %u\n", n_merges, vocab, target);
    free(stamp);
    free(touched_list);
    trainer_free(&t);

    /* write tokenizer.json */
    cJSON *root = skeleton();
    cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    cJSON *vj = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *mj = cJSON_GetObjectItemCaseSensitive(model, "merges");
    StrBuf s = {0};
    for (uint32_t id = N_SPECIAL; id < vocab; id++) {
        sb_clear(&s);
        bytelevel_encode(blob.s + toff[id], tl[id], &s);
        cJSON_AddNumberToObject(vj, s.s, id);
    }
    for (uint32_t k = 0; k < n_merges; k++) {
        sb_clear(&s);
        bytelevel_encode(blob.s + toff[ml[k]], tl[ml[k]], &s);
        sb_append_n(&s, " ", 1);
        bytelevel_encode(blob.s + toff[mr[k]], tl[mr[k]], &s);
        cJSON_AddItemToArray(mj, cJSON_CreateString(s.s));
    }
    sb_free(&s);
    sb_free(&blob);
    free(tl); free(ml); free(mr); free(toff);
    char *dir = xstrdup(out_path);
    int rc = file_mkdirs(dirname(dir), e);
    free(dir);
    if (!rc) rc = json_save_file(root, out_path, e);
    cJSON_Delete(root);
    if (!rc) {
        char *dup = xstrdup(out_path);
        char cfg[4096];
        snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dirname(dup));
        free(dup);
        rc = chat_write_tokenizer_config(cfg, 16384, e);
    }
    if (st) {
        st->vocab_size = vocab;
        st->merges = n_merges;
        st->merge_seconds = clock_now() - t0;
    }
    return rc;
}

/* Counts words over chunks in parallel: per-thread maps, summed in thread order (sums do not
 * depend on the order, so neither does the result). */
static int count_chunks(const Chunk *ch, size_t nch, const TrainOpts *o, WordCounts *out, Err *e) {
    cJSON *sk = skeleton();
    char *js = cJSON_PrintUnformatted(sk);
    cJSON_Delete(sk);
    Tokenizer *tok = tokenizer_from_json(js, strlen(js), "training tokenizer", e);
    free(js);
    if (!tok) return -1;
    int nt = o->threads > 0 ? o->threads : omp_get_max_threads();
    if ((size_t)nt > nch) nt = nch ? (int)nch : 1;
    WordCounts *part = xcalloc((size_t)nt, sizeof *part);
    int failed = 0;
    Err terr = {0};
#pragma omp parallel num_threads(nt)
    {
        int me = omp_get_thread_num();
        wc_init(&part[me]);
        TokState *s = tok_state_new(tok);
        Err le = {0};
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < nch; i++) {
            int rc = 0;
            if (!o->by_line) {
                rc = tokenizer_pieces(tok, s, ch[i].p, ch[i].n, on_word, &part[me], &le);
            } else {
                for (size_t p = 0; p < ch[i].n && !rc;) {
                    const char *nl = memchr(ch[i].p + p, '\n', ch[i].n - p);
                    size_t q = nl ? (size_t)(nl - ch[i].p) + 1 : ch[i].n;
                    rc = tokenizer_pieces(tok, s, ch[i].p + p, q - p, on_word, &part[me], &le);
                    p = q;
                }
            }
            if (rc) {
#pragma omp critical
                { failed = 1; terr = le; }
            }
        }
        tok_state_free(s);
    }
    wc_init(out);
    for (int k = 0; k < nt; k++) {
        for (size_t w = 0; w < part[k].map.n; w++)
            wc_add(out, part[k].map.data + part[k].map.off[w], part[k].map.len[w], part[k].count[w]);
        wc_free(&part[k]);
    }
    free(part);
    tokenizer_free(tok);
    if (failed) { *e = terr; return -1; }
    return 0;
}

static int check_opts(const TrainOpts *o, Err *e) {
    if (o->vocab_size < N_SPECIAL + 256)
        return err_set(e, "vocab_size: %u is below %u (the %u special tokens and 256 bytes)", o->vocab_size,
                       N_SPECIAL + 256, N_SPECIAL);
    return 0;
}

int tokenizer_train_texts(const char *const *texts, const size_t *lens, int n, const TrainOpts *o,
                          const char *out_path, TrainStats *st, Err *e) {
    if (check_opts(o, e)) return -1;
    double t0 = clock_now();
    Chunk *ch = NULL;
    size_t nch = 0, cap = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        cut_chunks(texts[i], lens[i], &ch, &nch, &cap);
        bytes += lens[i];
    }
    WordCounts wc;
    int rc = count_chunks(ch, nch, o, &wc, e);
    free(ch);
    if (rc) return -1;
    if (st) {
        memset(st, 0, sizeof *st);
        st->bytes = bytes;
        st->words = wc.total;
        st->distinct_words = wc.map.n;
        st->count_seconds = clock_now() - t0;
    }
    if (o->verbose)
        fprintf(stderr, "tokenizer train: %zu bytes, %llu words (%zu distinct) counted in %.1f s\n", bytes,
                (unsigned long long)wc.total, wc.map.n, clock_now() - t0);
    rc = train_words(&wc, o, out_path, st, e);
    wc_free(&wc);
    return rc;
}

int tokenizer_train(const TrainOpts *o, const char *out_path, TrainStats *st, Err *e) {
    if (check_opts(o, e)) return -1;
    if (o->n_files < 1) return err_set(e, "no training files given");
    char **bufs = xcalloc((size_t)o->n_files, sizeof *bufs);
    size_t *lens = xcalloc((size_t)o->n_files, sizeof *lens);
    int rc = 0;
    for (int i = 0; i < o->n_files && !rc; i++)
        if (!(bufs[i] = file_read_all(o->files[i], &lens[i], e))) rc = -1;
    if (!rc) rc = tokenizer_train_texts((const char *const *)bufs, lens, o->n_files, o, out_path, st, e);
    for (int i = 0; i < o->n_files; i++) free(bufs[i]);
    free(bufs);
    free(lens);
    return rc;
}
