/* Byte-level BPE model and piece encoder (see bpe.h). */
#include "tokenizer/bpe.h"

#include <string.h>

#include "base/strbuf.h"

void tokids_push(TokIds *a, uint32_t x) {
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = x;
}

void tokids_free(TokIds *a) {
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- byte-level mapping ---- */

static int printable_byte(unsigned b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

/* The 68 other bytes map, in byte order, to U+0100..U+0143: 0..32, 127..160, 173. */
uint32_t bytelevel_cp(unsigned char byte) {
    unsigned b = byte;
    if (printable_byte(b)) return b;
    if (b <= 32) return 256 + b;
    if (b <= 160) return 256 + 33 + (b - 127);
    return 256 + 67;   /* 173 */
}

int bytelevel_byte(uint32_t cp) {
    if (cp < 256) return printable_byte(cp) ? (int)cp : -1;
    uint32_t k = cp - 256;
    if (k < 33) return (int)k;
    if (k < 67) return (int)(127 + k - 33);
    if (k == 67) return 173;
    return -1;
}

long bytelevel_decode(const char *s, size_t n, unsigned char *out) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t cp;
        unsigned c = p[i];
        if (c < 0x80) { cp = c; i += 1; }
        else if ((c & 0xE0) == 0xC0 && i + 1 < n) { cp = (c & 0x1F) << 6 | (p[i + 1] & 0x3F); i += 2; }
        else return -1;   /* byte-level characters are all below U+0800 */
        int b = bytelevel_byte(cp);
        if (b < 0) return -1;
        out[k++] = (unsigned char)b;
    }
    return (long)k;
}

void bytelevel_encode(const void *raw, size_t n, StrBuf *out) {
    const unsigned char *p = raw;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = bytelevel_cp(p[i]);
        char u[2];
        if (cp < 0x80) { u[0] = (char)cp; sb_append_n(out, u, 1); }
        else { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); sb_append_n(out, u, 2); }
    }
}

/* ---- model ---- */

void bpe_init(Bpe *b) {
    memset(b, 0, sizeof *b);
    bytesmap_init(&b->vocab, 1024);
    b->mcap = 1024;
    b->mslots = xmalloc(b->mcap * sizeof *b->mslots);
    memset(b->mslots, 0xff, b->mcap * sizeof *b->mslots);
    for (int i = 0; i < 256; i++) b->byte_id[i] = -1;
}

void bpe_free(Bpe *b) {
    free(b->off);
    free(b->len);
    free(b->blob);
    bytesmap_free(&b->vocab);
    free(b->mslots);
    free(b->merged);
    free(b->pairs);
    memset(b, 0, sizeof *b);
}

int bpe_set_token(Bpe *b, uint32_t id, const void *bytes, size_t n) {
    if (id >= b->cap_ids) {
        uint32_t old = b->cap_ids, cap = old ? old : 1024;
        while (cap <= id) cap *= 2;
        b->off = xrealloc(b->off, (size_t)cap * sizeof *b->off);
        b->len = xrealloc(b->len, (size_t)cap * sizeof *b->len);
        for (uint32_t i = old; i < cap; i++) b->len[i] = UINT32_MAX;
        b->cap_ids = cap;
    }
    if (id >= b->n_ids) b->n_ids = id + 1;
    else if (b->len[id] != UINT32_MAX) return -1;
    if (b->blob_len + n + 1 > b->blob_cap) {
        b->blob_cap = b->blob_cap ? b->blob_cap : 4096;
        while (b->blob_len + n + 1 > b->blob_cap) b->blob_cap *= 2;
        b->blob = xrealloc(b->blob, b->blob_cap);
    }
    memcpy(b->blob + b->blob_len, bytes, n);
    b->blob[b->blob_len + n] = 0;
    b->off[id] = b->blob_len;
    b->len[id] = (uint32_t)n;
    b->blob_len += n + 1;
    return 0;
}

int64_t bpe_vocab_find(const Bpe *b, const void *bytes, size_t n) {
    long e = bytesmap_find(&b->vocab, bytes, n, tokmap_hash_bytes(bytes, n));
    return e < 0 ? -1 : (int64_t)b->vocab.val[e];
}

static inline size_t merge_slot0(uint64_t pair40, size_t mask) {
    return (size_t)tokmap_mix64(pair40) & mask;
}

