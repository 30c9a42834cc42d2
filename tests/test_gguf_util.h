/* Shared by the GGUF tests: small DeepSeek-V3 configs that exercise what llama.cpp's deepseek2
 * must get right, and random model folders whose norms and router biases are not the init values
 * (1 and 0), so a swapped norm or a dropped bias changes the logits. Include after test_util.h. */
#ifndef R1_TESTS_TEST_GGUF_UTIL_H
#define R1_TESTS_TEST_GGUF_UTIL_H

#include "io/safetensors.h"

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

/* RMSNorm gains 1 + N(0, 0.2²) and router biases N(0, 0.3²) instead of the init values. */
static TU_UNUSED void gg_spread_norms(Model *m, uint64_t seed) {
    for (int i = 0; i < m->table.n; i++) {
        const ParamInfo *p = &m->table.t[i];
        if (p->kind != PARAM_NORM && p->kind != PARAM_ROUTER_BIAS) continue;
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

#endif
