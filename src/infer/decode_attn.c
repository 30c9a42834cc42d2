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

/* Attention of the n rows over their slots' cache rows in `groups` key/value heads: row i's query
 * heads g·R .. g·R+R−1 (Dk wide, at q + i·ldq_row) attend to key head g (at k_off + g·Dk of each
 * cache row) and value head g (Dv wide, at v_off + g·Dv), writing Dv values per query head at
 * out + i·ldo_row. Rows go over the threads, each with its own score rows. */
typedef struct CacheMqa {
    const real *q; size_t ldq_row;
    real *out; size_t ldo_row;
    int groups, R, Dk, Dv, k_off, v_off;
    float scale;
} CacheMqa;

static void attend_cache(Engine *g, int layer, const int *slot, const int *pos, int n, const CacheMqa *a) {
    const int max_len = g->kv.max_len, W = g->kv.W;
    CHECK(a->R <= g->m->cfg.num_attention_heads);
    #pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (int i = 0; i < n; i++) {
        int tid = omp_get_thread_num();
        CHECK(tid < g->att_threads);
        float *sc = g->att + (size_t)tid * g->m->cfg.num_attention_heads * max_len;   /* [R, S] */
        const float *rows = kvcache_row(&g->kv, layer, slot[i], 0);
        for (int h = 0; h < a->groups; h++)
            mqa_row(a->out + i * a->ldo_row + (size_t)h * a->R * a->Dv, a->Dv,
                    a->q + i * a->ldq_row + (size_t)h * a->R * a->Dk, a->Dk, a->R, a->Dk,
                    rows + a->k_off + (size_t)h * a->Dk, rows + a->v_off + (size_t)h * a->Dv, W,
                    pos[i] + 1, a->Dv, a->scale, sc, max_len);
    }
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
    /* MQA with K = [c ; k_pe] (W wide), V = c (Rkv wide), all H heads on one key */
    const CacheMqa a = {.q = g->qabs, .ldq_row = (size_t)H * W, .out = g->ctx, .ldo_row = (size_t)H * Rkv,
                        .groups = 1, .R = H, .Dk = W, .Dv = Rkv, .k_off = 0, .v_off = 0, .scale = scale};
    attend_cache(g, layer, slot, pos, n, &a);
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
    const int Dq = config_q_dim(cfg), Dkv = config_kv_dim(cfg);
    /* query heads kh·rep.. read key/value head kh: cached [k ; v] rows, q in place in the step's qkv */
    const CacheMqa a = {.q = g->gqa.qkv, .ldq_row = (size_t)Dq + 2 * Dkv, .out = g->o, .ldo_row = (size_t)Dq,
                        .groups = Hkv, .R = H / Hkv, .Dk = Dh, .Dv = Dh, .k_off = 0, .v_off = Dkv,
                        .scale = (float)config_softmax_scale(cfg)};
    attend_cache(g, layer, slot, pos, n, &a);
}
