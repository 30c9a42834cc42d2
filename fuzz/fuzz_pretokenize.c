/* Fuzz target: the pre-tokenizer (tokenizer/pretokenize.h) and encoding through it, on any bytes
 * (invalid UTF-8, NUL, lone surrogates, Unicode spaces). Six chains: DeepSeek-V3's three Split
 * regexes, GPT-2's ByteLevel regex, ByteLevel with a prefix space, a mix of String/Regex splits
 * with every merging behaviour and an inverted one, a Removed split, and Digits. Checks on the
 * pieces: none empty; without Removed or a prefix space they tile the input exactly; with Removed
 * they are an in-order selection of the input that keeps every ASCII letter and digit; with a
 * prefix space they are the input once the spaces are set aside. Then the same chains inside
 * DeepSeek-V3's tokenizer.json (the pruned fixture's vocabulary and merges): decode(encode(x))
 * == x for every chain that keeps all bytes, and the ids are in the vocabulary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fuzz_util.h"
#include "tokenizer/pretokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { KEEPS, REMOVES, PREFIXES };
typedef struct Chain {
    const char *name, *json;    /* the pre_tokenizer object of a tokenizer.json */
    int kind;
    PreTok pt;
    PreTokScratch *scratch;
    Tokenizer *tok;
} Chain;

static Chain chains[] = {
    {"deepseek_v3", NULL, KEEPS},
    {"gpt2", "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}", KEEPS},
    {"gpt2_prefix", "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"use_regex\":true}", PREFIXES},
    {"behaviours", "{\"type\":\"Sequence\",\"pretokenizers\":["
        "{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"MergedWithPrevious\",\"invert\":false},"
        "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[aeiou\\u00e9]\"},\"behavior\":\"MergedWithNext\",\"invert\":false},"
        "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{L}+\"},\"behavior\":\"Isolated\",\"invert\":true},"
        "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]}", KEEPS},
    {"removed", "{\"type\":\"Sequence\",\"pretokenizers\":["
        "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"behavior\":\"Removed\",\"invert\":false},"
        "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]}", REMOVES},
    {"digits", "{\"type\":\"Sequence\",\"pretokenizers\":["
        "{\"type\":\"Digits\",\"individual_digits\":true},"
        "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
        "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]}", KEEPS},
};
#define N_CHAINS (sizeof chains / sizeof chains[0])

/* The chain alone (as pretok_* steps) and inside the fixture's tokenizer.json. */
static void setup(void) {
    Err e = {{0}};
    char *fixture = file_read_all("tests/fixtures/tokenizer/v3_pruned.tokenizer.json", NULL, &e);
    if (!fixture) { fprintf(stderr, "fuzz_pretokenize: %s (run from the repository root)\n", e.msg); abort(); }
    for (size_t c = 0; c < N_CHAINS; c++) {
        cJSON *j = cJSON_Parse(fixture);
        if (chains[c].json) cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", cJSON_Parse(chains[c].json));
        char *text = cJSON_PrintUnformatted(j);
        chains[c].tok = tokenizer_from_json(text, strlen(text), chains[c].name, &e);
        if (!chains[c].tok) { fprintf(stderr, "fuzz_pretokenize: %s: %s\n", chains[c].name, e.msg); abort(); }
        free(text);
        cJSON_Delete(j);
    }
    free(fixture);
    /* the same chains as steps */
    PreTok *p = &chains[0].pt;
    for (int i = 0; i < 3; i++)
        FZ_ASSERT(pretok_add_split(p, PRETOK_DEEPSEEK_V3[i], strlen(PRETOK_DEEPSEEK_V3[i]), 1, SPLIT_ISOLATED, 0, "v3", &e) == 0);
    FZ_ASSERT(pretok_add_bytelevel(&chains[1].pt, 0, 1, "gpt2", &e) == 0);
    FZ_ASSERT(pretok_add_bytelevel(&chains[2].pt, 1, 1, "gpt2_prefix", &e) == 0);
    p = &chains[3].pt;
    FZ_ASSERT(pretok_add_split(p, " ", 1, 0, SPLIT_MERGED_PREV, 0, "b0", &e) == 0);
    FZ_ASSERT(pretok_add_split(p, "[aeiou\xc3\xa9]", 9, 1, SPLIT_MERGED_NEXT, 0, "b1", &e) == 0);
    FZ_ASSERT(pretok_add_split(p, "\\p{L}+", 6, 1, SPLIT_ISOLATED, 1, "b2", &e) == 0);
    FZ_ASSERT(pretok_add_split(&chains[4].pt, "\\s+", 3, 1, SPLIT_REMOVED, 0, "r", &e) == 0);
    p = &chains[5].pt;
    FZ_ASSERT(pretok_add_split(p, "\\p{Nd}", 6, 1, SPLIT_ISOLATED, 0, "d0", &e) == 0);
    FZ_ASSERT(pretok_add_split(p, "\\s+(?!\\S)|\\s+", 13, 1, SPLIT_ISOLATED, 0, "d1", &e) == 0);
    for (size_t c = 0; c < N_CHAINS; c++) chains[c].scratch = pretok_scratch_new(&chains[c].pt);
}

static int collect(void *ctx, const char *piece, size_t n) {
    FZ_ASSERT(n > 0);
    sb_append_n(ctx, piece, n);
    return 0;
}

/* s without ' ' bytes */
static void drop_spaces(const char *s, size_t n, StrBuf *out) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ') sb_append_n(out, s + i, 1);
}

static int alnum(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!chains[0].tok) setup();
    const char *text = (const char *)data;
    for (size_t c = 0; c < N_CHAINS; c++) {
        Chain *ch = &chains[c];
        StrBuf all = {0};
        Err e = {{0}};
        FZ_ASSERT(pretok_run(&ch->pt, ch->scratch, text, size, collect, &all, &e) == 0);
        if (ch->kind == KEEPS) {
            FZ_ASSERT(all.len == size && (size == 0 || memcmp(all.s, text, size) == 0));
        } else if (ch->kind == REMOVES) {
            size_t j = 0, kept = 0, want = 0;
            for (size_t i = 0; i < all.len; i++) {   /* in order, a subsequence of the input */
                while (j < size && text[j] != all.s[i]) j++;
                FZ_ASSERT(j < size);
                j++;
            }
            for (size_t i = 0; i < size; i++) want += alnum(data[i]);
            for (size_t i = 0; i < all.len; i++) kept += alnum((unsigned char)all.s[i]);
            FZ_ASSERT(kept == want);
        } else {
            StrBuf a = {0}, b = {0};
            drop_spaces(all.s ? all.s : "", all.len, &a);
            drop_spaces(text, size, &b);
            FZ_ASSERT(a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0));
            sb_free(&a);
            sb_free(&b);
        }
        sb_free(&all);

        TokIds ids = {0};
        FZ_ASSERT(tokenizer_encode(ch->tok, text, size, &ids, &e) == 0);
        for (size_t i = 0; i < ids.n; i++) FZ_ASSERT(ids.v[i] < tokenizer_vocab_size(ch->tok));
        if (ch->kind == KEEPS) FZ_ASSERT(fz_decodes_to(ch->tok, ids.v, ids.n, text, size));
        tokids_free(&ids);
    }
    return 0;
}
