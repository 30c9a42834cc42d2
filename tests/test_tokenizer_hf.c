/* Tokenizer options beyond DeepSeek-V3's file, checked against Hugging Face's Rust `tokenizers`
 * (npm addon, installed by tools/fetch_v3_tokenizer.sh; skipped without node) on variants of a
 * trained tokenizer.json: GPT-2 style ByteLevel(use_regex), add_prefix_space, Split behaviors
 * (Removed, MergedWithPrevious, MergedWithNext, invert), Digits, String patterns, ignore_merges,
 * added tokens with lstrip/rstrip. The ignore_merges rule is also checked by hand without node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"
#include "tok_check.h"
#include "tokenizer/textgen.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train.h"

static char tmpdir[] = "/tmp/r1_tokhf_XXXXXX";
static char base_path[256];

static cJSON *split(const char *kind, const char *pattern, const char *behavior, int invert) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "pattern"), kind, pattern);
    cJSON_AddStringToObject(s, "behavior", behavior);
    cJSON_AddBoolToObject(s, "invert", invert);
    return s;
}

static cJSON *bytelevel(int prefix, int regex) {
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "ByteLevel");
    cJSON_AddBoolToObject(b, "add_prefix_space", prefix);
    cJSON_AddBoolToObject(b, "trim_offsets", 1);
    cJSON_AddBoolToObject(b, "use_regex", regex);
    return b;
}

static cJSON *seq(cJSON *a, cJSON *b, cJSON *c, cJSON *d) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "Sequence");
    cJSON *arr = cJSON_AddArrayToObject(s, "pretokenizers");
    cJSON *x[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++) if (x[i]) cJSON_AddItemToArray(arr, x[i]);
    return s;
}

static cJSON *digits(int individual) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "type", "Digits");
    cJSON_AddBoolToObject(d, "individual_digits", individual);
    return d;
}

/* Writes the base file with its pre_tokenizer replaced (and options applied) to PATH. */
static void variant(const char *path, cJSON *pre, int ignore_merges, int strip_tokens) {
    Err e = {0};
    cJSON *j = json_load_file(base_path, &e);
    CHECK(j);
    cJSON_ReplaceItemInObject(j, "pre_tokenizer", pre);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(j, "model"), "ignore_merges", cJSON_CreateBool(ignore_merges));
    if (strip_tokens) {   /* <think> strips spaces on its left, </think> on its right */
        cJSON *added = cJSON_GetObjectItem(j, "added_tokens");
        for (cJSON *t = added->child; t; t = t->next) {
            const char *c = cJSON_GetObjectItem(t, "content")->valuestring;
            if (!strcmp(c, "<think>")) cJSON_ReplaceItemInObject(t, "lstrip", cJSON_CreateBool(1));
            if (!strcmp(c, "</think>")) cJSON_ReplaceItemInObject(t, "rstrip", cJSON_CreateBool(1));
        }
        /* overlapping added tokens: "<t>" (normalized=false) is matched before "<t>x" (normalized) */
        const char *extra[2] = {"<t>", "<t>x"};
        for (int k = 0; k < 2; k++) cJSON_AddItemToArray(added, tc_added_token(1200 + (uint32_t)k, extra[k], k == 1, 0));
    }
    CHECK(json_save_file(j, path, &e) == 0);
    cJSON_Delete(j);
}

