/* DeepSeekMoE forward and backward (see moe.h for the math and the routing rules).
 *
 * Shapes: n rows, D hidden, E routed experts, K per token, Im expert width, F_s = S·Im shared
 * width, nK = n·K grouped rows (row r of expert e lies in [offset[e], offset[e+1])).
 */
#include "model/moe.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "kernels/matmul.h"
#include "model/ffn.h"

void moe_acts_carve(MoeActs *a, Carve *c, const ModelConfig *cfg, int max_n, int max_seq) {
    const int E = cfg->n_routed_experts, K = cfg->num_experts_per_tok, Im = cfg->moe_intermediate_size;
    const int Fs = cfg->n_shared_experts * Im;
    size_t nK = (size_t)max_n * K;
    a->scores = carve_real(c, (size_t)max_n * E);
    a->sel = carve_int(c, nK);
    a->gate = carve_real(c, nK);
    a->row_of = carve_int(c, nK);
    a->tok_of = carve_int(c, nK);
    a->gate_g = carve_real(c, nK);
    a->offset = carve_int(c, (size_t)E + 1);
    a->count = carve_int(c, (size_t)E);
    a->gu = carve_real(c, nK * 2 * Im);
    a->shared_gu = Fs > 0 ? carve_real(c, (size_t)max_n * 2 * Fs) : NULL;
    a->f = carve_real(c, (size_t)(max_seq > 0 ? max_seq : 1) * E);
    a->n = a->n_seq = a->seq_len = 0;
    a->alpha = 0;
}

/* ---- selection ---- */

/* Selects K experts for one row from the (already biased) choice scores c [E]; writes sel [K].
 * c is modified (experts of dropped groups set to −inf). */
static void select_row(int *sel, double *c, const ModelConfig *cfg) {
    const int E = cfg->n_routed_experts, K = cfg->num_experts_per_tok;
    const int G = cfg->n_group, Gk = cfg->topk_group;
    if (G > 1 && Gk < G && cfg->topk_method != TOPK_GREEDY) {
        const int gs = E / G;
        double gscore[256];
        CHECK(G <= 256);
        for (int g = 0; g < G; g++) {
            const double *cg = c + (size_t)g * gs;
            if (cfg->topk_method == TOPK_NOAUX_TC && gs >= 2) {
                /* sum of the two largest (ties: either copy, the sum is the same) */
                double m1 = -INFINITY, m2 = -INFINITY;
                for (int j = 0; j < gs; j++) {
                    if (cg[j] > m1) { m2 = m1; m1 = cg[j]; }
                    else if (cg[j] > m2) m2 = cg[j];
                }
                gscore[g] = m1 + m2;
            } else {
                double m1 = -INFINITY;
                for (int j = 0; j < gs; j++) if (cg[j] > m1) m1 = cg[j];
                gscore[g] = m1;
            }
        }
        int keep[256] = {0};
        for (int r = 0; r < Gk; r++) {
            int best = -1;
            for (int g = 0; g < G; g++)
                if (!keep[g] && (best < 0 || gscore[g] > gscore[best])) best = g;
            keep[best] = 1;
        }
        for (int g = 0; g < G; g++)
            if (!keep[g])
                for (int j = 0; j < gs; j++) c[(size_t)g * gs + j] = -INFINITY;
    }
    /* top-K by repeated arg-max; strict > so the lower index wins ties; a taken expert is
     * excluded; masked (−inf) experts are only reachable if nothing finite is left, which
     * config validation rules out (topk_group·E/G >= K) */
    unsigned char taken[4096];
    memset(taken, 0, (size_t)E);
    for (int r = 0; r < K; r++) {
        int best = -1;
        for (int e = 0; e < E; e++)
            if (!taken[e] && (best < 0 || c[e] > c[best])) best = e;
        sel[r] = best;
        taken[best] = 1;
    }
}

