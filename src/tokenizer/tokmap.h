/* Hash maps for the tokenizer: open addressing, linear probing, power-of-two tables.
 *
 *   U64Map:   u64 key -> u64 value   (BPE merges: key = left_id << 32 | right_id,
 *                                     value = rank << 32 | merged_id; word/pair counts in training)
 *   BytesMap: byte string -> u32     (vocab lookup by raw bytes; the piece cache of the encoder)
 *
 * Neither deletes single entries (the tokenizer never needs it); both can be cleared. Keys of a
 * BytesMap are copied into the map's own storage. Not thread-safe: one writer at a time. */
#ifndef R1_TOKENIZER_TOKMAP_H
#define R1_TOKENIZER_TOKMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct U64Slot { uint64_t key, val; } U64Slot;   /* key UINT64_MAX = empty */
typedef struct U64Map {
    U64Slot *slots;      /* [cap], key and value side by side: one cache line per probe */
    size_t cap, n;
} U64Map;

void u64map_init(U64Map *m, size_t expected);
void u64map_free(U64Map *m);
void u64map_clear(U64Map *m);
/* Returns a pointer to the value, or NULL when absent. */
static inline uint64_t *u64map_get(const U64Map *m, uint64_t key);
/* Inserts key with value v if absent; returns a pointer to the (existing or new) value. */
uint64_t *u64map_put(U64Map *m, uint64_t key, uint64_t v, int *inserted);

static inline uint64_t tokmap_mix64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
    return x;
}
static inline uint64_t *u64map_get(const U64Map *m, uint64_t key) {
    size_t mask = m->cap - 1, i = (size_t)tokmap_mix64(key) & mask;
    for (;;) {
        uint64_t k = m->slots[i].key;
        if (k == key) return &m->slots[i].val;
        if (k == UINT64_MAX) return NULL;
        i = (i + 1) & mask;
    }
}

/* FNV-1a-like fast hash of bytes (64-bit words at a time). */
uint64_t tokmap_hash_bytes(const void *p, size_t n);

typedef struct BmSlot { uint64_t hash; uint32_t idx1, len; } BmSlot;  /* idx1 = entry + 1, 0 = empty */
typedef struct BytesMap {
    BmSlot *slot;        /* [cap] */
    /* entries */
    size_t *off;         /* [n] offset of the key in `data` */
    uint32_t *len;       /* [n] */
    uint32_t *val;       /* [n] */
    char *data;
    size_t data_len, data_cap;
    size_t cap, n, ecap;
} BytesMap;

void bytesmap_init(BytesMap *m, size_t expected);
void bytesmap_free(BytesMap *m);
void bytesmap_clear(BytesMap *m);
/* Returns the entry index or -1. */
long bytesmap_find(const BytesMap *m, const void *key, size_t n, uint64_t h);
/* Adds key (must be absent); returns its entry index. */
long bytesmap_add(BytesMap *m, const void *key, size_t n, uint64_t h, uint32_t val);

#endif