static void merge_insert(uint64_t *slots, size_t cap, uint64_t packed) {
    size_t mask = cap - 1, i = merge_slot0(packed >> 24, mask);
    while (slots[i] != UINT64_MAX) i = (i + 1) & mask;
    slots[i] = packed;
}

int bpe_add_merge(Bpe *b, uint32_t left, uint32_t right, uint32_t merged) {
    CHECK(left < BPE_MAX_ID && right < BPE_MAX_ID && b->n_merges < BPE_MAX_MERGES);
    uint64_t pair40 = (uint64_t)left << 20 | right;
    size_t mask = b->mcap - 1;
    for (size_t i = merge_slot0(pair40, mask); b->mslots[i] != UINT64_MAX; i = (i + 1) & mask)
        if (b->mslots[i] >> 24 == pair40) return -1;
    if ((size_t)(b->n_merges + 1) * 2 > b->mcap) {   /* keep the load below 1/2 */
        size_t cap = b->mcap * 2;
        uint64_t *s = xmalloc(cap * sizeof *s);
        memset(s, 0xff, cap * sizeof *s);
        for (size_t i = 0; i < b->mcap; i++)
            if (b->mslots[i] != UINT64_MAX) merge_insert(s, cap, b->mslots[i]);
        free(b->mslots);
        b->mslots = s;
        b->mcap = cap;
    }
    merge_insert(b->mslots, b->mcap, pair40 << 24 | b->n_merges);
    if (b->n_merges == b->merged_cap) {
        b->merged_cap = b->merged_cap ? b->merged_cap * 2 : 1024;
        b->merged = xrealloc(b->merged, b->merged_cap * sizeof *b->merged);
        b->pairs = xrealloc(b->pairs, b->merged_cap * sizeof *b->pairs);
    }
    b->pairs[b->n_merges] = (uint64_t)left << 32 | right;
    b->merged[b->n_merges++] = merged;
    return 0;
}

void bpe_merge_pair(const Bpe *b, uint32_t rank, uint32_t *left, uint32_t *right) {
    CHECK(rank < b->n_merges);
    *left = (uint32_t)(b->pairs[rank] >> 32);
    *right = (uint32_t)b->pairs[rank];
}

void bpe_index_bytes(Bpe *b) {
    for (int i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        b->byte_id[i] = bpe_vocab_find(b, &c, 1);
    }
}

/* ---- encoding ---- */

struct BpeWork {
    uint32_t *ids;           /* symbols */
    uint32_t *rank;          /* short path: rank of pair (i, i+1) */
    int32_t *prev, *next;    /* long path */
    uint64_t *heap;          /* long path: rank << 32 | position */
    size_t cap, heap_cap;
    BytesMap cache;          /* piece -> offset into cache_ids (count, ids...) */
    TokIds cache_ids;
    struct ShortSlot *sc;    /* direct-mapped cache of pieces of 2..16 bytes giving 1..3 ids */
};

/* One cache line holds a short piece (its bytes in k0,k1, zero padded) and its ids: a hit costs
 * one memory access. Direct-mapped: a new piece simply replaces the slot's old one. */
typedef struct ShortSlot {
    uint64_t k0, k1;
    uint32_t meta;           /* bytes | n_ids << 8; 0 = empty */
    uint32_t ids[3];
} ShortSlot;
#define SHORT_MAX 16
#define SHORT_BITS 16

#define CACHE_MAX_ENTRIES (1u << 18)

BpeWork *bpe_work_new(void) {
    BpeWork *w = xcalloc(1, sizeof *w);
    bytesmap_init(&w->cache, 4096);
    w->sc = xcalloc((size_t)1 << SHORT_BITS, sizeof *w->sc);
    return w;
}

void bpe_work_free(BpeWork *w) {
    if (!w) return;
    free(w->ids); free(w->rank); free(w->prev); free(w->next); free(w->heap);
    bytesmap_free(&w->cache);
    tokids_free(&w->cache_ids);
    free(w->sc);
    free(w);
}

static void work_reserve(BpeWork *w, size_t n) {
    if (n <= w->cap) return;
    size_t c = w->cap ? w->cap : 256;
    while (c < n) c *= 2;
    w->ids = xrealloc(w->ids, c * sizeof *w->ids);
    w->rank = xrealloc(w->rank, c * sizeof *w->rank);
    w->prev = xrealloc(w->prev, c * sizeof *w->prev);
    w->next = xrealloc(w->next, c * sizeof *w->next);
    w->cap = c;
}

