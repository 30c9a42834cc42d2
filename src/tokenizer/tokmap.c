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
    m->slots = xmalloc(m->cap * sizeof *m->slots);
    for (size_t i = 0; i < m->cap; i++) m->slots[i].key = UINT64_MAX;
}

void u64map_free(U64Map *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void u64map_clear(U64Map *m) {
    for (size_t i = 0; i < m->cap; i++) m->slots[i].key = UINT64_MAX;
    m->n = 0;
}

static void u64map_grow(U64Map *m) {
    U64Map old = *m;
    u64map_init(m, old.cap);   /* doubles: init sizes for 2*expected */
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key != UINT64_MAX) u64map_put(m, old.slots[i].key, old.slots[i].val, NULL);
    u64map_free(&old);
}

uint64_t *u64map_put(U64Map *m, uint64_t key, uint64_t v, int *inserted) {
    CHECK(key != UINT64_MAX);
    if ((m->n + 1) * 2 > m->cap) u64map_grow(m);
    size_t mask = m->cap - 1, i = (size_t)tokmap_mix64(key) & mask;
    for (;;) {
        if (m->slots[i].key == key) {
            if (inserted) *inserted = 0;
            return &m->slots[i].val;
        }
        if (m->slots[i].key == UINT64_MAX) break;
        i = (i + 1) & mask;
    }
    m->slots[i].key = key;
    m->slots[i].val = v;
    m->n++;
    if (inserted) *inserted = 1;
    return &m->slots[i].val;
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
    m->ecap = expected > 16 ? expected : 16;
    m->off = xmalloc(m->ecap * sizeof *m->off);
    m->len = xmalloc(m->ecap * sizeof *m->len);
    m->val = xmalloc(m->ecap * sizeof *m->val);
    m->data_cap = m->ecap * 8;
    m->data = xmalloc(m->data_cap);
}

void bytesmap_free(BytesMap *m) {
    free(m->slot); free(m->off); free(m->len); free(m->val); free(m->data);
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
        const BmSlot *s = &m->slot[i];
        if (!s->idx1) return -1;
        if (s->hash == h && s->len == n && !memcmp(m->data + m->off[s->idx1 - 1], key, n)) return (long)s->idx1 - 1;
        i = (i + 1) & mask;
    }
}

static void bytesmap_insert_slot(BytesMap *m, size_t e, uint64_t h, uint32_t len) {
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slot[i].idx1) i = (i + 1) & mask;
    m->slot[i] = (BmSlot){h, (uint32_t)(e + 1), len};
}

long bytesmap_add(BytesMap *m, const void *key, size_t n, uint64_t h, uint32_t val) {
    if ((m->n + 1) * 2 > m->cap) {
        /* grow the slot table and re-insert every entry */
        BmSlot *olds = m->slot;
        size_t oldcap = m->cap;
        m->cap *= 2;
        m->slot = xcalloc(m->cap, sizeof *m->slot);
        for (size_t i = 0; i < oldcap; i++)
            if (olds[i].idx1) bytesmap_insert_slot(m, olds[i].idx1 - 1, olds[i].hash, olds[i].len);
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
    bytesmap_insert_slot(m, e, h, (uint32_t)n);
    return (long)e;
}
