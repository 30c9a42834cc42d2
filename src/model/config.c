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
    return json_get_double(j, key, req, out, e) < 0 ? -1 : 0;
}

static int get_bool(const cJSON *j, const char *key, int def, int *out, Err *e) {
    *out = def;
    return json_get_bool(j, key, 0, out, e) < 0 ? -1 : 0;
}

static int parse_rope_scaling(RopeScaling *r, const cJSON *j, Err *e) {
    memset(r, 0, sizeof *r);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    if (!rs) rs = cJSON_GetObjectItemCaseSensitive(j, "rope_parameters");   /* transformers v5 name */
    if (!rs || cJSON_IsNull(rs)) return 0;
    if (!cJSON_IsObject(rs)) return err_set(e, "key 'rope_scaling': expected an object or null");
    const char *type = NULL;
    if (json_get_string(rs, "type", 0, &type, e) < 0) return err_prefix(e, "rope_scaling");
    if (!type && json_get_string(rs, "rope_type", 0, &type, e) < 0) return err_prefix(e, "rope_scaling");
    if (!type) return err_set(e, "key 'rope_scaling.type': missing");
    if (!strcmp(type, "default")) return 0;
    if (strcmp(type, "yarn") != 0)
        return err_set(e, "key 'rope_scaling.type': '%s' is not supported (only \"yarn\")", shown(type).s);
    r->enabled = 1;
    if (get_double(rs, "factor", 1, 1.0, &r->factor, e) ||
        get_int(rs, "original_max_position_embeddings", 1, 0, &r->original_max_position_embeddings, e) ||
        get_double(rs, "beta_fast", 0, 32.0, &r->beta_fast, e) ||
        get_double(rs, "beta_slow", 0, 1.0, &r->beta_slow, e) ||
        get_double(rs, "mscale", 0, 1.0, &r->mscale, e) ||
        get_double(rs, "mscale_all_dim", 0, 0.0, &r->mscale_all_dim, e))
        return err_prefix(e, "rope_scaling");
    return 0;
}

