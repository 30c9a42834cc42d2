/* Tokenizer checks shared by the tokenizer tests: encode one text and compare with a reference's
 * ids (and the round trip), seeded random texts in many scripts, and the live comparison with a
 * reference encoder run by node (tools/tokenizer_ref.js). Header-only; include after test.h and
 * test_util.h. */
#ifndef R1_TESTS_TOK_CHECK_H
#define R1_TESTS_TOK_CHECK_H

#include "base/rng.h"
#include "base/strbuf.h"
#include "tokenizer/textgen.h"
#include "tokenizer/tokenizer.h"

/* A tokenizer.json added_tokens entry without lstrip, rstrip, single_word. */
static TU_UNUSED cJSON *tc_added_token(uint32_t id, const char *content, int normalized, int special) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "id", id);
    cJSON_AddStringToObject(t, "content", content);
    cJSON_AddBoolToObject(t, "single_word", 0);
    cJSON_AddBoolToObject(t, "lstrip", 0);
    cJSON_AddBoolToObject(t, "rstrip", 0);
    cJSON_AddBoolToObject(t, "normalized", normalized);
    cJSON_AddBoolToObject(t, "special", special);
    return t;
}

/* Encodes text; EXPECTs the ids want[0..nw) and decode(ids) == decoded[0..dlen) (decoded NULL:
 * decode(ids) encodes to the same ids again). Returns 1 when the ids match. */
static TU_UNUSED int tc_encode_eq(Tokenizer *t, const char *text, size_t n, const uint32_t *want, size_t nw,
                                  const char *decoded, size_t dlen, const char *label) {
    TokIds ids = {0};
    Err e = {0};
    int rc = tokenizer_encode(t, text, n, &ids, &e);
    int ok = rc == 0 && ids.n == nw && (nw == 0 || !memcmp(ids.v, want, nw * sizeof *want));
    if (!ok) {
        size_t k = 0;
        while (k < ids.n && k < nw && ids.v[k] == want[k]) k++;
        EXPECTF(ok, "%s: %s; got %zu ids, want %zu, first difference at %zu (got %d, want %d)", label,
                rc ? e.msg : "mismatch", ids.n, nw, k, k < ids.n ? (int)ids.v[k] : -1,
                k < nw ? (int)want[k] : -1);
    }
    /* decode(encode(x)) == the expected text, or encodes to the same ids again */
    StrBuf back = {0};
    if (rc == 0) {
        EXPECT(tokenizer_decode(t, ids.v, ids.n, 0, &back, &e) == 0);
        if (decoded) {
            EXPECTF(back.len == dlen && !memcmp(back.s, decoded, dlen), "%s: round trip differs", label);
        } else {
            TokIds again = {0};
            EXPECT(tokenizer_encode(t, back.s, back.len, &again, &e) == 0);
            EXPECTF(again.n == ids.n && !memcmp(again.v, ids.v, ids.n * sizeof *ids.v),
                    "%s: the decoded text encodes differently", label);
            tokids_free(&again);
        }
    }
    sb_free(&back);
    tokids_free(&ids);
    return ok;
}

/* Text Unicode normalization changes: decomposed accents, reordered marks, Hangul jamo, singletons
 * (Kelvin, Angstrom, Greek question mark), CJK compatibility ideographs, a mark at a text's start. */
static const char *const tc_nfc_atoms[] = {
    "e\xcc\x81", "a\xcc\x88", "A\xcc\x8a", "\xe2\x84\xaa", "\xe2\x84\xab", "\xcd\xbe", "\xe1\xbf\xaf",
    "a\xcc\x87\xcc\xa3", "q\xcc\x87\xcc\xa3", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xe1\x84\x80\xe1\x85\xa1",
    "\xef\xa4\x80", "\xef\xac\x81", "\xcc\x81", "\xe3\x81\x8b\xe3\x82\x99", "o\xcc\xa8\xcc\x84", "\xe0\xa4\x95\xe0\xa4\xbc",
};

/* What random texts hold besides many scripts, digits, whitespace runs, DeepSeek's special tokens:
 * NEL and BOM (HF's \s, not the JS port's), tc_nfc_atoms, another file's special tokens. */
typedef struct TcTextOpts {
    int hf_whitespace, nfc;
    const char *const *specials;   /* NULL-terminated, or NULL */
} TcTextOpts;

