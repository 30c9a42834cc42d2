#include "model/params.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"

enum { PARAM_ALIGN = 16 };   /* elements: 64 bytes of float */

typedef struct Builder {
    ParamTable *pt;
    int cap;
} Builder;

/* Appends one tensor. `aligned` = 0 packs it right after the previous one (used for up_proj so
 * that [gate_proj; up_proj] is one contiguous matrix). */
static void add(Builder *b, int aligned, ParamKind kind, int layer, int64_t s0, int64_t s1,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void add(Builder *b, int aligned, ParamKind kind, int layer, int64_t s0, int64_t s1,
                const char *fmt, ...) {
    ParamTable *pt = b->pt;
    if (pt->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        pt->t = xrealloc(pt->t, (size_t)b->cap * sizeof *pt->t);
    }
    ParamInfo *p = &pt->t[pt->n++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    CHECK(len > 0 && len < (int)sizeof p->name);
    p->kind = kind;
    p->layer = layer;
    p->ndim = s1 > 0 ? 2 : 1;
    p->shape[0] = s0;
    p->shape[1] = s1 > 0 ? s1 : 0;
    p->numel = (size_t)s0 * (size_t)(s1 > 0 ? s1 : 1);
    size_t off = pt->total;
    if (aligned) off = (off + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    p->offset = off;
    pt->total = off + p->numel;
    pt->count += p->numel;
}

static void add_ffn(Builder *b, int layer, const char *prefix, int F, int D) {
    add(b, 1, PARAM_LINEAR, layer, F, D, "%s.gate_proj.weight", prefix);
    add(b, 0, PARAM_LINEAR, layer, F, D, "%s.up_proj.weight", prefix);
    add(b, 1, PARAM_LINEAR, layer, D, F, "%s.down_proj.weight", prefix);
}

/* q, k, v packed (one [Wqkv, D] matrix, one [Wqkv] bias), then o_proj. */
static void add_gqa(Builder *b, const ModelConfig *c, int l, const char *pre) {
    const int D = c->hidden_size, Dq = config_q_dim(c), Dkv = config_kv_dim(c);
    add(b, 1, PARAM_LINEAR, l, Dq, D, "%s.self_attn.q_proj.weight", pre);
    add(b, 0, PARAM_LINEAR, l, Dkv, D, "%s.self_attn.k_proj.weight", pre);
    add(b, 0, PARAM_LINEAR, l, Dkv, D, "%s.self_attn.v_proj.weight", pre);
    if (config_qkv_bias(c)) {
        add(b, 1, PARAM_BIAS, l, Dq, 0, "%s.self_attn.q_proj.bias", pre);
        add(b, 0, PARAM_BIAS, l, Dkv, 0, "%s.self_attn.k_proj.bias", pre);
        add(b, 0, PARAM_BIAS, l, Dkv, 0, "%s.self_attn.v_proj.bias", pre);
    }
    add(b, 1, PARAM_LINEAR, l, D, Dq, "%s.self_attn.o_proj.weight", pre);
    if (config_o_bias(c)) add(b, 1, PARAM_BIAS, l, D, 0, "%s.self_attn.o_proj.bias", pre);
}

static void add_mla(Builder *b, const ModelConfig *c, int l, const char *pre) {
    const int D = c->hidden_size, H = c->num_attention_heads, Dqk = config_qk_head_dim(c);
    if (c->q_lora_rank > 0) {
        add(b, 1, PARAM_LINEAR, l, c->q_lora_rank, D, "%s.self_attn.q_a_proj.weight", pre);
        add(b, 1, PARAM_NORM, l, c->q_lora_rank, 0, "%s.self_attn.q_a_layernorm.weight", pre);
        add(b, 1, PARAM_LINEAR, l, (int64_t)H * Dqk, c->q_lora_rank, "%s.self_attn.q_b_proj.weight", pre);
    } else {
        add(b, 1, PARAM_LINEAR, l, (int64_t)H * Dqk, D, "%s.self_attn.q_proj.weight", pre);
    }
    add(b, 1, PARAM_LINEAR, l, c->kv_lora_rank + c->qk_rope_head_dim, D,
        "%s.self_attn.kv_a_proj_with_mqa.weight", pre);
    add(b, 1, PARAM_NORM, l, c->kv_lora_rank, 0, "%s.self_attn.kv_a_layernorm.weight", pre);
    add(b, 1, PARAM_LINEAR, l, (int64_t)H * (c->qk_nope_head_dim + c->v_head_dim), c->kv_lora_rank,
        "%s.self_attn.kv_b_proj.weight", pre);
    add(b, 1, PARAM_LINEAR, l, D, (int64_t)H * c->v_head_dim, "%s.self_attn.o_proj.weight", pre);
}

static void add_block(Builder *b, const ModelConfig *c, int l) {
    const int D = c->hidden_size;
    char pre[64], sub[96];
    snprintf(pre, sizeof pre, "model.layers.%d", l);
    add(b, 1, PARAM_NORM, l, D, 0, "%s.input_layernorm.weight", pre);
    if (config_is_mla(c)) add_mla(b, c, l, pre);
    else add_gqa(b, c, l, pre);
    add(b, 1, PARAM_NORM, l, D, 0, "%s.post_attention_layernorm.weight", pre);
    if (!config_is_moe_layer(c, l)) {
        snprintf(sub, sizeof sub, "%s.mlp", pre);
        add_ffn(b, l, sub, c->intermediate_size, D);
        return;
    }
    add(b, 1, PARAM_LINEAR, l, c->n_routed_experts, D, "%s.mlp.gate.weight", pre);
    if (c->topk_method == TOPK_NOAUX_TC)
        add(b, 1, PARAM_ROUTER_BIAS, l, c->n_routed_experts, 0, "%s.mlp.gate.e_score_correction_bias", pre);
    for (int e = 0; e < c->n_routed_experts; e++) {
        snprintf(sub, sizeof sub, "%s.mlp.experts.%d", pre, e);
        add_ffn(b, l, sub, c->moe_intermediate_size, D);
    }
    if (c->n_shared_experts > 0) {
        snprintf(sub, sizeof sub, "%s.mlp.shared_experts", pre);
        add_ffn(b, l, sub, c->n_shared_experts * c->moe_intermediate_size, D);
    }
}

void param_table_build(ParamTable *pt, const ModelConfig *c) {
    memset(pt, 0, sizeof *pt);
    Builder b = {pt, 0};
    const int D = c->hidden_size, L = c->num_hidden_layers;
    add(&b, 1, PARAM_EMBED, -1, c->vocab_size, D, "model.embed_tokens.weight");
    for (int l = 0; l < L; l++) add_block(&b, c, l);
    for (int k = 0; k < c->num_nextn_predict_layers; k++) {
        int l = L + k;
        add(&b, 1, PARAM_NORM, l, D, 0, "model.layers.%d.enorm.weight", l);
        add(&b, 1, PARAM_NORM, l, D, 0, "model.layers.%d.hnorm.weight", l);
        add(&b, 1, PARAM_LINEAR, l, D, 2 * (int64_t)D, "model.layers.%d.eh_proj.weight", l);
        add_block(&b, c, l);
        add(&b, 1, PARAM_NORM, l, D, 0, "model.layers.%d.shared_head.norm.weight", l);
    }
    add(&b, 1, PARAM_NORM, -1, D, 0, "model.norm.weight");
    if (!c->tie_word_embeddings) add(&b, 1, PARAM_LINEAR, -1, c->vocab_size, D, "lm_head.weight");
    pt->total = (pt->total + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
}

void param_table_free(ParamTable *pt) {
    free(pt->t);
    memset(pt, 0, sizeof *pt);
}

const ParamInfo *param_find(const ParamTable *pt, const char *name) {
    for (int i = 0; i < pt->n; i++)
        if (!strcmp(pt->t[i].name, name)) return &pt->t[i];
    return NULL;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

void param_init(const ParamTable *pt, const ModelConfig *cfg, real *params, uint64_t seed) {
    memset(params, 0, pt->total * sizeof *params);
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        real *w = params + p->offset;
        if (p->kind == PARAM_NORM) {
            for (size_t j = 0; j < p->numel; j++) w[j] = 1;
        } else if (p->kind == PARAM_LINEAR || p->kind == PARAM_EMBED) {
            uint64_t key = fnv1a(p->name);   /* stream keyed by the tensor's name, not its index */
            double std = cfg->initializer_range;
            #pragma omp parallel for schedule(static)
            for (size_t j = 0; j < p->numel; j++)
                w[j] = (real)(std * rng_normal_at(seed, RNG_INIT, key, j));
        }
    }
}

/* ---- views ---- */

static real *at(const ParamTable *pt, real *base, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static real *at(const ParamTable *pt, real *base, const char *fmt, ...) {
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const ParamInfo *p = param_find(pt, name);
    return p ? base + p->offset : NULL;
}

static FfnWeights ffn_view(const ParamTable *pt, real *base, const char *prefix, int F, int D) {
    FfnWeights f = {0};
    f.gate_up = at(pt, base, "%s.gate_proj.weight", prefix);
    f.down = at(pt, base, "%s.down_proj.weight", prefix);
    f.F = F;
    CHECK(f.gate_up && f.down);
    /* the table packs up_proj right after gate_proj: [gate; up] is one [2F, D] matrix */
    CHECK(at(pt, base, "%s.up_proj.weight", prefix) == f.gate_up + (size_t)F * (size_t)D);
    return f;
}

static GqaWeights gqa_view(const ParamTable *pt, const ModelConfig *c, real *base, const char *pre) {
    const size_t D = c->hidden_size, Dq = config_q_dim(c), Dkv = config_kv_dim(c);
    GqaWeights g = {0};
    g.qkv = at(pt, base, "%s.self_attn.q_proj.weight", pre);
    g.qkv_bias = at(pt, base, "%s.self_attn.q_proj.bias", pre);
    g.o_proj = at(pt, base, "%s.self_attn.o_proj.weight", pre);
    g.o_bias = at(pt, base, "%s.self_attn.o_proj.bias", pre);
    CHECK(g.qkv && g.o_proj);
    /* the table packs q, k, v (and their biases) with no gap */
    CHECK(at(pt, base, "%s.self_attn.k_proj.weight", pre) == g.qkv + Dq * D);
    CHECK(at(pt, base, "%s.self_attn.v_proj.weight", pre) == g.qkv + (Dq + Dkv) * D);
    CHECK(!g.qkv_bias || at(pt, base, "%s.self_attn.v_proj.bias", pre) == g.qkv_bias + Dq + Dkv);
    return g;
}

static void block_view(LayerWeights *lw, const ParamTable *pt, const ModelConfig *c, real *base,
                       int l, FfnWeights *experts) {
    memset(lw, 0, sizeof *lw);
    char pre[64], sub[96];
    snprintf(pre, sizeof pre, "model.layers.%d", l);
    lw->attn_norm = at(pt, base, "%s.input_layernorm.weight", pre);
    lw->ffn_norm = at(pt, base, "%s.post_attention_layernorm.weight", pre);
    if (!config_is_mla(c)) lw->gqa = gqa_view(pt, c, base, pre);
    MlaWeights *a = &lw->attn;
    a->q_a_proj = at(pt, base, "%s.self_attn.q_a_proj.weight", pre);
    a->q_a_norm = at(pt, base, "%s.self_attn.q_a_layernorm.weight", pre);
    a->q_b_proj = at(pt, base, "%s.self_attn.q_b_proj.weight", pre);
    a->q_proj = at(pt, base, "%s.self_attn.q_proj.weight", pre);
    a->kv_a_proj = at(pt, base, "%s.self_attn.kv_a_proj_with_mqa.weight", pre);
    a->kv_a_norm = at(pt, base, "%s.self_attn.kv_a_layernorm.weight", pre);
    a->kv_b_proj = at(pt, base, "%s.self_attn.kv_b_proj.weight", pre);
    a->o_proj = at(pt, base, "%s.self_attn.o_proj.weight", pre);
    lw->is_moe = config_is_moe_layer(c, l);
    if (!lw->is_moe) {
        snprintf(sub, sizeof sub, "%s.mlp", pre);
        lw->dense = ffn_view(pt, base, sub, c->intermediate_size, c->hidden_size);
        return;
    }
    MoeWeights *m = &lw->moe;
    m->router = at(pt, base, "%s.mlp.gate.weight", pre);
    m->bias = at(pt, base, "%s.mlp.gate.e_score_correction_bias", pre);
    m->experts = experts;
    for (int e = 0; e < c->n_routed_experts; e++) {
        snprintf(sub, sizeof sub, "%s.mlp.experts.%d", pre, e);
        experts[e] = ffn_view(pt, base, sub, c->moe_intermediate_size, c->hidden_size);
    }
    if (c->n_shared_experts > 0) {
        snprintf(sub, sizeof sub, "%s.mlp.shared_experts", pre);
        m->shared = ffn_view(pt, base, sub, c->n_shared_experts * c->moe_intermediate_size, c->hidden_size);
    }
}

void model_view_build(ModelView *v, const ParamTable *pt, const ModelConfig *c, real *base) {
    memset(v, 0, sizeof *v);
    const int L = c->num_hidden_layers, M = c->num_nextn_predict_layers, E = c->n_routed_experts;
    v->embed = at(pt, base, "model.embed_tokens.weight");
    v->final_norm = at(pt, base, "model.norm.weight");
    v->lm_head = c->tie_word_embeddings ? v->embed : at(pt, base, "lm_head.weight");
    v->layers = xcalloc((size_t)L, sizeof *v->layers);
    v->mtp = xcalloc((size_t)(M > 0 ? M : 1), sizeof *v->mtp);
    v->expert_store = xcalloc((size_t)(L + M) * (size_t)(E > 0 ? E : 1), sizeof *v->expert_store);
    for (int l = 0; l < L; l++)
        block_view(&v->layers[l], pt, c, base, l, v->expert_store + (size_t)l * (size_t)E);
    for (int k = 0; k < M; k++) {
        int l = L + k;
        MtpWeights *m = &v->mtp[k];
        m->enorm = at(pt, base, "model.layers.%d.enorm.weight", l);
        m->hnorm = at(pt, base, "model.layers.%d.hnorm.weight", l);
        m->eh_proj = at(pt, base, "model.layers.%d.eh_proj.weight", l);
        m->head_norm = at(pt, base, "model.layers.%d.shared_head.norm.weight", l);
        block_view(&m->block, pt, c, base, l, v->expert_store + (size_t)l * (size_t)E);
    }
}

void model_view_free(ModelView *v) {
    free(v->layers);
    free(v->mtp);
    free(v->expert_store);
    memset(v, 0, sizeof *v);
}
