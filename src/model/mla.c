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
    a->kv = carve_real(c, n * H * (cfg->qk_nope_head_dim + Dv));
    a->o = carve_real(c, n * H * Dv);
    a->lse = carve_real(c, n * H);
}

void mla_project(MlaActs *a, const real *x, const MlaWeights *w, const ModelConfig *cfg,
                 const int *pos, int n, const RopeTable *rope, const LinearExec *lx) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Rq = cfg->q_lora_rank, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const int Dn = cfg->qk_nope_head_dim;
    const real eps = (real)cfg->rms_norm_eps;
    if (Rq > 0) {
        linear_forward_p(lx, w->prec, a->cq, x, w->q_a_proj, n, D, Rq, 0);            /* cq [n, Rq] */
        rmsnorm_forward(a->cqn, Rq, a->rstd_q, a->cq, Rq, w->q_a_norm, n, Rq, eps);
        linear_forward_p(lx, w->prec, a->q, a->cqn, w->q_b_proj, n, Rq, H * Dqk, 0);  /* q [n, H·Dqk] */
    } else {
        linear_forward_p(lx, w->prec, a->q, x, w->q_proj, n, D, H * Dqk, 0);
    }
    rope_forward(a->q + Dn, H * Dqk, Dqk, H, pos, n, rope);                 /* q_pe per head */
    linear_forward_p(lx, w->prec, a->kva, x, w->kv_a_proj, n, D, Rkv + Dr, 0);       /* a [n, Rkv+Dr] */
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
    #pragma omp parallel for schedule(dynamic, 64)
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

/* K [h] = (kv[h, :Dn], k_pe) and V [h] = kv[h, Dn:], read where they are. */
static AttKV mla_kv(const MlaActs *a, const ModelConfig *cfg, MatPrec prec) {
    const int H = cfg->num_attention_heads, Dn = cfg->qk_nope_head_dim, Dv = cfg->v_head_dim;
    const int Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const size_t W = (size_t)Dn + Dv;
    AttKV kv = {.k1 = {a->kv, H * W, W}, .k2 = {a->kva + Rkv, (size_t)Rkv + Dr, 0}, .prec = prec,
                .v = {a->kv + Dn, H * W, W}, .D1 = Dn, .D2 = Dr, .Dv = Dv};
    return kv;
}

static size_t attn_scratch(int B, int T, const ModelConfig *cfg) {
    return attention_scratch_size(B, T, cfg->num_attention_heads, config_qk_head_dim(cfg),
                                  cfg->v_head_dim, omp_get_max_threads());
}

void mla_forward(real *out, MlaActs *a, const real *x, const MlaWeights *w, const ModelConfig *cfg,
                 const int *pos, int B, int T, const RopeTable *rope, Arena *scratch) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dv = cfg->v_head_dim;
    const int Rkv = cfg->kv_lora_rank, W = cfg->qk_nope_head_dim + Dv;
    const int n = B * T;
    mla_project(a, x, w, cfg, pos, n, rope, NULL);
    matmul_forward_p(w->prec, a->kv, a->c, w->kv_b_proj, n, Rkv, H * W, 0);          /* kv [n, H·(Dn+Dv)] */
    size_t mark = arena_mark(scratch);
    real *s = arena_real(scratch, attn_scratch(B, T, cfg));
    const AttKV kv = mla_kv(a, cfg, w->prec);
    attention_forward_kv(a->o, a->lse, a->q, &kv, B, T, H, (real)config_softmax_scale(cfg), s);
    arena_reset(scratch, mark);
    matmul_forward_p(w->prec, out, a->o, w->o_proj, n, H * Dv, D, 0);                 /* out [n, D] */
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
    real *dkv = arena_real(scratch, (size_t)n * H * W);     /* [n, H, Dn+Dv] (dk_nope, dv) */
    real *dpe = arena_real(scratch, (size_t)n * H * Dr);    /* [n, H, Dr] dk_pe of each head */

    /* out = o·W_oᵀ:  dW_o += doutᵀ·o,  dO = dout·W_o */
    matmul_backward_p(w->prec, dO, gw->o_proj, dout, a->o, w->o_proj, n, H * Dv, D, 0);
    {
        size_t m2 = arena_mark(scratch);
        real *s = arena_real(scratch, attn_scratch(B, T, cfg));
        const AttKV kv = mla_kv(a, cfg, w->prec);
        const AttKVGrad g = {.k1 = {dkv, (size_t)H * W, (size_t)W}, .k2 = {dpe, (size_t)H * Dr, (size_t)Dr},
                             .v = {dkv + Dn, (size_t)H * W, (size_t)W}};
        attention_backward_kv(dq, &g, dO, a->o, a->lse, a->q, &kv, B, T, H,
                              (real)config_softmax_scale(cfg), s);
        arena_reset(scratch, m2);
    }
    /* dk_pe [n, Dr] = Σ_h dk_pe[h] (one rope key shared by the heads), into da's last Dr columns */
    real *da = arena_real(scratch, (size_t)n * (Rkv + Dr));  /* [n, Rkv+Dr] */
    #pragma omp parallel for schedule(dynamic, 64)
    for (int i = 0; i < n; i++) {
        const real *g = dpe + (size_t)i * H * Dr;
        real *d = da + (size_t)i * (Rkv + Dr) + Rkv;
        for (int j = 0; j < Dr; j++) d[j] = 0;
        for (int h = 0; h < H; h++)
            for (int j = 0; j < Dr; j++) d[j] += g[(size_t)h * Dr + j];
    }
    rope_backward(da + Rkv, Rkv + Dr, 0, 1, pos, n, rope);       /* un-rotate dk_pe */
    /* kv = c·W_kvbᵀ:  dW_kvb += dkvᵀ·c,  dc = dkv·W_kvb */
    real *dc = arena_real(scratch, (size_t)n * Rkv);
    matmul_backward_p(w->prec, dc, gw->kv_b_proj, dkv, a->c, w->kv_b_proj, n, Rkv, H * W, 0);
    /* c = RMSNorm(a[:, :Rkv]) */
    rmsnorm_backward(da, Rkv + Dr, gw->kv_a_norm, dc, Rkv, a->kva, Rkv + Dr, w->kv_a_norm,
                     a->rstd_kv, n, Rkv);
    /* a = x·W_kvaᵀ:  dW_kva += daᵀ·x,  dx = da·W_kva */
    matmul_backward_p(w->prec, dx, gw->kv_a_proj, da, x, w->kv_a_proj, n, D, Rkv + Dr, 0);
    /* query side */
    rope_backward(dq + Dn, H * Dqk, Dqk, H, pos, n, rope);
    if (Rq > 0) {
        real *dcq = arena_real(scratch, (size_t)n * Rq);
        matmul_backward_p(w->prec, dcq, gw->q_b_proj, dq, a->cqn, w->q_b_proj, n, Rq, H * Dqk, 0);
        rmsnorm_backward(dcq, Rq, gw->q_a_norm, dcq, Rq, a->cq, Rq, w->q_a_norm, a->rstd_q, n, Rq);
        matmul_backward_p(w->prec, dx, gw->q_a_proj, dcq, x, w->q_a_proj, n, D, Rq, 1);
    } else {
        matmul_backward_p(w->prec, dx, gw->q_proj, dq, x, w->q_proj, n, D, H * Dqk, 1);
    }
    arena_reset(scratch, mark);
}
