/* Fuzz target: any bytes (invalid UTF-8, NUL, lone surrogates, special-token fragments) encode with
 * DeepSeek-V3's tokenizer (the pruned fixture) and decode back to exactly the same bytes; the fast
 * piece encoder agrees with its naive twin on the input taken as one piece. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Tokenizer *tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok) {
        Err e = {0};
        tok = tokenizer_load("tests/fixtures/tokenizer/v3_pruned.tokenizer.json", &e);
        if (!tok) { fprintf(stderr, "fuzz_tokenizer_encode: %s\n", e.msg); abort(); }
    }
    TokIds ids = {0};
    Err e = {0};
    if (tokenizer_encode(tok, (const char *)data, size, &ids, &e)) { fprintf(stderr, "encode: %s\n", e.msg); abort(); }
    StrBuf back = {0};
    if (tokenizer_decode(tok, ids.v, ids.n, 0, &back, &e)) abort();
    if (back.len != size || (size && memcmp(back.s, data, size))) abort();
    sb_free(&back);
    tokids_free(&ids);
    if (size >= 2 && size <= 4096) {
        /* one work state for the whole run, as a long encode keeps one: its piece caches must
         * give what the naive twin computes afresh (a new state per input cost 2 MiB of calloc) */
        static BpeWork *w;
        if (!w) w = bpe_work_new();
        TokIds a = {0}, b = {0};
        if (bpe_encode_piece(tokenizer_bpe(tok), w, data, size, &a, &e)) abort();
        if (bpe_encode_piece_naive(tokenizer_bpe(tok), data, size, &b, &e)) abort();
        if (a.n != b.n || memcmp(a.v, b.v, a.n * sizeof *a.v)) abort();
        tokids_free(&a);
        tokids_free(&b);
    }
    return 0;
}
