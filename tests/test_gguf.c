/* GGUF without llama.cpp: the writer and reader round-trip every value and tensor type, the Q8_0
 * codec's rounding, export -> import of DeepSeek-V3 models (f32: the same bits and the same logits;
 * f16/bf16: each weight rounded once; q8_0: each weight within half a quantisation step), the
 * tokenizer keys, and one-line errors for bad files (truncated, bad magic, unsupported architecture
 * or tensor type, a tensor missing or mis-shaped). */
#include "test.h"
#include "test_util.h"
#include "test_gguf_util.h"

#include "io/gguf.h"
#include "model/gguf_model.h"
#include "model/model_io.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

static char g_tmp[] = "/tmp/r1gguf-unit.XXXXXX";

static void export_to(const char *cfg, uint64_t seed, GgmlType type, const char *path, Model *m) {
    gg_export_to(g_tmp, cfg, seed, type, path, m);
}

static void test_roundtrip_values_and_types(void) {
    const char *path = tu_path(g_tmp, "kv.gguf");
    GgufWriter w;
    gguf_writer_init(&w);
    gguf_w_str(&w, "a.str", "héllo");
    gguf_w_u32(&w, "a.u32", 4000000000u);
    gguf_w_f32(&w, "a.f32", 0.25f);
    gguf_w_bool(&w, "a.bool", 1);
    const char *strs[3] = {"x", "", "a b"};
    size_t lens[3] = {1, 0, 3};
    gguf_w_arr_str(&w, "a.strs", strs, lens, 3);
    int32_t ints[4] = {-1, 0, 7, 1 << 30};
    gguf_w_arr_i32(&w, "a.ints", ints, 4);
    float *x = tu_randn(1, 1, 64 * 3, 1.0f);
    int64_t ne[2] = {64, 3};
    GgmlType types[4] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0};
    const char *names[4] = {"t.f32", "t.f16", "t.bf16", "t.q8"};
    for (int i = 0; i < 4; i++) gguf_w_tensor(&w, names[i], 2, ne, types[i], x, 0);
    Err e = {0};
    EXPECTF(gguf_writer_write(&w, path, &e) == 0, "%s", e.msg);
    gguf_writer_free(&w);
    Gguf g;
    EXPECTF(gguf_open_file(&g, path, &e) == 0, "%s", e.msg);
    const char *s;
    size_t n;
    uint32_t u;
    double f;
    int b;
    EXPECT(gguf_get_str(&g, "a.str", 1, &s, &n, &e) == 0 && n == 6 && !memcmp(s, "héllo", 6));
    EXPECT(gguf_get_u32(&g, "a.u32", 1, &u, &e) == 0 && u == 4000000000u);
    EXPECT(gguf_get_float(&g, "a.f32", 1, &f, &e) == 0 && f == 0.25);
    EXPECT(gguf_get_bool(&g, "a.bool", 1, &b, &e) == 0 && b == 1);
    EXPECT(gguf_get_u32(&g, "a.missing", 0, &u, &e) == 1);
    EXPECT(gguf_get_u32(&g, "a.missing", 1, &u, &e) == -1 && strstr(e.msg, "a.missing") && strstr(e.msg, path));
    EXPECT(gguf_get_u32(&g, "a.str", 1, &u, &e) == -1 && strstr(e.msg, "'a.str'"));
    const GgufKv *kv = gguf_find_kv(&g, "a.strs");
    EXPECT(kv && kv->n == 3);
    if (kv && kv->n == 3) {
        for (int i = 0; i < 3; i++) EXPECT(gguf_arr_str(kv, (uint64_t)i, &n) && n == lens[i] && !memcmp(gguf_arr_str(kv, (uint64_t)i, &n), strs[i], n));
    }
    kv = gguf_find_kv(&g, "a.ints");
    EXPECT(kv && kv->n == 4 && gguf_arr_int(kv, 0) == -1 && gguf_arr_int(kv, 3) == 1 << 30);
    float y[192];
    for (int i = 0; i < 4; i++) {
        const GgufTensor *t = gguf_find_tensor(&g, names[i]);
        EXPECT(t && t->ne[0] == 64 && t->ne[1] == 3 && t->type == types[i] && (size_t)(t->data - g.base) % 32 == 0);
        if (!t) continue;
        gguf_tensor_to_f32(t, y);
        for (int k = 0; k < 192; k++) {
            float want = types[i] == GGML_TYPE_F16 ? st_f16_to_f32(st_f32_to_f16(x[k]))
                       : types[i] == GGML_TYPE_BF16 ? st_bf16_to_f32(st_f32_to_bf16(x[k])) : x[k];
            if (types[i] != GGML_TYPE_Q8_0) EXPECTF(y[k] == want, "%s[%d]", names[i], k);
        }
    }
    gguf_free(&g);
    free(x);
}

