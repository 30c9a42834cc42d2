/* The token cache: a corpus of text files and JSONL files ({"text": ...} per line) tokenized
 * once into one file of u32 ids, documents joined by the EOS token (each document is followed
 * by one EOS). Training mmaps it (loader.h), so a corpus larger than memory works.
 *
 * File layout (little-endian):
 *     TokCacheHeader (64 bytes): magic "R1TOKS01", version, header_bytes, tokenizer_hash,
 *                                eos_id, n_sources, n_tokens, n_docs, n_bad
 *     per source: u64 size, i64 mtime_ns, u32 path_len, path bytes
 *     zero padding to a multiple of 64 bytes (= header_bytes)
 *     u32 tokens[n_tokens]
 *
 * A cache is reused only when the tokenizer hash, the EOS id and every source's path, size and
 * mtime match; otherwise it is rebuilt (written to PATH.tmp, fsync'ed, renamed).
 *
 * Documents: a JSONL line's "text" field is one document (blank lines are skipped); a file with
 * any other extension is one document, read and encoded in pieces of about 1 MiB cut after a
 * newline, so a large file is never loaded whole. A JSONL line that is not JSON or has no string
 * "text" is an error "FILE:LINE: ..." unless skip_bad, which counts it (n_bad).
 */
#ifndef R1_TRAIN_TOKCACHE_H
#define R1_TRAIN_TOKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "tokenizer/bpe.h"

/* Text → ids: appends the ids of text[0..len) to out. Returns 0, or -1 with an Err. */
typedef struct TextEncoder {
    void *ctx;
    int (*encode)(void *ctx, const char *text, size_t len, TokIds *out, Err *e);
    uint64_t hash;          /* identifies the tokenizer (e.g. a hash of tokenizer.json) */
    uint32_t eos_id;        /* appended after each document */
} TextEncoder;

typedef struct TokCacheInfo {
    uint64_t n_tokens, n_docs, n_bad;
    int rebuilt;            /* 1 when the cache was (re)built by this call */
} TokCacheInfo;

/* Makes sure `cache_path` holds the tokens of sources[0..n_sources) for this encoder: reuses a
 * fresh cache, rebuilds a missing or stale one. */
int tokcache_ensure(const char *cache_path, const char *const *sources, int n_sources,
                    const TextEncoder *enc, int skip_bad, TokCacheInfo *info, Err *e);

/* Writes a cache holding exactly tok[0..n) (no sources): for tests and tools that make token
 * streams themselves. Atomic (PATH.tmp, fsync, rename). */
int tokcache_write(const char *path, const uint32_t *tok, uint64_t n, uint64_t tokenizer_hash,
                   uint32_t eos_id, Err *e);

/* A mapped cache (read-only mmap). */
typedef struct TokFile {
    const uint32_t *tok;    /* [n_tokens], points into the mapping */
    uint64_t n_tokens, n_docs, n_bad;
    uint64_t tokenizer_hash;
    uint32_t eos_id;
    void *map;
    size_t map_len;
} TokFile;

/* Maps and checks a cache (magic, version, sizes). */
int tokfile_open(TokFile *f, const char *path, Err *e);
void tokfile_close(TokFile *f);

/* 64-bit FNV-1a over bytes, continuing from h (start with TOKCACHE_HASH_INIT). */
#define TOKCACHE_HASH_INIT 0xcbf29ce484222325ull
uint64_t tokcache_hash_bytes(uint64_t h, const void *data, size_t n);

#endif
