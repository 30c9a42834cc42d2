/* Multi-head Latent Attention forward and backward (naive form; see mla.h). */
#include "model/mla.h"

#include <omp.h>
#include <string.h>

#include "base/error.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"

void mla_acts_carve(MlaActs *a, Carve *c, const ModelConfig *cfg, int max_n) {
    const int H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg), Dv = cfg->v_head_dim;
    const int Rq = cfg->q_lora_rank, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const size_t n = (size_t)max_n;
    a->cq = Rq > 0 ? carve_real(c, n * Rq) : NULL;
    a->cqn = Rq > 0 ? carve_real(c, n * Rq) : NULL;
    a->rstd_q = Rq > 0 ? carve_real(c, n) : NULL;
    a->q = carve_real(c, n * H * Dqk);
    a->kva = carve_real(c, n * (Rkv + Dr));
    a->c = carve_real(c, n * Rkv);
    a->rstd_kv = carve_real(c, n);
    a->k = carve_real(c, n * H * Dqk);
    a->v = carve_real(c, n * H * Dv);
    a->o = carve_real(c, n * H * Dv);
    a->lse = carve_real(c, n * H);
}

void mla_project(MlaActs *a, const real *x, const MlaWeights *w, const ModelConfig *cfg,
                 const int *pos, int n, const RopeTable *rope) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Rq = cfg->q_lora_rank, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const int Dn = cfg->qk_nope_head_dim;
    const real eps = (real)cfg->rms_norm_eps;
    if (Rq > 0) {
        matmul_forward(a->cq, x, w->q_a_proj, n, D, Rq, 0);                 /* cq [n, Rq] */
        rmsnorm_forward(a->cqn, Rq, a->rstd_q, a->cq, Rq, w->q_a_norm, n, Rq, eps);
        matmul_forward(a->q, a->cqn, w->q_b_proj, n, Rq, H * Dqk, 0);      /* q [n, H·Dqk] */
    } else {
        matmul_forward(a->q, x, w->q_proj, n, D, H * Dqk, 0);
    }
    rope_forward(a->q + Dn, H * Dqk, Dqk, H, pos, n, rope);                 /* q_pe per head */
    matmul_forward(a->kva, x, w->kv_a_proj, n, D, Rkv + Dr, 0);            /* a [n, Rkv+Dr] */
    rmsnorm_forward(a->c, Rkv, a->rstd_kv, a->kva, Rkv + Dr, w->kv_a_norm, n, Rkv, eps);
    rope_forward(a->kva + Rkv, Rkv + Dr, 0, 1, pos, n, rope);              /* k_pe, in place */
}

void mla_expand_kv(real *k, real *v, const real *c, const real *k_pe, int ld_pe,
                   const MlaWeights *w, const ModelConfig *cfg, int n, Arena *scratch) {
    const int H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg), Dv = cfg->v_head_dim;
    const int Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim, Dn = cfg->qk_nope_head_dim;
    const int W = Dn + Dv;
    size_t mark = arena_mark(scratch);
    real *kv = arena_real(scratch, (size_t)n * H * W);            /* [n, H, Dn+Dv] */
    matmul_forward(kv, c, w->kv_b_proj, n, Rkv, H * W, 0);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const real *kvi = kv + (size_t)i * H * W, *pe = k_pe + (size_t)i * ld_pe;
        real *ki = k + (size_t)i * H * Dqk, *vi = v + (size_t)i * H * Dv;
        for (int h = 0; h < H; h++) {
            memcpy(ki + (size_t)h * Dqk, kvi + (size_t)h * W, (size_t)Dn * sizeof *k);
            memcpy(ki + (size_t)h * Dqk + Dn, pe, (size_t)Dr * sizeof *k);
            memcpy(vi + (size_t)h * Dv, kvi + (size_t)h * W + Dn, (size_t)Dv * sizeof *v);
        }
    }
    arena_reset(scratch, mark);
}

static size_t attn_scratch(int B, int T, const ModelConfig *cfg) {
    return attention_scratch_size(B, T, cfg->num_attention_heads, config_qk_head_dim(cfg),
                                  cfg->v_head_dim, omp_get_max_threads());
}

void mla_forward(real *out, MlaActs *a, const real *x, const MlaWeights *w, const ModelConfig *cfg,
                 const int *pos, int B, int T, const RopeTable *rope, Arena *scratch) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Dv = cfg->v_head_dim, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const int n = B * T;
    mla_project(a, x, w, cfg, pos, n, rope);
    mla_expand_kv(a->k, a->v, a->c, a->kva + Rkv, Rkv + Dr, w, cfg, n, scratch);
    size_t mark = arena_mark(scratch);
    real *s = arena_real(scratch, attn_scratch(B, T, cfg));
    attention_forward(a->o, a->lse, a->q, a->k, a->v, B, T, H, Dqk, Dv,
                      (real)config_softmax_scale(cfg), s);
    arena_reset(scratch, mark);
    matmul_forward(out, a->o, w->o_proj, n, H * Dv, D, 0);                 /* out [n, D] */
}

