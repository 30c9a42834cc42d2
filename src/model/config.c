#include "model/config.h"

#include <math.h>
#include <string.h>

#include "io/json.h"

/* A value quoted in an error: at most 40 bytes, control characters shown as '?', so the message
 * stays one line whatever the file holds. */
typedef struct Shown { char s[41]; } Shown;
static Shown shown(const char *v) {
    Shown out;
    size_t k = 0;
    for (; v[k] && k < sizeof out.s - 1; k++) out.s[k] = (unsigned char)v[k] < 0x20 ? '?' : v[k];
    out.s[k] = 0;
    return out;
}

/* One getter per key kind, each recording the key in its error. `req` = required. */
static int get_int(const cJSON *j, const char *key, int req, int def, int *out, Err *e) {
    int64_t v = def;
    int rc = json_get_int(j, key, req, &v, e);
    if (rc < 0) return rc;
    if (v < -2147483647LL || v > 2147483647LL) return err_set(e, "key '%s': out of range", key);
    *out = (int)v;
    return 0;
}

static int get_double(const cJSON *j, const char *key, int req, double def, double *out, Err *e) {
    *out = def;
    if (json_get_double(j, key, req, out, e) < 0) return -1;
    if (!isfinite(*out)) return err_set(e, "key '%s': must be a finite number", key);
    return 0;
}

static int get_bool(const cJSON *j, const char *key, int def, int *out, Err *e) {
    *out = def;
    return json_get_bool(j, key, 0, out, e) < 0 ? -1 : 0;
}

/* bos/eos: an integer, null (the default), or a list whose first id is taken (Llama 3.1 lists
 * several end ids; the tokenizer's own list is what generation stops on). */
static int get_token_id(const cJSON *j, const char *key, int def, int vocab, int *out, Err *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *out = def;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsArray(v)) {
        const cJSON *first = cJSON_GetArrayItem(v, 0);
        if (!first) return err_set(e, "key '%s': empty list", key);
        for (const cJSON *x = v->child; x; x = x->next)
            if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || fabs(x->valuedouble) > 2147483647.0)
                return err_set(e, "key '%s': expected a list of integers", key);
            else if (x->valuedouble < 0 || x->valuedouble >= vocab)
                return err_set(e, "key '%s': %.0f is outside the vocabulary", key, x->valuedouble);
        *out = (int)first->valuedouble;
        return 0;
    }
    return get_int(j, key, 1, def, out, e);
}

static int parse_rope_scaling(RopeScaling *r, const cJSON *j, ModelType type, Err *e) {
    memset(r, 0, sizeof *r);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    if (!rs) rs = cJSON_GetObjectItemCaseSensitive(j, "rope_parameters");   /* transformers v5 name */
    if (!rs || cJSON_IsNull(rs)) return 0;
    if (!cJSON_IsObject(rs)) return err_set(e, "key 'rope_scaling': expected an object or null");
    const char *kind = NULL;
    if (json_get_string(rs, "type", 0, &kind, e) < 0) return err_prefix(e, "rope_scaling");
    if (!kind && json_get_string(rs, "rope_type", 0, &kind, e) < 0) return err_prefix(e, "rope_scaling");
    if (!kind) return err_set(e, "key 'rope_scaling.type': missing");
    if (!strcmp(kind, "default")) return 0;
    if (!strcmp(kind, "yarn")) r->kind = ROPE_SCALING_YARN;
    else if (!strcmp(kind, "llama3") && type != MODEL_DEEPSEEK_V3) r->kind = ROPE_SCALING_LLAMA3;
    else
        return err_set(e, "key 'rope_scaling.type': '%s' is not supported (only \"yarn\"%s)", shown(kind).s,
                       type == MODEL_DEEPSEEK_V3 ? "" : " and \"llama3\"");
    if (get_double(rs, "factor", 1, 1.0, &r->factor, e) ||
        get_int(rs, "original_max_position_embeddings", 1, 0, &r->original_max_position_embeddings, e))
        return err_prefix(e, "rope_scaling");
    if (r->kind == ROPE_SCALING_LLAMA3) {
        if (get_double(rs, "low_freq_factor", 1, 1.0, &r->low_freq_factor, e) ||
            get_double(rs, "high_freq_factor", 1, 4.0, &r->high_freq_factor, e))
            return err_prefix(e, "rope_scaling");
        return 0;
    }
    if (cJSON_GetObjectItemCaseSensitive(rs, "attention_factor"))
        return err_set(e, "key 'rope_scaling.attention_factor': not supported (YaRN's magnitude comes from mscale)");
    if (get_double(rs, "beta_fast", 0, 32.0, &r->beta_fast, e) ||
        get_double(rs, "beta_slow", 0, 1.0, &r->beta_slow, e) ||
        get_double(rs, "mscale", 0, 1.0, &r->mscale, e) ||
        get_double(rs, "mscale_all_dim", 0, 0.0, &r->mscale_all_dim, e))
        return err_prefix(e, "rope_scaling");
    return 0;
}