int config_from_json(ModelConfig *c, const cJSON *j, const char *where, Err *e) {
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(j)) return err_set(e, "%s: expected a JSON object", where);
    const char *s = NULL;
    if (json_get_string(j, "model_type", 0, &s, e) < 0) return err_prefix(e, "%s", where);
    if (s && strcmp(s, "deepseek_v3") != 0)
        return err_set(e, "%s: key 'model_type': '%s' is not deepseek_v3", where, shown(s).s);

    int ok = !(get_int(j, "vocab_size", 1, 0, &c->vocab_size, e) ||
               get_int(j, "hidden_size", 1, 0, &c->hidden_size, e) ||
               get_int(j, "num_hidden_layers", 1, 0, &c->num_hidden_layers, e) ||
               get_int(j, "num_attention_heads", 1, 0, &c->num_attention_heads, e) ||
               get_int(j, "kv_lora_rank", 1, 0, &c->kv_lora_rank, e) ||
               get_int(j, "qk_rope_head_dim", 1, 0, &c->qk_rope_head_dim, e) ||
               get_int(j, "qk_nope_head_dim", 1, 0, &c->qk_nope_head_dim, e) ||
               get_int(j, "v_head_dim", 1, 0, &c->v_head_dim, e) ||
               get_int(j, "first_k_dense_replace", 0, 0, &c->first_k_dense_replace, e) ||
               get_int(j, "n_routed_experts", 0, 0, &c->n_routed_experts, e));
    if (!ok) return err_prefix(e, "%s", where);

    /* q_lora_rank: required, null means "no query compression". */
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "q_lora_rank");
    if (!q) return err_set(e, "%s: key 'q_lora_rank': missing (use null for no query compression)", where);
    if (cJSON_IsNull(q)) c->q_lora_rank = 0;
    else if (get_int(j, "q_lora_rank", 1, 0, &c->q_lora_rank, e) < 0) return err_prefix(e, "%s", where);
    else if (c->q_lora_rank <= 0) return err_set(e, "%s: key 'q_lora_rank': must be > 0 or null", where);

    int has_dense = c->first_k_dense_replace > 0 || c->n_routed_experts == 0;
    int has_moe = c->n_routed_experts > 0 && c->first_k_dense_replace < c->num_hidden_layers + 64;
    const char *topk = "noaux_tc", *scoring = "sigmoid", *act = "silu", *dtype = "float32";
    ok = !(get_int(j, "intermediate_size", has_dense, 0, &c->intermediate_size, e) ||
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
           get_double(j, "rms_norm_eps", 0, 1e-6, &c->rms_norm_eps, e) ||
           get_double(j, "rope_theta", 0, 10000.0, &c->rope_theta, e) ||
           get_int(j, "max_position_embeddings", 1, 0, &c->max_position_embeddings, e) ||
           get_int(j, "num_nextn_predict_layers", 0, 0, &c->num_nextn_predict_layers, e) ||
           get_bool(j, "tie_word_embeddings", 0, &c->tie_word_embeddings, e) ||
           get_double(j, "initializer_range", 0, 0.02, &c->initializer_range, e) ||
           get_int(j, "bos_token_id", 0, 0, &c->bos_token_id, e) ||
           get_int(j, "eos_token_id", 0, 1, &c->eos_token_id, e) ||
           json_get_string(j, "topk_method", 0, &topk, e) < 0 ||
           json_get_string(j, "scoring_func", 0, &scoring, e) < 0 ||
           json_get_string(j, "hidden_act", 0, &act, e) < 0 ||
           json_get_string(j, "torch_dtype", 0, &dtype, e) < 0 ||
           parse_rope_scaling(&c->rope_scaling, j, e));
    if (!ok) return err_prefix(e, "%s", where);

    if (!strcmp(topk, "noaux_tc")) c->topk_method = TOPK_NOAUX_TC;
    else if (!strcmp(topk, "group_limited_greedy")) c->topk_method = TOPK_GROUP_LIMITED_GREEDY;
    else if (!strcmp(topk, "greedy")) c->topk_method = TOPK_GREEDY;
    else return err_set(e, "%s: key 'topk_method': unknown value '%s'", where, shown(topk).s);
    if (!strcmp(scoring, "sigmoid")) c->scoring_func = SCORING_SIGMOID;
    else if (!strcmp(scoring, "softmax")) c->scoring_func = SCORING_SOFTMAX;
    else return err_set(e, "%s: key 'scoring_func': unknown value '%s'", where, shown(scoring).s);
    if (strcmp(act, "silu") != 0) return err_set(e, "%s: key 'hidden_act': only \"silu\" is supported", where);
    if (strcmp(dtype, "float32") && strcmp(dtype, "bfloat16") && strcmp(dtype, "float16"))
        return err_set(e, "%s: key 'torch_dtype': unknown value '%s'", where, shown(dtype).s);
    snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dtype);

    int flag = 0;
    if (get_bool(j, "attention_bias", 0, &flag, e)) return err_prefix(e, "%s", where);
    if (flag) return err_set(e, "%s: key 'attention_bias': true is not supported by DeepSeek-V3", where);

    if (config_validate(c, e)) return err_prefix(e, "%s", where);
    return 0;
}

