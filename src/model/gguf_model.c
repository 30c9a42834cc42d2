/* Model <-> GGUF: the dispatch on the architecture and what the architectures share (gguf_arch.h). */
#include "model/gguf_model.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf_arch.h"
#include "model/params.h"

/* ---------------------------------------------------------------- export helpers */

GgmlType gguf_arch_pick_type(GgmlType want, int n_dims, int64_t ne0, const char *gguf) {
    if (n_dims == 1 || strstr(gguf, "ffn_gate_inp")) return GGML_TYPE_F32;
    if (want == GGML_TYPE_Q8_0 && ne0 % GGUF_Q8_0_BLOCK) return GGML_TYPE_F16;
    return want;
}

float *gguf_arch_f32_copy(const real *src, size_t n) {
    float *d = xmalloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = (float)src[i];
    return d;
}

void gguf_arch_add_param(GgufWriter *w, const ParamInfo *p, const char *gguf, const real *params, GgmlType type) {
    int64_t ne[2] = {p->ndim == 2 ? p->shape[1] : p->shape[0], p->shape[0]};
    gguf_w_tensor(w, gguf, p->ndim, ne, gguf_arch_pick_type(type, p->ndim, ne[0], gguf),
                  gguf_arch_f32_copy(params + p->offset, p->numel), 1);
}

static uint32_t file_type_of(GgmlType t) {
    switch (t) {   /* llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32 */
    case GGML_TYPE_F32: return 0;
    case GGML_TYPE_F16: return 1;
    case GGML_TYPE_Q8_0: return 7;
    case GGML_TYPE_BF16: return 32;
    }
    return 0;
}

void gguf_arch_add_general(GgufWriter *w, const char *arch, const char *name, GgmlType type) {
    gguf_w_str(w, "general.architecture", arch);
    gguf_w_str(w, "general.name", name);
    gguf_w_u32(w, "general.file_type", file_type_of(type));
    if (type == GGML_TYPE_Q8_0) gguf_w_u32(w, "general.quantization_version", 2);
}

int gguf_model_add(GgufWriter *w, const Model *m, GgmlType type, const char *name, Err *e) {
    return config_is_mla(&m->cfg) ? gguf_deepseek2_add(w, m, type, name, e) : gguf_dense_add(w, m, type, name, e);
}

const char *gguf_model_arch_name(const ModelConfig *c) {
    return c->model_type == MODEL_DEEPSEEK_V3 ? "deepseek2" : c->model_type == MODEL_QWEN2 ? "qwen2" : "llama";
}

/* ---------------------------------------------------------------- import helpers */

int gguf_arch_u32(const Gguf *g, const char *arch, const char *suffix, int required, int *out, Err *e) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v;
    int rc = gguf_get_u32(g, key, required, &v, e);
    if (rc == 0) {
        if (v > (1u << 30)) return err_set(e, "%s: key '%s': %u is out of range", g->path, key, v);
        *out = (int)v;
    }
    return rc;
}

int gguf_arch_f(const Gguf *g, const char *arch, const char *suffix, int required, double *out, Err *e) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_float(g, key, required, out, e);
}

int64_t gguf_arch_rows(const Gguf *g, const char *name) {
    const GgufTensor *t = gguf_find_tensor(g, name);
    return t && t->n_dims == 2 ? t->ne[1] : -1;
}

int gguf_arch_want(const Gguf *g, const char *name, const char *hf, int n_dims, const int64_t *ne,
                   const GgufTensor **t, Err *e) {
    *t = gguf_find_tensor(g, name);
    if (!*t) return err_set(e, "%s: tensor '%s' is missing (%s)", g->path, name, hf);
    int same = (*t)->n_dims == n_dims;
    for (int d = 0; d < n_dims && same; d++) same = (*t)->ne[d] == ne[d];
    if (!same) {
        char got[96], exp[96];
        int k = 0, j = 0;
        for (int d = 0; d < (*t)->n_dims; d++) k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", d ? ", " : "", (long long)(*t)->ne[d]);
        for (int d = 0; d < n_dims; d++) j += snprintf(exp + j, sizeof exp - (size_t)j, "%s%lld", d ? ", " : "", (long long)ne[d]);
        return err_set(e, "%s: tensor '%s': dims {%s}, expected {%s} (%s)", g->path, name, got, exp, hf);
    }
    return 0;
}

void gguf_arch_read(const GgufTensor *t, real *dst) {
    float *buf = xmalloc((t->numel ? t->numel : 1) * sizeof *buf);
    gguf_tensor_to_f32(t, buf);
    for (uint64_t i = 0; i < t->numel; i++) dst[i] = (real)buf[i];
    free(buf);
}

void gguf_arch_token_ids(const Gguf *g, cJSON *cfg) {
    uint32_t tok;
    Err ignore = {0};
    if (gguf_get_u32(g, "tokenizer.ggml.bos_token_id", 0, &tok, &ignore) == 0) cJSON_AddNumberToObject(cfg, "bos_token_id", tok);
    if (gguf_get_u32(g, "tokenizer.ggml.eos_token_id", 0, &tok, &ignore) == 0) cJSON_AddNumberToObject(cfg, "eos_token_id", tok);
}

int gguf_arch_all_used(const Gguf *g, const unsigned char *used, int skip_from, const char *arch, Err *e) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        int l;
        if (used[i]) continue;
        if (sscanf(g->t[i].name, "blk.%d.", &l) == 1 && l >= skip_from) continue;
        return err_set(e, "%s: tensor '%s' is not used by the %s model the metadata describes", g->path, g->t[i].name, arch);
    }
    return 0;
}

/* ---------------------------------------------------------------- import */

int gguf_model_config(const Gguf *g, ModelConfig *cfg, Err *e) {
    const char *arch;
    size_t n;
    if (gguf_get_str(g, "general.architecture", 1, &arch, &n, e)) return -1;
    if (n == 9 && !memcmp(arch, "deepseek2", 9)) return gguf_deepseek2_config(g, cfg, e);
    if (n == 5 && !memcmp(arch, "qwen2", 5)) return gguf_dense_config(g, "qwen2", cfg, e);
    if (n == 5 && !memcmp(arch, "llama", 5)) return gguf_dense_config(g, "llama", cfg, e);
    return err_set(e, "%s: key 'general.architecture': '%.*s' is not supported (deepseek2, qwen2 and llama are)", g->path,
                   (int)(n > 40 ? 40 : n), arch);
}

int gguf_model_read_params(const Gguf *g, const ModelConfig *cfg, const ParamTable *pt, real *params, Err *e) {
    unsigned char *used = xcalloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
    int rc = config_is_mla(cfg) ? gguf_deepseek2_read(g, cfg, pt, params, used, e) : gguf_dense_read(g, cfg, pt, params, used, e);
    /* a deepseek2 file's MTP blocks (blk.L.. with nextn_predict_layers) are left out */
    if (rc == 0) rc = gguf_arch_all_used(g, used, config_is_mla(cfg) ? cfg->num_hidden_layers : INT_MAX, gguf_model_arch_name(cfg), e);
    free(used);
    return rc;
}

int model_load_gguf(Model *m, const char *path, Err *e) {
    Gguf g;
    ModelConfig cfg;
    if (gguf_open_file(&g, path, e) || gguf_model_config(&g, &cfg, e)) { gguf_free(&g); return -1; }
    model_init(m, &cfg);
    int rc = gguf_model_read_params(&g, &m->cfg, &m->table, m->params, e);
    gguf_free(&g);
    if (rc) model_free(m);
    return rc;
}
