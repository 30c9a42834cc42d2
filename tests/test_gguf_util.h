/* Shared by the GGUF tests: small DeepSeek-V3, llama and qwen2 configs that exercise what
 * llama.cpp's deepseek2, llama and qwen2 must get right, and random model folders whose norms and
 * biases are not the init values (1 and 0), so a swapped norm, a dropped bias or a bias left
 * unpermuted changes the logits. Include after test_util.h. */
#ifndef R1_TESTS_TEST_GGUF_UTIL_H
#define R1_TESTS_TEST_GGUF_UTIL_H

#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/gguf_model.h"
#include "model/model_io.h"
#include "tokenizer/tokenizer.h"

/* q-LoRA, YaRN (mscale = mscale_all_dim = 1), one leading dense layer, group-limited noaux_tc
 * routing (4 groups, 2 kept), one MTP module (left out of the export). */
static const char *const GG_CFG_QLORA_YARN =
    "{\"model_type\":\"deepseek_v3\",\"vocab_size\":128,\"hidden_size\":64,\"num_hidden_layers\":2,"
    "\"first_k_dense_replace\":1,\"intermediate_size\":96,\"num_attention_heads\":2,\"q_lora_rank\":32,"
    "\"kv_lora_rank\":32,\"qk_nope_head_dim\":32,\"qk_rope_head_dim\":16,\"v_head_dim\":32,"
    "\"n_routed_experts\":8,\"n_shared_experts\":1,\"num_experts_per_tok\":3,\"moe_intermediate_size\":32,"
    "\"n_group\":4,\"topk_group\":2,\"scoring_func\":\"sigmoid\",\"topk_method\":\"noaux_tc\",\"norm_topk_prob\":true,"
    "\"routed_scaling_factor\":2.5,\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,"
    "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":16,\"beta_fast\":32.0,"
    "\"beta_slow\":1.0,\"mscale\":1.0,\"mscale_all_dim\":1.0},\"max_position_embeddings\":64,"
    "\"num_nextn_predict_layers\":1,\"initializer_range\":0.15,\"bos_token_id\":0,\"eos_token_id\":1}";

/* A single q projection, no YaRN, every layer MoE, sigmoid + bias without groups, weights not
 * normalised, two shared experts. */
static const char *const GG_CFG_PLAIN_Q =
    "{\"model_type\":\"deepseek_v3\",\"vocab_size\":96,\"hidden_size\":64,\"num_hidden_layers\":3,"
    "\"first_k_dense_replace\":0,\"num_attention_heads\":4,\"q_lora_rank\":null,"
    "\"kv_lora_rank\":32,\"qk_nope_head_dim\":16,\"qk_rope_head_dim\":8,\"v_head_dim\":16,"
    "\"n_routed_experts\":4,\"n_shared_experts\":2,\"num_experts_per_tok\":2,\"moe_intermediate_size\":32,"
    "\"n_group\":1,\"topk_group\":1,\"scoring_func\":\"sigmoid\",\"topk_method\":\"noaux_tc\",\"norm_topk_prob\":false,"
    "\"routed_scaling_factor\":1.5,\"rms_norm_eps\":1e-5,\"rope_theta\":500.0,\"max_position_embeddings\":64,"
    "\"num_nextn_predict_layers\":0,\"initializer_range\":0.15,\"bos_token_id\":0,\"eos_token_id\":1}";

/* DeepSeek-V2 routing: softmax scores, plain top-k, no bias. */
static const char *const GG_CFG_SOFTMAX =
    "{\"model_type\":\"deepseek_v3\",\"vocab_size\":80,\"hidden_size\":32,\"num_hidden_layers\":2,"
    "\"first_k_dense_replace\":1,\"intermediate_size\":64,\"num_attention_heads\":2,\"q_lora_rank\":16,"
    "\"kv_lora_rank\":16,\"qk_nope_head_dim\":8,\"qk_rope_head_dim\":8,\"v_head_dim\":8,"
    "\"n_routed_experts\":6,\"n_shared_experts\":1,\"num_experts_per_tok\":2,\"moe_intermediate_size\":16,"
    "\"n_group\":1,\"topk_group\":1,\"scoring_func\":\"softmax\",\"topk_method\":\"greedy\",\"norm_topk_prob\":false,"
    "\"routed_scaling_factor\":1.0,\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,\"max_position_embeddings\":64,"
    "\"num_nextn_predict_layers\":0,\"initializer_range\":0.15,\"bos_token_id\":0,\"eos_token_id\":1}";