/* DeepSeek-V3: MLA and DeepSeekMoE keys. */
static int parse_mla_moe(ModelConfig *c, const cJSON *j, Err *e) {
    if (get_int(j, "kv_lora_rank", 1, 0, &c->kv_lora_rank, e) ||
        get_int(j, "qk_rope_head_dim", 1, 0, &c->qk_rope_head_dim, e) ||
        get_int(j, "qk_nope_head_dim", 1, 0, &c->qk_nope_head_dim, e) ||
        get_int(j, "v_head_dim", 1, 0, &c->v_head_dim, e) ||
        get_int(j, "first_k_dense_replace", 0, 0, &c->first_k_dense_replace, e) ||
        get_int(j, "n_routed_experts", 0, 0, &c->n_routed_experts, e))
        return -1;
    /* q_lora_rank: required, null means "no query compression". */
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "q_lora_rank");
    if (!q) return err_set(e, "key 'q_lora_rank': missing (use null for no query compression)");
    if (cJSON_IsNull(q)) c->q_lora_rank = 0;
    else if (get_int(j, "q_lora_rank", 1, 0, &c->q_lora_rank, e) < 0) return -1;
    else if (c->q_lora_rank <= 0) return err_set(e, "key 'q_lora_rank': must be > 0 or null");

    const int has_dense = c->first_k_dense_replace > 0 || c->n_routed_experts == 0;
    const int has_moe = c->n_routed_experts > 0 && c->first_k_dense_replace < c->num_hidden_layers + 64;
    const char *topk = "noaux_tc", *scoring = "sigmoid";
    if (get_int(j, "intermediate_size", has_dense, 0, &c->intermediate_size, e) ||
        get_int(j, "moe_intermediate_size", has_moe, 0, &c->moe_intermediate_size, e) ||
        get_int(j, "num_experts_per_tok", has_moe, 0, &c->num_experts_per_tok, e) ||
        get_int(j, "n_shared_experts", 0, has_moe ? 1 : 0, &c->n_shared_experts, e) ||
        get_int(j, "num_key_value_heads", 0, c->num_attention_heads, &c->num_key_value_heads, e) ||
        get_double(j, "routed_scaling_factor", 0, 1.0, &c->routed_scaling_factor, e) ||
        get_int(j, "n_group", 0, 1, &c->n_group, e) ||
        get_int(j, "topk_group", 0, 1, &c->topk_group, e) ||
        get_int(j, "moe_layer_freq", 0, 1, &c->moe_layer_freq, e) ||
        get_bool(j, "norm_topk_prob", 1, &c->norm_topk_prob, e) ||
        get_double(j, "aux_loss_alpha", 0, 0.0, &c->aux_loss_alpha, e) ||
        get_bool(j, "seq_aux", 1, &c->seq_aux, e) ||
        get_int(j, "num_nextn_predict_layers", 0, 0, &c->num_nextn_predict_layers, e) ||
        json_get_string(j, "topk_method", 0, &topk, e) < 0 ||
        json_get_string(j, "scoring_func", 0, &scoring, e) < 0)
        return -1;
    if (!strcmp(topk, "noaux_tc")) c->topk_method = TOPK_NOAUX_TC;
    else if (!strcmp(topk, "group_limited_greedy")) c->topk_method = TOPK_GROUP_LIMITED_GREEDY;
    else if (!strcmp(topk, "greedy")) c->topk_method = TOPK_GREEDY;
    else return err_set(e, "key 'topk_method': unknown value '%s'", shown(topk).s);
    if (!strcmp(scoring, "sigmoid")) c->scoring_func = SCORING_SIGMOID;
    else if (!strcmp(scoring, "softmax")) c->scoring_func = SCORING_SOFTMAX;
    else return err_set(e, "key 'scoring_func': unknown value '%s'", shown(scoring).s);
    int flag = 0;
    if (get_bool(j, "attention_bias", 0, &flag, e)) return -1;
    if (flag) return err_set(e, "key 'attention_bias': true is not supported by DeepSeek-V3");
    return 0;
}