/* Q8_0: d = f16(max|x|/127), |x − d·q| ≤ d/2 + the f16 rounding of d times 127; zeros stay zero. */
static void test_q8_0_rounding(void) {
    float *x = tu_randn(2, 2, 32 * 50, 3.0f), y[32 * 50];
    for (int k = 0; k < 32; k++) x[32 + k] = 0;   /* an all-zero block */
    uint8_t blocks[50 * 34];
    gguf_q8_0_quantize(x, blocks, 32 * 50);
    gguf_q8_0_dequantize(blocks, y, 32 * 50);
    for (int b = 0; b < 50; b++) {
        float amax = 0;
        for (int k = 0; k < 32; k++) amax = fmaxf(amax, fabsf(x[32 * b + k]));
        double d = amax / 127.0, tol = d / 2 * (1 + 1e-6) + amax * (1.0 / 2048);
        for (int k = 0; k < 32; k++) EXPECTF(fabs(y[32 * b + k] - x[32 * b + k]) <= tol, "block %d [%d]", b, k);
    }
    for (int k = 0; k < 32; k++) EXPECT(y[32 + k] == 0);
    free(x);
}

static void test_export_import_params(void) {
    GgmlType types[4] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0};
    const char *cfgs[3] = {GG_CFG_QLORA_YARN, GG_CFG_PLAIN_Q, GG_CFG_SOFTMAX};
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < 4; t++) {
            const char *path = tu_path(g_tmp, "p.gguf");
            Model a, b;
            if (gg_roundtrip(g_tmp, cfgs[c], 20 + (uint64_t)c, types[t], path, &a, &b) == 0) {
                const ModelConfig *x = &a.cfg, *y = &b.cfg;
                EXPECT(x->q_lora_rank == y->q_lora_rank && x->qk_nope_head_dim == y->qk_nope_head_dim &&
                       x->v_head_dim == y->v_head_dim && x->n_group == y->n_group && x->topk_group == y->topk_group &&
                       x->scoring_func == y->scoring_func && x->norm_topk_prob == y->norm_topk_prob &&
                       x->first_k_dense_replace == y->first_k_dense_replace && x->n_shared_experts == y->n_shared_experts &&
                       fabs(x->routed_scaling_factor - y->routed_scaling_factor) < 1e-6 &&
                       x->rope_scaling.kind == y->rope_scaling.kind &&
                       fabs(x->rope_scaling.mscale_all_dim - y->rope_scaling.mscale_all_dim) < 1e-6 &&
                       fabs(x->rms_norm_eps - y->rms_norm_eps) < 1e-12 * 1e6);
                model_free(&b);
            }
            model_free(&a);
        }
}

