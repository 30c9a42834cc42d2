/* config.json loading (src/model/config.h): every bad config is refused with one line naming the
 * key — missing key, wrong type, num_experts_per_tok > n_routed_experts, n_routed_experts not
 * divisible by n_group, topk_group > n_group, non-positive ranks, and any count or size beyond the
 * bounds (huge expert, group, layer or vocabulary counts) — both from the library and through
 * `r1 init` (env R1, default build/r1: non-zero exit, "r1: error:" line); the real DeepSeek-V3
 * config.json (deepseek-v3-architecture.md §1) loads with its values and the YaRN softmax scale
 * σ = 0.13523378; the R1-Distill students' qwen2 and llama config.json files load with theirs;
 * config_to_json round-trips all three families; the parameter tables count the 671.03 B
 * parameters of V3 (§9), the 1.78 B of R1-Distill-Qwen-1.5B and the 8.03 B of R1-Distill-Llama-8B. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "model/config.h"
#include "model/params.h"
#include "test.h"
#include "test_util.h"

/* R1's config.json, verbatim values (reference §1). */
static const char *v3_json =
    "{\"architectures\":[\"DeepseekV3ForCausalLM\"],\"model_type\":\"deepseek_v3\",\"vocab_size\":129280,"
    "\"hidden_size\":7168,\"intermediate_size\":18432,\"moe_intermediate_size\":2048,\"num_hidden_layers\":61,"
    "\"num_attention_heads\":128,\"num_key_value_heads\":128,\"n_shared_experts\":1,\"n_routed_experts\":256,"
    "\"routed_scaling_factor\":2.5,\"kv_lora_rank\":512,\"q_lora_rank\":1536,\"qk_rope_head_dim\":64,"
    "\"qk_nope_head_dim\":128,\"v_head_dim\":128,\"topk_method\":\"noaux_tc\",\"n_group\":8,\"topk_group\":4,"
    "\"num_experts_per_tok\":8,\"first_k_dense_replace\":3,\"moe_layer_freq\":1,\"norm_topk_prob\":true,"
    "\"scoring_func\":\"sigmoid\",\"aux_loss_alpha\":0.001,\"seq_aux\":true,\"ep_size\":1,\"hidden_act\":\"silu\","
    "\"rms_norm_eps\":1e-06,\"rope_theta\":10000,\"rope_scaling\":{\"type\":\"yarn\",\"factor\":40,"
    "\"original_max_position_embeddings\":4096,\"beta_fast\":32,\"beta_slow\":1,\"mscale\":1.0,\"mscale_all_dim\":1.0},"
    "\"max_position_embeddings\":163840,\"num_nextn_predict_layers\":1,\"tie_word_embeddings\":false,"
    "\"bos_token_id\":0,\"eos_token_id\":1,\"torch_dtype\":\"bfloat16\",\"quantization_config\":{\"activation_scheme\":"
    "\"dynamic\",\"fmt\":\"e4m3\",\"quant_method\":\"fp8\",\"weight_block_size\":[128,128]},\"attention_bias\":false,"
    "\"attention_dropout\":0.0,\"initializer_range\":0.02,\"pretraining_tp\":1,\"use_cache\":true,"
    "\"transformers_version\":\"4.46.3\"}";

/* DeepSeek-R1-Distill-Qwen-1.5B's config.json values (qwen2). */
static const char *qwen_1p5b_json =
    "{\"architectures\":[\"Qwen2ForCausalLM\"],\"attention_dropout\":0.0,\"bos_token_id\":151643,"
    "\"eos_token_id\":151643,\"hidden_act\":\"silu\",\"hidden_size\":1536,\"initializer_range\":0.02,"
    "\"intermediate_size\":8960,\"max_position_embeddings\":131072,\"max_window_layers\":21,"
    "\"model_type\":\"qwen2\",\"num_attention_heads\":12,\"num_hidden_layers\":28,\"num_key_value_heads\":2,"
    "\"rms_norm_eps\":1e-06,\"rope_theta\":10000,\"sliding_window\":4096,\"tie_word_embeddings\":false,"
    "\"torch_dtype\":\"bfloat16\",\"transformers_version\":\"4.44.0\",\"use_cache\":true,\"use_mrope\":false,"
    "\"use_sliding_window\":false,\"vocab_size\":151936}";

