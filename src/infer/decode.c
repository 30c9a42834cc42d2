/* Inference forward over the MLA latent KV cache: absorbed and naive attention, dense/MoE FFN,
 * final norm and lm_head on the wanted rows, and the MTP draft module (see decode.h). */
#include "infer/decode.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "kernels/embed.h"
#include "kernels/gemm_small.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "model/acts.h"
#include "model/ffn.h"
#include "model/mla.h"
#include "model/moe.h"

static void layout(Engine *g, Carve *c, const ModelConfig *cfg) {
    const size_t n = (size_t)g->max_rows, D = cfg->hidden_size, H = cfg->num_attention_heads;
    const size_t Rkv = cfg->kv_lora_rank, W = g->kv.W, Dv = cfg->v_head_dim;
    mla_acts_carve(&g->mla, c, cfg, g->max_rows);
    if (cfg->n_routed_experts > 0) moe_acts_carve(&g->moe, c, cfg, g->max_rows, 0);
    g->h = carve_real(c, n * D);
    g->xn = carve_real(c, n * D);
    g->y = carve_real(c, n * D);
    g->qabs = carve_real(c, n * H * W);
    g->ctx = carve_real(c, n * H * Rkv);
    g->o = carve_real(c, n * H * Dv);
    g->hf = carve_real(c, n * D);
    g->hsel = carve_real(c, n * D);
    g->logits = carve_real(c, n * (size_t)cfg->vocab_size);
    g->mtp_cat = carve_real(c, n * 2 * D);
    g->ffn_gu = carve_real(c, n * 2 * (size_t)(cfg->intermediate_size > 0 ? cfg->intermediate_size : 1));
    g->att = carve_bytes(c, (size_t)g->att_threads * H * g->kv.max_len * sizeof(float));
    g->pos = carve_int(c, n);
    g->padx = carve_real(c, 4 * g->pad_dim);
    g->pady = carve_real(c, 4 * g->pad_dim);
    g->fill = carve_int(c, (size_t)(cfg->n_routed_experts > 0 ? cfg->n_routed_experts : 1));
}

/* ---- transposed weights for batched steps ---- */

#define KN_MIN_ROWS 4       /* engines of at least this many rows per call make the copies */

typedef struct WtSpec { const real *w; int out, in; } WtSpec;

static int spec_add(WtSpec *s, int k, const real *w, int out, int in) {
    if (w && out > 0 && in > 0) {
        if (s) s[k] = (WtSpec){w, out, in};
        k++;
    }
    return k;
}

static int spec_ffn(WtSpec *s, int k, const FfnWeights *f, int D) {
    if (f->F <= 0) return k;
    k = spec_add(s, k, f->gate_up, 2 * f->F, D);
    return spec_add(s, k, f->down, D, f->F);
}

/* Every weight lin() is called with in one layer (s NULL: count only). */
static int spec_layer(WtSpec *s, int k, const LayerWeights *lw, const ModelConfig *cfg) {
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Rq = cfg->q_lora_rank, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const MlaWeights *a = &lw->attn;
    if (Rq > 0) {
        k = spec_add(s, k, a->q_a_proj, Rq, D);
        k = spec_add(s, k, a->q_b_proj, H * Dqk, Rq);
    } else {
        k = spec_add(s, k, a->q_proj, H * Dqk, D);
    }
    k = spec_add(s, k, a->kv_a_proj, Rkv + Dr, D);
    k = spec_add(s, k, a->o_proj, D, H * cfg->v_head_dim);
    if (lw->is_moe) {
        for (int e = 0; e < cfg->n_routed_experts; e++) k = spec_ffn(s, k, &lw->moe.experts[e], D);
        k = spec_ffn(s, k, &lw->moe.shared, D);
    } else {
        k = spec_ffn(s, k, &lw->dense, D);
    }
    return k;
}

static int spec_model(WtSpec *s, const Model *m, int with_mtp) {
    const ModelConfig *cfg = &m->cfg;
    int k = spec_add(s, 0, m->w.lm_head, cfg->vocab_size, cfg->hidden_size);
    for (int l = 0; l < cfg->num_hidden_layers; l++) k = spec_layer(s, k, &m->w.layers[l], cfg);
    if (with_mtp) {
        k = spec_add(s, k, m->w.mtp[0].eh_proj, cfg->hidden_size, 2 * cfg->hidden_size);
        k = spec_layer(s, k, &m->w.mtp[0].block, cfg);
    }
    return k;
}

