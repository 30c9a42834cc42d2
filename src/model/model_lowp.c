/* Weights as stored, for inference (see model_lowp.h). */
#include "model/model_lowp.h"

#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model_io.h"

int weight_mode_parse(const char *s, WeightMode *mode) {
    if (!strcmp(s, "f32")) *mode = WEIGHTS_F32;
    else if (!strcmp(s, "auto")) *mode = WEIGHTS_AUTO;
    else if (!strcmp(s, "bf16")) *mode = WEIGHTS_BF16;
    else return -1;
    return 0;
}

const char *weight_mode_name(WeightMode mode) {
    return mode == WEIGHTS_AUTO ? "auto" : mode == WEIGHTS_BF16 ? "bf16" : "f32";
}

/* ---- the weights the decode engine multiplies ---- */

static int weight_add(LinearWeight *s, int k, const real *w, int out, int in) {
    if (w && out > 0 && in > 0) {
        if (s) s[k] = (LinearWeight){w, out, in};
        k++;
    }
    return k;
}

static int weights_ffn(LinearWeight *s, int k, const FfnWeights *f, int D) {
    if (f->F <= 0) return k;
    k = weight_add(s, k, f->gate_up, 2 * f->F, D);
    return weight_add(s, k, f->down, D, f->F);
}

static int weights_layer(LinearWeight *s, int k, const LayerWeights *lw, const ModelConfig *cfg) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Rq = cfg->q_lora_rank, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const MlaWeights *a = &lw->attn;
    if (!config_is_mla(cfg)) {
        const int Dq = config_q_dim(cfg);
        k = weight_add(s, k, lw->gqa.qkv, Dq + 2 * config_kv_dim(cfg), D);
        k = weight_add(s, k, lw->gqa.o_proj, D, Dq);
    } else if (Rq > 0) {
        k = weight_add(s, k, a->q_a_proj, Rq, D);
        k = weight_add(s, k, a->q_b_proj, H * Dqk, Rq);
    } else {
        k = weight_add(s, k, a->q_proj, H * Dqk, D);
    }
    if (config_is_mla(cfg)) {
        k = weight_add(s, k, a->kv_a_proj, Rkv + Dr, D);
        k = weight_add(s, k, a->o_proj, D, H * cfg->v_head_dim);
    }
    if (lw->is_moe) {
        for (int e = 0; e < cfg->n_routed_experts; e++) k = weights_ffn(s, k, &lw->moe.experts[e], D);
        k = weights_ffn(s, k, &lw->moe.shared, D);
    } else {
        k = weights_ffn(s, k, &lw->dense, D);
    }
    return k;
}

int model_linear_weights(const Model *m, LinearWeight *s, int n_mtp) {
    const ModelConfig *cfg = &m->cfg;
    int k = weight_add(s, 0, m->w.lm_head, cfg->vocab_size, cfg->hidden_size);
    for (int l = 0; l < cfg->num_hidden_layers; l++) k = weights_layer(s, k, &m->w.layers[l], cfg);
    for (int j = 0; j < n_mtp && j < cfg->num_nextn_predict_layers; j++) {
        k = weight_add(s, k, m->w.mtp[j].eh_proj, cfg->hidden_size, 2 * cfg->hidden_size);
        k = weights_layer(s, k, &m->w.mtp[j].block, cfg);
    }
    return k;
}

/* ---- loading ---- */

static int lw_cmp(const void *a, const void *b) {
    const LinearWeight *x = a, *y = b;
    return x->w < y->w ? -1 : x->w > y->w;
}

static LowpType lowp_of(StDtype d, int *ok) {
    *ok = 1;
    switch (d) {
    case ST_F32: return LOWP_F32;
    case ST_BF16: return LOWP_BF16;
    case ST_F16: return LOWP_F16;
    case ST_F8_E4M3: return LOWP_F8;
    default: *ok = 0; return LOWP_F32;
    }
}

/* The tensors that make up matrix w (consecutive table entries tiling its out·in elements, each
 * present in st with the table's shape and a float dtype we can keep): their table indices in
 * idx and stored views in parts. Returns the count, 0 when the matrix cannot be kept as stored
 * (model_io_read_params then reads it, or reports what is wrong with it). */