int config_validate(const ModelConfig *c, Err *e) {
#define POS(field) if (c->field <= 0) return err_set(e, "key '" #field "': must be > 0 (got %d)", c->field)
    POS(vocab_size); POS(hidden_size); POS(num_hidden_layers); POS(num_attention_heads);
    POS(kv_lora_rank); POS(qk_nope_head_dim); POS(v_head_dim); POS(max_position_embeddings);
#undef POS
    if (c->qk_rope_head_dim <= 0 || c->qk_rope_head_dim % 2)
        return err_set(e, "key 'qk_rope_head_dim': must be a positive even number (got %d)", c->qk_rope_head_dim);
    if (c->q_lora_rank < 0) return err_set(e, "key 'q_lora_rank': must be > 0 or null");
    if (c->first_k_dense_replace < 0) return err_set(e, "key 'first_k_dense_replace': must be >= 0");
    if (c->num_nextn_predict_layers < 0) return err_set(e, "key 'num_nextn_predict_layers': must be >= 0");
    if (c->moe_layer_freq != 1) return err_set(e, "key 'moe_layer_freq': only 1 is supported (got %d)", c->moe_layer_freq);
    int any_dense = c->first_k_dense_replace > 0 || c->n_routed_experts == 0;
    if (any_dense && c->intermediate_size <= 0)
        return err_set(e, "key 'intermediate_size': must be > 0 for the dense layers (got %d)", c->intermediate_size);
    if (c->n_routed_experts < 0) return err_set(e, "key 'n_routed_experts': must be >= 0");
    if (c->n_routed_experts > 0) {
        if (c->moe_intermediate_size <= 0)
            return err_set(e, "key 'moe_intermediate_size': must be > 0 (got %d)", c->moe_intermediate_size);
        if (c->num_experts_per_tok <= 0 || c->num_experts_per_tok > c->n_routed_experts)
            return err_set(e, "key 'num_experts_per_tok': must be in 1..n_routed_experts=%d (got %d)",
                           c->n_routed_experts, c->num_experts_per_tok);
        if (c->n_shared_experts < 0) return err_set(e, "key 'n_shared_experts': must be >= 0");
        if (c->n_group <= 0 || c->n_routed_experts % c->n_group)
            return err_set(e, "key 'n_group': must divide n_routed_experts=%d (got %d)", c->n_routed_experts, c->n_group);
        if (c->topk_group <= 0 || c->topk_group > c->n_group)
            return err_set(e, "key 'topk_group': must be in 1..n_group=%d (got %d)", c->n_group, c->topk_group);
        if (c->topk_group * (c->n_routed_experts / c->n_group) < c->num_experts_per_tok)
            return err_set(e, "key 'topk_group': %d groups of %d experts cannot hold num_experts_per_tok=%d",
                           c->topk_group, c->n_routed_experts / c->n_group, c->num_experts_per_tok);
        if (c->topk_method == TOPK_NOAUX_TC && c->n_group > 1 && c->n_routed_experts / c->n_group < 2)
            return err_set(e, "key 'n_group': noaux_tc scores a group by its top-2 experts, so groups need >= 2 experts");
        if (!(c->routed_scaling_factor > 0)) return err_set(e, "key 'routed_scaling_factor': must be > 0");
    }
    if (!(c->rms_norm_eps > 0)) return err_set(e, "key 'rms_norm_eps': must be > 0");
    if (!(c->rope_theta > 0)) return err_set(e, "key 'rope_theta': must be > 0");
    if (c->bos_token_id < 0 || c->bos_token_id >= c->vocab_size)
        return err_set(e, "key 'bos_token_id': %d is outside the vocabulary", c->bos_token_id);
    if (c->eos_token_id < 0 || c->eos_token_id >= c->vocab_size)
        return err_set(e, "key 'eos_token_id': %d is outside the vocabulary", c->eos_token_id);
    if (c->tie_word_embeddings)
        return err_set(e, "key 'tie_word_embeddings': true is not supported (DeepSeek-V3 has a separate lm_head)");
    const RopeScaling *r = &c->rope_scaling;
    if (r->enabled) {
        if (!(r->factor >= 1.0)) return err_set(e, "key 'rope_scaling.factor': must be >= 1");
        if (r->original_max_position_embeddings <= 0)
            return err_set(e, "key 'rope_scaling.original_max_position_embeddings': must be > 0");
        if (!(r->beta_fast > 0 && r->beta_slow > 0))
            return err_set(e, "key 'rope_scaling.beta_fast': beta_fast and beta_slow must be > 0");
    }
    return 0;
}