static int wt_cmp(const void *a, const void *b) {
    const WtEntry *x = a, *y = b;
    return x->w < y->w ? -1 : x->w > y->w;
}

static void wt_build(Engine *g, const Model *m, int with_mtp) {
    const int n = spec_model(NULL, m, with_mtp);
    WtSpec *s = xmalloc((size_t)n * sizeof *s);
    spec_model(s, m, with_mtp);
    size_t *off = xmalloc(((size_t)n + 1) * sizeof *off);
    off[0] = 0;
    for (int i = 0; i < n; i++) off[i + 1] = off[i] + kn_packed_size(s[i].out, s[i].in);
    g->wt_mem = aligned_alloc(64, off[n] * sizeof(real) + 64);
    CHECKF(g->wt_mem != NULL, "out of memory: %zu transposed weights", off[n]);
    g->wt = xmalloc((size_t)n * sizeof *g->wt);
    g->n_wt = n;
    #pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        kn_pack(g->wt_mem + off[i], s[i].w, s[i].out, s[i].in);
        g->wt[i] = (WtEntry){s[i].w, g->wt_mem + off[i]};
    }
    qsort(g->wt, (size_t)n, sizeof *g->wt, wt_cmp);
    free(off);
    free(s);
}

static const real *wt_find(const Engine *g, const real *w) {
    int lo = 0, hi = g->n_wt - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        if (g->wt[mid].w == w) return g->wt[mid].t;
        if (g->wt[mid].w < w) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

void engine_init(Engine *g, const Model *m, int n_slots, int max_len, int max_rows, int with_mtp) {
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
    {   /* widest matmul input/output of the decode path, for the 4-row padding in lin() */
        size_t d = (size_t)cfg->vocab_size, H = cfg->num_attention_heads;
        size_t cand[6] = {2 * (size_t)cfg->hidden_size, 2 * (size_t)cfg->intermediate_size,
                          H * config_qk_head_dim(cfg), H * cfg->v_head_dim,
                          (size_t)cfg->q_lora_rank, (size_t)cfg->kv_lora_rank + cfg->qk_rope_head_dim};
        for (int i = 0; i < 6; i++) if (cand[i] > d) d = cand[i];
        g->pad_dim = d;
    }
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
    if (max_rows >= KN_MIN_ROWS) wt_build(g, m, with_mtp);
}

void engine_free(Engine *g) {
    kvcache_free(&g->kv);
    free(g->mtp_len);
    free(g->mem);
    arena_free(&g->arena);
    free(g->wt);
    free(g->wt_mem);
    memset(g, 0, sizeof *g);
}

/* ---- attention over the cache ---- */

/* Absorbed form: o [n, H·Dv] from q [n, H, Dqk] and the cache rows of each row's slot. */
static void attn_absorbed(Engine *g, const MlaWeights *w, int layer, const int *slot,
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
        /* scores [H, S] = scale · q̃ [H, W] · rows [S, W]ᵀ */
        gemm(0, 1, H, S, W, scale, qi, W, rows, W, 0, sc, max_len);
        for (int h = 0; h < H; h++) {
            float *p = sc + (size_t)h * max_len;
            float mx = ops_max(p, S);
            double sum = ops_exp_shift_sum(p, p, mx, S);
            float inv = (float)(1.0 / sum);
            for (int s = 0; s < S; s++) p[s] *= inv;
        }
        /* ctx [H, Rkv] = P [H, S] · rows[:, :Rkv] */
        gemm(0, 0, H, Rkv, S, 1, sc, max_len, rows, W, 0, ci, Rkv);
    }
    /* o[i, h] = ctx[i, h]·W_UV[h]ᵀ  ([n, Rkv]·[Dv, Rkv]ᵀ per head) */
    for (int h = 0; h < H; h++)
        gemm(0, 1, n, Dv, Rkv, 1, g->ctx + (size_t)h * Rkv, H * Rkv,
             w->kv_b_proj + ((size_t)h * Wkv + Dn) * Rkv, Rkv, 0, g->o + (size_t)h * Dv, H * Dv);
}

/* Naive form (reference): per row, K and V of its slot expanded from the cached latents, then
 * plain softmax attention of q (Dqk wide) in double. */
