/* GGUF for the dense families (llama, qwen2) without llama.cpp: export -> import gives the same
 * parameters (llama's q/k row permutation undone for weights and biases; f16/bf16/q8_0 within
 * their rounding) and config (GQA, head_dim, biases, tied embeddings, the llama3 RoPE scaling
 * recovered from rope_freqs.weight), `r1 logits` on the file is `r1 logits` on the folder, the
 * llama3 fit on its own, the Qwen3 and Llama-3.1 tokenizers through the tokenizer.ggml keys, and
 * one-line errors for what cannot be exported or read. */
#include "test.h"
#include "test_util.h"
#include "test_gguf_util.h"

#include "model/gguf_arch.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

static char g_tmp[] = "/tmp/r1gguf-dense.XXXXXX";

/* θ_j of a config after its scaling. */
static void inv_freq_of(const ModelConfig *c, double *f) {
    RopeParams p = config_rope_params(c);
    rope_inv_freq(f, &p);
}

static void test_export_import_params(void) {
    GgmlType types[4] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0};
    const char *cfgs[4] = {GG_CFG_LLAMA, GG_CFG_LLAMA_TIED, GG_CFG_QWEN2, GG_CFG_QWEN2_TIED};
    char path[400];
    for (int c = 0; c < 4; c++)
        for (int t = 0; t < 4; t++) {
            Model a, b;
            snprintf(path, sizeof path, "%s/p%d-%d.gguf", g_tmp, c, t);
            if (gg_roundtrip(g_tmp, cfgs[c], 40 + (uint64_t)c, types[t], path, &a, &b) == 0) {
                const ModelConfig *x = &a.cfg, *y = &b.cfg;
                EXPECTF(x->model_type == y->model_type && x->num_attention_heads == y->num_attention_heads &&
                        x->num_key_value_heads == y->num_key_value_heads && x->head_dim == y->head_dim &&
                        x->hidden_size == y->hidden_size && x->intermediate_size == y->intermediate_size &&
                        x->attention_bias == y->attention_bias && x->tie_word_embeddings == y->tie_word_embeddings &&
                        x->max_position_embeddings == y->max_position_embeddings && x->rope_theta == y->rope_theta &&
                        x->rope_scaling.kind == y->rope_scaling.kind && fabs(x->rms_norm_eps - y->rms_norm_eps) < 1e-9 &&
                        x->bos_token_id == y->bos_token_id && x->eos_token_id == y->eos_token_id, "config %d differs", c);
                double fx[64], fy[64];
                inv_freq_of(x, fx);
                inv_freq_of(y, fy);
                for (int j = 0; j < x->head_dim / 2; j++) EXPECTF(fabs(fx[j] - fy[j]) <= 2e-6 * fx[j], "config %d: θ_%d", c, j);
                if (c == 0) {   /* two frequencies in the band: the released form comes back exactly */
                    const RopeScaling *r = &y->rope_scaling;
                    EXPECTF(r->factor == 8 && r->low_freq_factor == 1 && r->high_freq_factor == 4 &&
                            r->original_max_position_embeddings == 1024, "llama3: %g %g %g %d", r->factor,
                            r->low_freq_factor, r->high_freq_factor, r->original_max_position_embeddings);
                }
                model_free(&b);
            }
            model_free(&a);
        }
}

/* `r1 logits` on the .gguf is `r1 logits` on the folder, bit for bit (f32; the llama3 scaling
 * recovered in its released form gives the same RoPE tables). */