void moe_route(MoeActs *a, const real *x, const MoeWeights *w, const ModelConfig *cfg, int n,
               int frozen, Arena *scratch) {
    const int E = cfg->n_routed_experts, K = cfg->num_experts_per_tok, D = cfg->hidden_size;
    const int use_bias = cfg->topk_method == TOPK_NOAUX_TC && w->bias != NULL;
    const int softmax = cfg->scoring_func == SCORING_SOFTMAX;
    const real gamma = (real)cfg->routed_scaling_factor;
    CHECK(E <= 4096);
    /* z [n, E] = x·W_gateᵀ, then s = sigmoid(z) or softmax(z), in place */
    matmul_forward(a->scores, x, w->router, n, D, E, 0);
    #pragma omp parallel for schedule(dynamic, 64) if ((double)n * D * E >= LINEAR_PAR_MIN)
    for (int i = 0; i < n; i++) {
        real *s = a->scores + (size_t)i * E;
        if (softmax) {
            double mx = -INFINITY, sum = 0;
            for (int e = 0; e < E; e++) if (s[e] > mx) mx = s[e];
            for (int e = 0; e < E; e++) sum += exp((double)s[e] - mx);
            for (int e = 0; e < E; e++) s[e] = (real)(exp((double)s[e] - mx) / sum);
        } else {
            for (int e = 0; e < E; e++) s[e] = (real)(1.0 / (1.0 + exp(-(double)s[e])));
        }
        int *sel = a->sel + (size_t)i * K;
        if (!frozen) {
            double c[4096];
            for (int e = 0; e < E; e++) c[e] = (double)s[e] + (use_bias ? (double)w->bias[e] : 0.0);
            select_row(sel, c, cfg);
        }
        double z = 0;
        for (int r = 0; r < K; r++) z += s[sel[r]];
        double norm = cfg->norm_topk_prob ? z + 1e-20 : 1.0;
        for (int r = 0; r < K; r++) a->gate[(size_t)i * K + r] = (real)(gamma * (s[sel[r]] / norm));
    }
    (void)scratch;
}

/* Counting sort of the (token, slot) pairs by expert; tokens ascending within each expert. */
static void group_rows(MoeActs *a, int n, int E, int K) {
    memset(a->count, 0, (size_t)E * sizeof *a->count);
    for (size_t j = 0; j < (size_t)n * K; j++) a->count[a->sel[j]]++;
    a->offset[0] = 0;
    for (int e = 0; e < E; e++) a->offset[e + 1] = a->offset[e] + a->count[e];
    int fill[4096];
    for (int e = 0; e < E; e++) fill[e] = a->offset[e];
    for (int i = 0; i < n; i++)
        for (int r = 0; r < K; r++) {
            size_t j = (size_t)i * K + r;
            int row = fill[a->sel[j]]++;
            a->row_of[j] = row;
            a->tok_of[row] = i;
            a->gate_g[row] = a->gate[j];
        }
}

/* Experts by row count, largest first (ties: lower index first): the order their tasks are handed
 * out in, so the last task to finish is a small one (fewer idle threads at the join). Which
 * thread runs an expert does not change its bits. */
static void largest_first(int *order, const int *count, int E) {
    CHECK(E <= 4096);   /* the callers' order[] */
    for (int e = 0; e < E; e++) {
        int j = e;
        while (j > 0 && count[order[j - 1]] < count[e]) { order[j] = order[j - 1]; j--; }
        order[j] = e;
    }
}

/* Balance-loss statistics: f [n_seq, E]; returns the mean over sequences of α Σ f_i P_i. */
static double balance_loss(MoeActs *a, int E, int K) {
    const int T = a->seq_len;
    double total = 0;
    for (int b = 0; b < a->n_seq; b++) {
        real *f = a->f + (size_t)b * E;
        double cnt[4096] = {0}, P[4096] = {0};
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            for (int r = 0; r < K; r++) cnt[a->sel[i * K + r]] += 1;
            const real *s = a->scores + i * E;
            double z = 0;
            for (int e = 0; e < E; e++) z += s[e];
            for (int e = 0; e < E; e++) P[e] += s[e] / z;
        }
        double l = 0;
        for (int e = 0; e < E; e++) {
            f[e] = (real)((double)E / ((double)K * T) * cnt[e]);
            l += (double)f[e] * (P[e] / T);
        }
        total += a->alpha * l;
    }
    return total / a->n_seq;
}