/* qwen2 and llama: grouped-query attention and a dense SwiGLU in every layer. */
static int parse_gqa(ModelConfig *c, const cJSON *j, Err *e) {
    const int H = c->num_attention_heads;
    if (get_int(j, "intermediate_size", 1, 0, &c->intermediate_size, e) ||
        get_int(j, "num_key_value_heads", 0, H, &c->num_key_value_heads, e))
        return -1;
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(j, "head_dim");
    c->head_dim = H > 0 && c->hidden_size % H == 0 ? c->hidden_size / H : 0;
    if (hd && !cJSON_IsNull(hd) && get_int(j, "head_dim", 1, 0, &c->head_dim, e)) return -1;
    if ((!hd || cJSON_IsNull(hd)) && c->head_dim == 0)
        return err_set(e, "key 'num_attention_heads': must divide hidden_size=%d when head_dim is not given (got %d)",
                       c->hidden_size, H);
    int flag = 0;
    if (c->model_type == MODEL_LLAMA) {
        if (get_bool(j, "attention_bias", 0, &c->attention_bias, e) || get_bool(j, "mlp_bias", 0, &flag, e)) return -1;
        if (flag) return err_set(e, "key 'mlp_bias': true is not supported");
    } else {
        c->attention_bias = 0;   /* qwen2: q, k, v biases always, o_proj none */
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(j, "sliding_window");
        if (get_bool(j, "use_sliding_window", 0, &flag, e) ||
            (sw && !cJSON_IsNull(sw) && get_int(j, "sliding_window", 1, 0, &c->sliding_window, e)) ||
            get_int(j, "max_window_layers", 0, c->num_hidden_layers, &c->max_window_layers, e))
            return -1;
        if (flag) return err_set(e, "key 'use_sliding_window': true is not supported (full causal attention only)");
    }
    /* what DeepSeek-V3's dense layers mean in this family */
    c->first_k_dense_replace = c->num_hidden_layers;
    c->moe_layer_freq = 1;
    c->n_group = c->topk_group = 1;
    c->routed_scaling_factor = 1.0;
    c->norm_topk_prob = 1;
    return 0;
}

