/* deepseek_v3 <-> llama.cpp's deepseek2: names, metadata and the kv_b split (see gguf_model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf_arch.h"
#include "model/gguf_model.h"
#include "model/params.h"

#define ARCH "deepseek2"

typedef enum MapKind { MAP_PLAIN, MAP_EXPERT, MAP_KV_B, MAP_MTP } MapKind;

typedef struct Mapped {
    MapKind kind;
    char gguf[96];      /* GGUF tensor name (MAP_PLAIN, MAP_EXPERT) */
    int layer, expert;  /* MAP_EXPERT: expert index */
} Mapped;

/* HF suffix after "model.layers.{l}." -> GGUF suffix after "blk.{l}.". */
static const char *const LAYER_NAMES[][2] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_a_proj.weight", "attn_q_a.weight"},
    {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
    {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate.weight", "ffn_gate_inp.weight"},
    {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
};

static const char *const GLOBAL_NAMES[][2] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

/* Where a parameter of the table goes in the file; CHECKs that the name is known (the table is
 * ours, so an unknown name is a bug here). */
static Mapped map_name(const char *hf, int L) {
    Mapped m = {MAP_PLAIN, "", -1, -1};
    for (size_t i = 0; i < sizeof GLOBAL_NAMES / sizeof GLOBAL_NAMES[0]; i++)
        if (!strcmp(hf, GLOBAL_NAMES[i][0])) { snprintf(m.gguf, sizeof m.gguf, "%s", GLOBAL_NAMES[i][1]); return m; }
    int l, n = 0;
    CHECKF(sscanf(hf, "model.layers.%d.%n", &l, &n) == 1 && n > 0, "unmapped tensor %s", hf);
    const char *rest = hf + n;
    m.layer = l;
    if (l >= L) { m.kind = MAP_MTP; return m; }
    if (!strcmp(rest, "self_attn.kv_b_proj.weight")) { m.kind = MAP_KV_B; return m; }
    int ex, k = 0;
    char w[8];
    if (sscanf(rest, "mlp.experts.%d.%4[a-z]_proj.weight%n", &ex, w, &k) == 2 && k > 0 && !rest[k]) {
        m.kind = MAP_EXPERT;
        m.expert = ex;
        snprintf(m.gguf, sizeof m.gguf, "blk.%d.ffn_%s_exps.weight", l, w);
        return m;
    }
    for (size_t i = 0; i < sizeof LAYER_NAMES / sizeof LAYER_NAMES[0]; i++)
        if (!strcmp(rest, LAYER_NAMES[i][0])) { snprintf(m.gguf, sizeof m.gguf, "blk.%d.%s", l, LAYER_NAMES[i][1]); return m; }
    CHECKF(0, "unmapped tensor %s", hf);
    return m;
}

/* ---------------------------------------------------------------- export */

/* kv_b_proj [H·(Dn+Dv), Rkv] -> attn_k_b {Dn, Rkv, H} (k_b[h][r][n] = kv_b[h(Dn+Dv)+n][r]) and
 * attn_v_b {Rkv, Dv, H} (v_b[h][v][r] = kv_b[h(Dn+Dv)+Dn+v][r]). */
static void add_kv_b(GgufWriter *w, const ModelConfig *c, int l, const real *kvb, GgmlType type) {
    const int H = c->num_attention_heads, Dn = c->qk_nope_head_dim, Dv = c->v_head_dim, R = c->kv_lora_rank;
    float *kb = xmalloc((size_t)H * R * Dn * sizeof *kb), *vb = xmalloc((size_t)H * Dv * R * sizeof *vb);
    for (int h = 0; h < H; h++) {
        const real *rows = kvb + (size_t)h * (Dn + Dv) * R;
        for (int n = 0; n < Dn; n++)
            for (int r = 0; r < R; r++) kb[((size_t)h * R + r) * Dn + n] = (float)rows[(size_t)n * R + r];
        for (int v = 0; v < Dv; v++)
            for (int r = 0; r < R; r++) vb[((size_t)h * Dv + v) * R + r] = (float)rows[(size_t)(Dn + v) * R + r];
    }
    char name[96];
    int64_t nek[3] = {Dn, R, H}, nev[3] = {R, Dv, H};
    snprintf(name, sizeof name, "blk.%d.attn_k_b.weight", l);
    gguf_w_tensor(w, name, 3, nek, gguf_arch_pick_type(type, 3, Dn, name), kb, 1);
    snprintf(name, sizeof name, "blk.%d.attn_v_b.weight", l);
    gguf_w_tensor(w, name, 3, nev, gguf_arch_pick_type(type, 3, R, name), vb, 1);
}

/* The E experts' matrices of one projection stacked into {in, out, E}. */
static void add_experts(GgufWriter *w, const Model *m, int l, const char *proj, const char *gguf, GgmlType type) {
    const int E = m->cfg.n_routed_experts;
    char hf[128];
    snprintf(hf, sizeof hf, "model.layers.%d.mlp.experts.0.%s_proj.weight", l, proj);
    const ParamInfo *p0 = param_find(&m->table, hf);
    CHECK(p0 && p0->ndim == 2);
    float *all = xmalloc((size_t)E * p0->numel * sizeof *all);
    for (int e = 0; e < E; e++) {
        snprintf(hf, sizeof hf, "model.layers.%d.mlp.experts.%d.%s_proj.weight", l, e, proj);
        const ParamInfo *p = param_find(&m->table, hf);
        CHECK(p && p->numel == p0->numel);
        for (size_t i = 0; i < p->numel; i++) all[(size_t)e * p->numel + i] = (float)m->params[p->offset + i];
    }
    int64_t ne[3] = {p0->shape[1], p0->shape[0], E};
    gguf_w_tensor(w, gguf, 3, ne, gguf_arch_pick_type(type, 3, ne[0], gguf), all, 1);
}

/* Refuses configs whose maths llama.cpp's deepseek2 graph does not implement (see the header). */
static int check_exportable(const ModelConfig *c, Err *e) {
    const int has_moe = c->n_routed_experts > 0 && c->first_k_dense_replace < c->num_hidden_layers;
    if (has_moe && c->n_shared_experts == 0)
        return err_set(e, "config: key 'n_shared_experts': 0 cannot be exported (llama.cpp's deepseek2 requires shared experts)");
    if (has_moe && c->topk_method == TOPK_GROUP_LIMITED_GREEDY && c->n_group > 1 && c->topk_group < c->n_group)
        return err_set(e, "config: key 'topk_method': group_limited_greedy scores a group by its max, llama.cpp by the sum of its top two experts; not exportable");
    const RopeScaling *y = &c->rope_scaling;
    if (y->kind == ROPE_SCALING_YARN && y->factor > 1 && y->mscale != y->mscale_all_dim)
        return err_set(e, "config: key 'rope_scaling.mscale': %g differs from mscale_all_dim %g; llama.cpp's deepseek2 assumes they are equal (no cos/sin scale)",
                       y->mscale, y->mscale_all_dim);
    if (y->kind == ROPE_SCALING_YARN && (y->beta_fast != 32 || y->beta_slow != 1))
        return err_set(e, "config: key 'rope_scaling.beta_fast': llama.cpp's deepseek2 uses beta_fast 32 and beta_slow 1 (got %g, %g)",
                       y->beta_fast, y->beta_slow);
    return 0;
}

static void add_metadata(GgufWriter *w, const ModelConfig *c, GgmlType type, const char *name) {
    gguf_arch_add_general(w, ARCH, name, type);
    const int has_moe = c->n_routed_experts > 0 && c->first_k_dense_replace < c->num_hidden_layers;
    const int Dqk = config_qk_head_dim(c);
#define K(suffix) "deepseek2." suffix
    gguf_w_u32(w, K("block_count"), (uint32_t)c->num_hidden_layers);
    gguf_w_u32(w, K("context_length"), (uint32_t)c->max_position_embeddings);
    gguf_w_u32(w, K("embedding_length"), (uint32_t)c->hidden_size);
    gguf_w_u32(w, K("feed_forward_length"), (uint32_t)c->intermediate_size);
    gguf_w_u32(w, K("expert_feed_forward_length"), (uint32_t)c->moe_intermediate_size);
    gguf_w_u32(w, K("vocab_size"), (uint32_t)c->vocab_size);
    gguf_w_u32(w, K("leading_dense_block_count"), (uint32_t)(has_moe ? c->first_k_dense_replace : c->num_hidden_layers));
    gguf_w_u32(w, K("attention.head_count"), (uint32_t)c->num_attention_heads);
    gguf_w_u32(w, K("attention.head_count_kv"), 1);
    gguf_w_u32(w, K("attention.q_lora_rank"), (uint32_t)c->q_lora_rank);
    gguf_w_u32(w, K("attention.kv_lora_rank"), (uint32_t)c->kv_lora_rank);
    gguf_w_u32(w, K("attention.key_length"), (uint32_t)(c->kv_lora_rank + c->qk_rope_head_dim));
    gguf_w_u32(w, K("attention.value_length"), (uint32_t)c->kv_lora_rank);
    gguf_w_u32(w, K("attention.key_length_mla"), (uint32_t)Dqk);
    gguf_w_u32(w, K("attention.value_length_mla"), (uint32_t)c->v_head_dim);
    gguf_w_f32(w, K("attention.layer_norm_rms_epsilon"), (float)c->rms_norm_eps);
    gguf_w_u32(w, K("rope.dimension_count"), (uint32_t)c->qk_rope_head_dim);
    gguf_w_f32(w, K("rope.freq_base"), (float)c->rope_theta);
    gguf_w_u32(w, K("expert_count"), has_moe ? (uint32_t)c->n_routed_experts : 0);
    gguf_w_u32(w, K("expert_used_count"), has_moe ? (uint32_t)c->num_experts_per_tok : 0);
    gguf_w_u32(w, K("expert_shared_count"), (uint32_t)c->n_shared_experts);
    gguf_w_f32(w, K("expert_weights_scale"), (float)c->routed_scaling_factor);
    gguf_w_bool(w, K("expert_weights_norm"), c->norm_topk_prob);
    gguf_w_u32(w, K("expert_gating_func"), c->scoring_func == SCORING_SIGMOID ? 2 : 1);
    /* group-limited routing; topk_group == n_group keeps every group (llama.cpp refuses that) */
    if (has_moe && c->topk_method != TOPK_GREEDY && c->n_group > 1 && c->topk_group < c->n_group) {
        gguf_w_u32(w, K("expert_group_count"), (uint32_t)c->n_group);
        gguf_w_u32(w, K("expert_group_used_count"), (uint32_t)c->topk_group);
    }
    const RopeScaling *y = &c->rope_scaling;
    if (y->kind == ROPE_SCALING_YARN) {
        gguf_w_str(w, K("rope.scaling.type"), "yarn");
        gguf_w_f32(w, K("rope.scaling.factor"), (float)y->factor);
        gguf_w_u32(w, K("rope.scaling.original_context_length"), (uint32_t)y->original_max_position_embeddings);
        /* llama.cpp's converter writes 0.1·mscale_all_dim here and its loader divides by 0.1 */
        gguf_w_f32(w, K("rope.scaling.yarn_log_multiplier"), (float)(0.1 * y->mscale_all_dim));
        gguf_w_f32(w, K("rope.scaling.yarn_beta_fast"), (float)y->beta_fast);
        gguf_w_f32(w, K("rope.scaling.yarn_beta_slow"), (float)y->beta_slow);
    }
#undef K
}

int gguf_deepseek2_add(GgufWriter *w, const Model *m, GgmlType type, const char *name, Err *e) {
    const ModelConfig *c = &m->cfg;
    if (check_exportable(c, e)) return -1;
    add_metadata(w, c, type, name);
    const int L = c->num_hidden_layers;
    for (int i = 0; i < m->table.n; i++) {
        const ParamInfo *p = &m->table.t[i];
        Mapped mp = map_name(p->name, L);
        switch (mp.kind) {
        case MAP_PLAIN: gguf_arch_add_param(w, p, mp.gguf, m->params, type); break;
        case MAP_KV_B: add_kv_b(w, c, mp.layer, m->params + p->offset, type); break;
        case MAP_EXPERT:
            if (mp.expert == 0) {
                const char *proj = strstr(mp.gguf, "ffn_gate") ? "gate" : strstr(mp.gguf, "ffn_up") ? "up" : "down";
                add_experts(w, m, mp.layer, proj, mp.gguf, type);
            }
            break;
        case MAP_MTP: break;
        }
    }
    if (c->num_nextn_predict_layers > 0)
        fprintf(stderr, "r1: note: the %d MTP module(s) (layers %d..%d) are not exported: llama.cpp's deepseek2 does not run them\n",
                c->num_nextn_predict_layers, L, L + c->num_nextn_predict_layers - 1);
    return 0;
}

/* ---------------------------------------------------------------- import */

static int get_u32(const Gguf *g, const char *suffix, int required, int *out, Err *e) {
    return gguf_arch_u32(g, ARCH, suffix, required, out, e) < 0 ? -1 : 0;
}

static int get_f(const Gguf *g, const char *suffix, int required, double *out, Err *e) {
    return gguf_arch_f(g, ARCH, suffix, required, out, e) < 0 ? -1 : 0;
}

static int check_size(const Gguf *g, const ModelConfig *c, Err *e);

int gguf_deepseek2_config(const Gguf *g, ModelConfig *cfg, Err *e) {
    /* start from Hugging Face's defaults, then the file's values */
    cJSON *empty = cJSON_Parse("{\"vocab_size\":2,\"hidden_size\":1,\"num_hidden_layers\":1,\"num_attention_heads\":1,"
                               "\"kv_lora_rank\":1,\"qk_rope_head_dim\":2,\"qk_nope_head_dim\":1,\"v_head_dim\":1,"
                               "\"intermediate_size\":1,\"moe_intermediate_size\":1,\"n_routed_experts\":0,"
                               "\"q_lora_rank\":null,\"max_position_embeddings\":1,\"num_nextn_predict_layers\":0}");
    int rc = config_from_json(cfg, empty, "defaults", e);
    cJSON_Delete(empty);
    CHECK(rc == 0);
    ModelConfig *c = cfg;
    int nextn = 0, key_mla = 0, value_mla = 0, key_len = 0, value_len = 0, n_expert = 0, groups = 1, groups_used = 1, gating = 0;
    double eps = 1e-6, scale = 1.0, theta = 10000.0;
    int norm = 0;
    if (get_u32(g, "block_count", 1, &c->num_hidden_layers, e) || get_u32(g, "nextn_predict_layers", 0, &nextn, e) ||
        get_u32(g, "context_length", 1, &c->max_position_embeddings, e) ||
        get_u32(g, "embedding_length", 1, &c->hidden_size, e) ||
        get_u32(g, "feed_forward_length", 0, &c->intermediate_size, e) ||
        get_u32(g, "expert_feed_forward_length", 0, &c->moe_intermediate_size, e) ||
        get_u32(g, "leading_dense_block_count", 0, &c->first_k_dense_replace, e) ||
        get_u32(g, "attention.head_count", 1, &c->num_attention_heads, e) ||
        get_u32(g, "attention.kv_lora_rank", 1, &c->kv_lora_rank, e) ||
        get_u32(g, "attention.key_length", 1, &key_len, e) || get_u32(g, "attention.value_length", 1, &value_len, e) ||
        get_u32(g, "attention.key_length_mla", 0, &key_mla, e) || get_u32(g, "attention.value_length_mla", 0, &value_mla, e) ||
        get_u32(g, "rope.dimension_count", 1, &c->qk_rope_head_dim, e) ||
        get_u32(g, "expert_count", 0, &n_expert, e) || get_u32(g, "expert_used_count", 0, &c->num_experts_per_tok, e) ||
        get_u32(g, "expert_shared_count", 0, &c->n_shared_experts, e) ||
        get_u32(g, "expert_group_count", 0, &groups, e) || get_u32(g, "expert_group_used_count", 0, &groups_used, e) ||
        get_u32(g, "expert_gating_func", 0, &gating, e) ||
        get_f(g, "attention.layer_norm_rms_epsilon", 1, &eps, e) || get_f(g, "rope.freq_base", 0, &theta, e) ||
        get_f(g, "expert_weights_scale", 0, &scale, e))
        return -1;
    if (gguf_get_bool(g, "deepseek2.expert_weights_norm", 0, &norm, e) < 0) return -1;
    c->num_hidden_layers -= nextn;   /* MTP blocks, if any, are not imported */
    if (c->num_hidden_layers < 1) return err_set(e, "%s: key 'deepseek2.block_count': no main layers", g->path);
    if (key_mla && value_mla) {      /* split k_b/v_b file: key_length is Rkv+Dr */
        c->qk_nope_head_dim = key_mla - c->qk_rope_head_dim;
        c->v_head_dim = value_mla;
    } else {                          /* legacy file with attn_kv_b: key_length is Dn+Dr */
        c->qk_nope_head_dim = key_len - c->qk_rope_head_dim;
        c->v_head_dim = value_len;
    }
    int64_t v = gguf_arch_rows(g, "token_embd.weight");
    if (v < 1) return err_set(e, "%s: tensor 'token_embd.weight' is missing or not 2-D", g->path);
    c->vocab_size = (int)v;
    int64_t rq = gguf_arch_rows(g, "blk.0.attn_q_a.weight");
    c->q_lora_rank = rq > 0 ? (int)rq : 0;
    c->rms_norm_eps = eps;
    c->rope_theta = theta;
    c->n_routed_experts = n_expert;
    c->routed_scaling_factor = scale;
    c->norm_topk_prob = norm;
    c->scoring_func = gating == 2 ? SCORING_SIGMOID : SCORING_SOFTMAX;   /* llama.cpp's default: softmax */
    if (gating > 2) return err_set(e, "%s: key 'deepseek2.expert_gating_func': %d is not supported (1 softmax, 2 sigmoid)", g->path, gating);
    char bname[64];
    snprintf(bname, sizeof bname, "blk.%d.exp_probs_b.bias", c->first_k_dense_replace);
    /* llama.cpp scores groups by their top-2 sum with or without a bias: noaux_tc (bias 0 if absent) */
    c->topk_method = gguf_find_tensor(g, bname) || groups > 1 ? TOPK_NOAUX_TC : TOPK_GREEDY;
    c->n_group = groups > 1 ? groups : 1;
    c->topk_group = groups > 1 ? groups_used : 1;
    if (n_expert == 0) c->first_k_dense_replace = c->num_hidden_layers;
    c->num_nextn_predict_layers = 0;
    c->num_key_value_heads = c->num_attention_heads;
    const char *ty;
    size_t tlen;
    int r = gguf_get_str(g, "deepseek2.rope.scaling.type", 0, &ty, &tlen, e);
    if (r < 0) return -1;
    if (r == 0 && tlen == 4 && !memcmp(ty, "yarn", 4)) {
        RopeScaling *y = &c->rope_scaling;
        double mul = 0;
        y->kind = ROPE_SCALING_YARN;
        y->beta_fast = 32;
        y->beta_slow = 1;
        if (get_f(g, "rope.scaling.factor", 1, &y->factor, e) || get_f(g, "rope.scaling.yarn_log_multiplier", 0, &mul, e) ||
            get_f(g, "rope.scaling.yarn_beta_fast", 0, &y->beta_fast, e) || get_f(g, "rope.scaling.yarn_beta_slow", 0, &y->beta_slow, e) ||
            get_u32(g, "rope.scaling.original_context_length", 1, &y->original_max_position_embeddings, e))
            return -1;
        y->mscale_all_dim = mul / 0.1;
        y->mscale = y->mscale_all_dim;   /* what llama.cpp assumes for deepseek2 */
    } else if (r == 0 && !(tlen == 4 && !memcmp(ty, "none", 4)) && !(tlen == 6 && !memcmp(ty, "linear", 6))) {
        return err_set(e, "%s: key 'deepseek2.rope.scaling.type': '%.*s' is not supported (yarn, none)", g->path, (int)(tlen > 20 ? 20 : tlen), ty);
    }
    uint32_t tok;
    if (gguf_get_u32(g, "tokenizer.ggml.bos_token_id", 0, &tok, e) == 0) c->bos_token_id = (int)tok;
    if (gguf_get_u32(g, "tokenizer.ggml.eos_token_id", 0, &tok, e) == 0) c->eos_token_id = (int)tok;
    snprintf(c->torch_dtype, sizeof c->torch_dtype, "float32");
    if (config_validate(c, e)) return err_prefix(e, "%s", g->path);
    return check_size(g, c, e);
}

/* kv_b_proj from attn_k_b + attn_v_b (or a legacy attn_kv_b {Rkv, H(Dn+Dv)}). */
static int read_kv_b(const Gguf *g, const ModelConfig *c, int l, const char *hf, real *dst, unsigned char *used, Err *e) {
    const int H = c->num_attention_heads, Dn = c->qk_nope_head_dim, Dv = c->v_head_dim, R = c->kv_lora_rank;
    char kn[96], vn[96];
    snprintf(kn, sizeof kn, "blk.%d.attn_kv_b.weight", l);
    const GgufTensor *t, *tv;
    if (gguf_find_tensor(g, kn)) {
        int64_t ne[2] = {R, (int64_t)H * (Dn + Dv)};
        if (gguf_arch_want(g, kn, hf, 2, ne, &t, e)) return -1;
        gguf_arch_read(t, dst);
        used[t - g->t] = 1;
        return 0;
    }
    snprintf(kn, sizeof kn, "blk.%d.attn_k_b.weight", l);
    snprintf(vn, sizeof vn, "blk.%d.attn_v_b.weight", l);
    int64_t nek[3] = {Dn, R, H}, nev[3] = {R, Dv, H};
    if (gguf_arch_want(g, kn, hf, 3, nek, &t, e) || gguf_arch_want(g, vn, hf, 3, nev, &tv, e)) return -1;
    float *kb = xmalloc(t->numel * sizeof *kb), *vb = xmalloc(tv->numel * sizeof *vb);
    gguf_tensor_to_f32(t, kb);
    gguf_tensor_to_f32(tv, vb);
    for (int h = 0; h < H; h++) {
        real *rows = dst + (size_t)h * (Dn + Dv) * R;
        for (int n = 0; n < Dn; n++)
            for (int r = 0; r < R; r++) rows[(size_t)n * R + r] = (real)kb[((size_t)h * R + r) * Dn + n];
        for (int v = 0; v < Dv; v++)
            for (int r = 0; r < R; r++) rows[(size_t)(Dn + v) * R + r] = (real)vb[((size_t)h * Dv + v) * R + r];
    }
    free(kb);
    free(vb);
    used[t - g->t] = used[tv - g->t] = 1;
    return 0;
}

/* The tensor(s) a parameter comes from, present with the right dims; *t (if not NULL) receives
 * the tensor of a plain or expert parameter. */
static int check_source(const Gguf *g, const ModelConfig *c, const ParamInfo *p, const GgufTensor **t, Err *e) {
    Mapped mp = map_name(p->name, c->num_hidden_layers);
    const GgufTensor *dummy;
    if (!t) t = &dummy;
    *t = NULL;
    if (mp.kind == MAP_MTP) return 0;
    if (mp.kind == MAP_EXPERT) {
        int64_t ne[3] = {p->shape[1], p->shape[0], c->n_routed_experts};
        return gguf_arch_want(g, mp.gguf, p->name, 3, ne, t, e);
    }
    if (mp.kind == MAP_PLAIN) {
        int64_t ne[2] = {p->ndim == 2 ? p->shape[1] : p->shape[0], p->shape[0]};
        return gguf_arch_want(g, mp.gguf, p->name, p->ndim, ne, t, e);
    }
    const int H = c->num_attention_heads, Dn = c->qk_nope_head_dim, Dv = c->v_head_dim, R = c->kv_lora_rank;
    char kn[96], vn[96];
    const GgufTensor *tk, *tv;
    snprintf(kn, sizeof kn, "blk.%d.attn_kv_b.weight", mp.layer);
    if (gguf_find_tensor(g, kn)) {
        int64_t ne[2] = {R, (int64_t)H * (Dn + Dv)};
        return gguf_arch_want(g, kn, p->name, 2, ne, &tk, e);
    }
    snprintf(kn, sizeof kn, "blk.%d.attn_k_b.weight", mp.layer);
    snprintf(vn, sizeof vn, "blk.%d.attn_v_b.weight", mp.layer);
    int64_t nek[3] = {Dn, R, H}, nev[3] = {R, Dv, H};
    return gguf_arch_want(g, kn, p->name, 3, nek, &tk, e) || gguf_arch_want(g, vn, p->name, 3, nev, &tv, e) ? -1 : 0;
}

/* The metadata must describe the tensors the file holds before anything is allocated from it:
 * the last block, the router's experts, and every parameter's tensor with its dims. */
static int check_size(const Gguf *g, const ModelConfig *c, Err *e) {
    char name[96];
    const int L = c->num_hidden_layers;
    if (L > g->n_tensors) return err_set(e, "%s: key 'deepseek2.block_count': %d blocks but %lld tensors", g->path, L, (long long)g->n_tensors);
    snprintf(name, sizeof name, "blk.%d.attn_norm.weight", L - 1);
    if (!gguf_find_tensor(g, name)) return err_set(e, "%s: tensor '%s' is missing (key 'deepseek2.block_count' is %d)", g->path, name, L);
    const GgufTensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (emb->ne[0] != c->hidden_size)
        return err_set(e, "%s: tensor 'token_embd.weight': %lld columns, key 'deepseek2.embedding_length' is %d", g->path, (long long)emb->ne[0], c->hidden_size);
    if (c->n_routed_experts > 0 && c->first_k_dense_replace < L) {
        snprintf(name, sizeof name, "blk.%d.ffn_gate_inp.weight", c->first_k_dense_replace);
        const GgufTensor *t = gguf_find_tensor(g, name);
        if (!t || t->n_dims != 2 || t->ne[1] != c->n_routed_experts)
            return err_set(e, "%s: tensor '%s' is missing or has not key 'deepseek2.expert_count' = %d rows", g->path, name, c->n_routed_experts);
    }
    uint64_t held = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) held += g->t[i].numel;
    /* each MoE layer's stacked expert tensors hold at least E values: bounds the table's size */
    if ((uint64_t)(L - c->first_k_dense_replace) * (uint64_t)c->n_routed_experts > held)
        return err_set(e, "%s: key 'deepseek2.expert_count': %d experts in %d layers do not fit the file's tensors", g->path,
                       c->n_routed_experts, L - c->first_k_dense_replace);
    ParamTable pt;
    param_table_build(&pt, c);
    int rc = 0;
    for (int i = 0; i < pt.n && rc == 0; i++) rc = check_source(g, c, &pt.t[i], NULL, e);
    param_table_free(&pt);
    return rc;
}

int gguf_deepseek2_read(const Gguf *g, const ModelConfig *cfg, const ParamTable *pt, real *params, unsigned char *used, Err *e) {
    const int L = cfg->num_hidden_layers;
    int rc = 0;
    for (int i = 0; i < pt->n && rc == 0; i++) {
        const ParamInfo *p = &pt->t[i];
        Mapped mp = map_name(p->name, L);
        const GgufTensor *t;
        if (mp.kind == MAP_KV_B) {
            rc = read_kv_b(g, cfg, mp.layer, p->name, params + p->offset, used, e);
        } else if (mp.kind != MAP_MTP) {
            if ((rc = check_source(g, cfg, p, &t, e))) break;
            GgufTensor src = *t;
            if (mp.kind == MAP_EXPERT) {   /* expert e: the e-th slab; Q8_0 slabs are whole blocks */
                src.numel = p->numel;
                src.nbytes = t->nbytes / (uint64_t)cfg->n_routed_experts;
                src.data = t->data + src.nbytes * (uint64_t)mp.expert;
            }
            gguf_arch_read(&src, params + p->offset);
            used[t - g->t] = 1;
        }
    }
    return rc;
}