/* `r1 logits` on the .gguf is `r1 logits` on the folder: the same bits for f32. */
static void test_cli_logits_same(void) {
    char dir[400], gguf[400];
    snprintf(dir, sizeof dir, "%s/cli", g_tmp);
    snprintf(gguf, sizeof gguf, "%s/cli.gguf", g_tmp);
    EXPECT(gg_save_model(dir, GG_CFG_QLORA_YARN, 5) == 0);
    StrBuf o = {0};
    int rc = tu_runf(&o, "%s export gguf --model %s --out %s", tu_r1_bin(), dir, gguf);
    EXPECTF(rc == 0 && strstr(o.s, "MTP") && strstr(o.s, "placeholder"), "export: %s", o.s);
    sb_free(&o);
    int ids[6] = {3, 1, 4, 1, 5, 9}, V1 = 0, V2 = 0;
    float *a = gg_r1_logits(dir, ids, 6, g_tmp, &V1);
    float *b = gg_r1_logits(gguf, ids, 6, g_tmp, &V2);
    EXPECT(a && b && V1 == V2 && tu_same_bits(a, b, (size_t)6 * V1));
    free(a);
    free(b);
}

/* The tokenizer keys of a folder with a trained tokenizer.json. */
static void test_tokenizer_keys(void) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/tok", g_tmp);
    Err e = {0};
    CHECK(file_mkdirs(dir, &e) == 0);
    EXPECT(tu_cli_model(dir, 128) == 0);
    StrBuf o = {0};
    const char *gguf = tu_path(g_tmp, "tok.gguf");
    EXPECT(tu_runf(&o, "%s export gguf --model %s/m --out %s --type q8_0", tu_r1_bin(), dir, gguf) == 0);
    sb_free(&o);
    Gguf g;
    EXPECTF(gguf_open_file(&g, gguf, &e) == 0, "%s", e.msg);
    const char *s;
    size_t n;
    EXPECT(gguf_get_str(&g, "tokenizer.ggml.pre", 1, &s, &n, &e) == 0 && n == 11 && !memcmp(s, "deepseek-v3", 11));
    EXPECT(gguf_get_str(&g, "tokenizer.ggml.model", 1, &s, &n, &e) == 0 && n == 4 && !memcmp(s, "gpt2", 4));
    const GgufKv *tk = gguf_find_kv(&g, "tokenizer.ggml.tokens"), *ty = gguf_find_kv(&g, "tokenizer.ggml.token_type"),
                 *mg = gguf_find_kv(&g, "tokenizer.ggml.merges");
    EXPECT(tk && ty && mg && tk->n == 320 && ty->n == 320 && mg->n > 0);
    Tokenizer *tok = tokenizer_load(tu_path(dir, "m/tokenizer.json"), &e);
    EXPECT(tok != NULL);
    if (tok && tk && ty && mg) {
        /* a normal token is its byte-level text; the merges rebuild every merged token */
        StrBuf bl = {0};
        for (uint32_t id = 0; id < 320; id++) {
            size_t len;
            const char *raw = tokenizer_token_bytes(tok, id, &len);
            const char *got = gguf_arr_str(tk, id, &n);
            if (!raw) { EXPECT(gguf_arr_int(ty, id) == 5); continue; }
            if (gguf_arr_int(ty, id) != 1) continue;
            sb_clear(&bl);
            bytelevel_encode(raw, len, &bl);
            EXPECTF(n == bl.len && !memcmp(got, bl.s, n), "token %u", id);
        }
        EXPECT(mg->n == tokenizer_bpe(tok)->n_merges);
        for (uint64_t r = 0; r < mg->n; r++) {
            const char *m = gguf_arr_str(mg, r, &n);
            const char *sp = memchr(m, ' ', n);
            EXPECT(sp && sp > m && sp < m + n - 1);
        }
        sb_free(&bl);
    }
    tokenizer_free(tok);
    gguf_free(&g);
    /* the file runs in r1 with its own vocabulary: the same greedy text as the folder */
    StrBuf a = {0}, b = {0};
