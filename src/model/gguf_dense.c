/* qwen2 and llama <-> llama.cpp's "qwen2" and "llama" architectures (see gguf_model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf_arch.h"
#include "model/gguf_model.h"
#include "model/params.h"

/* HF suffix after "model.layers.{l}." -> GGUF suffix after "blk.{l}.". */
static const char *const LAYER_NAMES[][2] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

static const char *const GLOBAL_NAMES[][2] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

static const char ROPE_FREQS[] = "rope_freqs.weight";

typedef struct Mapped {
    char gguf[96];
    int heads;          /* llama's q/k rows (weight or bias) are permuted in this many heads; 0: as is */
} Mapped;

/* Where a parameter of the table goes in the file (the table is ours: an unknown name is a bug). */
static Mapped map_name(const ModelConfig *c, const char *hf) {
    Mapped m = {"", 0};
    for (size_t i = 0; i < sizeof GLOBAL_NAMES / sizeof GLOBAL_NAMES[0]; i++)
        if (!strcmp(hf, GLOBAL_NAMES[i][0])) { snprintf(m.gguf, sizeof m.gguf, "%s", GLOBAL_NAMES[i][1]); return m; }
    int l, n = 0;
    CHECKF(sscanf(hf, "model.layers.%d.%n", &l, &n) == 1 && n > 0, "unmapped tensor %s", hf);
    const char *rest = hf + n;
    for (size_t i = 0; i < sizeof LAYER_NAMES / sizeof LAYER_NAMES[0]; i++) {
        if (strcmp(rest, LAYER_NAMES[i][0])) continue;
        snprintf(m.gguf, sizeof m.gguf, "blk.%d.%s", l, LAYER_NAMES[i][1]);
        if (c->model_type == MODEL_LLAMA && !strncmp(rest, "self_attn.q_proj.", 17)) m.heads = c->num_attention_heads;
        if (c->model_type == MODEL_LLAMA && !strncmp(rest, "self_attn.k_proj.", 17)) m.heads = c->num_key_value_heads;
        return m;
    }
    CHECKF(0, "unmapped tensor %s", hf);
    return m;
}

/* llama.cpp's llama rotates interleaved pairs (x[2j], x[2j+1]) where Hugging Face's checkpoints
 * rotate halves (x[j], x[j + Dh/2]); its converter permutes q and k to match: within each head,
 * GGUF row 2j + i is HF row i·Dh/2 + j. qwen2 runs NeoX-style halves in llama.cpp: no permutation. */
static size_t gguf_row(size_t r, int Dh) {
    const size_t h = r / (size_t)Dh, k = r % (size_t)Dh, half = (size_t)Dh / 2;
    return h * (size_t)Dh + 2 * (k % half) + k / half;
}

/* ---------------------------------------------------------------- export */

static int check_exportable(const ModelConfig *c, Err *e) {
    const char *arch = gguf_model_arch_name(c);
    if (c->rope_scaling.kind == ROPE_SCALING_YARN)
        return err_set(e, "config: key 'rope_scaling.type': yarn is not exported for %s (llama's llama3 scaling is)", arch);
    if (c->model_type == MODEL_QWEN2 && c->rope_scaling.kind == ROPE_SCALING_LLAMA3)
        return err_set(e, "config: key 'rope_scaling.type': llama3 scaling is not exported for qwen2 (llama.cpp reads rope_freqs for llama only)");
    if (c->model_type == MODEL_QWEN2 && config_q_dim(c) != c->hidden_size)
        return err_set(e, "config: key 'head_dim': %d heads of %d differ from hidden_size %d, which llama.cpp's qwen2 assumes",
                       c->num_attention_heads, c->head_dim, c->hidden_size);
    return 0;
}

static void add_metadata(GgufWriter *w, const ModelConfig *c, const char *arch) {
    char key[96];
#define U(k, v) (snprintf(key, sizeof key, "%s." k, arch), gguf_w_u32(w, key, (uint32_t)(v)))
#define F(k, v) (snprintf(key, sizeof key, "%s." k, arch), gguf_w_f32(w, key, (float)(v)))
    U("block_count", c->num_hidden_layers);
    U("context_length", c->max_position_embeddings);
    U("embedding_length", c->hidden_size);
    U("feed_forward_length", c->intermediate_size);
    U("vocab_size", c->vocab_size);
    U("attention.head_count", c->num_attention_heads);
    U("attention.head_count_kv", c->num_key_value_heads);
    U("attention.key_length", c->head_dim);
    U("attention.value_length", c->head_dim);
    U("rope.dimension_count", c->head_dim);
    F("rope.freq_base", c->rope_theta);
    F("attention.layer_norm_rms_epsilon", c->rms_norm_eps);
#undef U
#undef F
}