static void attn_naive(Engine *g, const MlaWeights *w, int layer, const int *slot, const int *pos,
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

/* ---- matmuls for small row counts ----
 * Decode steps multiply few rows by large weights (a GEMV for one stream), where a single gemm
 * call runs on one thread. lin() splits the output columns into fixed blocks of LIN_BLOCK and
 * hands the blocks to the threads: each weight row is read by one thread, and since the blocks
 * do not depend on the thread count, neither do the bits. Many rows (prefill): one gemm, whose
 * BLAS path uses the threads itself. */
#define LIN_BLOCK 128
#define LIN_MAX_ROWS 64
#define LIN_PAR_MIN (1 << 18)   /* multiply-adds below which one thread does it all: waking a
                                 * passive-waiting thread costs more than it saves */

static void lin_blocks(real *y, const real *x, const real *w, int n, int in, int out, int acc) {
    if (n > LIN_MAX_ROWS || out <= LIN_BLOCK) {
        matmul_forward(y, x, w, n, in, out, acc);
        return;
    }
    const int nb = (out + LIN_BLOCK - 1) / LIN_BLOCK;
    const int par = (double)n * in * out >= LIN_PAR_MIN && !omp_in_parallel();
    #pragma omp parallel for schedule(static) if (par)
    for (int b = 0; b < nb; b++) {
        int o0 = b * LIN_BLOCK, o1 = o0 + LIN_BLOCK < out ? o0 + LIN_BLOCK : out;
        gemm(0, 1, n, o1 - o0, in, 1, x, in, w + (size_t)o0 * in, in, acc ? 1 : 0, y + o0, out);
    }
}

/* y [n, out] (+)= x [n, in]·wᵀ. With 2 or 3 rows (a speculative verification, an accepted MTP
 * pair) the rows are padded to 4 with zeros: the small-matrix kernel reads the weights once per
 * 4 rows but once per row for a remainder, so 4 padded rows cost what 1 does. g may be NULL
 * (inside parallel regions: no padding, the buffers are shared). */
#define KN_BLOCK KN_PANEL

/* y [n, out] (+)= x [n, in]·wᵀ with wt = kn_pack(w): column blocks of KN_BLOCK over the threads
 * (each y element is the same FMA chain whichever thread computes it, and whatever n is). */
static void lin_kn(real *y, const real *x, const real *wt, int n, int in, int out, int acc) {
    const int nb = (out + KN_BLOCK - 1) / KN_BLOCK;
    const int par = nb > 1 && (double)n * in * out >= LIN_PAR_MIN && !omp_in_parallel();
    #pragma omp parallel for schedule(static) if (par)
    for (int b = 0; b < nb; b++) {
        const int o0 = b * KN_BLOCK, o1 = o0 + KN_BLOCK < out ? o0 + KN_BLOCK : out;
        gemm_small_kn(n, o1 - o0, in, x, in, wt, b, y + o0, out, acc);
    }
}

static void lin(Engine *g, real *y, const real *x, const real *w, int n, int in, int out, int acc) {
    const real *wt;
    if (g && g->n_wt > 0 && n <= LIN_MAX_ROWS && (wt = wt_find(g, w)) != NULL) {
        lin_kn(y, x, wt, n, in, out, acc);
        return;
    }
    if (!g || n < 2 || n > 3 || omp_in_parallel() || (size_t)in > g->pad_dim || (size_t)out > g->pad_dim) {
        lin_blocks(y, x, w, n, in, out, acc);
        return;
    }
    memcpy(g->padx, x, (size_t)n * in * sizeof *x);
    memset(g->padx + (size_t)n * in, 0, (size_t)(4 - n) * in * sizeof *x);
    if (acc) memcpy(g->pady, y, (size_t)n * out * sizeof *y);
    lin_blocks(g->pady, g->padx, w, 4, in, out, acc);
    memcpy(y, g->pady, (size_t)n * out * sizeof *y);
}

/* MLA projections of the n rows of g->xn (mla_project's math, with lin): q [n, H, Dqk] rope part
 * rotated, kva [n, Rkv + Dr] with k_pe rotated in place, c [n, Rkv] normalised latent. */
static void project(Engine *g, const MlaWeights *w, const int *pos, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg);
    const int Rq = cfg->q_lora_rank, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const int Dn = cfg->qk_nope_head_dim;
    const real eps = (real)cfg->rms_norm_eps;
    MlaActs *a = &g->mla;
    if (Rq > 0) {
        lin(g, a->cq, g->xn, w->q_a_proj, n, D, Rq, 0);
        rmsnorm_forward(a->cqn, Rq, NULL, a->cq, Rq, w->q_a_norm, n, Rq, eps);
        lin(g, a->q, a->cqn, w->q_b_proj, n, Rq, H * Dqk, 0);
    } else {
        lin(g, a->q, g->xn, w->q_proj, n, D, H * Dqk, 0);
    }
    rope_forward(a->q + Dn, H * Dqk, Dqk, H, pos, n, &g->m->rope);
    lin(g, a->kva, g->xn, w->kv_a_proj, n, D, Rkv + Dr, 0);
    rmsnorm_forward(a->c, Rkv, NULL, a->kva, Rkv + Dr, w->kv_a_norm, n, Rkv, eps);
    rope_forward(a->kva + Rkv, Rkv + Dr, 0, 1, pos, n, &g->m->rope);
}

