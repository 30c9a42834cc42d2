/* Inference forward over the KV cache: the model's own projections, FFN and MoE on the step's
 * rows (with the few-row Linear executor), attention over the cache (decode_attn.c), final norm
 * and lm_head on the wanted rows, and the MTP draft module (see decode.h). */
#include "infer/decode.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "infer/decode_attn.h"
#include "kernels/rmsnorm.h"
#include "model/acts.h"
#include "model/ffn.h"
#include "model/gqa.h"
#include "model/mla.h"
#include "model/model_lowp.h"
#include "model/moe.h"

static void layout(Engine *g, Carve *c, const ModelConfig *cfg) {
    const size_t n = (size_t)g->max_rows, D = cfg->hidden_size, H = cfg->num_attention_heads;
    const size_t Rkv = cfg->kv_lora_rank, W = g->kv.W, Dv = cfg->v_head_dim;
    const size_t Ho = config_is_mla(cfg) ? H * Dv : (size_t)config_q_dim(cfg);
    if (config_is_mla(cfg)) mla_acts_carve(&g->mla, c, cfg, g->max_rows);
    else gqa_acts_carve(&g->gqa, c, cfg, g->max_rows);
    if (cfg->n_routed_experts > 0) moe_acts_carve(&g->moe, c, cfg, g->max_rows, 0);
    g->h = carve_real(c, n * D);
    g->xn = carve_real(c, n * D);
    g->y = carve_real(c, n * D);
    g->qabs = config_is_mla(cfg) ? carve_real(c, n * H * W) : NULL;
    g->ctx = carve_real(c, n * H * Rkv);
    g->o = carve_real(c, n * Ho);
    g->hf = carve_real(c, n * D);
    g->hsel = carve_real(c, n * D);
    g->logits = carve_real(c, n * (size_t)cfg->vocab_size);
    g->mtp_cat = carve_real(c, n * 2 * D);
    g->ffn_gu = carve_real(c, n * 2 * (size_t)(cfg->intermediate_size > 0 ? cfg->intermediate_size : 1));
    g->att = carve_bytes(c, (size_t)g->att_threads * H * g->kv.max_len * sizeof(float));
    g->pos = carve_int(c, n);
}

void engine_init(Engine *g, const Model *m, int n_slots, int max_len, int max_rows, int with_mtp) {
    engine_init_as(g, m, n_slots, max_len, max_rows, with_mtp, KN_F32);
}

void engine_init_as(Engine *g, const Model *m, int n_slots, int max_len, int max_rows, int with_mtp,
                    KnFormat fmt) {
    const ModelConfig *cfg = &m->cfg;
    CHECK(max_rows > 0 && max_len > 0 && n_slots > 0);
    CHECKF(max_len <= m->rope.max_pos, "max_len %d > max_position_embeddings %d", max_len,
           m->rope.max_pos);
    CHECK(!with_mtp || cfg->num_nextn_predict_layers >= 1);
    memset(g, 0, sizeof *g);
    g->m = m;
    g->max_rows = max_rows;
    g->with_mtp = with_mtp;
    g->mode = ATTN_ABSORBED;
    kvcache_init(&g->kv, cfg, n_slots, max_len, with_mtp ? 1 : 0);
    g->mtp_len = xcalloc((size_t)n_slots, sizeof *g->mtp_len);
    g->att_threads = omp_get_max_threads();
    if (omp_get_num_procs() > g->att_threads) g->att_threads = omp_get_num_procs();
    Carve c = {NULL, 0};
    layout(g, &c, cfg);
    g->mem = aligned_alloc(64, (c.off + 63) / 64 * 64);
    CHECKF(g->mem != NULL, "out of memory: %zu bytes of decode buffers", c.off);
    c = (Carve){g->mem, 0};
    layout(g, &c, cfg);
    /* scratch: MoE (grouped inputs/outputs + expert hidden), dense FFN hidden, naive attention
     * (expanded K and V of one slot plus kv_b output) */
    const size_t n = (size_t)max_rows, D = cfg->hidden_size, H = cfg->num_attention_heads;
    const size_t K = cfg->num_experts_per_tok, Im = cfg->moe_intermediate_size;
    const size_t Fs = (size_t)cfg->n_shared_experts * Im, I = cfg->intermediate_size;
    const size_t Dqk = config_qk_head_dim(cfg), Dv = cfg->v_head_dim, Dn = cfg->qk_nope_head_dim;
    size_t moe = n * K * (2 * D + 3 * Im) + n * 3 * Fs;
    size_t dense = n * 3 * I;
    size_t naive = (size_t)max_len * H * (Dqk + Dv + Dn + Dv) + (size_t)max_len;
    size_t reals = moe + dense + naive;
    arena_init(&g->arena, reals * sizeof(real) + 64 * 64);
    const int nw = model_linear_weights(m, NULL, with_mtp);
    LinearWeight *ws = xmalloc((size_t)(nw > 0 ? nw : 1) * sizeof *ws);
    model_linear_weights(m, ws, with_mtp);
    linear_exec_init(&g->lin, ws, nw, max_rows, fmt, m->packs);
    free(ws);
}

