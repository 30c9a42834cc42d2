/* Fuzz target: pretraining data (train/tokcache.h), the input taken three ways.
 *   - as a JSONL corpus ({"text": ...} per line): either an error "FILE:LINE: ..." naming a line
 *     that really is bad, or a cache whose tokens are exactly, line by line, encode(text) + EOS of
 *     every good line (re-derived here), one document each; with skip_bad it never fails and
 *     counts the bad lines. A second call with the same sources reuses the cache unchanged.
 *   - as a plain text file: one document that decodes back to exactly the input bytes.
 *   - as a token cache file itself (tokfile_open): refused with a one-line message, or mapped with
 *     a token count that fits inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/json.h"
#include "train/tokcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void check_text(Tokenizer *tok, const TextEncoder *enc, const char *cache, const uint8_t *data, size_t size);
static void check_raw_cache(const uint8_t *data, size_t size);

static int encode_v3(void *ctx, const char *text, size_t len, TokIds *out, Err *e) {
    TokIds ids = {0};
    if (tokenizer_encode(ctx, text, len, &ids, e) != 0) { tokids_free(&ids); return -1; }
    for (size_t i = 0; i < ids.n; i++) tokids_push(out, ids.v[i]);
    tokids_free(&ids);
    return 0;
}

/* The expected cache of the JSONL reading: tokens of every good line, the bad lines counted, and
 * the first bad line (0 if none). */
static void expect_jsonl(Tokenizer *tok, uint32_t eos, const uint8_t *data, size_t size, TokIds *want,
                         uint64_t *docs, uint64_t *bad, long *first_bad) {
    FzLines lines = {data, size, 0, 0};
    const char *s;
    size_t len;
    *docs = *bad = 0;
    *first_bad = 0;
    while (fz_next_record(&lines, &s, &len)) {
        Err e = {{0}};
        cJSON *j = json_parse_n(s, len, &e);
        const cJSON *t = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
        if (cJSON_IsString(t)) {
            TokIds ids = {0};
            FZ_ASSERT(tokenizer_encode(tok, t->valuestring, strlen(t->valuestring), &ids, &e) == 0);
            for (size_t i = 0; i < ids.n; i++) tokids_push(want, ids.v[i]);
            tokids_push(want, eos);
            tokids_free(&ids);
            ++*docs;
        } else {
            ++*bad;
            if (!*first_bad) *first_bad = lines.line;
        }
        cJSON_Delete(j);
    }
}

static void check_cache(const char *cache, const TokIds *want, uint64_t docs, uint64_t bad, const TokCacheInfo *info) {
    FZ_ASSERT(info->n_tokens == want->n && info->n_docs == docs && info->n_bad == bad);
    TokFile f;
    Err e = {{0}};
    FZ_ASSERT(tokfile_open(&f, cache, &e) == 0);
    FZ_ASSERT(f.n_tokens == want->n && f.n_docs == docs && f.n_bad == bad);
    FZ_ASSERT(want->n == 0 || memcmp(f.tok, want->v, want->n * 4) == 0);
    tokfile_close(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Tokenizer *tok = fz_v3();
    uint32_t eos = (uint32_t)tokenizer_eos_id(tok);
    TextEncoder enc = {tok, encode_v3, tokenizer_hash(tok), eos};
    const char *jsonl = fz_file(0, "corpus.jsonl", data, size);
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache.bin", fz_dir());
    remove(cache);

    TokIds want = {0};
    uint64_t docs, bad;
    long first_bad;
    expect_jsonl(tok, eos, data, size, &want, &docs, &bad, &first_bad);
    TokCacheInfo info;
    Err e = {{0}};
    const char *src[1] = {jsonl};
    int rc = tokcache_ensure(cache, src, 1, &enc, 0, &info, &e);
    if (bad) {
        FZ_ASSERT(rc != 0);
        FZ_ASSERT(fz_check_line_msg(&e, jsonl, fz_count_lines(data, size), 0) == first_bad);
    } else {
        FZ_ASSERT(rc == 0 && info.rebuilt);
        check_cache(cache, &want, docs, 0, &info);
    }
    /* skip_bad: never fails, counts what it skipped; then a second call reuses the cache */
    remove(cache);
    FZ_ASSERT(tokcache_ensure(cache, src, 1, &enc, 1, &info, &e) == 0 && info.rebuilt);
    check_cache(cache, &want, docs, bad, &info);
    FZ_ASSERT(tokcache_ensure(cache, src, 1, &enc, 1, &info, &e) == 0 && !info.rebuilt);
    check_cache(cache, &want, docs, bad, &info);
    tokids_free(&want);

    /* a plain text file: one document (none when empty) that decodes back to the bytes. The
     * reader's 16 MiB piece buffer costs ~30 ms per call under ASan: one input in 32 takes it. */
    if (tokcache_hash_bytes(TOKCACHE_HASH_INIT, data, size) % 32 == 0) check_text(tok, &enc, cache, data, size);
    check_raw_cache(data, size);
    return 0;
}

static void check_text(Tokenizer *tok, const TextEncoder *enc, const char *cache, const uint8_t *data, size_t size) {
    Err e = {{0}};
    TokCacheInfo info;
    const char *src[1];
    const char *txt = fz_file(1, "corpus.txt", data, size);
    src[0] = txt;
    remove(cache);
    FZ_ASSERT(tokcache_ensure(cache, src, 1, enc, 0, &info, &e) == 0);
    TokFile f;
    FZ_ASSERT(tokfile_open(&f, cache, &e) == 0);
    FZ_ASSERT(f.n_docs == (size > 0) && (size == 0 ? f.n_tokens == 0 : f.tok[f.n_tokens - 1] == enc->eos_id));
    FZ_ASSERT(size == 0 || fz_decodes_to(tok, f.tok, f.n_tokens - 1, (const char *)data, size));
    tokfile_close(&f);
}

/* the bytes as a token cache */
static void check_raw_cache(const uint8_t *data, size_t size) {
    Err e = {{0}};
    TokFile f;
    const char *raw = fz_file(2, "raw.bin", data, size);
    if (tokfile_open(&f, raw, &e) != 0) {
        fz_check_msg(&e, raw);
    } else {
        FZ_ASSERT(f.map_len == size && (const uint8_t *)f.tok >= (const uint8_t *)f.map + 64);
        FZ_ASSERT((size_t)((const uint8_t *)f.tok - (const uint8_t *)f.map) + f.n_tokens * 4 == size);
        FZ_ASSERT(f.n_tokens <= size / 4);
        tokfile_close(&f);
    }
}