static void test_cli_logits_same(void) {
    const char *cfgs[2] = {GG_CFG_LLAMA, GG_CFG_QWEN2_TIED};
    for (int c = 0; c < 2; c++) {
        char dir[400], gguf[400];
        snprintf(dir, sizeof dir, "%s/cli%d", g_tmp, c);
        snprintf(gguf, sizeof gguf, "%s/cli%d.gguf", g_tmp, c);
        EXPECT(gg_save_model(dir, cfgs[c], 7 + (uint64_t)c) == 0);
        StrBuf o = {0};
        int rc = tu_runf(&o, "%s export gguf --model %s --out %s", tu_r1_bin(), dir, gguf);
        EXPECTF(rc == 0 && strstr(o.s, c ? ": qwen2," : ": llama,"), "export: %s", o.s);
        sb_free(&o);
        int ids[7] = {3, 1, 4, 1, 5, 9, 2}, V1 = 0, V2 = 0;
        float *a = gg_r1_logits(dir, ids, 7, g_tmp, &V1);
        float *b = gg_r1_logits(gguf, ids, 7, g_tmp, &V2);
        EXPECTF(a && b && V1 == V2 && tu_same_bits(a, b, (size_t)7 * V1), "config %d: logits differ", c);
        free(a);
        free(b);
    }
}

/* The divisors of a llama3 config, then the fit: it must reproduce them, and give the released
 * parameters back when low_freq_factor is 1 and two or more frequencies fall inside the band. */
static void check_fit(int dim, double theta, double s, int L0, double lo, double hi) {
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.model_type = MODEL_LLAMA;
    c.head_dim = dim;
    c.rope_theta = theta;
    c.rope_scaling = (RopeScaling){.kind = ROPE_SCALING_LLAMA3, .factor = s, .original_max_position_embeddings = L0,
                                   .low_freq_factor = lo, .high_freq_factor = hi};
    float ff[512];
    gguf_rope_factors(&c, ff);
    int in_band = 0;
    for (int j = 0; j < dim / 2; j++) in_band += ff[j] > 1 + 1e-5 && ff[j] < s * (1 - 1e-5);
    RopeScaling r;
    int rc = gguf_rope_fit_llama3(ff, dim, theta, &r);
    EXPECTF(rc == 0, "dim %d theta %g s %g L0 %d: no fit", dim, theta, s, L0);
    if (rc) return;
    if (s == 1) { EXPECT(r.kind == ROPE_SCALING_NONE); return; }
    ModelConfig d = c;
    d.rope_scaling = r;
    float gg[512];
    gguf_rope_factors(&d, gg);
    for (int j = 0; j < dim / 2; j++) EXPECTF(fabsf(gg[j] - ff[j]) <= 2e-6f * ff[j], "dim %d L0 %d: divisor %d", dim, L0, j);
    if (in_band >= 2 && lo == 1)
        EXPECTF(r.factor == s && r.low_freq_factor == lo && r.high_freq_factor == hi && r.original_max_position_embeddings == L0,
                "dim %d L0 %d: got %g %g %g %d", dim, L0, r.factor, r.low_freq_factor, r.high_freq_factor,
                r.original_max_position_embeddings);
}

static void test_llama3_fit(void) {
    check_fit(128, 500000, 8, 8192, 1, 4);   /* Llama 3.1 / 3.2 */
    check_fit(128, 500000, 32, 8192, 1, 4);  /* Llama 3.2 1B/3B */
    const int dims[4] = {8, 16, 24, 64}, L0s[4] = {16, 64, 1024, 8192};
    const double thetas[2] = {10000, 500000}, bands[3][2] = {{1, 4}, {0.5, 2}, {1, 1.5}};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 4; k++)
                for (int m = 0; m < 3; m++) check_fit(dims[a], thetas[b], 4, L0s[k], bands[m][0], bands[m][1]);
    check_fit(16, 10000, 1, 64, 1, 4);
    /* divisors no llama3 rule gives: falling with the wavelength, below 1, not finite */
    float bad[3][4] = {{1, 3, 2, 8}, {1, 0.5f, 2, 8}, {1, 1, NAN, 8}};
    RopeScaling r;
    for (int i = 0; i < 3; i++) EXPECTF(gguf_rope_fit_llama3(bad[i], 8, 10000, &r) != 0, "bad divisors %d accepted", i);
}