#define GEN "%s generate --model %s --prompt 'the water of' --raw --temperature 0 --max-tokens 16 --threads 1 2>/dev/null"
    char mdir[500];
    snprintf(mdir, sizeof mdir, "%s/m", dir);
    EXPECT(tu_runf(&o, "%s export gguf --model %s --out %s", tu_r1_bin(), mdir, tu_path(g_tmp, "tok-f32.gguf")) == 0);
    EXPECT(tu_runf(&a, GEN, tu_r1_bin(), mdir) == 0 && tu_runf(&b, GEN, tu_r1_bin(), tu_path(g_tmp, "tok-f32.gguf")) == 0);
#undef GEN
    EXPECTF(a.len > 0 && a.len == b.len && !memcmp(a.s, b.s, a.len), "folder: %s\ngguf: %s", a.s, b.s);
    sb_free(&a);
    sb_free(&b);
    sb_free(&o);
}

/* A file's tokenizer.ggml.* keys read back as a Tokenizer encode DeepSeek-V3's corpus as Hugging
 * Face does (the pruned DeepSeek-V3 tokenizer.json: added tokens, holes, 3 Split regexes). */
static void test_tokenizer_from_gguf(void) {
    static const char cfg[] =
        "{\"model_type\":\"deepseek_v3\",\"vocab_size\":129280,\"hidden_size\":16,\"num_hidden_layers\":1,"
        "\"first_k_dense_replace\":1,\"intermediate_size\":16,\"num_attention_heads\":1,\"q_lora_rank\":null,"
        "\"kv_lora_rank\":8,\"qk_nope_head_dim\":8,\"qk_rope_head_dim\":8,\"v_head_dim\":8,\"n_routed_experts\":0,"
        "\"norm_topk_prob\":false,\"max_position_embeddings\":64,\"bos_token_id\":0,\"eos_token_id\":1}";
    char dir[400];
    snprintf(dir, sizeof dir, "%s/v3", g_tmp);
    EXPECT(tu_save_model(dir, cfg, 1) == 0);
    StrBuf o = {0};
    const char *gguf = tu_path(g_tmp, "v3.gguf");
    EXPECT(tu_runf(&o, "cp tests/fixtures/tokenizer/v3_pruned.tokenizer.json %s/tokenizer.json && %s export gguf --model %s --out %s --type bf16",
                   dir, tu_r1_bin(), dir, gguf) == 0);
    sb_free(&o);
    Gguf g;
    Err e = {0};
    Tokenizer *tok = NULL;
    if (gguf_open_file(&g, gguf, &e) == 0) tok = gguf_vocab_tokenizer(&g, &e);
    gguf_free(&g);
    EXPECTF(tok != NULL, "%s", e.msg);
    char *cs = tu_slurp("tests/fixtures/tokenizer/v3_corpus.json"), *ws = tu_slurp("tests/fixtures/tokenizer/v3_expected.json");
    cJSON *corpus = cJSON_Parse(cs), *want = cJSON_Parse(ws);
    int n = cJSON_GetArraySize(corpus), bad = 0;
    EXPECT(n == 90 && cJSON_GetArraySize(want) == n);
    if (tok) bad = gg_encode_differing(tok, corpus, want, "deepseek-v3");
    EXPECTF(bad == 0, "%d of %d texts encode differently", bad, n);
    EXPECT(tok && tokenizer_bos_id(tok) == 0 && tokenizer_eos_id(tok) == 1);
    cJSON_Delete(corpus);
    cJSON_Delete(want);
    free(cs);
    free(ws);
    tokenizer_free(tok);
}

