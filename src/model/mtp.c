/* Multi-Token Prediction module, forward and backward (see mtp.h). */
#include "model/mtp.h"

#include <string.h>

#include "base/error.h"
#include "kernels/cross_entropy.h"
#include "kernels/embed.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"

void mtp_acts_carve(MtpActs *a, Carve *c, const ModelConfig *cfg, int layer, int max_B, int max_T) {
    const int D = cfg->hidden_size, V = cfg->vocab_size;
    const size_t n = (size_t)max_B * max_T;
    a->tok = carve_int(c, n);
    a->pos = carve_int(c, n);
    a->tgt = carve_int(c, n);
    a->hin = carve_real(c, n * D);
    a->cat = carve_real(c, n * 2 * D);
    a->rstd_e = carve_real(c, n);
    a->rstd_h = carve_real(c, n);
    a->x = carve_real(c, n * D);
    block_acts_carve(&a->blk, c, cfg, config_is_moe_layer(cfg, layer), (int)n,
                     max_B);
    a->hout = carve_real(c, n * D);
    a->hn = carve_real(c, n * D);
    a->rstd_o = carve_real(c, n);
    a->logits = carve_real(c, n * V);
    a->lse = carve_real(c, n);
    a->ce = carve_real(c, n);
    a->n = 0;
}

double mtp_forward(MtpActs *a, double *aux, const real *hprev, int Tprev, const int *tokens,
                   const int *targets, int B, int T, int k, const real *embed, const real *lm_head,
                   const MtpWeights *w, const ModelConfig *cfg, const RopeTable *rope, real alpha, int frozen,
                   real grad_scale, Arena *scratch) {
    const int D = cfg->hidden_size, V = cfg->vocab_size, Tk = T - k, n = B * Tk;
    const real eps = (real)cfg->rms_norm_eps;
    CHECK(Tk >= 1 && Tprev >= Tk);
    a->k = k; a->B = B; a->Tk = Tk; a->n = n;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < Tk; i++) {
            size_t r = (size_t)b * Tk + i;
            a->tok[r] = tokens[(size_t)b * T + i + k];
            a->pos[r] = i;
            a->tgt[r] = targets ? targets[(size_t)b * T + i + k] : -1;
            memcpy(a->hin + r * D, hprev + ((size_t)b * Tprev + i) * D, (size_t)D * sizeof(real));
        }
    /* cat [n, 2D]: columns 0..D-1 enorm(embed), D..2D-1 hnorm(hin) */
    size_t mark = arena_mark(scratch);
    real *emb = arena_real(scratch, (size_t)n * D);
    embed_forward(emb, embed, a->tok, n, D);
    rmsnorm_forward(a->cat, 2 * D, a->rstd_e, emb, D, w->enorm, n, D, eps);
    rmsnorm_forward(a->cat + D, 2 * D, a->rstd_h, a->hin, D, w->hnorm, n, D, eps);
    arena_reset(scratch, mark);
    matmul_forward_p(w->prec, a->x, a->cat, w->eh_proj, n, 2 * D, D, 0);                 /* x [n, D] */
    *aux = block_forward(a->hout, &a->blk, a->x, &w->block, cfg, a->pos, B, Tk, rope, alpha, frozen,
                         scratch);
    rmsnorm_forward(a->hn, D, a->rstd_o, a->hout, D, w->head_norm, n, D, eps);
    matmul_forward_p(w->prec, a->logits, a->hn, lm_head, n, D, V, 0);                   /* [n, V] */
    a->grad_scale = grad_scale;
    if (grad_scale > 0) cross_entropy_forward_grad(a->ce, a->lse, a->logits, a->tgt, grad_scale, n, V);
    else cross_entropy_forward(a->ce, a->lse, a->logits, a->tgt, n, V);
    double sum = 0;
    for (int r = 0; r < n; r++) if (a->tgt[r] >= 0) sum += a->ce[r];
    return sum;
}

void mtp_backward(real *dhprev, int Tprev, real *dhout, real *g_embed, real *g_lm_head,
                  MtpWeights *gw, MtpActs *a, real ce_scale, real aux_scale, const real *embed,
                  const real *lm_head, const MtpWeights *w, const ModelConfig *cfg, const RopeTable *rope,
                  Arena *scratch) {
    const int D = cfg->hidden_size, V = cfg->vocab_size, n = a->n, B = a->B, Tk = a->Tk;
    size_t mark = arena_mark(scratch);
    real *t1 = arena_real(scratch, (size_t)n * D);          /* [n, D] */
    real *dcat = arena_real(scratch, (size_t)n * 2 * D);    /* [n, 2D] */
    /* logits = hn·lm_headᵀ with CE: dlogits in place; dhn = dlogits·lm_head */
    if (a->grad_scale > 0) CHECK(a->grad_scale == ce_scale);   /* formed by forward */
    else cross_entropy_backward(a->logits, a->logits, a->lse, a->tgt, NULL, ce_scale, n, V);
    matmul_backward_p(w->prec, t1, g_lm_head, a->logits, a->hn, lm_head, n, D, V, 0);
    /* hn = RMSNorm(hout): dhout += norm backward */
    rmsnorm_backward(t1, D, gw->head_norm, t1, D, a->hout, D, w->head_norm, a->rstd_o, n, D);
    #pragma omp parallel for schedule(dynamic, 16384)
    for (size_t j = 0; j < (size_t)n * D; j++) dhout[j] += t1[j];
    /* block: dx -> t1 */
    block_backward(t1, &gw->block, dhout, &a->blk, a->x, &w->block, cfg, a->pos, B, Tk, rope,
                   aux_scale, scratch);
    /* x = cat·eh_projᵀ */
    matmul_backward_p(w->prec, dcat, gw->eh_proj, t1, a->cat, w->eh_proj, n, 2 * D, D, 0);
    /* embedding half: enorm backward, scatter into the embedding gradient */
    real *emb = dhout;                                      /* dhout is dead now: reuse */
    embed_forward(emb, embed, a->tok, n, D);
    rmsnorm_backward(t1, D, gw->enorm, dcat, 2 * D, emb, D, w->enorm, a->rstd_e, n, D);
    embed_backward(g_embed, t1, a->tok, n, D);
    /* hidden half: hnorm backward, add into dhprev rows i < Tk */
    rmsnorm_backward(t1, D, gw->hnorm, dcat + D, 2 * D, a->hin, D, w->hnorm, a->rstd_h, n, D);
    #pragma omp parallel for schedule(dynamic, 64)
    for (int r = 0; r < n; r++) {
        int b = r / Tk, i = r % Tk;
        real *dst = dhprev + ((size_t)b * Tprev + i) * D;
        const real *src = t1 + (size_t)r * D;
        for (int d = 0; d < D; d++) dst[d] += src[d];
    }
    arena_reset(scratch, mark);
}
