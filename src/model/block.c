/* Pre-norm decoder block, forward and backward (see block.h). */
#include "model/block.h"

#include "base/error.h"
#include "kernels/rmsnorm.h"
#include "model/ffn.h"

void block_acts_carve(BlockActs *a, Carve *c, const ModelConfig *cfg, int is_moe, int max_n,
                      int max_seq) {
    const int D = cfg->hidden_size;
    const size_t n = (size_t)max_n;
    a->is_moe = is_moe;
    a->xn = carve_real(c, n * D);
    a->rstd1 = carve_real(c, n);
    if (config_is_mla(cfg)) mla_acts_carve(&a->attn, c, cfg, max_n);
    else gqa_acts_carve(&a->gqa, c, cfg, max_n);
    a->hmid = carve_real(c, n * D);
    a->xn2 = carve_real(c, n * D);
    a->rstd2 = carve_real(c, n);
    a->ffn_gu = NULL;
    if (is_moe) moe_acts_carve(&a->moe, c, cfg, max_n, max_seq);
    else a->ffn_gu = carve_real(c, n * 2 * cfg->intermediate_size);
    a->aux = 0;
}

static void add_into(real *y, const real *x, size_t n) {
    #pragma omp parallel for schedule(dynamic, 16384)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

double block_forward(real *out, BlockActs *a, const real *x, const LayerWeights *w,
                     const ModelConfig *cfg, const int *pos, int B, int T, const RopeTable *rope,
                     real alpha, int frozen, Arena *scratch) {
    const int D = cfg->hidden_size, n = B * T;
    const real eps = (real)cfg->rms_norm_eps;
    CHECK(a->is_moe == w->is_moe);
    rmsnorm_forward(a->xn, D, a->rstd1, x, D, w->attn_norm, n, D, eps);
    if (config_is_mla(cfg)) mla_forward(a->hmid, &a->attn, a->xn, &w->attn, cfg, pos, B, T, rope, scratch);
    else gqa_forward(a->hmid, &a->gqa, a->xn, &w->gqa, cfg, pos, B, T, rope, scratch);
    /* hmid = x + attn, then its norm, in one pass */
    rmsnorm_forward_residual(a->xn2, a->rstd2, a->hmid, x, w->ffn_norm, n, D, eps);
    a->aux = 0;
    if (w->is_moe)
        a->aux = moe_forward(out, &a->moe, a->xn2, &w->moe, cfg, n, B, T, alpha, frozen, scratch, NULL);
    else
        ffn_forward(out, 0, a->ffn_gu, a->xn2, &w->dense, NULL, n, D, scratch, NULL);
    add_into(out, a->hmid, (size_t)n * D);                               /* out = hmid + ffn */
    return a->aux;
}

void block_backward(real *dx, LayerWeights *gw, const real *dout, const BlockActs *a, const real *x,
                    const LayerWeights *w, const ModelConfig *cfg, const int *pos, int B, int T,
                    const RopeTable *rope, real aux_scale, Arena *scratch) {
    const int D = cfg->hidden_size, n = B * T;
    CHECK(dx != dout);
    size_t mark = arena_mark(scratch);
    real *dxn2 = arena_real(scratch, (size_t)n * D);   /* [n, D] */
    real *dhmid = arena_real(scratch, (size_t)n * D);  /* [n, D] */
    if (w->is_moe)
        moe_backward(dxn2, &gw->moe, dout, &a->moe, a->xn2, &w->moe, cfg, aux_scale, scratch);
    else
        ffn_backward(dxn2, 0, &gw->dense, NULL, dout, a->xn2, a->ffn_gu, &w->dense, NULL, n, D,
                     scratch);
    /* dhmid = norm backward + dout (the residual) */
    rmsnorm_backward_residual(dhmid, gw->ffn_norm, dxn2, a->hmid, w->ffn_norm, a->rstd2, dout, n, D);
    real *dxn = dxn2;                                    /* reuse: dxn2 is dead */
    if (config_is_mla(cfg))
        mla_backward(dxn, &gw->attn, dhmid, &a->attn, a->xn, &w->attn, cfg, pos, B, T, rope, scratch);
    else
        gqa_backward(dxn, &gw->gqa, dhmid, &a->gqa, a->xn, &w->gqa, cfg, pos, B, T, rope, scratch);
    rmsnorm_backward_residual(dx, gw->attn_norm, dxn, x, w->attn_norm, a->rstd1, dhmid, n, D);
    arena_reset(scratch, mark);
}
