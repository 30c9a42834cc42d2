/* Grouped-query attention forward and backward (see gqa.h). */
#include "model/gqa.h"

#include <omp.h>
#include <string.h>

#include "base/error.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

void gqa_acts_carve(GqaActs *a, Carve *c, const ModelConfig *cfg, int max_n) {
    const size_t n = (size_t)max_n, Dq = config_q_dim(cfg), W = Dq + 2 * (size_t)config_kv_dim(cfg);
    a->qkv = carve_real(c, n * W);
    a->o = carve_real(c, n * Dq);
    a->lse = carve_real(c, n * cfg->num_attention_heads);
}

void gqa_project(GqaActs *a, const real *x, const GqaWeights *w, const ModelConfig *cfg,
                 const int *pos, int n, const RopeTable *rope, const LinearExec *lx) {
    const int D = cfg->hidden_size, Dh = cfg->head_dim, H = cfg->num_attention_heads;
    const int W = config_q_dim(cfg) + 2 * config_kv_dim(cfg);
    linear_forward_p(lx, w->prec, a->qkv, x, w->qkv, n, D, W, 0);                     /* [n, Wqkv] */
    if (w->qkv_bias) ops_add_bias(a->qkv, W, w->qkv_bias, n, W);
    /* the H query heads and the Hkv key heads follow each other at stride Dh */
    rope_forward(a->qkv, W, Dh, H + cfg->num_key_value_heads, pos, n, rope);
}

void gqa_output(real *out, int acc, const real *o, const GqaWeights *w, const ModelConfig *cfg,
                int n, const LinearExec *lx) {
    const int D = cfg->hidden_size;
    linear_forward_p(lx, w->prec, out, o, w->o_proj, n, config_q_dim(cfg), D, acc);
    if (w->o_bias) ops_add_bias(out, D, w->o_bias, n, D);
}

/* q, k, v read in place from qkv [n, Wqkv]. */
static AttKV gqa_kv(const real *qkv, const ModelConfig *cfg, MatPrec prec) {
    const size_t Dh = cfg->head_dim, Dq = config_q_dim(cfg), Dkv = config_kv_dim(cfg);
    const size_t W = Dq + 2 * Dkv;
    AttKV kv = {.k1 = {qkv + Dq, W, Dh}, .k2 = {NULL, 0, 0}, .v = {qkv + Dq + Dkv, W, Dh}, .prec = prec,
                .D1 = (int)Dh, .D2 = 0, .Dv = (int)Dh,
                .group = cfg->num_attention_heads / cfg->num_key_value_heads, .ldq = W};
    return kv;
}

static size_t attn_scratch(int B, int T, const ModelConfig *cfg, int threads) {
    return attention_scratch_size(B, T, cfg->num_attention_heads, cfg->head_dim, cfg->head_dim, threads);
}

size_t gqa_scratch_reals(const ModelConfig *cfg, int B, int T, int threads) {
    const size_t n = (size_t)B * T, Dq = config_q_dim(cfg), W = Dq + 2 * (size_t)config_kv_dim(cfg);
    return n * (3 * Dq + W) + attn_scratch(B, T, cfg, threads);
}

void gqa_forward(real *out, GqaActs *a, const real *x, const GqaWeights *w, const ModelConfig *cfg,
                 const int *pos, int B, int T, const RopeTable *rope, Arena *scratch) {
    const int n = B * T;
    gqa_project(a, x, w, cfg, pos, n, rope, NULL);
    size_t mark = arena_mark(scratch);
    real *s = arena_real(scratch, attn_scratch(B, T, cfg, omp_get_max_threads()));
    const AttKV kv = gqa_kv(a->qkv, cfg, w->prec);
    attention_forward_kv(a->o, a->lse, a->qkv, &kv, B, T, cfg->num_attention_heads,
                         (real)config_softmax_scale(cfg), s);
    arena_reset(scratch, mark);
    gqa_output(out, 0, a->o, w, cfg, n, NULL);
}

void gqa_backward(real *dx, GqaWeights *gw, const real *dout, const GqaActs *a, const real *x,
                  const GqaWeights *w, const ModelConfig *cfg, const int *pos, int B, int T,
                  const RopeTable *rope, Arena *scratch) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Hkv = cfg->num_key_value_heads;
    const int Dh = cfg->head_dim, Dq = config_q_dim(cfg), Dkv = config_kv_dim(cfg);
    const int W = Dq + 2 * Dkv, rep = H / Hkv, n = B * T;
    size_t mark = arena_mark(scratch);
    real *dO = arena_real(scratch, (size_t)n * Dq);         /* [n, Dq] */
    real *dqkv = arena_real(scratch, (size_t)n * W);        /* [n, Wqkv] */
    /* out = o·W_oᵀ + b_o:  dW_o += doutᵀ·o,  db_o += Σ rows,  dO = dout·W_o */
    matmul_backward_p(w->prec, dO, gw->o_proj, dout, a->o, w->o_proj, n, Dq, D, 0);
    if (gw->o_bias) ops_bias_grad(gw->o_bias, dout, D, n, D);
    /* attention: dq straight into dqkv; dk, dv per query head, then summed over each group */
    real *dk = rep > 1 ? arena_real(scratch, (size_t)n * Dq) : dqkv + Dq;     /* [n, H, Dh] */
    real *dv = rep > 1 ? arena_real(scratch, (size_t)n * Dq) : dqkv + Dq + Dkv;
    const size_t ldg = rep > 1 ? (size_t)Dq : (size_t)W;
    {
        size_t m2 = arena_mark(scratch);
        real *s = arena_real(scratch, attn_scratch(B, T, cfg, omp_get_max_threads()));
        const AttKV kv = gqa_kv(a->qkv, cfg, w->prec);
        const AttKVGrad g = {.k1 = {dk, ldg, (size_t)Dh}, .k2 = {NULL, 0, 0}, .v = {dv, ldg, (size_t)Dh}};
        attention_backward_kv(dqkv, &g, dO, a->o, a->lse, a->qkv, &kv, B, T, H,
                              (real)config_softmax_scale(cfg), s);
        arena_reset(scratch, m2);
    }
    if (rep > 1) {
        #pragma omp parallel for schedule(dynamic, 64) if (n >= 64)
        for (int i = 0; i < n; i++) {
            real *di = dqkv + (size_t)i * W + Dq;
            const real *ki = dk + (size_t)i * Dq, *vi = dv + (size_t)i * Dq;
            for (int j = 0; j < Dkv; j++) {
                const int g = j / Dh, c = j % Dh;
                real sk = 0, sv = 0;
                for (int r = 0; r < rep; r++) {
                    sk += ki[(size_t)(g * rep + r) * Dh + c];
                    sv += vi[(size_t)(g * rep + r) * Dh + c];
                }
                di[j] = sk;
                di[Dkv + j] = sv;
            }
        }
    }
    rope_backward(dqkv, W, Dh, H + Hkv, pos, n, rope);                    /* un-rotate dq, dk */
    if (gw->qkv_bias) ops_bias_grad(gw->qkv_bias, dqkv, W, n, W);
    /* [q;k;v] = x·W_qkvᵀ:  dW_qkv += dqkvᵀ·x,  dx = dqkv·W_qkv */
    matmul_backward_p(w->prec, dx, gw->qkv, dqkv, x, w->qkv, n, D, W, 0);
    arena_reset(scratch, mark);
}