static inline uint32_t pair_rank(const Bpe *b, uint32_t l, uint32_t r, uint32_t *merged) {
    uint64_t pair40 = (uint64_t)l << 20 | r;
    size_t mask = b->mcap - 1;
    for (size_t i = merge_slot0(pair40, mask);; i = (i + 1) & mask) {
        uint64_t s = b->mslots[i];
        if (s >> 24 == pair40) {
            uint32_t rank = (uint32_t)(s & 0xffffff);
            *merged = b->merged[rank];
            return rank;
        }
        if (s == UINT64_MAX) return UINT32_MAX;
    }
}

/* O(n^2) worst case, fast for the short pieces that are almost all of real text. Returns count. */
static size_t merge_short(const Bpe *b, BpeWork *w, size_t n) {
    uint32_t *ids = w->ids, *rank = w->rank, m = 0;
    for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_rank(b, ids[i], ids[i + 1], &m);
    while (n > 1) {
        size_t best = 0;
        uint32_t br = UINT32_MAX;
        for (size_t i = 0; i + 1 < n; i++)
            if (rank[i] < br) { br = rank[i]; best = i; }
        if (br == UINT32_MAX) break;
        pair_rank(b, ids[best], ids[best + 1], &m);
        ids[best] = m;
        memmove(ids + best + 1, ids + best + 2, (n - best - 2) * sizeof *ids);
        if (best + 3 <= n) memmove(rank + best + 1, rank + best + 2, (n - best - 3) * sizeof *rank);
        n--;
        if (best > 0) rank[best - 1] = pair_rank(b, ids[best - 1], ids[best], &m);
        if (best + 1 < n) rank[best] = pair_rank(b, ids[best], ids[best + 1], &m);
    }
    return n;
}

static void heap_push(BpeWork *w, size_t *hn, uint64_t x) {
    if (*hn == w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 1024;
        w->heap = xrealloc(w->heap, w->heap_cap * sizeof *w->heap);
    }
    uint64_t *h = w->heap;
    size_t i = (*hn)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= x) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static uint64_t heap_pop(BpeWork *w, size_t *hn) {
    uint64_t *h = w->heap, top = h[0], x = h[--*hn];
    size_t n = *hn, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = x;
    return top;
}

#define DEAD UINT32_MAX

/* O(n log n): linked list of symbols and a heap of candidate merges (stale ones skipped). */
static void merge_long(const Bpe *b, BpeWork *w, size_t n, TokIds *out) {
    uint32_t *ids = w->ids, m = 0;
    int32_t *prev = w->prev, *next = w->next;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t r = pair_rank(b, ids[i], ids[i + 1], &m);
        if (r != UINT32_MAX) heap_push(w, &hn, (uint64_t)r << 32 | i);
    }
    while (hn) {
        uint64_t top = heap_pop(w, &hn);
        uint32_t r = (uint32_t)(top >> 32), pos = (uint32_t)top;
        if (ids[pos] == DEAD || next[pos] < 0) continue;
        int32_t j = next[pos];
        if (pair_rank(b, ids[pos], ids[j], &m) != r) continue;   /* stale */
        ids[pos] = m;
        ids[j] = DEAD;
        next[pos] = next[j];
        if (next[j] >= 0) prev[next[j]] = (int32_t)pos;
        if (prev[pos] >= 0) {
            uint32_t r2 = pair_rank(b, ids[prev[pos]], ids[pos], &m);
            if (r2 != UINT32_MAX) heap_push(w, &hn, (uint64_t)r2 << 32 | (uint32_t)prev[pos]);
        }
        if (next[pos] >= 0) {
            uint32_t r2 = pair_rank(b, ids[pos], ids[next[pos]], &m);
            if (r2 != UINT32_MAX) heap_push(w, &hn, (uint64_t)r2 << 32 | pos);
        }
    }
    for (int32_t i = 0; i >= 0; i = next[i]) tokids_push(out, ids[i]);
}