/* Export refuses what llama.cpp's llama and qwen2 would compute differently. */
static void expect_refused(const char *cfg, const char *want) {
    const char *dir = tu_path(g_tmp, "refused"), *out = tu_path(g_tmp, "refused.gguf");
    EXPECT(gg_save_model(dir, cfg, 1) == 0);
    StrBuf o = {0};
    int rc = tu_runf(&o, "%s export gguf --model %s --out %s", tu_r1_bin(), dir, out);
    EXPECTF(rc != 0 && strstr(o.s, want) && strchr(o.s, '\n') == strrchr(o.s, '\n') && !file_exists(out), "want '%s': %s", want, o.s);
    sb_free(&o);
}

static void test_export_refusals(void) {
    expect_refused("{\"model_type\":\"llama\",\"vocab_size\":64,\"hidden_size\":32,\"intermediate_size\":32,"
                   "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"rope_scaling\":{\"rope_type\":\"yarn\","
                   "\"factor\":4.0,\"original_max_position_embeddings\":32},\"max_position_embeddings\":128}",
                   "key 'rope_scaling.type': yarn");
    expect_refused("{\"model_type\":\"qwen2\",\"vocab_size\":64,\"hidden_size\":32,\"intermediate_size\":32,"
                   "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"head_dim\":8,\"max_position_embeddings\":128}",
                   "key 'head_dim'");
    expect_refused("{\"model_type\":\"qwen2\",\"vocab_size\":64,\"hidden_size\":32,\"intermediate_size\":32,"
                   "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"rope_scaling\":{\"rope_type\":\"llama3\","
                   "\"factor\":4.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":32},\"max_position_embeddings\":128}",
                   "llama3 scaling is not exported for qwen2");
}

static int find_tensor(const GgufWriter *w, const char *name) {
    for (int i = 0; i < w->n_tensors; i++) if (!strcmp(w->t[i].name, name)) return i;
    CHECKF(0, "no tensor %s", name);
    return -1;
}

/* Errors on import name the file and the key or tensor, in one line. */
static void test_bad_files(void) {
    Model q, l;
    const char *good = tu_path(g_tmp, "q.gguf"), *bad = tu_path(g_tmp, "bad.gguf");
    gg_export_to(g_tmp, GG_CFG_QWEN2, 50, GGML_TYPE_F32, good, &q);
    Err e = {0};
    size_t n;
    char *img = file_read_all(good, &n, &e);
    CHECK(img);
    char *arch = memmem(img, n, "qwen2", 5);   /* general.architecture's value comes first */
    memcpy(arch, "qwen3", 5);
    CHECK(file_write_atomic(bad, img, n, &e) == 0);
    gg_expect_import_error(bad, "'general.architecture': 'qwen3' is not supported");
    free(img);

    GgufWriter w;
    gguf_writer_init(&w);
    CHECK(gguf_model_add(&w, &q, GGML_TYPE_F32, "t", &e) == 0);
    int k = find_tensor(&w, "blk.1.attn_k.bias");
    GgufWTensor saved = w.t[k];
    w.t[k] = w.t[--w.n_tensors];
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "tensor 'blk.1.attn_k.bias' is missing (model.layers.1.self_attn.k_proj.bias)");
    w.t[w.n_tensors++] = w.t[k];
    w.t[k] = saved;
    k = find_tensor(&w, "blk.0.attn_v.weight");
    w.t[k].ne[1] /= 2;
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "tensor 'blk.0.attn_v.weight': dims {64, 16}, expected {64, 32}");
    w.t[k].ne[1] *= 2;
    static float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int64_t ne8[1] = {8};
    gguf_w_tensor(&w, "rope_freqs.weight", 1, ne8, GGML_TYPE_F32, ones, 0);
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "tensor 'rope_freqs.weight' is not used by the qwen2 model");
    free(w.t[--w.n_tensors].name);   /* the added tensor taken off again */
    gguf_w_u32(&w, "qwen2.expert_count", 4);
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "key 'qwen2.expert_count'");
    gguf_writer_free(&w);

    gg_export_to(g_tmp, GG_CFG_LLAMA, 51, GGML_TYPE_F32, good, &l);
    gguf_writer_init(&w);
    CHECK(gguf_model_add(&w, &l, GGML_TYPE_F32, "t", &e) == 0);
    k = find_tensor(&w, "rope_freqs.weight");
    float *ff = (float *)w.t[k].src;
    float keep = ff[0];
    ff[0] = ff[11] * 2;   /* the highest frequency divided more than the lowest */
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gg_expect_import_error(bad, "tensor 'rope_freqs.weight': no llama3 RoPE scaling");
    ff[0] = keep;
    CHECK(gguf_writer_write(&w, bad, &e) == 0);
    gguf_writer_free(&w);
    img = file_read_all(bad, &n, &e);
    CHECK(img);
    char *key = memmem(img, n, "llama.attention.value_length", 28);   /* then its u32 type and value */
    CHECK(key);
    uint32_t twelve = 12;
    memcpy(key + 28 + 4, &twelve, 4);
    CHECK(file_write_atomic(bad, img, n, &e) == 0);
    gg_expect_import_error(bad, "key 'llama.attention.value_length': 12 differs from key_length 24");
    free(img);
    model_free(&q);
    model_free(&l);
}