static TU_UNUSED void tc_random_text(Rng *r, StrBuf *b, const TcTextOpts *o) {
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {'a', 'z'}, {'0', '9'}, {0xA0, 0xFF}, {0x100, 0x17F},
        {0x391, 0x3C9}, {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x627, 0x64A}, {0x905, 0x939}, {0xE01, 0xE2E},
        {0x4E00, 0x9FA5}, {0x3041, 0x3096}, {0x30A1, 0x30FA}, {0xAC00, 0xD7A3}, {0x2000, 0x200A},
        {0x2010, 0x2027}, {0x2190, 0x21FF}, {0x2200, 0x22FF}, {0x300, 0x36F}, {0xFF01, 0xFF5E},
        {0x1F600, 0x1F64F}, {0x1F300, 0x1F5FF}, {0x3000, 0x3003}, {0x660, 0x669}, {0x2070, 0x2079},
    };
    static const char *atoms[] = {" ", "  ", "\n", "\n\n", "\r\n", "\t", "    ", " \n ", "123", "4567890",
        "'s", "'ll", "don't", "<think>", "</think>", "<\xef\xbd\x9cUser\xef\xbd\x9c>",
        "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
        "the", " the", "Hello", " world", ".", ",", "!?", "...", "://", "==", "->", "\xe3\x80\x82", "\xef\xbc\x8c"};
    int parts = 1 + (int)rng_below(r, 40);
    for (int p = 0; p < parts; p++) {
        if (o->specials && o->specials[0] && rng_below(r, 12) == 0) {
            size_t ns = 0;
            while (o->specials[ns]) ns++;
            sb_append(b, o->specials[rng_below(r, ns)]);
            continue;
        }
        if (o->hf_whitespace && rng_below(r, 10) == 0) {   /* NEL, BOM, and runs around them */
            sb_append(b, (const char *[]){"\xc2\x85", "\xef\xbb\xbf", " \xc2\x85 x", "\xc2\x85\n", "a\xef\xbb\xbf b"}[rng_below(r, 5)]);
            continue;
        }
        if (o->nfc && rng_below(r, 6) == 0) {
            sb_append(b, tc_nfc_atoms[rng_below(r, sizeof tc_nfc_atoms / sizeof tc_nfc_atoms[0])]);
            continue;
        }
        if (rng_below(r, 60) == 0) {   /* a long run without split points: the heap merge path */
            int len = 100 + (int)rng_below(r, 400);
            const char *alpha = rng_below(r, 2) ? "etaoinshrdlu" : "ab";
            for (int j = 0; j < len; j++) sb_append_n(b, &alpha[rng_below(r, strlen(alpha))], 1);
            continue;
        }
        if (rng_below(r, 3) == 0) { sb_append(b, atoms[rng_below(r, sizeof atoms / sizeof atoms[0])]); continue; }
        const uint32_t *rg = ranges[rng_below(r, sizeof ranges / sizeof ranges[0])];
        int k = 1 + (int)rng_below(r, 8);
        for (int j = 0; j < k; j++) textgen_put_cp(b, rg[0] + (uint32_t)rng_below(r, rg[1] - rg[0] + 1));
    }
}

/* Encodes N seeded random texts with tools/tokenizer_ref.js MODE (over TOK_PATH for the hf- modes)
 * and with us; compares all ids. exact: decode(encode(x)) must be x (a file without a normalizer),
 * else decode(encode(x)) must encode to the same ids. */
static TU_UNUSED void tc_live_compare(const char *mode, const char *tok_path, const TcTextOpts *o, int exact,
                                      uint64_t seed) {
    enum { N = 3000 };
    StrBuf *texts = xcalloc(N, sizeof *texts);
    Rng r = rng_make(seed, RNG_TEST, 3, 0);
    char bin[] = "/tmp/r1_tok_live_XXXXXX";
    int fd = mkstemp(bin);
    EXPECT(fd >= 0);
    if (fd < 0) { free(texts); return; }
    FILE *f = fdopen(fd, "wb");
    uint32_t n = N;
    fwrite(&n, 4, 1, f);
    for (int i = 0; i < N; i++) {
        tc_random_text(&r, &texts[i], o);
        uint32_t l = (uint32_t)texts[i].len;
        fwrite(&l, 4, 1, f);
        fwrite(texts[i].s, 1, l, f);
    }
    fclose(f);
    char cmd[768];
    snprintf(cmd, sizeof cmd, "node tools/tokenizer_ref.js %s %s %s", mode, strncmp(mode, "hf-", 3) ? "" : tok_path, bin);
    FILE *p = popen(cmd, "r");
    Err le = {0};
    Tokenizer *t = tokenizer_load(tok_path, &le);
    EXPECTF(t != NULL, "load %s: %s", tok_path, le.msg);
    int bad = 0, i = 0;
    size_t cap = 1 << 16;
    char *line = xmalloc(cap);
    uint32_t *want = xmalloc(cap * sizeof *want);
    while (t && p && i < N && fgets(line, (int)cap, p)) {
        size_t nw = 0;
        for (char *s = line, *end; nw < cap; s = end) {
            unsigned long v = strtoul(s, &end, 10);
            if (end == s) break;
            want[nw++] = (uint32_t)v;
        }
        char label[96];
        snprintf(label, sizeof label, "%s: random text %d", mode, i);
        if (!tc_encode_eq(t, texts[i].s, texts[i].len, want, nw, exact ? texts[i].s : NULL, texts[i].len, label)) bad++;
        i++;
    }
    if (p) EXPECT(pclose(p) == 0);
    EXPECTF(i == N && bad == 0, "%s: %d of %d random texts compared, %d differ", mode, i, N, bad);
    free(line);
    free(want);
    for (int k = 0; k < N; k++) sb_free(&texts[k]);
    free(texts);
    tokenizer_free(t);
    remove(bin);
}

#endif