/* DeepSeek-R1-Distill-Llama-8B's config.json values (llama, Llama 3.1's RoPE scaling). */
static const char *llama_8b_json =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"attention_bias\":false,\"attention_dropout\":0.0,"
    "\"bos_token_id\":128000,\"eos_token_id\":128001,\"hidden_act\":\"silu\",\"hidden_size\":4096,"
    "\"initializer_range\":0.02,\"intermediate_size\":14336,\"max_position_embeddings\":131072,"
    "\"mlp_bias\":false,\"model_type\":\"llama\",\"num_attention_heads\":32,\"num_hidden_layers\":32,"
    "\"num_key_value_heads\":8,\"pretraining_tp\":1,\"rms_norm_eps\":1e-05,\"rope_scaling\":{\"factor\":8.0,"
    "\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,\"original_max_position_embeddings\":8192,"
    "\"rope_type\":\"llama3\"},\"rope_theta\":500000.0,\"tie_word_embeddings\":false,"
    "\"torch_dtype\":\"bfloat16\",\"transformers_version\":\"4.43.0.dev0\",\"use_cache\":true,"
    "\"vocab_size\":128256}";

/* A small valid config (the c_yarn_mtp fixture's values). */
static cJSON *small_config(void) {
    Err e;
    cJSON *j = json_load_file("tests/fixtures/model/c_yarn_mtp/config.json", &e);
    CHECKF(j != NULL, "%s", e.msg);
    return j;
}

static char tmpdir[256] = "/tmp/r1-test-config-XXXXXX";

/* Applies `edit` (key -> value JSON, or value NULL to delete) to the small config and expects
 * config_from_json to refuse it with one line mentioning `key_in_msg` and `why`; then the same
 * file through `r1 init`. */
static void expect_bad_in(cJSON *j, const char *key, const char *value_json, const char *key_in_msg,
                          const char *why) {
    cJSON_DeleteItemFromObjectCaseSensitive(j, key);
    if (value_json) cJSON_AddItemToObject(j, key, cJSON_Parse(value_json));
    ModelConfig c;
    Err e = {{0}};
    int rc = config_from_json(&c, j, "cfg.json", &e);
    EXPECTF(rc != 0, "%s = %s accepted", key, value_json ? value_json : "(missing)");
    char needle[128];
    snprintf(needle, sizeof needle, "key '%s'", key_in_msg);
    EXPECTF(rc != 0 && strstr(e.msg, needle) && strstr(e.msg, why) && !strchr(e.msg, '\n') && !strncmp(e.msg, "cfg.json: ", 10),
            "%s: message '%s' lacks %s / %s", key, e.msg, needle, why);

    char path[512], cmd[2048];
    snprintf(path, sizeof path, "%s/bad.json", tmpdir);
    EXPECT(json_save_file(j, path, &e) == 0);
    cJSON_Delete(j);
    snprintf(cmd, sizeof cmd, "%s init --config %s --seed 1 --out %s/never", tu_r1_bin(), path, tmpdir);
    StrBuf out = {0};
    int st = tu_run(cmd, &out);
    /* exactly one line: "r1: error: <file>: key '<k>': ..." */
    EXPECTF(st != 0 && !strncmp(out.s, "r1: error: ", 11) && strstr(out.s, path) && strstr(out.s, needle) &&
                strchr(out.s, '\n') == out.s + out.len - 1,
            "r1 init with %s: status %d, output '%s'", key, st, out.s);
    snprintf(path, sizeof path, "%s/never", tmpdir);
    EXPECT(!file_exists(path));
    sb_free(&out);
}

static void expect_bad(const char *key, const char *value_json, const char *key_in_msg, const char *why) {
    expect_bad_in(small_config(), key, value_json, key_in_msg, why);
}

