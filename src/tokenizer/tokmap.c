/* Hash maps for the tokenizer (see tokmap.h). */
#include "tokenizer/tokmap.h"

#include <string.h>

#include "base/error.h"

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

void u64map_init(U64Map *m, size_t expected) {
    m->cap = pow2_at_least(expected * 2 + 1);
    m->n = 0;
    m->keys = xmalloc(m->cap * sizeof *m->keys);
    m->vals = xmalloc(m->cap * sizeof *m->vals);
    memset(m->keys, 0xff, m->cap * sizeof *m->keys);
}

void u64map_free(U64Map *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

void u64map_clear(U64Map *m) {
    memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    m->n = 0;
}

static void u64map_grow(U64Map *m) {
    U64Map old = *m;
    u64map_init(m, old.cap);   /* doubles: init sizes for 2*expected */
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != UINT64_MAX) u64map_put(m, old.keys[i], old.vals[i], NULL);
    u64map_free(&old);
}

uint64_t *u64map_put(U64Map *m, uint64_t key, uint64_t v, int *inserted) {
    CHECK(key != UINT64_MAX);
    if ((m->n + 1) * 2 > m->cap) u64map_grow(m);
    size_t mask = m->cap - 1, i = (size_t)tokmap_mix64(key) & mask;
    for (;;) {
        if (m->keys[i] == key) {
            if (inserted) *inserted = 0;
            return &m->vals[i];
        }
        if (m->keys[i] == UINT64_MAX) break;
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->vals[i] = v;
    m->n++;
    if (inserted) *inserted = 1;
    return &m->vals[i];
}

uint64_t tokmap_hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        s += 8; n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x100000001b3ULL;
    return tokmap_mix64(h);
}

void bytesmap_init(BytesMap *m, size_t expected) {
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(expected * 2 + 1);
    m->slot = xcalloc(m->cap, sizeof *m->slot);
    m->hash = xmalloc(m->cap * sizeof *m->hash);
    m->ecap = expected > 16 ? expected : 16;
    m->off = xmalloc(m->ecap * sizeof *m->off);
    m->len = xmalloc(m->ecap * sizeof *m->len);
    m->val = xmalloc(m->ecap * sizeof *m->val);
    m->data_cap = m->ecap * 8;
    m->data = xmalloc(m->data_cap);
}

void bytesmap_free(BytesMap *m) {
    free(m->slot); free(m->hash); free(m->off); free(m->len); free(m->val); free(m->data);
    memset(m, 0, sizeof *m);
}

void bytesmap_clear(BytesMap *m) {
    memset(m->slot, 0, m->cap * sizeof *m->slot);
    m->n = 0;
    m->data_len = 0;
}

long bytesmap_find(const BytesMap *m, const void *key, size_t n, uint64_t h) {
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;;) {
        uint32_t s = m->slot[i];
        if (!s) return -1;
        size_t e = s - 1;
        if (m->hash[i] == h && m->len[e] == n && !memcmp(m->data + m->off[e], key, n)) return (long)e;
        i = (i + 1) & mask;
    }
}

static void bytesmap_insert_slot(BytesMap *m, size_t e, uint64_t h) {
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slot[i]) i = (i + 1) & mask;
    m->slot[i] = (uint32_t)(e + 1);
    m->hash[i] = h;
}

long bytesmap_add(BytesMap *m, const void *key, size_t n, uint64_t h, uint32_t val) {
    if ((m->n + 1) * 2 > m->cap) {
        /* grow the slot table and re-insert every entry */
        uint64_t *oldh = m->hash;
        uint32_t *olds = m->slot;
        size_t oldcap = m->cap;
        m->cap *= 2;
        m->slot = xcalloc(m->cap, sizeof *m->slot);
        m->hash = xmalloc(m->cap * sizeof *m->hash);
        for (size_t i = 0; i < oldcap; i++)
            if (olds[i]) bytesmap_insert_slot(m, olds[i] - 1, oldh[i]);
        free(oldh);
        free(olds);
    }
    if (m->n == m->ecap) {
        m->ecap *= 2;
        m->off = xrealloc(m->off, m->ecap * sizeof *m->off);
        m->len = xrealloc(m->len, m->ecap * sizeof *m->len);
        m->val = xrealloc(m->val, m->ecap * sizeof *m->val);
    }
    if (m->data_len + n > m->data_cap) {
        while (m->data_len + n > m->data_cap) m->data_cap *= 2;
        m->data = xrealloc(m->data, m->data_cap);
    }
    size_t e = m->n++;
    memcpy(m->data + m->data_len, key, n);
    m->off[e] = m->data_len;
    m->len[e] = (uint32_t)n;
    m->val[e] = val;
    m->data_len += n;
    bytesmap_insert_slot(m, e, h);
    return (long)e;
}