int config_load(ModelConfig *cfg, const char *path, Err *e) {
    cJSON *j = json_load_file(path, e);
    if (!j) return -1;
    int rc = config_from_json(cfg, j, path, e);
    cJSON_Delete(j);
    return rc;
}

double config_softmax_scale(const ModelConfig *c) {
    double scale = 1.0 / sqrt((double)config_qk_head_dim(c));
    const RopeScaling *r = &c->rope_scaling;
    if (r->enabled && r->mscale_all_dim != 0 && r->factor > 1) {
        double m = 0.1 * r->mscale_all_dim * log(r->factor) + 1.0;
        scale *= m * m;
    }
    return scale;
}

cJSON *config_to_json(const ModelConfig *c) {
    cJSON *j = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("DeepseekV3ForCausalLM"));
    cJSON_AddStringToObject(j, "model_type", "deepseek_v3");
#define NUM(key) cJSON_AddNumberToObject(j, #key, c->key)
#define BOOL(key) cJSON_AddBoolToObject(j, #key, c->key)
    NUM(vocab_size); NUM(hidden_size); NUM(intermediate_size); NUM(moe_intermediate_size);
    NUM(num_hidden_layers); NUM(num_attention_heads); NUM(num_key_value_heads);
    NUM(n_shared_experts); NUM(n_routed_experts); NUM(routed_scaling_factor); NUM(kv_lora_rank);
    if (c->q_lora_rank > 0) NUM(q_lora_rank); else cJSON_AddNullToObject(j, "q_lora_rank");
    NUM(qk_rope_head_dim); NUM(qk_nope_head_dim); NUM(v_head_dim);
    static const char *topk_names[] = {"noaux_tc", "group_limited_greedy", "greedy"};
    cJSON_AddStringToObject(j, "topk_method", topk_names[c->topk_method]);
    NUM(n_group); NUM(topk_group); NUM(num_experts_per_tok); NUM(first_k_dense_replace);
    NUM(moe_layer_freq); BOOL(norm_topk_prob);
    cJSON_AddStringToObject(j, "scoring_func", c->scoring_func == SCORING_SIGMOID ? "sigmoid" : "softmax");
    NUM(aux_loss_alpha); BOOL(seq_aux);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    NUM(rms_norm_eps); NUM(rope_theta);
    if (c->rope_scaling.enabled) {
        const RopeScaling *r = &c->rope_scaling;
        cJSON *rs = cJSON_AddObjectToObject(j, "rope_scaling");
        cJSON_AddStringToObject(rs, "type", "yarn");
        cJSON_AddNumberToObject(rs, "factor", r->factor);
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings", r->original_max_position_embeddings);
        cJSON_AddNumberToObject(rs, "beta_fast", r->beta_fast);
        cJSON_AddNumberToObject(rs, "beta_slow", r->beta_slow);
        cJSON_AddNumberToObject(rs, "mscale", r->mscale);
        cJSON_AddNumberToObject(rs, "mscale_all_dim", r->mscale_all_dim);
    } else {
        cJSON_AddNullToObject(j, "rope_scaling");
    }
    NUM(max_position_embeddings); NUM(num_nextn_predict_layers); BOOL(tie_word_embeddings);
    cJSON_AddBoolToObject(j, "attention_bias", 0);
    cJSON_AddNumberToObject(j, "attention_dropout", 0.0);
    NUM(initializer_range); NUM(bos_token_id); NUM(eos_token_id);
    cJSON_AddStringToObject(j, "torch_dtype", c->torch_dtype[0] ? c->torch_dtype : "float32");
#undef NUM
#undef BOOL
    return j;
}

int config_save(const ModelConfig *c, const char *path, Err *e) {
    cJSON *j = config_to_json(c);
    int rc = json_save_file(j, path, e);
    cJSON_Delete(j);
    return rc;
}