/* y [n, D] = SwiGLU FFN of x (row_scale: routed gate weights, may be NULL), with scratch
 * gu [n, 2F] and h [n, F] given. */
static void ffn_buf(Engine *g, real *y, const real *x, const FfnWeights *w, const real *row_scale,
                    int n, int D, real *gu, real *h) {
    if (n == 0) return;
    const int F = w->F;
    lin(g, gu, x, w->gate_up, n, D, 2 * F, 0);
    swiglu_forward(h, gu, row_scale, n, F);
    lin(g, y, h, w->down, n, F, D, 0);
}

static void ffn_rows(Engine *g, real *y, const real *x, const FfnWeights *w, const real *row_scale,
                     int n) {
    size_t mark = arena_mark(&g->arena);
    real *gu = arena_real(&g->arena, (size_t)n * 2 * w->F);      /* [n, 2F] */
    real *h = arena_real(&g->arena, (size_t)n * w->F);           /* [n, F] */
    ffn_buf(g, y, x, w, row_scale, n, g->m->cfg.hidden_size, gu, h);
    arena_reset(&g->arena, mark);
}

/* MoE on the n rows of g->xn into g->y: moe_route selects (the model's routing code), then the
 * rows are grouped by expert (counting sort, rows ascending) so each routed expert runs one
 * matmul over all its rows of the step; outputs are summed per row in selection-slot order. */
static void moe_rows(Engine *g, const MoeWeights *w, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int E = cfg->n_routed_experts, K = cfg->num_experts_per_tok, D = cfg->hidden_size;
    MoeActs *a = &g->moe;
    /* moe_route's row loop always forks; for a few rows one thread is faster than waking one */
    const int nt = omp_get_max_threads(), one = nt > 1 && (double)n * D * E < LIN_PAR_MIN;
    if (one) omp_set_num_threads(1);
    moe_route(a, g->xn, w, cfg, n, 0, &g->arena);
    if (one) omp_set_num_threads(nt);
    memset(a->count, 0, (size_t)E * sizeof *a->count);
    for (int j = 0; j < n * K; j++) a->count[a->sel[j]]++;
    a->offset[0] = 0;
    for (int e = 0; e < E; e++) a->offset[e + 1] = a->offset[e] + a->count[e];
    int *fill = g->fill;
    for (int e = 0; e < E; e++) fill[e] = a->offset[e];
    for (int i = 0; i < n; i++)
        for (int r = 0; r < K; r++) {
            int j = i * K + r, e = a->sel[j];
            int row = fill[e]++;
            a->row_of[j] = row;
            a->tok_of[row] = i;
            a->gate_g[row] = a->gate[j];
        }
    size_t mark = arena_mark(&g->arena);
    const size_t nK = (size_t)n * K;
    real *xg = arena_real(&g->arena, nK * D);      /* [nK, D] rows grouped by expert */
    real *yg = arena_real(&g->arena, nK * D);      /* [nK, D] gate-scaled expert outputs */
    for (size_t row = 0; row < nK; row++)
        memcpy(xg + row * D, g->xn + (size_t)a->tok_of[row] * D, (size_t)D * sizeof *xg);
    /* experts and the shared experts: with up to LIN_MAX_ROWS rows each expert's matmuls are
     * too small to split well, so the experts themselves run in parallel (one thread each, lin()
     * sees omp_in_parallel): one fork per layer; every expert's arithmetic is the same whichever
     * thread runs it */
    const int Im = cfg->moe_intermediate_size, Fs = w->shared.F;
    real *gu = arena_real(&g->arena, nK * 2 * Im + (size_t)n * 2 * Fs);
    real *h = arena_real(&g->arena, nK * Im + (size_t)n * Fs);
    const int by_expert = n <= LIN_MAX_ROWS && omp_get_max_threads() > 1 &&
                          (double)(n * K + n * (Fs / (Im > 0 ? Im : 1))) * D * 3 * Im >= LIN_PAR_MIN;
    #pragma omp parallel for schedule(dynamic, 1) if (by_expert)
    for (int j = 0; j <= E; j++) {
        if (j == 0) {           /* the shared experts first: the biggest job */
            if (Fs > 0) ffn_buf(g, g->y, g->xn, &w->shared, NULL, n, D, gu + nK * 2 * Im, h + nK * Im);
            else memset(g->y, 0, (size_t)n * D * sizeof *g->y);
        } else if (a->count[j - 1] > 0) {
            const int e = j - 1;
            const size_t o = (size_t)a->offset[e];
            ffn_buf(g, yg + o * D, xg + o * D, &w->experts[e], a->gate_g + o, a->count[e], D,
                    gu + o * 2 * Im, h + o * Im);
        }
    }
    for (int i = 0; i < n; i++) {
        real *yi = g->y + (size_t)i * D;
        for (int r = 0; r < K; r++) {
            const real *src = yg + (size_t)a->row_of[i * K + r] * D;
            for (int d = 0; d < D; d++) yi[d] += src[d];
        }
    }
    arena_reset(&g->arena, mark);
}

