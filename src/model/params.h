/* The parameter table: every tensor of a model (DeepSeek-V3, qwen2, llama), named exactly as in
 * Hugging Face checkpoints, with its shape and its offset in one flat buffer.
 *
 * Parameters, gradients and AdamW moments all share this layout, one buffer each; loading,
 * saving and the optimizer are loops over the table. Typed views (MlaWeights, MoeWeights, ...)
 * point into a buffer, so the same view type serves weights (params) and their gradients.
 *
 * Layout choices:
 *  - each tensor starts on a 16-element (64-byte) boundary;
 *  - an MLP's gate_proj and up_proj are adjacent with no gap, so [gate; up] is one [2F, D]
 *    matrix and both projections run as one GEMM (FfnWeights.gate_up); likewise GQA's q_proj,
 *    k_proj, v_proj (one [Wqkv, D] matrix) and their biases (GqaWeights);
 *  - with tie_word_embeddings there is no lm_head tensor: the view's lm_head is embed_tokens,
 *    so its gradient is the sum of both uses;
 *  - the MTP modules' copies of embed_tokens and shared_head.head are NOT parameters: they share
 *    the main model's tensors (as in training); the checkpoint writer adds the copies on save.
 *  - e_score_correction_bias lives in the table (it is saved with the model) but gets no
 *    gradient and no optimizer update: the balancing step moves it (param_is_trainable).
 */
#ifndef R1_MODEL_PARAMS_H
#define R1_MODEL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/matmul.h"
#include "kernels/real.h"
#include "model/config.h"

typedef enum ParamKind {
    PARAM_LINEAR,       /* [out, in] weight; weight decay */
    PARAM_NORM,         /* RMSNorm gain [n]; no decay; initialised to 1 */
    PARAM_EMBED,        /* embed_tokens [V, D]; no decay by default */
    PARAM_ROUTER_BIAS,  /* e_score_correction_bias [E]; not trained by the optimizer */
    PARAM_BIAS,         /* a Linear layer's bias [out]; no decay; initialised to 0 */
} ParamKind;

typedef struct ParamInfo {
    char name[96];      /* HF name, e.g. model.layers.3.mlp.experts.7.up_proj.weight */
    int ndim;           /* 1 or 2 */
    int64_t shape[2];   /* [out, in] for matrices, [n] for vectors */
    size_t offset;      /* in elements, into the flat buffer */
    size_t numel;
    ParamKind kind;
    int layer;          /* decoder layer index (MTP modules at L..L+M-1), -1 for global tensors */
} ParamInfo;

typedef struct ParamTable {
    ParamInfo *t;       /* owned */
    int n;
    size_t total;       /* elements in the flat buffer, padding included */
    size_t count;       /* parameters (sum of numel) */
} ParamTable;

/* Builds the table from a validated config. Free with param_table_free. */
void param_table_build(ParamTable *pt, const ModelConfig *cfg);
void param_table_free(ParamTable *pt);
/* NULL when absent. */
const ParamInfo *param_find(const ParamTable *pt, const char *name);
static inline int param_is_trainable(const ParamInfo *p) { return p->kind != PARAM_ROUTER_BIAS; }

/* Initialisation as Hugging Face does it: normal(0, initializer_range) for matrices and the
 * embedding, 1 for norms, 0 for the router bias. Deterministic per (seed, tensor name), any
 * thread count. */
void param_init(const ParamTable *pt, const ModelConfig *cfg, real *params, uint64_t seed);

/* ---- typed views into a flat buffer (params or grads) ---- */

typedef struct FfnWeights {
    real *gate_up;      /* [2F, D]: rows 0..F-1 gate_proj, rows F..2F-1 up_proj */
    real *down;         /* [D, F] down_proj */
    int F;              /* width: I (dense), Im (routed expert) or S*Im (shared experts) */
    MatPrec prec;       /* precision of the products (training; model_set_precision) */
} FfnWeights;

typedef struct MoeWeights {
    real *router;       /* [E, D] mlp.gate.weight */
    real *bias;         /* [E] mlp.gate.e_score_correction_bias (NULL unless noaux_tc) */
    FfnWeights *experts;/* [E], owned by the ModelView */
    FfnWeights shared;  /* width S*Im; F = 0 when S = 0 */
} MoeWeights;

typedef struct MlaWeights {
    real *q_a_proj;     /* [Rq, D]        (NULL when Rq = 0) */
    real *q_a_norm;     /* [Rq]           (NULL when Rq = 0) */
    real *q_b_proj;     /* [H*Dqk, Rq]    (NULL when Rq = 0) */
    real *q_proj;       /* [H*Dqk, D]     (only when Rq = 0) */
    real *kv_a_proj;    /* [Rkv + Dr, D]  kv_a_proj_with_mqa: latent rows, then the rope key rows */
    real *kv_a_norm;    /* [Rkv] */
    real *kv_b_proj;    /* [H*(Dn+Dv), Rkv]: per head, Dn k_nope rows then Dv v rows */
    real *o_proj;       /* [D, H*Dv] */
    MatPrec prec;       /* precision of the products (training; model_set_precision) */
} MlaWeights;

/* Grouped-query attention (qwen2, llama): Dq = H·Dh, Dkv = Hkv·Dh, Wqkv = Dq + 2·Dkv. */
typedef struct GqaWeights {
    real *qkv;          /* [Wqkv, D]: q_proj rows, then k_proj, then v_proj (packed) */
    real *qkv_bias;     /* [Wqkv] their biases, packed the same way (NULL without) */
    real *o_proj;       /* [D, Dq] */
    real *o_bias;       /* [D] (llama with attention_bias; NULL otherwise) */
    MatPrec prec;       /* precision of the products (training; model_set_precision) */
} GqaWeights;

typedef struct LayerWeights {
    real *attn_norm;    /* [D] input_layernorm */
    real *ffn_norm;     /* [D] post_attention_layernorm */
    MlaWeights attn;    /* deepseek_v3 */
    GqaWeights gqa;     /* qwen2, llama */
    int is_moe;
    FfnWeights dense;   /* when !is_moe, width I */
    MoeWeights moe;     /* when is_moe */
} LayerWeights;

typedef struct MtpWeights {
    real *enorm;        /* [D] */
    real *hnorm;        /* [D] */
    real *eh_proj;      /* [D, 2D]: columns 0..D-1 take enorm(embedding), D..2D-1 take hnorm(h) */
    real *head_norm;    /* [D] shared_head.norm */
    LayerWeights block; /* the module's decoder block (layer index L + k) */
    MatPrec prec;       /* of eh_proj's and the shared head's products */
} MtpWeights;

typedef struct ModelView {
    real *embed;        /* [V, D] model.embed_tokens */
    real *final_norm;   /* [D] model.norm */
    real *lm_head;      /* [V, D]; = embed with tie_word_embeddings */
    LayerWeights *layers;   /* [L], owned */
    MtpWeights *mtp;        /* [M], owned */
    FfnWeights *expert_store; /* backing array for every layer's experts, owned */
    MatPrec prec;       /* of lm_head's product */
} ModelView;

/* Points a view into `base` (params or grads, laid out by pt). Free with model_view_free. */
void model_view_build(ModelView *v, const ParamTable *pt, const ModelConfig *cfg, real *base);
void model_view_free(ModelView *v);

#endif