void engine_free(Engine *g) {
    kvcache_free(&g->kv);
    free(g->mtp_len);
    free(g->mem);
    arena_free(&g->arena);
    linear_exec_free(&g->lin);
    memset(g, 0, sizeof *g);
}

/* ---- one decoder block on the rows in g->h ---- */

static void add_rows(real *y, const real *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/* Attention of the rows of g->xn (the model's projections, the cache written, attention over
 * it), added into g->h. */
static void attention_rows(Engine *g, const LayerWeights *w, int layer, const int *slot,
                           const int *pos, int n, const LinearExec *lx) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dv = cfg->v_head_dim;
    const int Rkv = cfg->kv_lora_rank, W = g->kv.W;
    if (!config_is_mla(cfg)) {
        const int Dq = config_q_dim(cfg), Wqkv = Dq + W;
        gqa_project(&g->gqa, g->xn, &w->gqa, cfg, pos, n, &g->m->rope, lx);
        for (int i = 0; i < n; i++)                /* cache[layer, slot, pos] = [k ; v] */
            memcpy(kvcache_row(&g->kv, layer, slot[i], pos[i]), g->gqa.qkv + (size_t)i * Wqkv + Dq,
                   (size_t)W * sizeof(float));
        decode_attn_gqa(g, layer, slot, pos, n);
        gqa_output(g->h, 1, g->o, &w->gqa, cfg, n, lx);                      /* h += o·W_oᵀ + b */
        return;
    }
    mla_project(&g->mla, g->xn, &w->attn, cfg, pos, n, &g->m->rope, lx);
    for (int i = 0; i < n; i++) {                  /* cache[layer, slot, pos] = [c ; k_pe] */
        float *r = kvcache_row(&g->kv, layer, slot[i], pos[i]);
        memcpy(r, g->mla.c + (size_t)i * Rkv, (size_t)Rkv * sizeof *r);
        memcpy(r + Rkv, g->mla.kva + (size_t)i * W + Rkv, (size_t)(W - Rkv) * sizeof *r);
    }
    if (g->mode == ATTN_NAIVE) decode_attn_naive(g, &w->attn, layer, slot, pos, n);
    else decode_attn_absorbed(g, &w->attn, layer, slot, pos, n);
    linear_forward(lx, g->h, g->o, w->attn.o_proj, n, H * Dv, D, 1);        /* h += o·W_oᵀ */
}

