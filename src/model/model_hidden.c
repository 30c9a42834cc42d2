/* Trunk backward from dJ/d(final-normed hidden states): final RMSNorm -> blocks -> embedding.
 * See model_hidden.h. model_backward (model.c) adds the lm_head and MTP terms into dhf and then
 * runs the same trunk. */
#include "model/model_hidden.h"

#include <string.h>

#include "base/error.h"
#include "kernels/embed.h"
#include "kernels/rmsnorm.h"
#include "model/acts.h"
#include "model/block.h"

ModelView *model_grad_view(const Model *m, ModelActs *a, real *grads) {
    if (a->grad_base != grads) {
        if (a->grad_base) model_view_free(&a->gw);
        model_view_build(&a->gw, &m->table, &m->cfg, grads);
        a->grad_base = grads;
    }
    return &a->gw;
}

void model_backward_trunk(const Model *m, ModelActs *a, const real *dhf) {
    const ModelConfig *cfg = &m->cfg;
    const int D = cfg->hidden_size, L = cfg->num_hidden_layers;
    const int N = a->N, B = a->B, T = a->T;
    const size_t ND = (size_t)N * D;
    const ModelView *g = &a->gw;
    Arena *ar = &a->arena;
    size_t mark = arena_mark(ar);
    real *dA = arena_real(ar, ND);                  /* [N, D] */
    real *dB = arena_real(ar, ND);                  /* [N, D] */
    rmsnorm_backward(dA, D, g->final_norm, dhf, D, a->h + (size_t)L * ND, D, m->w.final_norm,
                     a->rstd_f, N, D);
    for (int l = L - 1; l >= 0; l--) {
        block_backward(dB, &g->layers[l], dA, &a->blk[l], a->h + (size_t)l * ND, &m->w.layers[l],
                       cfg, a->pos, B, T, &m->rope, 1, ar);
        real *t = dA; dA = dB; dB = t;
    }
    embed_backward(g->embed, dA, a->tokens, N, D);
    arena_reset(ar, mark);
}

void model_backward_hidden(const Model *m, ModelActs *a, real *grads, const real *dhf) {
    CHECK(a->N > 0);
    CHECKF(a->opt.mtp_lambda == 0, "model_backward_hidden: forward ran the MTP modules");
    model_grad_view(m, a, grads);
    model_backward_trunk(m, a, dhf);
}