double moe_forward(real *y, MoeActs *a, const real *x, const MoeWeights *w, const ModelConfig *cfg,
                   int n, int n_seq, int seq_len, real alpha, int frozen, Arena *scratch,
                   const LinearExec *lx) {
    const int E = cfg->n_routed_experts, K = cfg->num_experts_per_tok, D = cfg->hidden_size;
    const int Im = cfg->moe_intermediate_size;
    CHECK(!frozen || a->n == n);
    a->n = n;
    a->alpha = alpha;
    a->n_seq = alpha != 0 ? n_seq : 0;
    a->seq_len = seq_len;
    CHECK(a->n_seq == 0 || (size_t)n_seq * seq_len == (size_t)n);
    moe_route(a, x, w, cfg, n, frozen, scratch);
    group_rows(a, n, E, K);

    size_t mark = arena_mark(scratch);
    const size_t nK = (size_t)n * K;
    real *xg = arena_real(scratch, nK * D);     /* [nK, D] inputs grouped by expert */
    real *yg = arena_real(scratch, nK * D);     /* [nK, D] scaled expert outputs */
    /* experts in parallel, one single-threaded matmul chain each (inside the parallel region
     * the kernels' own loops and OpenBLAS run on the calling thread): at these sizes that
     * scales better than threading each small GEMM */
    real *hg = arena_real(scratch, nK * Im);    /* [nK, Im] hidden */
    /* the shared expert (all n rows) is one more task, handed out first as the largest */
    const int sh = w->shared.F > 0;
    real *hs = sh ? arena_real(scratch, (size_t)n * w->shared.F) : NULL;   /* [n, F_s] */
    int order[4096];
    largest_first(order, a->count, E);
    const double work = ((double)n * K + (double)n * w->shared.F / Im) * 3.0 * D * Im;
    #pragma omp parallel for schedule(dynamic, 1) if (work >= LINEAR_PAR_MIN)
    for (int t = 0; t < E + sh; t++) {
        if (sh && t == 0) {
            ffn_forward_buf(y, 0, a->shared_gu, x, &w->shared, NULL, n, D, hs, lx);
            continue;
        }
        const int e = order[t - sh];
        size_t o = (size_t)a->offset[e];
        /* the expert's rows, gathered by the task that uses them (still in cache) */
        for (size_t row = o; row < o + (size_t)a->count[e]; row++)
            memcpy(xg + row * D, x + (size_t)a->tok_of[row] * D, (size_t)D * sizeof *x);
        ffn_forward_buf(yg + o * D, 0, a->gu + o * 2 * Im, xg + o * D, &w->experts[e],
                        a->gate_g + o, a->count[e], D, hg + o * Im, lx);
    }
    /* y = shared(x) + Σ_slots yg[row_of(token, slot)], slots in order */
    if (!sh) memset(y, 0, (size_t)n * D * sizeof *y);
    #pragma omp parallel for schedule(dynamic, 64) if (n > 64)
    for (int i = 0; i < n; i++) {
        real *yi = y + (size_t)i * D;
        for (int r = 0; r < K; r++) {
            const real *src = yg + (size_t)a->row_of[(size_t)i * K + r] * D;
            for (int d = 0; d < D; d++) yi[d] += src[d];
        }
    }
    arena_reset(scratch, mark);
    return a->n_seq > 0 ? balance_loss(a, E, K) : 0.0;
}