void mla_backward(real *dx, MlaWeights *gw, const real *dout, const MlaActs *a, const real *x,
                  const MlaWeights *w, const ModelConfig *cfg, const int *pos, int B, int T,
                  const RopeTable *rope, Arena *scratch) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Dv = cfg->v_head_dim, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const int Dn = cfg->qk_nope_head_dim, Rq = cfg->q_lora_rank, W = Dn + Dv;
    const int n = B * T;
    size_t mark = arena_mark(scratch);
    real *dO = arena_real(scratch, (size_t)n * H * Dv);     /* [n, H·Dv] */
    real *dq = arena_real(scratch, (size_t)n * H * Dqk);    /* [n, H, Dqk] */
    real *dk = arena_real(scratch, (size_t)n * H * Dqk);    /* [n, H, Dqk] */
    real *dv = arena_real(scratch, (size_t)n * H * Dv);     /* [n, H, Dv] */

    /* out = o·W_oᵀ:  dW_o += doutᵀ·o,  dO = dout·W_o */
    matmul_backward(dO, gw->o_proj, dout, a->o, w->o_proj, n, H * Dv, D, 0);
    {
        size_t m2 = arena_mark(scratch);
        real *s = arena_real(scratch, attn_scratch(B, T, cfg));
        attention_backward(dq, dk, dv, dO, a->o, a->lse, a->q, a->k, a->v, B, T, H, Dqk, Dv,
                           (real)config_softmax_scale(cfg), s);
        arena_reset(scratch, m2);
    }
    /* dkv [n, H, Dn+Dv] = (dk_nope, dv) per head; dk_pe [n, Dr] = Σ_h dk[h, Dn:] (shared key),
     * stored into da's last Dr columns */
    real *dkv = arena_real(scratch, (size_t)n * H * W);
    real *da = arena_real(scratch, (size_t)n * (Rkv + Dr));  /* [n, Rkv+Dr] */
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const real *dki = dk + (size_t)i * H * Dqk, *dvi = dv + (size_t)i * H * Dv;
        real *dkvi = dkv + (size_t)i * H * W, *dpe = da + (size_t)i * (Rkv + Dr) + Rkv;
        for (int j = 0; j < Dr; j++) dpe[j] = 0;
        for (int h = 0; h < H; h++) {
            memcpy(dkvi + (size_t)h * W, dki + (size_t)h * Dqk, (size_t)Dn * sizeof *dkv);
            memcpy(dkvi + (size_t)h * W + Dn, dvi + (size_t)h * Dv, (size_t)Dv * sizeof *dkv);
            const real *g = dki + (size_t)h * Dqk + Dn;
            for (int j = 0; j < Dr; j++) dpe[j] += g[j];
        }
    }
    rope_backward(da + Rkv, Rkv + Dr, 0, 1, pos, n, rope);       /* un-rotate dk_pe */
    /* kv = c·W_kvbᵀ:  dW_kvb += dkvᵀ·c,  dc = dkv·W_kvb */
    real *dc = arena_real(scratch, (size_t)n * Rkv);
    matmul_backward(dc, gw->kv_b_proj, dkv, a->c, w->kv_b_proj, n, Rkv, H * W, 0);
    /* c = RMSNorm(a[:, :Rkv]) */
    rmsnorm_backward(da, Rkv + Dr, gw->kv_a_norm, dc, Rkv, a->kva, Rkv + Dr, w->kv_a_norm,
                     a->rstd_kv, n, Rkv);
    /* a = x·W_kvaᵀ:  dW_kva += daᵀ·x,  dx = da·W_kva */
    matmul_backward(dx, gw->kv_a_proj, da, x, w->kv_a_proj, n, D, Rkv + Dr, 0);
    /* query side */
    rope_backward(dq + Dn, H * Dqk, Dqk, H, pos, n, rope);
    if (Rq > 0) {
        real *dcq = arena_real(scratch, (size_t)n * Rq);
        matmul_backward(dcq, gw->q_b_proj, dq, a->cqn, w->q_b_proj, n, Rq, H * Dqk, 0);
        rmsnorm_backward(dcq, Rq, gw->q_a_norm, dcq, Rq, a->cq, Rq, w->q_a_norm, a->rstd_q, n, Rq);
        matmul_backward(dx, gw->q_a_proj, dcq, x, w->q_a_proj, n, D, Rq, 1);
    } else {
        matmul_backward(dx, gw->q_proj, dq, x, w->q_proj, n, D, H * Dqk, 1);
    }
    arena_reset(scratch, mark);
}