static void test_bad_configs(void) {
    expect_bad("hidden_size", NULL, "hidden_size", "missing");
    expect_bad("q_lora_rank", NULL, "q_lora_rank", "missing");
    expect_bad("num_attention_heads", "\"2\"", "num_attention_heads", "integer");
    expect_bad("norm_topk_prob", "1", "norm_topk_prob", "true or false");
    expect_bad("rms_norm_eps", "\"1e-6\"", "rms_norm_eps", "number");
    expect_bad("hidden_size", "32.5", "hidden_size", "integer");
    expect_bad("num_experts_per_tok", "9", "num_experts_per_tok", "n_routed_experts=8");
    expect_bad("n_group", "3", "n_group", "divide n_routed_experts");
    expect_bad("topk_group", "5", "topk_group", "n_group=4");
    expect_bad("kv_lora_rank", "0", "kv_lora_rank", "1..65536");
    expect_bad("kv_lora_rank", "-16", "kv_lora_rank", "1..65536");
    expect_bad("q_lora_rank", "0", "q_lora_rank", "> 0 or null");
    expect_bad("q_lora_rank", "-3", "q_lora_rank", "> 0 or null");
    expect_bad("qk_rope_head_dim", "7", "qk_rope_head_dim", "even");
    expect_bad("v_head_dim", "0", "v_head_dim", "1..1024");
    expect_bad("moe_intermediate_size", "0", "moe_intermediate_size", "1..65536");
    expect_bad("topk_method", "\"best\"", "topk_method", "unknown");
    expect_bad("scoring_func", "\"relu\\nsecond line\"", "scoring_func", "relu?second");
    expect_bad("rope_scaling", "{\"type\":\"yarn\",\"factor\":4}", "original_max_position_embeddings", "rope_scaling: key");
    expect_bad("rope_scaling", "{\"rope_type\":\"llama3\",\"factor\":8}", "rope_scaling.type", "only \"yarn\")");
    expect_bad("model_type", "\"mixtral\"", "model_type", "not supported");
    expect_bad("eos_token_id", "64", "eos_token_id", "vocabulary");
    expect_bad("eos_token_id", "[1, 64]", "eos_token_id", "vocabulary");
    /* every count and size is bounded: one line naming the key, never an abort further down */
    expect_bad("n_routed_experts", "1000000", "n_routed_experts", "0..4096");
    expect_bad("n_group", "1048576", "n_group", "<= 256");
    expect_bad("num_experts_per_tok", "100000000", "num_experts_per_tok", "n_routed_experts=8");
    expect_bad("n_shared_experts", "2000000000", "n_shared_experts", "0..");
    expect_bad("vocab_size", "2000000000", "vocab_size", "1..4194304");
    expect_bad("hidden_size", "1000000", "hidden_size", "1..65536");
    expect_bad("num_hidden_layers", "100000", "num_hidden_layers", "1..1024");
    expect_bad("num_attention_heads", "70000", "num_attention_heads", "1..1024");
    expect_bad("qk_nope_head_dim", "5000", "qk_nope_head_dim", "1..1024");
    expect_bad("intermediate_size", "2000000000", "intermediate_size", "0..262144");
    expect_bad("max_position_embeddings", "2000000000", "max_position_embeddings", "1..2097152");
    expect_bad("num_nextn_predict_layers", "1000", "num_nextn_predict_layers", "0..64");
    expect_bad("first_k_dense_replace", "2000000000", "first_k_dense_replace", "0..");
    expect_bad("rope_theta", "1e999", "rope_theta", "finite");
    expect_bad("rms_norm_eps", "2", "rms_norm_eps", "(0, 1)");
    expect_bad("routed_scaling_factor", "1e300", "routed_scaling_factor", "(0, 1e6]");
    expect_bad("rope_scaling", "{\"type\":\"yarn\",\"factor\":1e300,\"original_max_position_embeddings\":16}",
               "rope_scaling.factor", "1..1e6");
    /* not JSON at all / not an object */
    Err e = {{0}};
    ModelConfig c;
    cJSON *arr = cJSON_Parse("[1]");
    EXPECT(config_from_json(&c, arr, "cfg.json", &e) != 0 && strstr(e.msg, "object"));
    cJSON_Delete(arr);
    char path[512];
    snprintf(path, sizeof path, "%s/broken.json", tmpdir);
    EXPECT(file_write_atomic(path, "{\"vocab_size\": 3,", 17, &e) == 0);
    EXPECT(config_load(&c, path, &e) != 0 && strstr(e.msg, path) && strstr(e.msg, "invalid JSON"));
}

static cJSON *small_dense(const char *fixture) {
    char p[256];
    snprintf(p, sizeof p, "tests/fixtures/model/%s/config.json", fixture);
    Err e;
    cJSON *j = json_load_file(p, &e);
    CHECKF(j != NULL, "%s", e.msg);
    return j;
}

