/* The whole model: forward, backward, losses, expert loads and the routing-bias update
 * (see model.h for the API and MODEL.md for the architecture). */
#include "model/model.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/error.h"
#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/embed.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "model/model_hidden.h"

static void init(Model *m, const ModelConfig *cfg, int lazy) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    param_table_build(&m->table, &m->cfg);
    size_t bytes = (m->table.total * sizeof(real) + 63) / 64 * 64;
    m->params = lazy ? big_zero_lazy(bytes, "parameters") : big_calloc(bytes, "parameters");
    m->params_mapped = lazy ? bytes : 0;
    model_view_build(&m->w, &m->table, &m->cfg, m->params);
    const RopeParams rp = config_rope_params(&m->cfg);
    rope_table_init(&m->rope, &rp, m->cfg.max_position_embeddings);
}

void model_init(Model *m, const ModelConfig *cfg) { init(m, cfg, 0); }
void model_init_lazy(Model *m, const ModelConfig *cfg) { init(m, cfg, 1); }

void model_free(Model *m) {
    rope_table_free(&m->rope);
    model_view_free(&m->w);
    if (m->params_mapped) big_unmap(m->params, m->params_mapped);
    else free(m->params);
    if (m->packs) {
        linear_packs_free(m->packs);
        free(m->packs);
    }
    param_table_free(&m->table);
    memset(m, 0, sizeof *m);
}

static void layer_precision(LayerWeights *l, int n_experts, MatPrec prec) {
    l->attn.prec = l->gqa.prec = l->dense.prec = l->moe.shared.prec = prec;
    for (int e = 0; l->is_moe && e < n_experts; e++) l->moe.experts[e].prec = prec;
}

void model_set_precision(Model *m, MatPrec prec) {
    const ModelConfig *c = &m->cfg;
    m->w.prec = prec;
    for (int l = 0; l < c->num_hidden_layers; l++) layer_precision(&m->w.layers[l], c->n_routed_experts, prec);
    for (int k = 0; k < c->num_nextn_predict_layers; k++) {
        m->w.mtp[k].prec = prec;
        layer_precision(&m->w.mtp[k].block, c->n_routed_experts, prec);
    }
}

/* ---- activations ---- */

static void acts_layout(ModelActs *a, Carve *c, const ModelConfig *cfg, int max_B, int max_T) {
    const int D = cfg->hidden_size, V = cfg->vocab_size, L = cfg->num_hidden_layers;
    const int M = cfg->num_nextn_predict_layers, E = cfg->n_routed_experts;
    const size_t N = (size_t)max_B * max_T;
    a->targets = carve_int(c, N);
    a->pos = carve_int(c, N);
    a->h = carve_real(c, (size_t)(L + 1) * N * D);
    for (int l = 0; l < L; l++)
        block_acts_carve(&a->blk[l], c, cfg, config_is_moe_layer(cfg, l), (int)N, max_B);
    a->hf = carve_real(c, N * D);
    a->rstd_f = carve_real(c, N);
    a->logits = carve_real(c, N * V);
    a->lse = carve_real(c, N);
    a->ce = carve_real(c, N);
    for (int k = 0; k < M; k++) mtp_acts_carve(&a->mtp[k], c, cfg, L + k, max_B, max_T);
    a->expert_counts = carve_int(c, (size_t)(L + M) * (E > 0 ? E : 1));
}

/* Upper bound of the scratch any forward/backward takes (see the arena_real calls). */
static size_t scratch_bytes(const ModelConfig *cfg, int max_B, int max_T) {
    const size_t N = (size_t)max_B * max_T, D = cfg->hidden_size;
    const size_t H = cfg->num_attention_heads, Dqk = config_qk_head_dim(cfg), Dv = cfg->v_head_dim;
    const size_t Dn = cfg->qk_nope_head_dim, Rkv = cfg->kv_lora_rank, Dr = cfg->qk_rope_head_dim;
    const size_t Rq = cfg->q_lora_rank, E = cfg->n_routed_experts, K = cfg->num_experts_per_tok;
    const size_t Im = cfg->moe_intermediate_size, Fs = cfg->n_shared_experts * Im;
    const size_t I = cfg->intermediate_size;
    int threads = omp_get_max_threads();
    if (omp_get_num_procs() > threads) threads = omp_get_num_procs();
    size_t att = attention_scratch_size(max_B, max_T, (int)H, (int)Dqk, (int)Dv, threads);
    size_t mla = config_is_mla(cfg) ? N * (2 * H * Dv + 2 * H * Dqk + H * (Dn + Dv) + 2 * Rkv + Dr + Rq) + att
                                    : gqa_scratch_reals(cfg, max_B, max_T, threads);
    size_t ffn_dense = N * 4 * I;
    size_t moe = E > 0 ? N * K * (3 * D + 1 + 4 * Im) + N * E + N * 4 * Fs : 0;
    size_t inner = mla > ffn_dense ? mla : ffn_dense;
    if (moe > inner) inner = moe;
    size_t model = 5 * N * D;           /* backward: dA, dB, dhf, per-module dh buffers */
    size_t mtp = N * 3 * D + N * D * (size_t)cfg->num_nextn_predict_layers;
    size_t block = 2 * N * D;
    size_t reals = model + mtp + block + inner;
    return reals * sizeof(real) + 256 * 64;   /* + alignment slack */
}