int config_from_json(ModelConfig *c, const cJSON *j, const char *where, Err *e) {
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(j)) return err_set(e, "%s: expected a JSON object", where);
    const char *s = NULL;
    if (json_get_string(j, "model_type", 0, &s, e) < 0) return err_prefix(e, "%s", where);
    if (!s || !strcmp(s, "deepseek_v3")) c->model_type = MODEL_DEEPSEEK_V3;
    else if (!strcmp(s, "llama")) c->model_type = MODEL_LLAMA;
    else if (!strcmp(s, "qwen2")) c->model_type = MODEL_QWEN2;
    else return err_set(e, "%s: key 'model_type': '%s' is not supported (deepseek_v3, qwen2 or llama)", where, shown(s).s);

    const char *act = "silu", *dtype = "float32";
    int ok = !(get_int(j, "vocab_size", 1, 0, &c->vocab_size, e) ||
               get_int(j, "hidden_size", 1, 0, &c->hidden_size, e) ||
               get_int(j, "num_hidden_layers", 1, 0, &c->num_hidden_layers, e) ||
               get_int(j, "num_attention_heads", 1, 0, &c->num_attention_heads, e) ||
               get_int(j, "max_position_embeddings", 1, 0, &c->max_position_embeddings, e) ||
               get_double(j, "rms_norm_eps", 0, 1e-6, &c->rms_norm_eps, e) ||
               get_double(j, "rope_theta", 0, 10000.0, &c->rope_theta, e) ||
               get_bool(j, "tie_word_embeddings", 0, &c->tie_word_embeddings, e) ||
               get_double(j, "initializer_range", 0, 0.02, &c->initializer_range, e) ||
               get_token_id(j, "bos_token_id", 0, c->vocab_size, &c->bos_token_id, e) ||
               get_token_id(j, "eos_token_id", 1, c->vocab_size, &c->eos_token_id, e) ||
               json_get_string(j, "hidden_act", 0, &act, e) < 0 ||
               json_get_string(j, "torch_dtype", 0, &dtype, e) < 0 ||
               parse_rope_scaling(&c->rope_scaling, j, c->model_type, e) ||
               (config_is_mla(c) ? parse_mla_moe(c, j, e) : parse_gqa(c, j, e)));
    if (!ok) return err_prefix(e, "%s", where);
    if (strcmp(act, "silu") != 0) return err_set(e, "%s: key 'hidden_act': only \"silu\" is supported", where);
    if (strcmp(dtype, "float32") && strcmp(dtype, "bfloat16") && strcmp(dtype, "float16"))
        return err_set(e, "%s: key 'torch_dtype': unknown value '%s'", where, shown(dtype).s);
    snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dtype);
    if (config_validate(c, e)) return err_prefix(e, "%s", where);
    return 0;
}