int gguf_dense_add(GgufWriter *w, const Model *m, GgmlType type, const char *name, Err *e) {
    const ModelConfig *c = &m->cfg;
    if (check_exportable(c, e)) return -1;
    const char *arch = gguf_model_arch_name(c);
    gguf_arch_add_general(w, arch, name, type);
    add_metadata(w, c, arch);
    for (int i = 0; i < m->table.n; i++) {
        const ParamInfo *p = &m->table.t[i];
        Mapped mp = map_name(c, p->name);
        if (!mp.heads) { gguf_arch_add_param(w, p, mp.gguf, m->params, type); continue; }
        const size_t cols = p->ndim == 2 ? (size_t)p->shape[1] : 1, rows = (size_t)p->shape[0];
        float *x = xmalloc(p->numel * sizeof *x);
        for (size_t r = 0; r < rows; r++)
            for (size_t k = 0; k < cols; k++) x[gguf_row(r, c->head_dim) * cols + k] = (float)m->params[p->offset + r * cols + k];
        int64_t ne[2] = {p->ndim == 2 ? (int64_t)cols : (int64_t)rows, (int64_t)rows};
        gguf_w_tensor(w, mp.gguf, p->ndim, ne, gguf_arch_pick_type(type, p->ndim, ne[0], mp.gguf), x, 1);
    }
    if (c->rope_scaling.kind == ROPE_SCALING_LLAMA3) {
        int64_t ne[1] = {c->head_dim / 2};
        float *ff = xmalloc((size_t)ne[0] * sizeof *ff);
        gguf_rope_factors(c, ff);
        gguf_w_tensor(w, ROPE_FREQS, 1, ne, GGML_TYPE_F32, ff, 1);
    }
    return 0;
}

/* ---------------------------------------------------------------- import */

/* The tensor a parameter comes from, present with its dims; *t receives it. */
static int check_source(const Gguf *g, const ModelConfig *c, const ParamInfo *p, const GgufTensor **t, Err *e) {
    Mapped mp = map_name(c, p->name);
    int64_t ne[2] = {p->ndim == 2 ? p->shape[1] : p->shape[0], p->shape[0]};
    return gguf_arch_want(g, mp.gguf, p->name, p->ndim, ne, t, e);
}

/* Every parameter's tensor present with its dims, before anything is allocated from the metadata. */
static int check_size(const Gguf *g, const ModelConfig *c, Err *e) {
    ParamTable pt;
    param_table_build(&pt, c);
    int rc = 0;
    const GgufTensor *t;
    for (int i = 0; i < pt.n && rc == 0; i++) rc = check_source(g, c, &pt.t[i], &t, e);
    param_table_free(&pt);
    return rc;
}

/* rope_freqs.weight (llama) as llama3 parameters in the config JSON. */
static int rope_freqs_config(const Gguf *g, int Dh, double theta, cJSON *j, Err *e) {
    const GgufTensor *t;
    int64_t ne[1] = {Dh / 2};
    if (gguf_arch_want(g, ROPE_FREQS, "llama3 rope_scaling", 1, ne, &t, e)) return -1;
    float *ff = xmalloc((size_t)ne[0] * sizeof *ff);
    gguf_tensor_to_f32(t, ff);
    RopeScaling r;
    int rc = gguf_rope_fit_llama3(ff, Dh, theta, &r);
    free(ff);
    if (rc) return err_set(e, "%s: tensor '%s': no llama3 RoPE scaling gives these frequency divisors", g->path, ROPE_FREQS);
    if (r.kind == ROPE_SCALING_NONE) return 0;
    cJSON *rs = cJSON_AddObjectToObject(j, "rope_scaling");
    cJSON_AddStringToObject(rs, "rope_type", "llama3");
    cJSON_AddNumberToObject(rs, "factor", r.factor);
    cJSON_AddNumberToObject(rs, "low_freq_factor", r.low_freq_factor);
    cJSON_AddNumberToObject(rs, "high_freq_factor", r.high_freq_factor);
    cJSON_AddNumberToObject(rs, "original_max_position_embeddings", r.original_max_position_embeddings);
    return 0;
}

/* rope.scaling.*: none, or a linear factor of 1. */
static int check_rope_keys(const Gguf *g, const char *arch, Err *e) {
    char key[96];
    const char *ty;
    size_t n;
    double f = 1;
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    int r = gguf_get_str(g, key, 0, &ty, &n, e);
    if (r < 0 || gguf_arch_f(g, arch, "rope.scaling.factor", 0, &f, e) < 0) return -1;
    int plain = r == 1 || (n == 4 && !memcmp(ty, "none", 4)) || (n == 6 && !memcmp(ty, "linear", 6));
    if (!plain)
        return err_set(e, "%s: key '%s': '%.*s' is not supported for %s (none; llama3 scaling comes as rope_freqs.weight)",
                       g->path, key, (int)(n > 20 ? 20 : n), ty, arch);
    if (f != 0 && f != 1)
        return err_set(e, "%s: key '%s.rope.scaling.factor': %g: linear RoPE scaling is not supported", g->path, arch, f);
    return 0;
}