/* llama: GQA (4 query heads on 2 key/value heads), head_dim 24 != D/H, biases on q/k/v/o, llama3
 * RoPE scaling whose band [L0/high, L0/low] holds two of the 12 frequencies, untied lm_head. */
static const char *const GG_CFG_LLAMA =
    "{\"model_type\":\"llama\",\"vocab_size\":96,\"hidden_size\":64,\"intermediate_size\":96,"
    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":24,"
    "\"attention_bias\":true,\"tie_word_embeddings\":false,\"rms_norm_eps\":1e-5,\"rope_theta\":10000.0,"
    "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
    "\"original_max_position_embeddings\":1024},\"max_position_embeddings\":4096,\"initializer_range\":0.15,"
    "\"bos_token_id\":0,\"eos_token_id\":1}";

/* llama: one key/value head, no biases, tied embeddings, Llama-3.1's RoPE base and scaling. */
static const char *const GG_CFG_LLAMA_TIED =
    "{\"model_type\":\"llama\",\"vocab_size\":80,\"hidden_size\":48,\"intermediate_size\":64,"
    "\"num_hidden_layers\":2,\"num_attention_heads\":3,\"num_key_value_heads\":1,"
    "\"attention_bias\":false,\"tie_word_embeddings\":true,\"rms_norm_eps\":1e-5,\"rope_theta\":500000.0,"
    "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
    "\"original_max_position_embeddings\":64},\"max_position_embeddings\":512,\"initializer_range\":0.15,"
    "\"bos_token_id\":0,\"eos_token_id\":1}";

/* qwen2 (R1-Distill-Qwen's shape): q/k/v biases, GQA, untied lm_head. */
static const char *const GG_CFG_QWEN2 =
    "{\"model_type\":\"qwen2\",\"vocab_size\":96,\"hidden_size\":64,\"intermediate_size\":128,"
    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"tie_word_embeddings\":false,"
    "\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,\"max_position_embeddings\":256,\"use_sliding_window\":false,"
    "\"sliding_window\":4096,\"max_window_layers\":2,\"initializer_range\":0.15,\"bos_token_id\":0,\"eos_token_id\":1}";

/* qwen2 with tied embeddings, 6 query heads on 2 key/value heads (R1-Distill-Qwen-1.5B ties). */
static const char *const GG_CFG_QWEN2_TIED =
    "{\"model_type\":\"qwen2\",\"vocab_size\":72,\"hidden_size\":48,\"intermediate_size\":64,"
    "\"num_hidden_layers\":3,\"num_attention_heads\":6,\"num_key_value_heads\":2,\"tie_word_embeddings\":true,"
    "\"rms_norm_eps\":1e-6,\"rope_theta\":1000000.0,\"max_position_embeddings\":256,\"initializer_range\":0.15,"
    "\"bos_token_id\":0,\"eos_token_id\":1}";

/* The Qwen3 and Llama-3.1 tokenizers (the pruned tokenizer.json fixtures, real ids) on tiny
 * models of their families with the real vocabulary sizes, and the special tokens of their
 * tokenizer_config.json; HF's ids and decoded texts of families_corpus.json. */
typedef struct GgFamily {
    const char *name, *pre, *model_cfg, *tok_cfg, *tokenizer, *expected;
    int normalizes;
} GgFamily;

static const GgFamily GG_FAMILIES[2] = {
    {"qwen3", "qwen2",
     "{\"model_type\":\"qwen2\",\"vocab_size\":151936,\"hidden_size\":16,\"intermediate_size\":16,\"num_hidden_layers\":1,"
     "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"tie_word_embeddings\":true,\"max_position_embeddings\":64,"
     "\"bos_token_id\":151643,\"eos_token_id\":151645}",
     "{\"bos_token\": null, \"eos_token\": \"<|im_end|>\", \"pad_token\": \"<|endoftext|>\"}",
     "tests/fixtures/tokenizer/qwen3_pruned.tokenizer.json", "tests/fixtures/tokenizer/qwen3_expected.json", 1},
    {"llama3_1", "llama-bpe",
     "{\"model_type\":\"llama\",\"vocab_size\":128256,\"hidden_size\":16,\"intermediate_size\":16,\"num_hidden_layers\":1,"
     "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"tie_word_embeddings\":true,\"max_position_embeddings\":64,"
     "\"bos_token_id\":128000,\"eos_token_id\":128009}",
     "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|eot_id|>\", \"pad_token\": null}",
     "tests/fixtures/tokenizer/llama3_1_pruned.tokenizer.json", "tests/fixtures/tokenizer/llama3_1_expected.json", 0},
};