static int matrix_parts(const Model *m, const Safetensors *st, const LinearWeight *w, int *idx,
                        LowpMatrix *parts, int max_parts) {
    const ParamTable *pt = &m->table;
    const size_t start = (size_t)(w->w - m->params), end = start + (size_t)w->out * w->in;
    int lo = 0, hi = pt->n;   /* the table is laid out in order: offsets increase */
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (pt->t[mid].offset < start) lo = mid + 1; else hi = mid;
    }
    int i = lo, n = 0;
    for (size_t at = start; at < end && i < pt->n; i++, n++) {
        const ParamInfo *p = &pt->t[i];
        const StTensor *t = st_find(st, p->name);
        int ok;
        if (n == max_parts || p->offset != at || p->ndim != 2 || p->shape[1] != w->in || !t || t->ndim != 2 ||
            t->shape[0] != p->shape[0] || t->shape[1] != p->shape[1])
            return 0;
        const LowpType type = lowp_of(t->dtype, &ok);
        if (!ok || (n > 0 && type != parts[0].type)) return 0;
        idx[n] = i;
        parts[n] = (LowpMatrix){type, t->data, NULL, (int)p->shape[0], (int)p->shape[1]};
        at += p->numel;
        if (at == end) return n + 1;
    }
    return 0;
}

int model_load_dir_as(Model *m, const char *dir, WeightMode mode, Err *e) {
    /* a .gguf file is read to f32 (its stored types dequantised), whatever the mode */
    if (mode == WEIGHTS_F32 || model_path_is_gguf(dir)) return model_load_dir(m, dir, e);
    ModelConfig cfg;
    Safetensors st;
    memset(m, 0, sizeof *m);
    if (model_io_open(dir, &cfg, &st, e)) return -1;
    model_init_lazy(m, &cfg);
    const ParamTable *pt = &m->table;
    /* the matrices: the engine's products and the embedding, each once */
    const int nl = model_linear_weights(m, NULL, cfg.num_nextn_predict_layers);
    LinearWeight *ws = xmalloc((size_t)(nl + 1) * sizeof *ws);
    model_linear_weights(m, ws, cfg.num_nextn_predict_layers);
    ws[nl] = (LinearWeight){m->w.embed, cfg.vocab_size, cfg.hidden_size};
    qsort(ws, (size_t)nl + 1, sizeof *ws, lw_cmp);
    int nw = 0;
    for (int i = 0; i <= nl; i++)
        if (nw == 0 || ws[nw - 1].w != ws[i].w) ws[nw++] = ws[i];
    enum { MAX_PARTS = 4 };
    LowpMatrix *parts = xcalloc((size_t)nw * MAX_PARTS, sizeof *parts);
    LinearSource *src = xcalloc((size_t)nw, sizeof *src);
    unsigned char *skip = xcalloc((size_t)pt->n, 1);
    int ns = 0, rc = 0;
    for (int k = 0; k < nw && rc == 0; k++) {
        int idx[MAX_PARTS];
        LowpMatrix *pp = parts + (size_t)ns * MAX_PARTS;
        const int np = matrix_parts(m, &st, &ws[k], idx, pp, MAX_PARTS);
        if (np == 0) continue;
        KnFormat fmt = mode == WEIGHTS_BF16 ? KN_BF16_DOT : kn_format_of(pp[0].type);
        if (fmt == KN_F32) continue;                       /* f32 in the file: read as f32 */
        for (int j = 0; j < np && rc == 0; j++)
            if (pp[j].type == LOWP_F8) {
                float *scale;
                rc = st_f8_scales(&st, st_find(&st, pt->t[idx[j]].name), &scale, e);
                pp[j].scale = scale;
            }
        for (int j = 0; j < np; j++) skip[idx[j]] = 1;
        src[ns++] = (LinearSource){ws[k].w, fmt, pp, np};
    }
    if (rc == 0) {
        m->packs = xcalloc(1, sizeof *m->packs);
        linear_packs_build(m->packs, src, ns);
        rc = model_io_read_params_except(&st, &m->cfg, pt, m->params, skip, e);
    }
    for (int i = 0; i < nw * MAX_PARTS; i++) free((void *)parts[i].scale);
    free(parts);
    free(src);
    free(skip);
    free(ws);
    st_free(&st);
    if (rc) model_free(m);
    return rc;
}

size_t model_weight_bytes(const Model *m) {
    size_t bytes = m->packs ? m->packs->bytes : 0;
    for (int i = 0; i < m->table.n; i++) {
        const ParamInfo *p = &m->table.t[i];
        const real *at = m->params + p->offset;
        /* inside a packed matrix? the last pack whose key (its first element) is at or before it */
        int lo = 0, hi = m->packs ? m->packs->n : 0;
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            if (m->packs->t[mid].w <= at) lo = mid + 1; else hi = mid;
        }
        const LinearPacked *lp = lo > 0 ? &m->packs->t[lo - 1] : NULL;
        if (!lp || at >= lp->w + (size_t)lp->kw.N * lp->kw.K) bytes += p->numel * sizeof(real);
    }
    return bytes;
}