/* Bad files: one line naming the file and the key or tensor. */
static void test_bad_files(void) {
    const char *good = tu_path(g_tmp, "good.gguf");
    Model m;
    export_to(GG_CFG_PLAIN_Q, 30, GGML_TYPE_F32, good, &m);
    size_t n;
    Err e = {0};
    char *img = file_read_all(good, &n, &e);
    CHECK(img);
    const char *bad = tu_path(g_tmp, "bad.gguf");
    /* truncated inside the data, inside the header, and before the counts */
    CHECK(file_write_atomic(bad, img, n - 100, &e) == 0);
    gg_expect_import_error(bad, "past the end of the file");
    CHECK(file_write_atomic(bad, img, 200, &e) == 0);
    gg_expect_import_error(bad, "truncated?");
    CHECK(file_write_atomic(bad, img, 2000, &e) == 0);
    gg_expect_import_error(bad, "truncated in");
    CHECK(file_write_atomic(bad, img, 10, &e) == 0);
    gg_expect_import_error(bad, "truncated");
    /* bad magic */
    img[0] = 'X';
    CHECK(file_write_atomic(bad, img, n, &e) == 0);
    gg_expect_import_error(bad, "bad magic");
    img[0] = 'G';
    /* another architecture: same length, so the rest still parses */
    char *arch = memmem(img, n, "deepseek2", 9);
    CHECK(arch);
    memcpy(arch, "deepseek9", 9);
    CHECK(file_write_atomic(bad, img, n, &e) == 0);
    gg_expect_import_error(bad, "'general.architecture': 'deepseek9' is not supported");
    memcpy(arch, "deepseek2", 9);
    free(img);

    /* a tensor missing, mis-shaped, of an unsupported type */
    GgufWriter w;
    gguf_writer_init(&w);
    CHECK(gguf_model_add(&w, &m, GGML_TYPE_F32, "t", &e) == 0);
    int k = -1;
    for (int i = 0; i < w.n_tensors; i++) if (!strcmp(w.t[i].name, "blk.1.attn_v_b.weight")) k = i;
    CHECK(k >= 0);
    GgufWTensor saved = w.t[k];
    w.t[k] = w.t[w.n_tensors - 1];
    w.n_tensors--;
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "tensor 'blk.1.attn_v_b.weight' is missing");
    w.t[w.n_tensors++] = w.t[k];
    w.t[k] = saved;
    w.t[k].ne[1] -= 1;   /* one row of Dv fewer */
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "tensor 'blk.1.attn_v_b.weight': dims {32, 15, 4}, expected {32, 16, 4}");
    w.t[k].ne[1] += 1;
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    img = file_read_all(bad, &n, &e);
    /* the tensor info of attn_v_b: name, n_dims, dims, then its type; make it Q4_K (12) */
    char *ti = memmem(img, n, "blk.1.attn_v_b.weight", 21);
    CHECK(ti);
    uint32_t q4k = 12;
    memcpy(ti + 21 + 4 + 3 * 8, &q4k, 4);
    CHECK(file_write_atomic(bad, img, n, &e) == 0);
    gg_expect_import_error(bad, "tensor 'blk.1.attn_v_b.weight': ggml type 12 (Q4_K) is not supported");
    free(img);
    gguf_writer_free(&w);
    model_free(&m);

    /* export refuses what llama.cpp would compute differently */
    char *cfg = xstrdup(GG_CFG_QLORA_YARN);
    char *ms = strstr(cfg, "\"mscale\":1.0");
    memcpy(ms, "\"mscale\":0.7", 12);
    const char *dir = tu_path(g_tmp, "mscale");
    EXPECT(gg_save_model(dir, cfg, 1) == 0);
    StrBuf o = {0};
    EXPECT(tu_runf(&o, "%s export gguf --model %s --out %s", tu_r1_bin(), dir, tu_path(g_tmp, "x.gguf")) != 0 &&
           strstr(o.s, "rope_scaling.mscale"));
    sb_free(&o);
    free(cfg);
}

int main(void) {
    CHECK(mkdtemp(g_tmp));
    RUN(test_roundtrip_values_and_types);
    RUN(test_q8_0_rounding);
    RUN(test_export_import_params);
    RUN(test_cli_logits_same);
    RUN(test_tokenizer_keys);
    RUN(test_tokenizer_from_gguf);
    RUN(test_bad_files);
    return tu_finish(g_tmp);
}
