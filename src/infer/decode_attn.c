/* Attention of a decode step over the KV cache: the absorbed and naive MLA forms and GQA (see
 * decode.h, decode_attn.h). */
#include "infer/decode_attn.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/acts.h"
#include "model/mla.h"

/* Multi-query attention of R query vectors of one row over S cache positions that share one key
 * and one value: out [R, Dv] (row stride ldo) = softmax_s(scale · q [R, Dk]·K[s]) · V[s], with
 * K rows at k and V rows at v (row stride ld, floats). sc [R, ld_sc] is the caller's scratch. */
static void mqa_row(real *out, int ldo, const real *q, int ldq, int R, int Dk, const float *k,
                    const float *v, int ld, int S, int Dv, float scale, float *sc, int ld_sc) {
    gemm(0, 1, R, S, Dk, scale, q, ldq, k, ld, 0, sc, ld_sc);           /* scores [R, S] */
    for (int r = 0; r < R; r++) {
        float *p = sc + (size_t)r * ld_sc;
        float mx = ops_max(p, S);
        double sum = ops_exp_shift_sum(p, p, mx, S);
        float inv = (float)(1.0 / sum);
        for (int s = 0; s < S; s++) p[s] *= inv;
    }
    gemm(0, 0, R, Dv, S, 1, sc, ld_sc, v, ld, 0, out, ldo);             /* P [R, S] · V [S, Dv] */
}

void decode_attn_absorbed(Engine *g, const MlaWeights *w, int layer, const int *slot,
                          const int *pos, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg), Dv = cfg->v_head_dim;
    const int Dn = cfg->qk_nope_head_dim, Dr = cfg->qk_rope_head_dim, Rkv = cfg->kv_lora_rank;
    const int W = Rkv + Dr, Wkv = Dn + Dv;
    const float scale = (float)config_softmax_scale(cfg);
    const real *q = g->mla.q;
    /* q̃[i, h] = q_nope[i, h]·W_UK[h]  ([n, Dn]·[Dn, Rkv] per head), q_pe copied beside it */
    for (int h = 0; h < H; h++)
        gemm(0, 0, n, Rkv, Dn, 1, q + (size_t)h * Dqk, H * Dqk,
             w->kv_b_proj + (size_t)h * Wkv * Rkv, Rkv, 0, g->qabs + (size_t)h * W, H * W);
    for (int i = 0; i < n; i++)
        for (int h = 0; h < H; h++)
            memcpy(g->qabs + ((size_t)i * H + h) * W + Rkv, q + ((size_t)i * H + h) * Dqk + Dn,
                   (size_t)Dr * sizeof(real));
    const int max_len = g->kv.max_len;
    #pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (int i = 0; i < n; i++) {
        int tid = omp_get_thread_num();
        CHECK(tid < g->att_threads);
        float *sc = g->att + (size_t)tid * H * max_len;     /* [H, S] */
        const int S = pos[i] + 1;
        const float *rows = kvcache_row(&g->kv, layer, slot[i], 0);
        const real *qi = g->qabs + (size_t)i * H * W;
        real *ci = g->ctx + (size_t)i * H * Rkv;
        /* MQA with K = [c ; k_pe] (W wide), V = c (Rkv wide), all H heads on one key */
        mqa_row(ci, Rkv, qi, W, H, W, rows, rows, W, S, Rkv, scale, sc, max_len);
    }
    /* o[i, h] = ctx[i, h]·W_UV[h]ᵀ  ([n, Rkv]·[Dv, Rkv]ᵀ per head) */
    for (int h = 0; h < H; h++)
        gemm(0, 1, n, Dv, Rkv, 1, g->ctx + (size_t)h * Rkv, H * Rkv,
             w->kv_b_proj + ((size_t)h * Wkv + Dn) * Rkv, Rkv, 0, g->o + (size_t)h * Dv, H * Dv);
}

void decode_attn_naive(Engine *g, const MlaWeights *w, int layer, const int *slot, const int *pos,
                       int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg), Dv = cfg->v_head_dim;
    const int Rkv = cfg->kv_lora_rank, W = g->kv.W;
    const double scale = config_softmax_scale(cfg);
    Arena *ar = &g->arena;
    for (int i = 0; i < n; i++) {
        const int S = pos[i] + 1;
        size_t mark = arena_mark(ar);
        real *c = arena_real(ar, (size_t)S * Rkv);          /* [S, Rkv] */
        real *pe = arena_real(ar, (size_t)S * (W - Rkv));   /* [S, Dr] */
        real *k = arena_real(ar, (size_t)S * H * Dqk);      /* [S, H, Dqk] */
        real *v = arena_real(ar, (size_t)S * H * Dv);       /* [S, H, Dv] */
        real *p = arena_real(ar, (size_t)S);
        for (int s = 0; s < S; s++) {
            const float *r = kvcache_row(&g->kv, layer, slot[i], s);
            memcpy(c + (size_t)s * Rkv, r, (size_t)Rkv * sizeof *c);
            memcpy(pe + (size_t)s * (W - Rkv), r + Rkv, (size_t)(W - Rkv) * sizeof *pe);
        }
        mla_expand_kv(k, v, c, pe, W - Rkv, w, cfg, S, ar);
        const real *qi = g->mla.q + (size_t)i * H * Dqk;
        real *oi = g->o + (size_t)i * H * Dv;
        for (int h = 0; h < H; h++) {
            double mx = -INFINITY, sum = 0;
            for (int s = 0; s < S; s++) {
                double acc = 0;
                const real *ks = k + ((size_t)s * H + h) * Dqk;
                for (int j = 0; j < Dqk; j++) acc += (double)qi[(size_t)h * Dqk + j] * ks[j];
                p[s] = (real)(acc * scale);
                if (p[s] > mx) mx = p[s];
            }
            for (int s = 0; s < S; s++) sum += exp((double)p[s] - mx);
            for (int j = 0; j < Dv; j++) {
                double acc = 0;
                for (int s = 0; s < S; s++)
                    acc += exp((double)p[s] - mx) / sum * v[((size_t)s * H + h) * Dv + j];
                oi[(size_t)h * Dv + j] = (real)acc;
            }
        }
        arena_reset(ar, mark);
    }
}

void decode_attn_gqa(Engine *g, int layer, const int *slot, const int *pos, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int H = cfg->num_attention_heads, Hkv = cfg->num_key_value_heads, Dh = cfg->head_dim;
    const int Dq = config_q_dim(cfg), Dkv = config_kv_dim(cfg), W = g->kv.W, rep = H / Hkv;
    const int Wqkv = Dq + 2 * Dkv, max_len = g->kv.max_len;
    const float scale = (float)config_softmax_scale(cfg);
    #pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (int i = 0; i < n; i++) {
        int tid = omp_get_thread_num();
        CHECK(tid < g->att_threads);
        float *sc = g->att + (size_t)tid * H * max_len;     /* [rep, S] */
        const int S = pos[i] + 1;
        const float *rows = kvcache_row(&g->kv, layer, slot[i], 0);
        const real *qi = g->gqa.qkv + (size_t)i * Wqkv;
        real *oi = g->o + (size_t)i * Dq;
        for (int kh = 0; kh < Hkv; kh++) {    /* query heads kh·rep.. read key/value head kh */
            const size_t at = (size_t)kh * rep * Dh;
            mqa_row(oi + at, Dh, qi + at, Dh, rep, Dh, rows + (size_t)kh * Dh,
                    rows + Dkv + (size_t)kh * Dh, W, S, Dh, scale, sc, max_len);
        }
    }
}