int bpe_encode_piece(const Bpe *b, BpeWork *w, const unsigned char *p, size_t n, TokIds *out, Err *e) {
    if (n == 0) return 0;
    if (n == 1) {
        if (b->byte_id[p[0]] < 0) return err_set(e, "byte 0x%02x has no token in the vocabulary", p[0]);
        tokids_push(out, (uint32_t)b->byte_id[p[0]]);
        return 0;
    }
    if (n > BPE_MAX_PIECE)
        return err_set(e, "a run of %zu bytes without a pre-tokenizer split exceeds the limit of %u bytes",
                       n, BPE_MAX_PIECE);
    ShortSlot *slot = NULL;
    uint64_t k0 = 0, k1 = 0;
    if (n <= SHORT_MAX) {
        memcpy(&k0, p, n < 8 ? n : 8);
        if (n > 8) memcpy(&k1, p + 8, n - 8);
        slot = &w->sc[tokmap_mix64(k0 ^ (k1 * 0x9e3779b97f4a7c15ULL) ^ n) & (((size_t)1 << SHORT_BITS) - 1)];
        if ((slot->meta & 0xff) == n && slot->k0 == k0 && slot->k1 == k1) {
            for (uint32_t i = 0; i < slot->meta >> 8; i++) tokids_push(out, slot->ids[i]);
            return 0;
        }
    }
    uint64_t h = 0;
    if (n <= BPE_CACHE_MAX_PIECE) {
        h = tokmap_hash_bytes(p, n);
        long ce = bytesmap_find(&w->cache, p, n, h);
        if (ce >= 0) {
            const uint32_t *c = w->cache_ids.v + w->cache.val[ce];
            for (uint32_t i = 1; i <= c[0]; i++) tokids_push(out, c[i]);
            if (slot && c[0] <= 3) *slot = (ShortSlot){k0, k1, (uint32_t)(n | c[0] << 8), {c[1], c[0] > 1 ? c[2] : 0, c[0] > 2 ? c[3] : 0}};
            return 0;
        }
    }
    if (b->ignore_merges) {
        int64_t id = bpe_vocab_find(b, p, n);
        if (id >= 0) { tokids_push(out, (uint32_t)id); return 0; }
    }
    work_reserve(w, n);
    for (size_t i = 0; i < n; i++) {
        if (b->byte_id[p[i]] < 0) return err_set(e, "byte 0x%02x has no token in the vocabulary", p[i]);
        w->ids[i] = (uint32_t)b->byte_id[p[i]];
    }
    size_t start = out->n;
    if (n <= BPE_SHORT) {
        size_t k = merge_short(b, w, n);
        for (size_t i = 0; i < k; i++) tokids_push(out, w->ids[i]);
    } else {
        merge_long(b, w, n, out);
    }
    if (slot && out->n - start <= 3) {
        size_t k = out->n - start;
        *slot = (ShortSlot){k0, k1, (uint32_t)(n | k << 8), {0, 0, 0}};
        for (size_t i = 0; i < k; i++) slot->ids[i] = out->v[start + i];
    }
    if (n <= BPE_CACHE_MAX_PIECE) {
        if (w->cache.n >= CACHE_MAX_ENTRIES) { bytesmap_clear(&w->cache); w->cache_ids.n = 0; }
        size_t k = out->n - start;
        bytesmap_add(&w->cache, p, n, h, (uint32_t)w->cache_ids.n);
        tokids_push(&w->cache_ids, (uint32_t)k);
        for (size_t i = 0; i < k; i++) tokids_push(&w->cache_ids, out->v[start + i]);
    }
    return 0;
}

int bpe_encode_piece_naive(const Bpe *b, const unsigned char *p, size_t n, TokIds *out, Err *e) {
    uint32_t *ids = xmalloc((n ? n : 1) * sizeof *ids), m = 0;
    for (size_t i = 0; i < n; i++) {
        if (b->byte_id[p[i]] < 0) { free(ids); return err_set(e, "byte 0x%02x has no token", p[i]); }
        ids[i] = (uint32_t)b->byte_id[p[i]];
    }
    while (n > 1) {
        size_t best = 0;
        uint32_t br = UINT32_MAX, bm = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            uint32_t r = pair_rank(b, ids[i], ids[i + 1], &m);
            if (r < br) { br = r; best = i; bm = m; }
        }
        if (br == UINT32_MAX) break;
        ids[best] = bm;
        memmove(ids + best + 1, ids + best + 2, (n - best - 2) * sizeof *ids);
        n--;
    }
    for (size_t i = 0; i < n; i++) tokids_push(out, ids[i]);
    free(ids);
    return 0;
}