/* ---- one decoder block on the rows in g->h ---- */

static void add_rows(real *y, const real *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

static void block_rows(Engine *g, const LayerWeights *w, int layer, const int *slot,
                       const int *pos, int n) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, H = cfg->num_attention_heads, Dv = cfg->v_head_dim;
    const int Rkv = cfg->kv_lora_rank, W = g->kv.W;
    const real eps = (real)cfg->rms_norm_eps;
    rmsnorm_forward(g->xn, D, NULL, g->h, D, w->attn_norm, n, D, eps);
    if (g->mode == ATTN_NAIVE) mla_project(&g->mla, g->xn, &w->attn, cfg, pos, n, &g->m->rope);
    else project(g, &w->attn, pos, n);
    for (int i = 0; i < n; i++) {                  /* cache[layer, slot, pos] = [c ; k_pe] */
        float *r = kvcache_row(&g->kv, layer, slot[i], pos[i]);
        memcpy(r, g->mla.c + (size_t)i * Rkv, (size_t)Rkv * sizeof *r);
        memcpy(r + Rkv, g->mla.kva + (size_t)i * W + Rkv, (size_t)(W - Rkv) * sizeof *r);
    }
    if (g->mode == ATTN_NAIVE) attn_naive(g, &w->attn, layer, slot, pos, n);
    else attn_absorbed(g, &w->attn, layer, slot, pos, n);
    lin(g, g->h, g->o, w->attn.o_proj, n, H * Dv, D, 1);                     /* h += o·W_oᵀ */
    rmsnorm_forward(g->xn, D, NULL, g->h, D, w->ffn_norm, n, D, eps);
    if (g->mode == ATTN_NAIVE) {      /* the reference path runs the model's own FFN code */
        if (w->is_moe) moe_forward(g->y, &g->moe, g->xn, &w->moe, cfg, n, 0, 0, 0, 0, &g->arena);
        else ffn_forward(g->y, 0, g->ffn_gu, g->xn, &w->dense, NULL, n, D, &g->arena);
    } else if (w->is_moe) {
        moe_rows(g, &w->moe, n);
    } else {
        ffn_rows(g, g->y, g->xn, &w->dense, NULL, n);
    }
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
    if (nw > 0) lin(g, g->logits, g->hsel, g->m->w.lm_head, nw, D, V, 0);
    return nw;
}

int engine_forward(Engine *g, const int *tok, const int *slot, int n, const unsigned char *want) {
    const ModelConfig *cfg = &g->m->cfg;
    const int D = cfg->hidden_size, L = cfg->num_hidden_layers;
    CHECK(n >= 1 && n <= g->max_rows);
    for (int i = 0; i < n; i++) CHECKF(tok[i] >= 0 && tok[i] < cfg->vocab_size, "token %d", tok[i]);
    assign_positions(g->pos, g->kv.len, slot, n, g->kv.n_slots, g->kv.max_len);
    embed_forward(g->h, g->m->w.embed, tok, n, D);
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
    embed_forward(g->y, g->m->w.embed, tok, n, D);
    rmsnorm_forward(g->mtp_cat, 2 * D, NULL, g->y, D, mw->enorm, n, D, eps);
    rmsnorm_forward(g->mtp_cat + D, 2 * D, NULL, hprev, D, mw->hnorm, n, D, eps);
    lin(g, g->h, g->mtp_cat, mw->eh_proj, n, 2 * D, D, 0);
    block_rows(g, &mw->block, L, slot, g->pos, n);
    head_rows(g, mw->head_norm, g->h, n, NULL);
}