static void block_rows(Engine *g, const LayerWeights *w, int layer, const int *slot,
                       const int *pos, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size;
    const real eps = (real)cfg->rms_norm_eps;
    /* the reference mode runs the model's code exactly as training does (plain matmuls) */
    CHECKF(g->mode != ATTN_NAIVE || !g->m->packs, "naive attention needs the weights in f32");
    const LinearExec *lx = g->mode == ATTN_NAIVE ? NULL : &g->lin;
    rmsnorm_forward(g->xn, D, NULL, g->h, D, w->attn_norm, n, D, eps);
    attention_rows(g, w, layer, slot, pos, n, lx);
    rmsnorm_forward(g->xn, D, NULL, g->h, D, w->ffn_norm, n, D, eps);
    if (w->is_moe) moe_forward(g->y, &g->moe, g->xn, &w->moe, cfg, n, 0, 0, 0, 0, &g->arena, lx);
    else ffn_forward(g->y, 0, g->ffn_gu, g->xn, &w->dense, NULL, n, D, &g->arena, lx);
    add_rows(g->h, g->y, (size_t)n * D);
}

/* Positions of the new rows from the slot lengths (and the lengths advanced); checks room and
 * that each slot's rows are consecutive. */
static void assign_positions(int *pos, int *len, const int *slot, int n, int n_slots, int max_len) {
    for (int i = 0; i < n; i++) {
        CHECK(slot[i] >= 0 && slot[i] < n_slots);
        if (i > 0 && slot[i] != slot[i - 1])
            for (int j = 0; j < i; j++) CHECKF(slot[j] != slot[i], "rows of slot %d not consecutive", slot[i]);
        pos[i] = len[slot[i]]++;
        CHECKF(pos[i] < max_len, "slot %d full (%d tokens)", slot[i], max_len);
    }
}

static int head_rows(Engine *g, const real *head_norm, const real *h, int n,
                     const unsigned char *want) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, V = cfg->vocab_size;
    rmsnorm_forward(g->hf, D, NULL, h, D, head_norm, n, D, (real)cfg->rms_norm_eps);
    int nw = 0;
    for (int i = 0; i < n; i++)
        if (!want || want[i]) memcpy(g->hsel + (size_t)nw++ * D, g->hf + (size_t)i * D, (size_t)D * sizeof(real));
    if (nw > 0) linear_forward(&g->lin, g->logits, g->hsel, g->m->w.lm_head, nw, D, V, 0);
    return nw;
}

int engine_forward(Engine *g, const int *tok, const int *slot, int n, const unsigned char *want) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, L = cfg->num_hidden_layers;
    CHECK(n >= 1 && n <= g->max_rows);
    for (int i = 0; i < n; i++) CHECKF(tok[i] >= 0 && tok[i] < cfg->vocab_size, "token %d", tok[i]);
    assign_positions(g->pos, g->kv.len, slot, n, g->kv.n_slots, g->kv.max_len);
    linear_rows(&g->lin, g->h, g->m->w.embed, tok, n, D);
    for (int l = 0; l < L; l++) block_rows(g, &g->m->w.layers[l], l, slot, g->pos, n);
    return head_rows(g, g->m->w.final_norm, g->h, n, want);
}

void engine_mtp_forward(Engine *g, const real *hprev, const int *tok, const int *slot, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, L = cfg->num_hidden_layers;
    const real eps = (real)cfg->rms_norm_eps;
    const MtpWeights *mw = &g->m->w.mtp[0];
    CHECK(g->with_mtp && n >= 1 && n <= g->max_rows && hprev != g->hf);
    assign_positions(g->pos, g->mtp_len, slot, n, g->kv.n_slots, g->kv.max_len);
    /* x = eh_proj([enorm(embed(tok)) ; hnorm(hprev)]) */
    linear_rows(&g->lin, g->y, g->m->w.embed, tok, n, D);
    rmsnorm_forward(g->mtp_cat, 2 * D, NULL, g->y, D, mw->enorm, n, D, eps);
    rmsnorm_forward(g->mtp_cat + D, 2 * D, NULL, hprev, D, mw->hnorm, n, D, eps);
    linear_forward(&g->lin, g->h, g->mtp_cat, mw->eh_proj, n, 2 * D, D, 0);
    block_rows(g, &mw->block, L, slot, g->pos, n);
    head_rows(g, mw->head_norm, g->h, n, NULL);
}