int gguf_dense_config(const Gguf *g, const char *arch, ModelConfig *cfg, Err *e) {
    int L = 0, ctx = 0, D = 0, I = 0, H = 0, Hkv = -1, Dk = -1, Dv = -1, rot = -1, experts = 0;
    double eps = 0, theta = 10000;
#define U(k, req, out) (gguf_arch_u32(g, arch, k, req, out, e) < 0)
    if (U("block_count", 1, &L) || U("context_length", 1, &ctx) || U("embedding_length", 1, &D) ||
        U("feed_forward_length", 1, &I) || U("attention.head_count", 1, &H) || U("attention.head_count_kv", 0, &Hkv) ||
        U("attention.key_length", 0, &Dk) || U("attention.value_length", 0, &Dv) || U("rope.dimension_count", 0, &rot) ||
        U("expert_count", 0, &experts) || gguf_arch_f(g, arch, "attention.layer_norm_rms_epsilon", 1, &eps, e) < 0 ||
        gguf_arch_f(g, arch, "rope.freq_base", 0, &theta, e) < 0 || check_rope_keys(g, arch, e))
        return -1;
#undef U
    if (H < 1 || (Dk < 0 && D % H)) return err_set(e, "%s: key '%s.attention.head_count': %d does not divide embedding_length %d", g->path, arch, H, D);
    if (Hkv < 0) Hkv = H;
    if (Dk < 0) Dk = D / H;
    if (Dv < 0) Dv = Dk;
    if (rot < 0) rot = Dk;
    if (experts) return err_set(e, "%s: key '%s.expert_count': %d experts (mixture-of-experts %s files are not supported)", g->path, arch, experts, arch);
    if (Dv != Dk) return err_set(e, "%s: key '%s.attention.value_length': %d differs from key_length %d", g->path, arch, Dv, Dk);
    if (rot != Dk) return err_set(e, "%s: key '%s.rope.dimension_count': %d differs from key_length %d (r1 rotates whole heads)", g->path, arch, rot, Dk);
    int64_t V = gguf_arch_rows(g, "token_embd.weight");
    if (V < 1 || V > CONFIG_MAX_VOCAB) return err_set(e, "%s: tensor 'token_embd.weight' is missing, not 2-D or too large", g->path);
    const int llama = !strcmp(arch, "llama");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model_type", arch);
    cJSON_AddNumberToObject(j, "vocab_size", (double)V);
    cJSON_AddNumberToObject(j, "hidden_size", D);
    cJSON_AddNumberToObject(j, "intermediate_size", I);
    cJSON_AddNumberToObject(j, "num_hidden_layers", L);
    cJSON_AddNumberToObject(j, "num_attention_heads", H);
    cJSON_AddNumberToObject(j, "num_key_value_heads", Hkv);
    cJSON_AddNumberToObject(j, "head_dim", Dk);
    cJSON_AddNumberToObject(j, "max_position_embeddings", ctx);
    cJSON_AddNumberToObject(j, "rms_norm_eps", eps);
    cJSON_AddNumberToObject(j, "rope_theta", theta);
    cJSON_AddBoolToObject(j, "tie_word_embeddings", !gguf_find_tensor(g, "output.weight"));
    if (llama) cJSON_AddBoolToObject(j, "attention_bias", gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL);
    gguf_arch_token_ids(g, j);
    int rc = llama && gguf_find_tensor(g, ROPE_FREQS) && Dk % 2 == 0 && Dk <= CONFIG_MAX_HEAD_DIM && theta > 1
                 ? rope_freqs_config(g, Dk, theta, j, e) : 0;
    if (rc == 0) rc = config_from_json(cfg, j, g->path, e);
    cJSON_Delete(j);
    return rc ? -1 : check_size(g, cfg, e);
}

int gguf_dense_read(const Gguf *g, const ModelConfig *cfg, const ParamTable *pt, real *params, unsigned char *used, Err *e) {
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        const GgufTensor *t;
        if (check_source(g, cfg, p, &t, e)) return -1;
        used[t - g->t] = 1;
        real *dst = params + p->offset;
        if (!map_name(cfg, p->name).heads) { gguf_arch_read(t, dst); continue; }
        const size_t cols = p->ndim == 2 ? (size_t)p->shape[1] : 1, rows = (size_t)p->shape[0];
        float *x = xmalloc(p->numel * sizeof *x);
        gguf_tensor_to_f32(t, x);
        for (size_t r = 0; r < rows; r++)
            for (size_t k = 0; k < cols; k++) dst[r * cols + k] = (real)x[gguf_row(r, cfg->head_dim) * cols + k];
        free(x);
    }
    const GgufTensor *ff = gguf_find_tensor(g, ROPE_FREQS);
    if (ff && cfg->model_type == MODEL_LLAMA) used[ff - g->t] = 1;
    return 0;
}