static void test_bad_dense_configs(void) {
    expect_bad_in(small_dense("e_qwen2"), "num_key_value_heads", "5", "num_key_value_heads", "1..4");
    expect_bad_in(small_dense("d_llama"), "num_key_value_heads", "3", "num_key_value_heads", "divide num_attention_heads=4");
    expect_bad_in(small_dense("d_llama"), "head_dim", "7", "head_dim", "even");
    expect_bad_in(small_dense("d_llama"), "head_dim", "100000", "head_dim", "<= 1024");
    expect_bad_in(small_dense("e_qwen2"), "num_attention_heads", "5", "num_attention_heads", "divide hidden_size=32");
    expect_bad_in(small_dense("e_qwen2"), "use_sliding_window", "true", "use_sliding_window", "not supported");
    expect_bad_in(small_dense("d_llama"), "mlp_bias", "true", "mlp_bias", "not supported");
    expect_bad_in(small_dense("e_qwen2"), "intermediate_size", NULL, "intermediate_size", "missing");
    expect_bad_in(small_dense("e_qwen2"), "intermediate_size", "0", "intermediate_size", "1..262144");
    expect_bad_in(small_dense("d_llama"), "rope_scaling", "{\"rope_type\":\"dynamic\",\"factor\":2}",
                  "rope_scaling.type", "not supported");
    expect_bad_in(small_dense("d_llama"), "rope_scaling",
                  "{\"rope_type\":\"llama3\",\"factor\":8,\"original_max_position_embeddings\":64,"
                  "\"low_freq_factor\":4,\"high_freq_factor\":1}", "rope_scaling.high_freq_factor", "exceed");
    expect_bad_in(small_dense("d_llama"), "rope_scaling", "{\"rope_type\":\"llama3\",\"factor\":8}",
                  "original_max_position_embeddings", "missing");
    expect_bad_in(small_dense("e_qwen2"), "vocab_size", "100000000", "vocab_size", "1..4194304");
    expect_bad_in(small_dense("e_qwen2"), "num_hidden_layers", "5000", "num_hidden_layers", "1..1024");
    expect_bad_in(small_dense("e_qwen2"), "eos_token_id", "[1, \"x\"]", "eos_token_id", "list of integers");
}

/* The R1-Distill students' real config.json files load with their values; the parameter tables
 * count what the formula (evaluated independently) gives: 1,777,088,000 (Qwen 1.5B: q/k/v biases,
 * untied) and 8,030,261,248 (Llama 8B). */
static void test_dense_configs(void) {
    Err e = {{0}};
    ModelConfig c;
    cJSON *j = cJSON_Parse(qwen_1p5b_json);
    EXPECTF(config_from_json(&c, j, "qwen", &e) == 0, "%s", e.msg);
    cJSON_Delete(j);
    EXPECT(c.model_type == MODEL_QWEN2 && c.vocab_size == 151936 && c.hidden_size == 1536);
    EXPECT(c.num_attention_heads == 12 && c.num_key_value_heads == 2 && c.head_dim == 128);
    EXPECT(config_qkv_bias(&c) && !config_o_bias(&c) && !c.tie_word_embeddings && !config_is_mla(&c));
    EXPECT(c.bos_token_id == 151643 && c.eos_token_id == 151643 && c.rope_scaling.kind == ROPE_SCALING_NONE);
    EXPECT(c.n_routed_experts == 0 && !config_is_moe_layer(&c, 0) && c.num_nextn_predict_layers == 0);
    EXPECT_NEAR(config_softmax_scale(&c), 1 / sqrt(128.0), 1e-15, 0);
    ParamTable pt;
    param_table_build(&pt, &c);
    EXPECTF(pt.count == 1777088000u, "qwen 1.5B: %zu parameters", pt.count);
    param_table_free(&pt);

    j = cJSON_Parse(llama_8b_json);
    EXPECTF(config_from_json(&c, j, "llama", &e) == 0, "%s", e.msg);
    cJSON_Delete(j);
    EXPECT(c.model_type == MODEL_LLAMA && c.head_dim == 128 && c.num_key_value_heads == 8);
    EXPECT(!config_qkv_bias(&c) && !config_o_bias(&c) && c.rms_norm_eps == 1e-5 && c.rope_theta == 500000);
    const RopeScaling *r = &c.rope_scaling;
    EXPECT(r->kind == ROPE_SCALING_LLAMA3 && r->factor == 8 && r->low_freq_factor == 1 && r->high_freq_factor == 4 &&
           r->original_max_position_embeddings == 8192);
    const RopeParams rp = config_rope_params(&c);
    EXPECT(rp.dim == 128 && rp.layout == ROPE_HALVES && rp.scaling == ROPE_SCALING_LLAMA3);
    param_table_build(&pt, &c);
    const double V = 128256, D = 4096, I = 14336, L = 32, Dq = 4096, Dkv = 1024;
    EXPECTF((double)pt.count == 2 * V * D + D + L * (D * (Dq + 2 * Dkv) + Dq * D + 3 * D * I + 2 * D),
            "llama 8B: %zu parameters", pt.count);
    EXPECT(pt.count == 8030261248u);
    param_table_free(&pt);

    /* a list of end ids (Llama 3.1 Instruct): the first one */
    j = cJSON_Parse(llama_8b_json);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "eos_token_id", cJSON_Parse("[128001, 128008, 128009]"));
    EXPECTF(config_from_json(&c, j, "llama", &e) == 0 && c.eos_token_id == 128001, "%s", e.msg);
    cJSON_Delete(j);
}