void model_acts_init(ModelActs *a, const Model *m, int max_B, int max_T) {
    const ModelConfig *cfg = &m->cfg;
    CHECK(max_B > 0 && max_T > 0);
    memset(a, 0, sizeof *a);
    a->max_B = max_B;
    a->max_T = max_T;
    a->blk = xcalloc((size_t)(cfg->num_hidden_layers > 0 ? cfg->num_hidden_layers : 1), sizeof *a->blk);
    a->mtp = xcalloc((size_t)(cfg->num_nextn_predict_layers > 0 ? cfg->num_nextn_predict_layers : 1),
                     sizeof *a->mtp);
    Carve c = {NULL, 0};
    acts_layout(a, &c, cfg, max_B, max_T);
    a->bytes = c.off;
    a->mem = big_alloc(c.off, "activations");
    memset(a->mem, 0, (c.off + 63) / 64 * 64);
    c = (Carve){a->mem, 0};
    acts_layout(a, &c, cfg, max_B, max_T);
    arena_init_huge(&a->arena, scratch_bytes(cfg, max_B, max_T));
}

void model_acts_free(ModelActs *a) {
    if (a->grad_base) model_view_free(&a->gw);
    arena_free(&a->arena);
    free(a->mem);
    free(a->blk);
    free(a->mtp);
    memset(a, 0, sizeof *a);
}

/* ---- forward ---- */

/* Weight of each valid row's cross-entropy in the loss model_backward differentiates: the main
 * head's (no row weights) and each MTP module's. */
static real head_ce_scale(const ModelActs *a) { return a->n_valid ? (real)(1.0 / a->n_valid) : 0; }
static real mtp_ce_scale(const ModelActs *a, const ModelConfig *cfg) {
    return (real)(a->opt.mtp_lambda / cfg->num_nextn_predict_layers / a->n_valid);
}

static int mtp_modules_run(const ModelActs *a, const ModelConfig *cfg) {
    if (a->opt.mtp_lambda == 0 || a->n_valid == 0) return 0;
    int M = cfg->num_nextn_predict_layers;
    return M < a->T - 1 ? M : a->T - 1;     /* module k needs T − k >= 1 rows */
}

