/* ModelConfig: the Hugging Face DeepSeek-V3 config.json, key for key.
 *
 * Dimension legend used across src/model and src/kernels:
 *   V vocab_size          D hidden_size          I intermediate_size (dense FFN)
 *   Im moe_intermediate_size                     H num_attention_heads
 *   Rq q_lora_rank (0 = null: a single q_proj)   Rkv kv_lora_rank
 *   Dn qk_nope_head_dim   Dr qk_rope_head_dim    Dqk = Dn + Dr      Dv v_head_dim
 *   E n_routed_experts    S n_shared_experts     K num_experts_per_tok
 *   G n_group             Gk topk_group          L num_hidden_layers
 *   M num_nextn_predict_layers (MTP modules, stored at layer indices L..L+M-1)
 *
 * Structural keys are required (a missing one is an error naming it); the rest default to the
 * values Hugging Face's DeepseekV3Config uses. Values are validated for consistency on load.
 */
#ifndef R1_MODEL_CONFIG_H
#define R1_MODEL_CONFIG_H

#include <cJSON.h>

#include "base/error.h"

typedef enum ScoringFunc { SCORING_SIGMOID, SCORING_SOFTMAX } ScoringFunc;

typedef enum TopkMethod {
    TOPK_NOAUX_TC,              /* V3: sigmoid + e_score_correction_bias, group score = top-2 sum */
    TOPK_GROUP_LIMITED_GREEDY,  /* V2: group score = group max, no bias */
    TOPK_GREEDY,                /* plain top-k, no groups */
} TopkMethod;

typedef struct RopeScaling {
    int enabled;                    /* rope_scaling present with type "yarn" */
    double factor;                  /* s */
    int original_max_position_embeddings;
    double beta_fast, beta_slow;
    double mscale, mscale_all_dim;
} RopeScaling;

typedef struct ModelConfig {
    int vocab_size;                 /* V */
    int hidden_size;                /* D */
    int intermediate_size;          /* I */
    int moe_intermediate_size;      /* Im */
    int num_hidden_layers;          /* L */
    int num_attention_heads;        /* H */
    int num_key_value_heads;        /* ignored by MLA; kept to round-trip */
    int n_shared_experts;           /* S */
    int n_routed_experts;           /* E (0: no MoE layers) */
    double routed_scaling_factor;
    int kv_lora_rank;               /* Rkv */
    int q_lora_rank;                /* Rq; 0 when the JSON value is null */
    int qk_rope_head_dim;           /* Dr */
    int qk_nope_head_dim;           /* Dn */
    int v_head_dim;                 /* Dv */
    TopkMethod topk_method;
    int n_group;                    /* G */
    int topk_group;                 /* Gk */
    int num_experts_per_tok;        /* K */
    int first_k_dense_replace;      /* layers < this are dense */
    int moe_layer_freq;             /* must be 1 (only the remote code reads it) */
    int norm_topk_prob;
    ScoringFunc scoring_func;
    double aux_loss_alpha;          /* informational; training uses its own flag (off by default) */
    int seq_aux;
    double rms_norm_eps;
    double rope_theta;
    RopeScaling rope_scaling;
    int max_position_embeddings;
    int num_nextn_predict_layers;   /* M */
    int tie_word_embeddings;
    double initializer_range;
    int bos_token_id, eos_token_id;
    char torch_dtype[16];           /* "float32" or "bfloat16": the dtype we save in */
} ModelConfig;

/* Reads and validates config.json. Errors: "<path>: key 'NAME': why". */
int config_load(ModelConfig *cfg, const char *path, Err *e);
/* Same from an already parsed object; `where` names it in errors. */
int config_from_json(ModelConfig *cfg, const cJSON *json, const char *where, Err *e);
/* Consistency checks (also run by config_load): divisibility, ranks > 0, k <= E, ... */
int config_validate(const ModelConfig *cfg, Err *e);
/* Builds the config.json object (model_type deepseek_v3, q_lora_rank null when 0). Caller deletes. */
cJSON *config_to_json(const ModelConfig *cfg);
int config_save(const ModelConfig *cfg, const char *path, Err *e);

/* Derived quantities. */
static inline int config_qk_head_dim(const ModelConfig *c) { return c->qk_nope_head_dim + c->qk_rope_head_dim; }
static inline int config_is_moe_layer(const ModelConfig *c, int layer) {
    /* MTP blocks (layer >= L) follow the same rule: MoE when E > 0 and layer >= first_k_dense_replace */
    return c->n_routed_experts > 0 && layer >= c->first_k_dense_replace && layer % c->moe_layer_freq == 0;
}
/* Softmax scale: (Dn+Dr)^-1/2, times m^2 under YaRN (deepseek-v3-architecture.md §4.4). */
double config_softmax_scale(const ModelConfig *c);

#endif