/* v in lo..hi, else "key 'NAME': must be in lo..hi (got v)". */
#define IN(field, lo, hi) \
    if (c->field < (lo) || c->field > (hi)) \
        return err_set(e, "key '" #field "': must be in %d..%d (got %d)", (int)(lo), (int)(hi), c->field)

static int validate_rope(const ModelConfig *c, Err *e) {
    const RopeScaling *r = &c->rope_scaling;
    if (!(c->rope_theta > 1)) return err_set(e, "key 'rope_theta': must be > 1");
    if (r->kind == ROPE_SCALING_NONE) return 0;
    if (!(r->factor >= 1.0 && r->factor <= 1e6)) return err_set(e, "key 'rope_scaling.factor': must be in 1..1e6");
    if (r->original_max_position_embeddings <= 0 || r->original_max_position_embeddings > CONFIG_MAX_POSITIONS)
        return err_set(e, "key 'rope_scaling.original_max_position_embeddings': must be in 1..%d", CONFIG_MAX_POSITIONS);
    if (r->kind == ROPE_SCALING_LLAMA3) {
        if (!(r->low_freq_factor > 0 && r->high_freq_factor > r->low_freq_factor))
            return err_set(e, "key 'rope_scaling.high_freq_factor': must exceed low_freq_factor > 0");
        return 0;
    }
    if (!(r->beta_fast > 0 && r->beta_slow > 0))
        return err_set(e, "key 'rope_scaling.beta_fast': beta_fast and beta_slow must be > 0");
    if (fabs(r->mscale) > 1e3 || fabs(r->mscale_all_dim) > 1e3)
        return err_set(e, "key 'rope_scaling.mscale': mscale and mscale_all_dim must be within ±1000");
    return 0;
}

static int validate_mla_moe(const ModelConfig *c, Err *e) {
    IN(kv_lora_rank, 1, CONFIG_MAX_HIDDEN);
    IN(q_lora_rank, 0, CONFIG_MAX_HIDDEN);
    IN(qk_nope_head_dim, 1, CONFIG_MAX_HEAD_DIM);
    IN(v_head_dim, 1, CONFIG_MAX_HEAD_DIM);
    if (c->qk_rope_head_dim <= 0 || c->qk_rope_head_dim % 2 || c->qk_rope_head_dim > CONFIG_MAX_HEAD_DIM)
        return err_set(e, "key 'qk_rope_head_dim': must be a positive even number <= %d (got %d)",
                       CONFIG_MAX_HEAD_DIM, c->qk_rope_head_dim);
    IN(num_key_value_heads, 0, CONFIG_MAX_HEADS);
    IN(first_k_dense_replace, 0, CONFIG_MAX_LAYERS + CONFIG_MAX_MTP);
    IN(num_nextn_predict_layers, 0, CONFIG_MAX_MTP);
    if (c->moe_layer_freq != 1) return err_set(e, "key 'moe_layer_freq': only 1 is supported (got %d)", c->moe_layer_freq);
    const int any_dense = c->first_k_dense_replace > 0 || c->n_routed_experts == 0;
    if (any_dense && c->intermediate_size <= 0)
        return err_set(e, "key 'intermediate_size': must be > 0 for the dense layers (got %d)", c->intermediate_size);
    IN(intermediate_size, 0, CONFIG_MAX_HIDDEN * 4);
    IN(n_routed_experts, 0, CONFIG_MAX_EXPERTS);
    IN(moe_intermediate_size, c->n_routed_experts > 0, CONFIG_MAX_HIDDEN);
    IN(n_shared_experts, 0, CONFIG_MAX_HIDDEN / (c->moe_intermediate_size > 0 ? c->moe_intermediate_size : 1));
    if (c->n_routed_experts == 0) return 0;
    if (c->num_experts_per_tok <= 0 || c->num_experts_per_tok > c->n_routed_experts)
        return err_set(e, "key 'num_experts_per_tok': must be in 1..n_routed_experts=%d (got %d)",
                       c->n_routed_experts, c->num_experts_per_tok);
    if (c->n_group <= 0 || c->n_group > CONFIG_MAX_GROUPS || c->n_routed_experts % c->n_group)
        return err_set(e, "key 'n_group': must divide n_routed_experts=%d and be <= %d (got %d)",
                       c->n_routed_experts, CONFIG_MAX_GROUPS, c->n_group);
    if (c->topk_group <= 0 || c->topk_group > c->n_group)
        return err_set(e, "key 'topk_group': must be in 1..n_group=%d (got %d)", c->n_group, c->topk_group);
    if (c->topk_group * (c->n_routed_experts / c->n_group) < c->num_experts_per_tok)
        return err_set(e, "key 'topk_group': %d groups of %d experts cannot hold num_experts_per_tok=%d",
                       c->topk_group, c->n_routed_experts / c->n_group, c->num_experts_per_tok);
    if (c->topk_method == TOPK_NOAUX_TC && c->n_group > 1 && c->n_routed_experts / c->n_group < 2)
        return err_set(e, "key 'n_group': noaux_tc scores a group by its top-2 experts, so groups need >= 2 experts");
    if (!(c->routed_scaling_factor > 0 && c->routed_scaling_factor <= 1e6))
        return err_set(e, "key 'routed_scaling_factor': must be in (0, 1e6]");
    return 0;
}

static int validate_gqa(const ModelConfig *c, Err *e) {
    IN(intermediate_size, 1, CONFIG_MAX_HIDDEN * 4);
    IN(num_key_value_heads, 1, c->num_attention_heads);
    if (c->num_attention_heads % c->num_key_value_heads)
        return err_set(e, "key 'num_key_value_heads': must divide num_attention_heads=%d (got %d)",
                       c->num_attention_heads, c->num_key_value_heads);
    if (c->head_dim <= 0 || c->head_dim % 2 || c->head_dim > CONFIG_MAX_HEAD_DIM)
        return err_set(e, "key 'head_dim': must be a positive even number <= %d (got %d)", CONFIG_MAX_HEAD_DIM, c->head_dim);
    IN(sliding_window, 0, 2147483647);
    IN(max_window_layers, 0, 2147483647);
    if (c->n_routed_experts || c->num_nextn_predict_layers || c->kv_lora_rank || c->q_lora_rank)
        return err_set(e, "key 'model_type': a %s config has no experts, MTP or MLA", config_model_type_name(c->model_type));
    return 0;
}

int config_validate(const ModelConfig *c, Err *e) {
    IN(vocab_size, 1, CONFIG_MAX_VOCAB);
    IN(hidden_size, 1, CONFIG_MAX_HIDDEN);
    IN(num_hidden_layers, 1, CONFIG_MAX_LAYERS);
    IN(num_attention_heads, 1, CONFIG_MAX_HEADS);
    IN(max_position_embeddings, 1, CONFIG_MAX_POSITIONS);
    if (config_is_mla(c) ? validate_mla_moe(c, e) : validate_gqa(c, e)) return -1;
    if (!(c->rms_norm_eps > 0 && c->rms_norm_eps < 1)) return err_set(e, "key 'rms_norm_eps': must be in (0, 1)");
    if (!(c->initializer_range >= 0 && c->initializer_range <= 1e3))
        return err_set(e, "key 'initializer_range': must be in 0..1000");
    if (!(fabs(c->aux_loss_alpha) <= 1e6)) return err_set(e, "key 'aux_loss_alpha': must be within ±1e6");
    if (c->bos_token_id < 0 || c->bos_token_id >= c->vocab_size)
        return err_set(e, "key 'bos_token_id': %d is outside the vocabulary", c->bos_token_id);
    if (c->eos_token_id < 0 || c->eos_token_id >= c->vocab_size)
        return err_set(e, "key 'eos_token_id': %d is outside the vocabulary", c->eos_token_id);
    return validate_rope(c, e);
}
#undef IN

int config_load(ModelConfig *cfg, const char *path, Err *e) {
    cJSON *j = json_load_file(path, e);
    if (!j) return -1;
    int rc = config_from_json(cfg, j, path, e);
    cJSON_Delete(j);
    return rc;
}

const char *config_model_type_name(ModelType t) {
    return t == MODEL_LLAMA ? "llama" : t == MODEL_QWEN2 ? "qwen2" : "deepseek_v3";
}

double config_softmax_scale(const ModelConfig *c) {
    if (!config_is_mla(c)) return 1.0 / sqrt((double)c->head_dim);
    double scale = 1.0 / sqrt((double)config_qk_head_dim(c));
    const RopeScaling *r = &c->rope_scaling;
    if (r->kind == ROPE_SCALING_YARN && r->mscale_all_dim != 0 && r->factor > 1) {
        double m = 0.1 * r->mscale_all_dim * log(r->factor) + 1.0;
        scale *= m * m;
    }
    return scale;
}

RopeParams config_rope_params(const ModelConfig *c) {
    const RopeScaling *r = &c->rope_scaling;
    RopeParams p = {
        .dim = config_is_mla(c) ? c->qk_rope_head_dim : c->head_dim,
        .layout = config_is_mla(c) ? ROPE_INTERLEAVED : ROPE_HALVES,
        .theta = c->rope_theta, .scaling = r->kind, .factor = r->factor,
        .original_max_pos = r->original_max_position_embeddings,
        .beta_fast = r->beta_fast, .beta_slow = r->beta_slow,
        .mscale = r->mscale, .mscale_all_dim = r->mscale_all_dim,
        .low_freq_factor = r->low_freq_factor, .high_freq_factor = r->high_freq_factor,
    };
    return p;
}

/* ---- writing ---- */

#define NUM(key) cJSON_AddNumberToObject(j, #key, c->key)
#define BOOL(key) cJSON_AddBoolToObject(j, #key, c->key)

static void rope_scaling_to_json(cJSON *j, const ModelConfig *c) {
    const RopeScaling *r = &c->rope_scaling;
    if (r->kind == ROPE_SCALING_NONE) {
        cJSON_AddNullToObject(j, "rope_scaling");
        return;
    }
    cJSON *rs = cJSON_AddObjectToObject(j, "rope_scaling");
    /* V3's file says "type"; the transformers families say "rope_type" */
    const char *kind = r->kind == ROPE_SCALING_YARN ? "yarn" : "llama3";
    cJSON_AddStringToObject(rs, config_is_mla(c) ? "type" : "rope_type", kind);
    cJSON_AddNumberToObject(rs, "factor", r->factor);
    cJSON_AddNumberToObject(rs, "original_max_position_embeddings", r->original_max_position_embeddings);
    if (r->kind == ROPE_SCALING_LLAMA3) {
        cJSON_AddNumberToObject(rs, "low_freq_factor", r->low_freq_factor);
        cJSON_AddNumberToObject(rs, "high_freq_factor", r->high_freq_factor);
        return;
    }
    cJSON_AddNumberToObject(rs, "beta_fast", r->beta_fast);
    cJSON_AddNumberToObject(rs, "beta_slow", r->beta_slow);
    cJSON_AddNumberToObject(rs, "mscale", r->mscale);
    cJSON_AddNumberToObject(rs, "mscale_all_dim", r->mscale_all_dim);
}

static void mla_moe_to_json(cJSON *j, const ModelConfig *c) {
    NUM(moe_intermediate_size); NUM(num_key_value_heads);
    NUM(n_shared_experts); NUM(n_routed_experts); NUM(routed_scaling_factor); NUM(kv_lora_rank);
    if (c->q_lora_rank > 0) NUM(q_lora_rank); else cJSON_AddNullToObject(j, "q_lora_rank");
    NUM(qk_rope_head_dim); NUM(qk_nope_head_dim); NUM(v_head_dim);
    static const char *topk_names[] = {"noaux_tc", "group_limited_greedy", "greedy"};
    cJSON_AddStringToObject(j, "topk_method", topk_names[c->topk_method]);
    NUM(n_group); NUM(topk_group); NUM(num_experts_per_tok); NUM(first_k_dense_replace);
    NUM(moe_layer_freq); BOOL(norm_topk_prob);
    cJSON_AddStringToObject(j, "scoring_func", c->scoring_func == SCORING_SIGMOID ? "sigmoid" : "softmax");
    NUM(aux_loss_alpha); BOOL(seq_aux);
    NUM(num_nextn_predict_layers);
    cJSON_AddBoolToObject(j, "attention_bias", 0);
}

static void gqa_to_json(cJSON *j, const ModelConfig *c) {
    NUM(num_key_value_heads); NUM(head_dim);
    if (c->model_type == MODEL_LLAMA) {
        BOOL(attention_bias);
        cJSON_AddBoolToObject(j, "mlp_bias", 0);
    } else {
        cJSON_AddBoolToObject(j, "use_sliding_window", 0);
        if (c->sliding_window > 0) NUM(sliding_window); else cJSON_AddNullToObject(j, "sliding_window");
        NUM(max_window_layers);
    }
}

cJSON *config_to_json(const ModelConfig *c) {
    static const char *arch[] = {"DeepseekV3ForCausalLM", "LlamaForCausalLM", "Qwen2ForCausalLM"};
    cJSON *j = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(a, cJSON_CreateString(arch[c->model_type]));
    cJSON_AddStringToObject(j, "model_type", config_model_type_name(c->model_type));
    NUM(vocab_size); NUM(hidden_size); NUM(intermediate_size);
    NUM(num_hidden_layers); NUM(num_attention_heads);
    if (config_is_mla(c)) mla_moe_to_json(j, c);
    else gqa_to_json(j, c);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    NUM(rms_norm_eps); NUM(rope_theta);
    rope_scaling_to_json(j, c);
    NUM(max_position_embeddings); BOOL(tie_word_embeddings);
    cJSON_AddNumberToObject(j, "attention_dropout", 0.0);
    NUM(initializer_range); NUM(bos_token_id); NUM(eos_token_id);
    cJSON_AddStringToObject(j, "torch_dtype", c->torch_dtype[0] ? c->torch_dtype : "float32");
    return j;
}
#undef NUM
#undef BOOL

int config_save(const ModelConfig *c, const char *path, Err *e) {
    cJSON *j = config_to_json(c);
    int rc = json_save_file(j, path, e);
    cJSON_Delete(j);
    return rc;
}