ModelLosses model_forward(const Model *m, ModelActs *a, const int *tokens, const int *targets,
                          int B, int T, const ModelOptions *opt) {
    const ModelConfig *cfg = &m->cfg;
    const int D = cfg->hidden_size, V = cfg->vocab_size, L = cfg->num_hidden_layers;
    const int E = cfg->n_routed_experts, M = cfg->num_nextn_predict_layers;
    CHECKF(B >= 1 && B <= a->max_B && T >= 1 && T <= a->max_T, "B=%d T=%d, acts sized %d×%d", B, T,
           a->max_B, a->max_T);
    CHECKF(T <= m->rope.max_pos, "T=%d > max_position_embeddings %d", T, m->rope.max_pos);
    CHECKF(!m->packs, "the model's weights are kept in their stored precision: decode engine only");
    const int N = B * T;
    if (opt->freeze_routing) CHECK(a->B == B && a->T == T);
    a->B = B; a->T = T; a->N = N;
    a->opt = *opt;
    a->tokens = tokens;
    a->n_valid = 0;
    for (int i = 0; i < N; i++) {
        int t = targets ? targets[i] : -1;
        CHECKF(t < V && tokens[i] >= 0 && tokens[i] < V, "token/target id out of range at %d", i);
        a->targets[i] = t;
        a->n_valid += t >= 0;
        a->pos[i] = i % T;
    }
    memset(a->expert_counts, 0, (size_t)(L + M) * (E > 0 ? E : 1) * sizeof *a->expert_counts);
    const real alpha = (real)opt->seq_aux_alpha;
    const size_t ND = (size_t)N * D;
    size_t mark = arena_mark(&a->arena);

    embed_forward(a->h, m->w.embed, tokens, N, D);                 /* h[0] [N, D] */
    double aux = 0;
    for (int l = 0; l < L; l++) {
        aux += block_forward(a->h + (size_t)(l + 1) * ND, &a->blk[l], a->h + (size_t)l * ND,
                             &m->w.layers[l], cfg, a->pos, B, T, &m->rope, alpha,
                             opt->freeze_routing, &a->arena);
        if (a->blk[l].is_moe) memcpy(a->expert_counts + (size_t)l * E, a->blk[l].moe.count,
                                     (size_t)E * sizeof(int));
    }
    rmsnorm_forward(a->hf, D, a->rstd_f, a->h + (size_t)L * ND, D, m->w.final_norm, N, D,
                    (real)cfg->rms_norm_eps);
    matmul_forward_p(m->w.prec, a->logits, a->hf, m->w.lm_head, N, D, V, 0);     /* [N, V] */
    if (opt->head_grad_in_forward)   /* the gradient model_backward would form: scale 1/N_valid */
        cross_entropy_forward_grad(a->ce, a->lse, a->logits, a->targets, head_ce_scale(a), N, V);
    else
        cross_entropy_forward(a->ce, a->lse, a->logits, a->targets, N, V);
    double ce_sum = 0;
    for (int i = 0; i < N; i++) if (a->targets[i] >= 0) ce_sum += a->ce[i];

    ModelLosses out = {0};
    out.n_valid = a->n_valid;
    out.loss = a->n_valid ? ce_sum / a->n_valid : 0.0;
    int run = mtp_modules_run(a, cfg);
    double mtp_sum = 0;
    for (int k = 1; k <= run; k++) {
        const real *hprev = k == 1 ? a->hf : a->mtp[k - 2].hout;
        int Tprev = k == 1 ? T : T - k + 1;
        double aux_k = 0;
        const real grad_scale = opt->head_grad_in_forward ? mtp_ce_scale(a, cfg) : 0;
        double s = mtp_forward(&a->mtp[k - 1], &aux_k, hprev, Tprev, tokens, a->targets, B, T, k,
                               m->w.embed, m->w.lm_head, &m->w.mtp[k - 1], cfg, &m->rope, alpha,
                               opt->freeze_routing, grad_scale, &a->arena);
        mtp_sum += s / a->n_valid;
        aux += aux_k;
        if (a->mtp[k - 1].blk.is_moe)
            memcpy(a->expert_counts + (size_t)(L + k - 1) * E, a->mtp[k - 1].blk.moe.count,
                   (size_t)E * sizeof(int));
    }
    out.mtp_loss = run ? opt->mtp_lambda / M * mtp_sum : 0.0;
    out.aux_loss = aux;
    out.total = out.loss + out.mtp_loss + out.aux_loss;
    a->losses = out;
    arena_reset(&a->arena, mark);
    return out;
}

void model_target_logprobs(const Model *m, ModelActs *a, const int *tokens, const int *targets,
                           int B, int T, real *logp) {
    ModelOptions opt = {0};
    model_forward(m, a, tokens, targets, B, T, &opt);
    for (int i = 0; i < B * T; i++) logp[i] = a->targets[i] >= 0 ? -a->ce[i] : 0;
}

/* ---- backward ---- */