/* The Qwen3 and Llama-3.1 tokenizer.json files (pruned, same ids) go into the file with the
 * pre-tokenizer names llama.cpp knows, and read back from its keys encode the families corpus as
 * Hugging Face does (the Qwen tokenizer with its NFC normalizer). */
static void test_family_tokenizers(void) {
    char *cs = tu_slurp("tests/fixtures/tokenizer/families_corpus.json");
    cJSON *corpus = cJSON_Parse(cs);
    for (int f = 0; f < 2; f++) {
        const GgFamily *fam = &GG_FAMILIES[f];
        char dir[400], gguf[400];
        snprintf(dir, sizeof dir, "%s/fam%d", g_tmp, f);
        snprintf(gguf, sizeof gguf, "%s/fam%d.gguf", g_tmp, f);
        EXPECT(gg_family_folder(dir, f) == 0);
        StrBuf o = {0};
        EXPECTF(tu_runf(&o, "%s export gguf --model %s --out %s --type q8_0", tu_r1_bin(), dir, gguf) == 0, "%s", o.s);
        sb_free(&o);
        Gguf g;
        Err e = {0};
        Tokenizer *tok = NULL;
        const char *s = "";
        size_t n = 0;
        if (gguf_open_file(&g, gguf, &e) == 0) {
            EXPECT(gguf_get_str(&g, "tokenizer.ggml.pre", 1, &s, &n, &e) == 0 && n == strlen(fam->pre) && !memcmp(s, fam->pre, n));
            tok = gguf_vocab_tokenizer(&g, &e);
        }
        gguf_free(&g);
        EXPECTF(tok != NULL, "%s: %s", fam->name, e.msg);
        char *wj = tu_slurp(fam->expected);
        cJSON *wroot = cJSON_Parse(wj), *want = cJSON_GetObjectItem(wroot, "ids");
        int total = cJSON_GetArraySize(corpus), bad = 0;
        EXPECT(total > 130 && cJSON_GetArraySize(want) == total);
        if (tok) bad = gg_encode_differing(tok, corpus, want, fam->name);
        EXPECTF(bad == 0, "%s: %d of %d texts encode differently from the .gguf's keys", fam->name, bad, total);
        EXPECTF(tok && tokenizer_bos_id(tok) == (f ? 128000 : -1) && tokenizer_eos_id(tok) == (f ? 128009 : 151645),
                "%s: bos %lld eos %lld", fam->name, (long long)tokenizer_bos_id(tok), (long long)tokenizer_eos_id(tok));
        cJSON_Delete(wroot);
        free(wj);
        tokenizer_free(tok);
    }
    cJSON_Delete(corpus);
    free(cs);
}

int main(void) {
    CHECK(mkdtemp(g_tmp));
    RUN(test_export_import_params);
    RUN(test_cli_logits_same);
    RUN(test_llama3_fit);
    RUN(test_export_refusals);
    RUN(test_bad_files);
    RUN(test_family_tokenizers);
    return tu_finish(g_tmp);
}