static void test_v3_config(void) {
    Err e = {{0}};
    cJSON *j = cJSON_Parse(v3_json);
    ModelConfig c;
    EXPECTF(config_from_json(&c, j, "v3", &e) == 0, "%s", e.msg);
    cJSON_Delete(j);
    EXPECT(c.vocab_size == 129280 && c.hidden_size == 7168 && c.intermediate_size == 18432);
    EXPECT(c.moe_intermediate_size == 2048 && c.num_hidden_layers == 61 && c.num_attention_heads == 128);
    EXPECT(c.n_routed_experts == 256 && c.n_shared_experts == 1 && c.num_experts_per_tok == 8);
    EXPECT(c.n_group == 8 && c.topk_group == 4 && c.first_k_dense_replace == 3);
    EXPECT(c.q_lora_rank == 1536 && c.kv_lora_rank == 512 && c.qk_rope_head_dim == 64 && c.qk_nope_head_dim == 128);
    EXPECT(c.v_head_dim == 128 && config_qk_head_dim(&c) == 192);
    EXPECT(c.topk_method == TOPK_NOAUX_TC && c.scoring_func == SCORING_SIGMOID && c.norm_topk_prob);
    EXPECT(c.routed_scaling_factor == 2.5 && c.rms_norm_eps == 1e-6 && c.rope_theta == 10000);
    EXPECT(c.rope_scaling.kind == ROPE_SCALING_YARN && c.rope_scaling.factor == 40 && c.rope_scaling.original_max_position_embeddings == 4096);
    EXPECT(c.rope_scaling.beta_fast == 32 && c.rope_scaling.beta_slow == 1 && c.rope_scaling.mscale_all_dim == 1.0);
    EXPECT(c.max_position_embeddings == 163840 && c.num_nextn_predict_layers == 1 && !c.tie_word_embeddings);
    EXPECT(c.bos_token_id == 0 && c.eos_token_id == 1 && !strcmp(c.torch_dtype, "bfloat16"));
    EXPECT(!config_is_moe_layer(&c, 2) && config_is_moe_layer(&c, 3) && config_is_moe_layer(&c, 61));
    /* σ = (Dn+Dr)^-1/2 · (0.1·ln 40 + 1)^2 */
    EXPECT_NEAR(config_softmax_scale(&c), 0.13523378, 5e-9, 0);
    EXPECT_NEAR(config_softmax_scale(&c), pow(0.1 * log(40.0) + 1, 2) / sqrt(192.0), 1e-15, 0);

    /* parameter count (reference §9): main model 671.03 B, formula evaluated independently */
    c.num_nextn_predict_layers = 0;
    ParamTable pt;
    param_table_build(&pt, &c);
    const double V = 129280, D = 7168, I = 18432, Im = 2048, H = 128, rq = 1536, rkv = 512, dn = 128, dr = 64, dv = 128;
    const double E = 256, S = 1, L = 61, K = 3;
    double attn = rq * D + rq + H * (dn + dr) * rq + (rkv + dr) * D + rkv + H * (dn + dv) * rkv + D * H * dv;
    double moe = E * D + E + E * 3 * Im * D + 3 * S * Im * D;
    double total = 2 * V * D + D + L * (attn + 2 * D) + K * 3 * I * D + (L - K) * moe;
    EXPECTF((double)pt.count == total, "table %zu vs formula %.0f", pt.count, total);
    EXPECT_NEAR((double)pt.count / 1e9, 671.03, 0.005, 0);
    param_table_free(&pt);
}