void model_backward(const Model *m, ModelActs *a, real *grads, const real *row_weight) {
    const ModelConfig *cfg = &m->cfg;
    const int D = cfg->hidden_size, V = cfg->vocab_size;
    const int N = a->N, B = a->B, T = a->T;
    const size_t ND = (size_t)N * D;
    CHECK(N > 0);
    ModelView *g = model_grad_view(m, a, grads);
    Arena *ar = &a->arena;
    size_t mark = arena_mark(ar);
    real *dhf = arena_real(ar, ND);                 /* [N, D] dJ/d(final-normed hidden) */
    memset(dhf, 0, ND * sizeof *dhf);

    /* MTP modules, last to first: module k+1 adds into module k's dh (its h input) */
    int run = mtp_modules_run(a, cfg);
    if (run > 0) {
        real ce_scale = mtp_ce_scale(a, cfg);
        real *dh[64];
        CHECK(run <= 64);
        for (int k = 1; k <= run; k++) {
            dh[k - 1] = arena_real(ar, (size_t)B * (T - k) * D);       /* [B, T−k, D] */
            memset(dh[k - 1], 0, (size_t)B * (T - k) * D * sizeof(real));
        }
        for (int k = run; k >= 1; k--) {
            real *dprev = k == 1 ? dhf : dh[k - 2];
            int Tprev = k == 1 ? T : T - k + 1;
            mtp_backward(dprev, Tprev, dh[k - 1], g->embed, g->lm_head, &g->mtp[k - 1],
                         &a->mtp[k - 1], ce_scale, 1, m->w.embed, m->w.lm_head, &m->w.mtp[k - 1],
                         cfg, &m->rope, ar);
        }
    }
    /* main head: dlogits = w_i (softmax − onehot), in place (already there when forward formed it) */
    if (a->opt.head_grad_in_forward)
        CHECKF(row_weight == NULL, "model_backward: row weights after a forward that formed the "
               "head gradient (head_grad_in_forward)");
    else
        cross_entropy_backward(a->logits, a->logits, a->lse, a->targets, row_weight,
                               row_weight ? 1 : head_ce_scale(a), N, V);
    matmul_backward_p(m->w.prec, dhf, g->lm_head, a->logits, a->hf, m->w.lm_head, N, D, V, 1);
    model_backward_trunk(m, a, dhf);
    arena_reset(ar, mark);
}

/* ---- expert loads and the bias update ---- */

const int *model_expert_counts(const ModelActs *a, const ModelConfig *cfg, int layer) {
    CHECK(layer >= 0 && layer < cfg->num_hidden_layers + cfg->num_nextn_predict_layers);
    if (!config_is_moe_layer(cfg, layer)) return NULL;
    return a->expert_counts + (size_t)layer * cfg->n_routed_experts;
}

void model_expert_counts_add(const ModelActs *a, const ModelConfig *cfg, int64_t *acc) {
    size_t n = (size_t)(cfg->num_hidden_layers + cfg->num_nextn_predict_layers) * cfg->n_routed_experts;
    for (size_t i = 0; i < n; i++) acc[i] += a->expert_counts[i];
}

void model_bias_update(Model *m, const int64_t *counts, double gamma) {
    const ModelConfig *cfg = &m->cfg;
    const int L = cfg->num_hidden_layers, M = cfg->num_nextn_predict_layers;
    const int E = cfg->n_routed_experts;
    for (int l = 0; l < L + M; l++) {
        const LayerWeights *lw = l < L ? &m->w.layers[l] : &m->w.mtp[l - L].block;
        if (!lw->is_moe || !lw->moe.bias) continue;
        moe_bias_update(lw->moe.bias, counts + (size_t)l * E, E, gamma);
    }
}

double model_train_flops(const ModelConfig *c, int B, int T, int with_mtp) {
    const double D = c->hidden_size, H = c->num_attention_heads, Dqk = config_qk_head_dim(c);
    const double Dv = c->v_head_dim, Rq = c->q_lora_rank, Rkv = c->kv_lora_rank;
    const double Dr = c->qk_rope_head_dim, Dn = c->qk_nope_head_dim, V = c->vocab_size;
    const double Im = c->moe_intermediate_size;
    /* multiply-adds per token */
    double attn = (Rq > 0 ? D * Rq + Rq * H * Dqk : D * H * Dqk) + D * (Rkv + Dr) +
                  Rkv * H * (Dn + Dv) + H * Dv * D + (T + 1) / 2.0 * H * (Dqk + Dv);
    if (!config_is_mla(c)) {
        const double Dq = config_q_dim(c), Dkv = config_kv_dim(c);
        attn = D * (Dq + 2 * Dkv) + Dq * D + (T + 1) / 2.0 * 2 * Dq;
    }
    double moe = D * c->n_routed_experts + 3 * D * Im * (c->num_experts_per_tok + c->n_shared_experts);
    double dense = 3 * D * c->intermediate_size;
    double per_tok = D * V;
    for (int l = 0; l < c->num_hidden_layers; l++)
        per_tok += attn + (config_is_moe_layer(c, l) ? moe : dense);
    if (with_mtp)
        for (int k = 0; k < c->num_nextn_predict_layers; k++)
            per_tok += 2 * D * D + attn + (config_is_moe_layer(c, c->num_hidden_layers + k) ? moe : dense) + D * V;
    return 2.0 * 3.0 * per_tok * B * T;
}