/* A model folder of family f with its tokenizer.json and tokenizer_config.json. */
static TU_UNUSED int gg_family_folder(const char *dir, int f) {
    if (tu_save_model(dir, GG_FAMILIES[f].model_cfg, 1)) return -1;
    tu_put(tu_path(dir, "tokenizer_config.json"), GG_FAMILIES[f].tok_cfg);
    StrBuf o = {0};
    int rc = tu_runf(&o, "cp %s %s/tokenizer.json", GG_FAMILIES[f].tokenizer, dir);
    sb_free(&o);
    return rc;
}

/* RMSNorm gains 1 + N(0, 0.2²), router and Linear biases N(0, 0.3²) instead of the init values. */
static TU_UNUSED void gg_spread_norms(Model *m, uint64_t seed) {
    for (int i = 0; i < m->table.n; i++) {
        const ParamInfo *p = &m->table.t[i];
        if (p->kind != PARAM_NORM && p->kind != PARAM_ROUTER_BIAS && p->kind != PARAM_BIAS) continue;
        float *r = tu_randn(seed, 1000 + (uint64_t)i, p->numel, p->kind == PARAM_NORM ? 0.2f : 0.3f);
        for (size_t k = 0; k < p->numel; k++) m->params[p->offset + k] = (p->kind == PARAM_NORM ? 1 : 0) + r[k];
        free(r);
    }
}

/* A random model folder (param_init(seed)) with spread norms and biases. */
static TU_UNUSED int gg_save_model(const char *dir, const char *cfg_json, uint64_t seed) {
    return tu_save_model_with(dir, cfg_json, seed, gg_spread_norms);
}

/* `r1 logits` of a model (folder or .gguf) over ids[0..n): logits [n, V] (caller frees), NULL on
 * failure (reason printed). */
static TU_UNUSED float *gg_r1_logits(const char *model, const int *ids, int n, const char *tmp, int *V) {
    char toks[4096] = "";
    size_t k = 0;
    for (int i = 0; i < n; i++) k += (size_t)snprintf(toks + k, sizeof toks - k, "%s%d", i ? "," : "", ids[i]);
    StrBuf o = {0};
    const char *out = tu_path(tmp, "logits.safetensors");
    int rc = tu_runf(&o, "%s logits --model %s --tokens %s --out %s --threads 1", tu_r1_bin(), model, toks, out);
    if (rc) { printf("  r1 logits: %s\n", o.s); sb_free(&o); return NULL; }
    sb_free(&o);
    Safetensors st;
    Err e = {0};
    float *x = NULL;
    if (st_open_file(&st, out, &e) == 0) {
        const StTensor *t = st_find(&st, "logits");
        if (t && t->ndim == 2 && t->shape[0] == n) {
            x = malloc(t->numel * sizeof *x);
            *V = (int)t->shape[1];
            if (st_read(&st, t, x, ST_F32, &e)) { free(x); x = NULL; }
        }
    }
    st_free(&st);
    if (!x) printf("  reading %s: %s\n", out, e.msg);
    return x;
}

/* Softmax of one row in double. */
static TU_UNUSED void gg_softmax(const float *z, int V, double *p) {
    double mx = -INFINITY, s = 0;
    for (int i = 0; i < V; i++) mx = z[i] > mx ? z[i] : mx;
    for (int i = 0; i < V; i++) s += p[i] = exp(z[i] - mx);
    for (int i = 0; i < V; i++) p[i] /= s;
}

/* The model folder gg_save_model(cfg, seed) under tmp exported to path (library calls, no
 * tokenizer); m stays loaded for comparisons. */