void moe_backward(real *dx, MoeWeights *gw, const real *dy, const MoeActs *a, const real *x,
                  const MoeWeights *w, const ModelConfig *cfg, real aux_scale, Arena *scratch) {
    const int E = cfg->n_routed_experts, K = cfg->num_experts_per_tok, D = cfg->hidden_size;
    const int Im = cfg->moe_intermediate_size, n = a->n;
    const int softmax = cfg->scoring_func == SCORING_SOFTMAX;
    const double gamma = cfg->routed_scaling_factor;
    const size_t nK = (size_t)n * K;
    size_t mark = arena_mark(scratch);
    real *xg = arena_real(scratch, nK * D);     /* [nK, D] */
    real *dyg = arena_real(scratch, nK * D);    /* [nK, D] dL/d(scaled expert output) */
    real *dxg = arena_real(scratch, nK * D);    /* [nK, D] */
    real *dg = arena_real(scratch, nK);         /* [nK] dL/dg per grouped row */
    real *dz = arena_real(scratch, (size_t)n * E);  /* [n, E] dL/dz router logits */
    /* routed experts: dW, dxg, and the gate-weight gradient dg = dy·Expert_e(x) */
    real *hg = arena_real(scratch, nK * Im);        /* [nK, Im] */
    real *dhg = arena_real(scratch, nK * Im);       /* [nK, Im] */
    real *dgu = arena_real(scratch, nK * 2 * Im);   /* [nK, 2Im] */
    /* shared experts as the first (largest) task: dx = their input gradient (=); the routed
     * rows are added per token below */
    const int sh = w->shared.F > 0, Fs = w->shared.F;
    real *hs = sh ? arena_real(scratch, (size_t)n * Fs) : NULL;          /* [n, F_s] */
    real *dhs = sh ? arena_real(scratch, (size_t)n * Fs) : NULL;         /* [n, F_s] */
    real *dgus = sh ? arena_real(scratch, (size_t)n * 2 * Fs) : NULL;    /* [n, 2F_s] */
    int order[4096];
    largest_first(order, a->count, E);
    #pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < E + sh; t++) {
        if (sh && t == 0) {
            ffn_backward_buf(dx, 0, &gw->shared, NULL, dy, x, a->shared_gu, &w->shared, NULL, n, D,
                             hs, dhs, dgus);
            continue;
        }
        const int e = order[t - sh];
        size_t o = (size_t)a->offset[e];
        for (size_t row = o; row < o + (size_t)a->count[e]; row++) {   /* gathered here, as forward */
            const size_t tok = (size_t)a->tok_of[row];
            memcpy(xg + row * D, x + tok * D, (size_t)D * sizeof *x);
            memcpy(dyg + row * D, dy + tok * D, (size_t)D * sizeof *dy);
        }
        ffn_backward_buf(dxg + o * D, 0, &gw->experts[e], dg + o, dyg + o * D, xg + o * D,
                         a->gu + o * 2 * Im, &w->experts[e], a->gate_g + o, a->count[e], D,
                         hg + o * Im, dhg + o * Im, dgu + o * 2 * Im);
    }
    if (!sh) memset(dx, 0, (size_t)n * D * sizeof *dx);

    /* per token: add routed input gradients; router gradient ds -> dz */
    const int n_seq = a->n_seq, T = a->seq_len;
    #pragma omp parallel for schedule(dynamic, 64)
    for (int i = 0; i < n; i++) {
        real *dxi = dx + (size_t)i * D;
        const int *sel = a->sel + (size_t)i * K;
        const int *rows = a->row_of + (size_t)i * K;
        for (int r = 0; r < K; r++) {
            const real *src = dxg + (size_t)rows[r] * D;
            for (int d = 0; d < D; d++) dxi[d] += src[d];
        }
        const real *s = a->scores + (size_t)i * E;
        double ds[4096];
        for (int e = 0; e < E; e++) ds[e] = 0;
        /* gate weights g_e = γ s_e / Z (Z = Σ_Sel s) or γ s_e */
        if (cfg->norm_topk_prob) {
            double Z = 1e-20, us = 0;
            for (int r = 0; r < K; r++) Z += s[sel[r]];
            for (int r = 0; r < K; r++) us += (double)dg[rows[r]] * s[sel[r]];
            for (int r = 0; r < K; r++)
                ds[sel[r]] += gamma / Z * ((double)dg[rows[r]] - us / Z);
        } else {
            for (int r = 0; r < K; r++) ds[sel[r]] += gamma * dg[rows[r]];
        }
        /* balance loss: dL/ds_{m,t} = α/(n_seq·T·Z_t) (f_m − Σ_j f_j s_j/Z_t) */
        if (n_seq > 0 && aux_scale != 0) {
            const real *f = a->f + (size_t)(i / T) * E;
            double Z = 0, fs = 0;
            for (int e = 0; e < E; e++) { Z += s[e]; fs += (double)f[e] * s[e]; }
            double coef = (double)aux_scale * a->alpha / ((double)n_seq * T * Z);
            for (int e = 0; e < E; e++) ds[e] += coef * ((double)f[e] - fs / Z);
        }
        real *dzi = dz + (size_t)i * E;
        if (softmax) {
            double sd = 0;
            for (int e = 0; e < E; e++) sd += ds[e] * s[e];
            for (int e = 0; e < E; e++) dzi[e] = (real)(s[e] * (ds[e] - sd));
        } else {
            for (int e = 0; e < E; e++) dzi[e] = (real)(ds[e] * s[e] * (1.0 - s[e]));
        }
    }
    /* dW_gate += dzᵀ·x ; dx += dz·W_gate */
    matmul_backward(dx, gw->router, dz, x, w->router, n, D, E, 1);
    arena_reset(scratch, mark);
}

void moe_bias_update(real *bias, const int64_t *counts, int E, double gamma) {
    double mean = 0;
    for (int e = 0; e < E; e++) mean += (double)counts[e];
    mean /= E;
    for (int e = 0; e < E; e++) {
        double d = mean - (double)counts[e];
        bias[e] += (real)(gamma * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0));
    }
}
