/* ModelConfig: a Hugging Face config.json, key for key, for the three model families r1 runs:
 *   deepseek_v3   MLA attention, DeepSeekMoE, MTP (the teacher and policy)
 *   qwen2, llama  dense decoders with grouped-query attention (the R1-Distill students):
 *                 the same blocks with GQA in place of MLA and a dense SwiGLU everywhere
 *
 * Dimension legend used across src/model and src/kernels:
 *   V vocab_size          D hidden_size          I intermediate_size (dense FFN)
 *   Im moe_intermediate_size                     H num_attention_heads
 *   Rq q_lora_rank (0 = null: a single q_proj)   Rkv kv_lora_rank
 *   Dn qk_nope_head_dim   Dr qk_rope_head_dim    Dqk = Dn + Dr      Dv v_head_dim
 *   E n_routed_experts    S n_shared_experts     K num_experts_per_tok
 *   G n_group             Gk topk_group          L num_hidden_layers
 *   M num_nextn_predict_layers (MTP modules, stored at layer indices L..L+M-1)
 *   GQA (qwen2, llama): Hkv num_key_value_heads, Dh head_dim (default D/H), Dq = H·Dh,
 *   Dkv = Hkv·Dh, Wqkv = Dq + 2·Dkv
 *
 * Structural keys are required (a missing one is an error naming it); the rest default to the
 * values Hugging Face's config classes use. Every count and size is bounded (CONFIG_MAX_*), so a
 * hostile file gets a one-line error naming the key, never an abort further down.
 */
#ifndef R1_MODEL_CONFIG_H
#define R1_MODEL_CONFIG_H

#include <cJSON.h>

#include "base/error.h"
#include "kernels/rope.h"

typedef enum ModelType { MODEL_DEEPSEEK_V3, MODEL_LLAMA, MODEL_QWEN2 } ModelType;

typedef enum ScoringFunc { SCORING_SIGMOID, SCORING_SOFTMAX } ScoringFunc;

typedef enum TopkMethod {
    TOPK_NOAUX_TC,              /* V3: sigmoid + e_score_correction_bias, group score = top-2 sum */
    TOPK_GROUP_LIMITED_GREEDY,  /* V2: group score = group max, no bias */
    TOPK_GREEDY,                /* plain top-k, no groups */
} TopkMethod;

typedef struct RopeScaling {
    RopeScalingKind kind;           /* NONE (null or "default"), YARN, LLAMA3 */
    double factor;                  /* s */
    int original_max_position_embeddings;
    double beta_fast, beta_slow;    /* yarn */
    double mscale, mscale_all_dim;  /* yarn */
    double low_freq_factor, high_freq_factor;   /* llama3 */
} RopeScaling;

/* Bounds of what config.json may ask for (the model's arrays and the decode paths are sized by
 * them; the largest released models sit well inside). */
enum {
    CONFIG_MAX_VOCAB = 1 << 22,         /* V */
    CONFIG_MAX_HIDDEN = 1 << 16,        /* D, I, Im, S·Im, ranks */
    CONFIG_MAX_LAYERS = 1024,           /* L */
    CONFIG_MAX_HEADS = 1024,            /* H, Hkv */
    CONFIG_MAX_HEAD_DIM = 1024,         /* Dn, Dr, Dv, Dh */
    CONFIG_MAX_EXPERTS = 4096,          /* E (the router's per-row arrays) */
    CONFIG_MAX_GROUPS = 256,            /* G */
    CONFIG_MAX_MTP = 64,                /* M */
    CONFIG_MAX_POSITIONS = 1 << 21,     /* max_position_embeddings (the RoPE tables) */
};

typedef struct ModelConfig {
    ModelType model_type;
    int vocab_size;                 /* V */
    int hidden_size;                /* D */
    int intermediate_size;          /* I */
    int moe_intermediate_size;      /* Im */
    int num_hidden_layers;          /* L */
    int num_attention_heads;        /* H */
    int num_key_value_heads;        /* Hkv (GQA); ignored by MLA, kept to round-trip */
    int head_dim;                   /* Dh (GQA) */
    int attention_bias;             /* llama: biases on q, k, v and o_proj (qwen2: q, k, v always) */
    int sliding_window;             /* qwen2, informational (use_sliding_window must be false); 0 = null */
    int max_window_layers;          /* qwen2, informational */
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
    int tie_word_embeddings;        /* lm_head is embed_tokens (no lm_head tensor) */
    double initializer_range;
    int bos_token_id, eos_token_id; /* eos: the first id when config.json lists several */
    char torch_dtype[16];           /* "float32" or "bfloat16": the dtype we save in */
} ModelConfig;

/* Reads and validates config.json. Errors: "<path>: key 'NAME': why". */
int config_load(ModelConfig *cfg, const char *path, Err *e);
/* Same from an already parsed object; `where` names it in errors. */
int config_from_json(ModelConfig *cfg, const cJSON *json, const char *where, Err *e);
/* Consistency checks and bounds (also run by config_load). */
int config_validate(const ModelConfig *cfg, Err *e);
/* Builds the config.json object of cfg's model type (deepseek_v3: q_lora_rank null when 0).
 * Caller deletes. */
cJSON *config_to_json(const ModelConfig *cfg);
int config_save(const ModelConfig *cfg, const char *path, Err *e);
const char *config_model_type_name(ModelType t);

/* Derived quantities. */
static inline int config_is_mla(const ModelConfig *c) { return c->model_type == MODEL_DEEPSEEK_V3; }
static inline int config_qk_head_dim(const ModelConfig *c) { return c->qk_nope_head_dim + c->qk_rope_head_dim; }
static inline int config_qkv_bias(const ModelConfig *c) {
    return c->model_type == MODEL_QWEN2 || (c->model_type == MODEL_LLAMA && c->attention_bias);
}
static inline int config_o_bias(const ModelConfig *c) { return c->model_type == MODEL_LLAMA && c->attention_bias; }
/* GQA widths: Dq = H·Dh, Dkv = Hkv·Dh. */
static inline int config_q_dim(const ModelConfig *c) { return c->num_attention_heads * c->head_dim; }
static inline int config_kv_dim(const ModelConfig *c) { return c->num_key_value_heads * c->head_dim; }
static inline int config_is_moe_layer(const ModelConfig *c, int layer) {
    /* MTP blocks (layer >= L) follow the same rule: MoE when E > 0 and layer >= first_k_dense_replace */
    return c->n_routed_experts > 0 && layer >= c->first_k_dense_replace && layer % c->moe_layer_freq == 0;
}
/* Softmax scale: MLA (Dn+Dr)^-1/2, times m^2 under YaRN (deepseek-v3-architecture.md §4.4);
 * GQA Dh^-1/2. */
double config_softmax_scale(const ModelConfig *c);
/* The RoPE kernel's parameters: MLA rotates Dr interleaved values, GQA Dh values in halves. */
RopeParams config_rope_params(const ModelConfig *c);

#endif