static TU_UNUSED void gg_export_to(const char *tmp, const char *cfg, uint64_t seed, GgmlType type, const char *path, Model *m) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/src-%llu", tmp, (unsigned long long)seed);
    CHECK(gg_save_model(dir, cfg, seed) == 0);
    Err e = {0};
    CHECK(model_load_dir(m, dir, &e) == 0);
    GgufWriter w;
    gguf_writer_init(&w);
    EXPECTF(gguf_model_add(&w, m, type, "t", &e) == 0, "%s", e.msg);
    EXPECTF(gguf_writer_write(&w, path, &e) == 0, "%s", e.msg);
    gguf_writer_free(&w);
}

/* Import of an export: f32 bit for bit; f16/bf16 every weight is its rounding; q8_0 within half a
 * step of its block (bounded by the tensor's max|x|/254 plus the f16 scale's rounding); 1-D
 * tensors and the router stay f32 exactly. */
static TU_UNUSED void gg_check_params(const Model *a, const Model *b, GgmlType type) {
    EXPECT(b->cfg.num_hidden_layers == a->cfg.num_hidden_layers && b->cfg.num_nextn_predict_layers == 0);
    for (int i = 0; i < b->table.n; i++) {
        const ParamInfo *pb = &b->table.t[i], *pa = param_find(&a->table, pb->name);
        EXPECTF(pa && pa->numel == pb->numel, "%s", pb->name);
        if (!pa) continue;
        const real *x = a->params + pa->offset, *y = b->params + pb->offset;
        int exact = type == GGML_TYPE_F32 || pa->ndim == 1 || strstr(pa->name, "mlp.gate.weight");
        double amax = 0;
        for (size_t k = 0; k < pa->numel; k++) amax = fmax(amax, fabs(x[k]));
        int bad = 0;
        for (size_t k = 0; k < pa->numel && !bad; k++) {
            float xf = (float)x[k];
            if (exact) bad = y[k] != x[k];
            else if (type == GGML_TYPE_F16) bad = y[k] != st_f16_to_f32(st_f32_to_f16(xf));
            else if (type == GGML_TYPE_BF16) bad = y[k] != st_bf16_to_f32(st_f32_to_bf16(xf));
            else bad = !(fabs(y[k] - x[k]) <= amax / 254 * (1 + 1e-6) + amax / 2048 ||
                         y[k] == st_f16_to_f32(st_f32_to_f16(xf)));   /* rows not a multiple of 32: f16 */
        }
        EXPECTF(!bad, "%s differs beyond the rounding of type %s", pa->name, gguf_type_name(type));
    }
}

/* Loading path must fail with one line naming the file and containing `what`. */
static TU_UNUSED void gg_expect_import_error(const char *path, const char *what) {
    Model m;
    Err e = {0};
    int rc = model_load_gguf(&m, path, &e);
    EXPECTF(rc != 0 && strstr(e.msg, path) && strstr(e.msg, what) && !strchr(e.msg, '\n'), "want '%s', got: %s", what, e.msg);
    if (rc == 0) model_free(&m);
}

/* The texts of corpus (a JSON array) whose ids from tok differ from want's (an array of id
 * arrays); the first few are named. */
static TU_UNUSED int gg_encode_differing(Tokenizer *tok, const cJSON *corpus, const cJSON *want, const char *label) {
    int bad = 0, n = cJSON_GetArraySize(corpus);
    for (int i = 0; i < n; i++) {
        const char *text = cJSON_GetArrayItem(corpus, i)->valuestring;
        TokIds ids = {0};
        Err e = {0};
        EXPECTF(tokenizer_encode(tok, text, strlen(text), &ids, &e) == 0, "%s", e.msg);
        if (!tu_ids_match(cJSON_GetArrayItem(want, i), &ids) && bad++ < 3) printf("  %s: text %d differs\n", label, i);
        tokids_free(&ids);
    }
    return bad;
}

/* gg_export_to into path, then the file loaded back into b and checked against a
 * (gg_check_params). 0 with both models held; -1 (the failure counted) with only a held. */
static TU_UNUSED int gg_roundtrip(const char *tmp, const char *cfg, uint64_t seed, GgmlType type, const char *path,
                                  Model *a, Model *b) {
    gg_export_to(tmp, cfg, seed, type, path, a);
    Err e = {0};
    int rc = model_load_gguf(b, path, &e);
    EXPECTF(rc == 0, "%s", e.msg);
    if (rc == 0) gg_check_params(a, b, type);
    return rc;
}

#endif