/* The dense families round-trip too, keeping their model_type and keys. */
static void test_dense_round_trip(void) {
    const char *src[4] = {qwen_1p5b_json, llama_8b_json, NULL, NULL};
    for (int s = 0; s < 4; s++) {
        cJSON *j = s < 2 ? cJSON_Parse(src[s]) : small_dense(s == 2 ? "d_llama" : "e_qwen2");
        ModelConfig a, b;
        Err e = {{0}};
        EXPECTF(config_from_json(&a, j, "in", &e) == 0, "case %d: %s", s, e.msg);
        cJSON_Delete(j);
        cJSON *out = config_to_json(&a);
        EXPECTF(config_from_json(&b, out, "out", &e) == 0, "case %d: %s", s, e.msg);
        EXPECTF(memcmp(&a, &b, sizeof a) == 0, "case %d differs after config_to_json", s);
        const char *mt = cJSON_GetObjectItemCaseSensitive(out, "model_type")->valuestring;
        EXPECT(!strcmp(mt, a.model_type == MODEL_QWEN2 ? "qwen2" : "llama"));
        EXPECT(!cJSON_GetObjectItemCaseSensitive(out, "kv_lora_rank") && !cJSON_GetObjectItemCaseSensitive(out, "n_routed_experts"));
        cJSON_Delete(out);
    }
}

static void test_round_trip(void) {
    const char *srcs[2] = {v3_json, NULL};
    for (int s = 0; s < 4; s++) {
        cJSON *j;
        if (s == 0) j = cJSON_Parse(srcs[0]);
        else if (s == 1) j = small_config();
        else if (s == 2) {   /* q_lora_rank null, no rope scaling, V2-style routing */
            j = small_config();
            cJSON_ReplaceItemInObjectCaseSensitive(j, "q_lora_rank", cJSON_CreateNull());
            cJSON_ReplaceItemInObjectCaseSensitive(j, "rope_scaling", cJSON_CreateNull());
            cJSON_ReplaceItemInObjectCaseSensitive(j, "topk_method", cJSON_CreateString("group_limited_greedy"));
            cJSON_ReplaceItemInObjectCaseSensitive(j, "scoring_func", cJSON_CreateString("softmax"));
        } else {            /* transformers v5 spelling of the rope parameters */
            j = small_config();
            cJSON *rp = cJSON_DetachItemFromObjectCaseSensitive(j, "rope_scaling");
            cJSON_DeleteItemFromObjectCaseSensitive(rp, "type");
            cJSON_AddStringToObject(rp, "rope_type", "yarn");
            cJSON_AddItemToObject(j, "rope_parameters", rp);
        }
        ModelConfig a, b;
        Err e = {{0}};
        EXPECTF(config_from_json(&a, j, "in", &e) == 0, "case %d: %s", s, e.msg);
        cJSON_Delete(j);
        cJSON *out = config_to_json(&a);
        EXPECT(config_from_json(&b, out, "out", &e) == 0);
        EXPECTF(memcmp(&a, &b, sizeof a) == 0, "case %d differs after config_to_json", s);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(out, "q_lora_rank");
        EXPECT(s == 2 ? cJSON_IsNull(q) : cJSON_IsNumber(q));
        EXPECT(cJSON_GetObjectItemCaseSensitive(out, "quantization_config") == NULL);
        EXPECT(!strcmp(cJSON_GetObjectItemCaseSensitive(out, "model_type")->valuestring, "deepseek_v3"));
        if (s == 3) EXPECT(a.rope_scaling.kind == ROPE_SCALING_YARN && a.rope_scaling.factor == 4.0);
        cJSON_Delete(out);
    }
    /* config_save + config_load */
    ModelConfig a, b;
    Err e = {{0}};
    cJSON *j = small_config();
    EXPECT(config_from_json(&a, j, "in", &e) == 0);
    cJSON_Delete(j);
    char path[512];
    snprintf(path, sizeof path, "%s/saved.json", tmpdir);
    EXPECT(config_save(&a, path, &e) == 0 && config_load(&b, path, &e) == 0);
    EXPECT(memcmp(&a, &b, sizeof a) == 0);
}

int main(void) {
    if (tu_mkdtemp(tmpdir)) return 1;
    RUN(test_bad_configs);
    RUN(test_v3_config);
    RUN(test_round_trip);
    RUN(test_bad_dense_configs);
    RUN(test_dense_configs);
    RUN(test_dense_round_trip);
    return tu_finish(tmpdir);
}
