/* Byte-level BPE: the vocabulary and merge table, and encoding of one pre-tokenized piece.
 *
 * Tokens are stored as raw bytes (the GPT-2 byte<->unicode mapping of tokenizer.json is undone at
 * load time), so a piece is BPE-encoded directly from its UTF-8 bytes:
 *   start: one symbol per byte (byte_id[b]); repeat: merge the adjacent pair of lowest rank,
 *   leftmost first; stop when no adjacent pair has a merge.
 * Short pieces use a rank array scanned linearly; long ones (> BPE_SHORT bytes) a linked list and a
 * binary heap keyed by (rank, position), O(n log n). Results of short pieces are cached per
 * BpeWork (bounded; cleared when full).
 *
 * Ids: 0 .. n_ids-1; an id may have no token (a hole), e.g. reserved rows. */
#ifndef R1_TOKENIZER_BPE_H
#define R1_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "tokenizer/tokmap.h"

#define BPE_SHORT 96                    /* pieces up to this many bytes use the simple loop */
#define BPE_MAX_PIECE (8u << 20)        /* longer pieces are refused (memory ~28 bytes/byte) */
#define BPE_CACHE_MAX_PIECE 64          /* pieces up to this many bytes are cached */
#define BPE_MAX_ID ((1u << 20) - 1)      /* ids must be below this (2^20 - 1) */
#define BPE_MAX_MERGES (1u << 24)

typedef struct TokIds {
    uint32_t *v;
    size_t n, cap;
} TokIds;
void tokids_push(TokIds *a, uint32_t x);
void tokids_free(TokIds *a);

typedef struct Bpe {
    uint32_t n_ids;          /* max id + 1 */
    uint32_t cap_ids;        /* allocated length of off/len */
    size_t *off;             /* [n_ids] offset of the token's bytes in `blob` */
    uint32_t *len;           /* [n_ids] byte length; UINT32_MAX = no token with this id */
    char *blob;
    size_t blob_len, blob_cap;
    BytesMap vocab;          /* raw bytes -> id, model vocabulary only (not added tokens) */
    /* merge table: open addressing, one u64 per slot = left << 44 | right << 24 | rank
     * (ids < BPE_MAX_ID, ranks < 2^24), UINT64_MAX = empty; 8-byte slots keep the table of a
     * 128k-merge vocabulary at 2 MB, inside L2. merged[rank] is the id a merge produces. */
    uint64_t *mslots;
    size_t mcap;
    uint32_t *merged;
    uint64_t *pairs;         /* [rank] left << 32 | right, for writing the merges out */
    size_t merged_cap;
    int64_t byte_id[256];    /* id of each single byte, -1 if the vocabulary lacks it */
    uint32_t n_merges;
    int ignore_merges;       /* HF `ignore_merges`: a piece that is a whole token is kept whole */
} Bpe;

void bpe_init(Bpe *b);
void bpe_free(Bpe *b);
/* Gives id its bytes (grows n_ids). Returns -1 if the id already has a token. */
int bpe_set_token(Bpe *b, uint32_t id, const void *bytes, size_t n);
/* Lookup in the model vocabulary by raw bytes: id or -1. */
int64_t bpe_vocab_find(const Bpe *b, const void *bytes, size_t n);
/* Adds a merge of rank b->n_merges (ids < BPE_MAX_ID, fewer than BPE_MAX_MERGES merges: CHECKed,
 * callers validate). Returns -1 on a duplicate pair. */
int bpe_add_merge(Bpe *b, uint32_t left, uint32_t right, uint32_t merged);
/* The ids merged at rank (< b->n_merges). */
void bpe_merge_pair(const Bpe *b, uint32_t rank, uint32_t *left, uint32_t *right);
/* Fills byte_id from the vocabulary. */
void bpe_index_bytes(Bpe *b);

/* Scratch and cache for encoding; one per thread. */
typedef struct BpeWork BpeWork;
BpeWork *bpe_work_new(void);
void bpe_work_free(BpeWork *w);

/* Appends the ids of one piece. -1 with an Err when a byte has no token or the piece exceeds
 * BPE_MAX_PIECE. */
int bpe_encode_piece(const Bpe *b, BpeWork *w, const unsigned char *p, size_t n, TokIds *out, Err *e);

/* The naive twin of bpe_encode_piece for tests: every step rescans all pairs, no cache. */
int bpe_encode_piece_naive(const Bpe *b, const unsigned char *p, size_t n, TokIds *out, Err *e);

/* GPT-2 byte-level mapping: byte -> code point, and code point -> byte (-1 if not in the map). */
uint32_t bytelevel_cp(unsigned char byte);
int bytelevel_byte(uint32_t cp);
/* Decodes a byte-level token string (UTF-8 of mapped code points) into raw bytes; out must hold
 * n bytes. Returns the raw length, or -1 if a character is not a byte-level character. */
long bytelevel_decode(const char *s, size_t n, unsigned char *out);
/* Appends the byte-level form of raw bytes to a growable string (for writing tokenizer.json). */
struct StrBuf;
void bytelevel_encode(const void *raw, size_t n, struct StrBuf *out);

#endif
