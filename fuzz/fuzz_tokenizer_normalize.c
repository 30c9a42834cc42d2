/* Fuzz target: the Unicode normalization path on any bytes (invalid UTF-8, NUL, surrogates,
 * combining marks, jamo, special-token fragments).
 *   - each form (NFC, NFD, NFKC, NFKD) is idempotent, keeps valid UTF-8 valid and leaves pure
 *     ASCII alone;
 *   - with Qwen3's tokenizer (NFC; the pruned fixture) the input encodes, decodes to its NFC form
 *     when it holds no added token (all start with '<'), and the decoded text encodes to the same
 *     ids again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "tokenizer/normalize.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Tokenizer *tok;
static NormScratch *ns[2];

static int valid_utf8(const char *s, size_t n) {
    StrBuf b = {0};
    sb_append_utf8_valid(&b, s, n);
    int ok = b.len == n && (n == 0 || !memcmp(b.s, s, n));
    sb_free(&b);
    return ok;
}

static int is_ascii(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Err e = {0};
    if (!tok) {
        tok = tokenizer_load("tests/fixtures/tokenizer/qwen3_pruned.tokenizer.json", &e);
        if (!tok || !tokenizer_normalizes(tok)) { fprintf(stderr, "fuzz_tokenizer_normalize: %s\n", e.msg); abort(); }
        ns[0] = norm_scratch_new();
        ns[1] = norm_scratch_new();
    }
    const char *in = (const char *)data;
    static const char *forms[4] = {"NFC", "NFD", "NFKC", "NFKD"};
    const char *nfc = NULL;
    size_t nfc_n = 0;
    StrBuf keep = {0};
    for (int f = 0; f < 4; f++) {
        Normalizer nz = {0};
        if (normalizer_add(&nz, forms[f], "fuzz", &e)) abort();
        size_t n1, n2;
        const char *once = normalizer_run(&nz, ns[0], in, size, &n1, &e);
        if (!once) abort();
        const char *twice = normalizer_run(&nz, ns[1], once, n1, &n2, &e);
        if (!twice || n2 != n1 || (n1 && memcmp(once, twice, n1))) abort();
        if (valid_utf8(in, size) && !valid_utf8(once, n1)) abort();
        if (is_ascii(data, size) && (n1 != size || once != in)) abort();
        if (f == 0) { sb_append_n(&keep, once, n1); nfc = keep.s; nfc_n = n1; }
    }
    TokIds ids = {0}, again = {0};
    StrBuf back = {0};
    if (tokenizer_encode(tok, in, size, &ids, &e)) { fprintf(stderr, "encode: %s\n", e.msg); abort(); }
    if (tokenizer_decode(tok, ids.v, ids.n, 0, &back, &e)) abort();
    if (!memchr(in, '<', size) && (back.len != nfc_n || (nfc_n && memcmp(back.s, nfc, nfc_n)))) abort();
    if (tokenizer_encode(tok, back.s, back.len, &again, &e) || again.n != ids.n ||
        (ids.n && memcmp(again.v, ids.v, ids.n * sizeof *ids.v)))
        abort();
    tokids_free(&ids);
    tokids_free(&again);
    sb_free(&back);
    sb_free(&keep);
    return 0;
}