static void compare_with_hf(const char *tok_path, const char *label) {
    Err e = {0};
    Tokenizer *t = tokenizer_load(tok_path, &e);
    EXPECTF(t != NULL, "%s: %s", label, e.msg);
    if (!t) return;
    /* texts: generated lines plus hand-picked edge cases */
    cJSON *arr = cJSON_CreateArray();
    const char *fixed[] = {"", " ", "  x", "x  ", "a1b22c333d4444", " 12 345 ", "I'm, you're; they'll!",
                           "  <think> a b </think>  c", "<think></think>", "x<think>y", "Hello\n\n  world\t!",
                           "\xe4\xb8\xad\xe6\x96\x87 \xe3\x81\x82 \xf0\x9f\x98\x80", "aeiou aaa eee iii", "a<t>xb <t>x <t> <t<t>x"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(fixed[i]));
    StrBuf all = {0};
    textgen_mixed(31, 30000, &all);
    for (size_t p = 0; p < all.len;) {
        const char *nl = memchr(all.s + p, '\n', all.len - p);
        size_t q = nl ? (size_t)(nl - all.s) + 1 : all.len;
        StrBuf one = {0};
        sb_append_n(&one, all.s + p, q - p);
        cJSON_AddItemToArray(arr, cJSON_CreateString(one.s));
        sb_free(&one);
        p = q;
    }
    char in[300], cmd[1024];
    snprintf(in, sizeof in, "%s/texts.json", tmpdir);
    EXPECT(json_save_file(arr, in, &e) == 0);
    snprintf(cmd, sizeof cmd, "node tools/tokenizer_ref.js hf-encode %s %s", tok_path, in);
    StrBuf outp = {0};
    int st;
    if (tu_capture(cmd, &outp, &st) == 0) EXPECT(st == 0);
    cJSON *want = outp.s ? cJSON_Parse(outp.s) : NULL;
    EXPECTF(want && cJSON_GetArraySize(want) == cJSON_GetArraySize(arr), "%s: no answer from HF", label);
    int bad = 0, n = 0;
    for (const cJSON *x = arr->child, *w = want ? want->child : NULL; x && w; x = x->next, w = w->next, n++) {
        TokIds ids = {0};
        EXPECT(tokenizer_encode(t, x->valuestring, strlen(x->valuestring), &ids, &e) == 0);
        if (!tu_ids_match(w, &ids)) {
            if (bad++ < 3) printf("  %s: differs on '%.60s'\n", label, x->valuestring);
        }
        tokids_free(&ids);
    }
    EXPECTF(n > 50 && bad == 0, "%s: %d of %d texts differ from HF", label, bad, n);
    cJSON_Delete(want);
    cJSON_Delete(arr);
    sb_free(&outp);
    sb_free(&all);
    tokenizer_free(t);
}

static void test_variants_vs_hf(void) {
    SKIP_IF(tu_no_node_module("tokenizers"));
    struct { const char *name; cJSON *pre; int ignore_merges, strip; } v[] = {
        {"gpt2", bytelevel(0, 1), 0, 0},
        {"gpt2_prefix", bytelevel(1, 1), 0, 1},
        {"behaviors", seq(split("Regex", "\\p{N}+", "Removed", 0), split("String", " ", "MergedWithPrevious", 0),
                          split("Regex", "[aeiou]", "MergedWithNext", 0), bytelevel(0, 0)), 0, 0},
        {"invert_digits", seq(split("Regex", "\\s+", "Isolated", 1), digits(1), bytelevel(0, 0), NULL), 1, 1},
        {"digits_groups", seq(digits(0), split("Regex", "(?i:'s|'t|'re)| ?\\p{L}+|\\s+(?!\\S)|\\s+", "Isolated", 0),
                              bytelevel(0, 0), NULL), 1, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s.json", tmpdir, v[i].name);
        variant(path, v[i].pre, v[i].ignore_merges, v[i].strip);
        compare_with_hf(path, v[i].name);
    }
}

/* ignore_merges by hand: "abc" is a token but the merges cannot build it. */
static void test_ignore_merges(void) {
    char json[512];
    for (int im = 0; im < 2; im++) {
        snprintf(json, sizeof json, "{\"model\": {\"type\": \"BPE\", \"ignore_merges\": %s, \"vocab\": {\"a\": 0, "
                 "\"b\": 1, \"c\": 2, \"bc\": 3, \"abc\": 4}, \"merges\": [\"b c\"]}}", im ? "true" : "false");
        Err e = {0};
        Tokenizer *t = tokenizer_from_json(json, strlen(json), "im.json", &e);
        EXPECTF(t != NULL, "%s", e.msg);
        if (!t) continue;
        TokIds ids = {0};
        EXPECT(tokenizer_encode(t, "abc", 3, &ids, &e) == 0);
        if (im) EXPECT(ids.n == 1 && ids.v[0] == 4);
        else EXPECT(ids.n == 2 && ids.v[0] == 0 && ids.v[1] == 3);
        tokids_free(&ids);
        tokenizer_free(t);
    }
}

int main(void) {
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    snprintf(base_path, sizeof base_path, "%s/base/tokenizer.json", tmpdir);
    StrBuf text = {0};
    textgen_mixed(30, 400000, &text);
    const char *texts[1] = {text.s};
    size_t lens[1] = {text.len};
    TrainOpts o = {.vocab_size = 1200, .min_frequency = 2};
    Err e = {0};
    if (tokenizer_train_texts(texts, lens, 1, &o, base_path, NULL, &e)) { printf("FAIL setup: %s\n", e.msg); return 1; }
    sb_free(&text);
    RUN(test_ignore_merges);
    RUN(test_variants_vs_hf);
    file_remove_tree(tmpdir, &e);
    return TEST_EXIT();
}
