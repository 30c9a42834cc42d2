/* Router selection rules on hand-made scores (moe_route, moe_bias_update):
 * group-limited top-k with top-2-sum group scores (noaux_tc) vs group max (group_limited_greedy)
 * vs no groups (greedy), −inf masking of dropped groups, the correction bias used for selection
 * but not for the gate weights, norm_topk_prob and routed_scaling_factor, the lower-index tie
 * rule, and the sign rule of the bias update. Scores are planted exactly: x = e_0 and
 * W_gate[e, 0] = logit(s_e), so s = sigmoid(x·W_gateᵀ) = s_e. */
#include <math.h>
#include <stdlib.h>

#include "base/arena.h"
#include "model/moe.h"
#include "test.h"

enum { E = 8, D = 4, K = 3 };

static ModelConfig make_cfg(TopkMethod method, int G, int Gk, int norm) {
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.hidden_size = D;
    c.n_routed_experts = E;
    c.num_experts_per_tok = K;
    c.n_group = G;
    c.topk_group = Gk;
    c.topk_method = method;
    c.norm_topk_prob = norm;
    c.routed_scaling_factor = 2.5;
    c.scoring_func = SCORING_SIGMOID;
    c.moe_intermediate_size = 2;
    return c;
}

/* The experts a token picks and their gate weights. */
typedef struct Routed {
    int sel[K];
    real g[K];
} Routed;

/* Routes one token with planted scores s [E] and bias (may be NULL) under the rule of
 * make_cfg(method, G, Gk, norm). */
static Routed route(TopkMethod method, int G, int Gk, int norm, const double *s, const real *bias) {
    const ModelConfig cfg = make_cfg(method, G, Gk, norm), *c = &cfg;
    Routed r;
    real W[E * D] = {0}, x[D] = {1, 0, 0, 0};
    for (int e = 0; e < E; e++) W[e * D] = (real)log(s[e] / (1 - s[e]));
    MoeWeights w;
    memset(&w, 0, sizeof w);
    w.router = W;
    w.bias = (real *)bias;
    MoeActs a;
    Carve cv = {NULL, 0};
    moe_acts_carve(&a, &cv, c, 1, 1);
    char *mem = aligned_alloc(64, (cv.off + 63) / 64 * 64);
    cv = (Carve){mem, 0};
    moe_acts_carve(&a, &cv, c, 1, 1);
    Arena ar;
    arena_init(&ar, 1 << 16);
    moe_route(&a, x, &w, c, 1, 0, &ar);
    memcpy(r.sel, a.sel, K * sizeof *r.sel);
    memcpy(r.g, a.gate, K * sizeof *r.g);
    arena_free(&ar);
    free(mem);
    return r;
}

static const double S[E] = {0.9, 0.1, 0.5, 0.6, 0.8, 0.85, 0.2, 0.3};

static void expect_sel(const int *sel, int a, int b, int c) {
    EXPECTF(sel[0] == a && sel[1] == b && sel[2] == c, "selected %d %d %d, expected %d %d %d",
            sel[0], sel[1], sel[2], a, b, c);
}

static void test_noaux_tc_top2_sum_groups(void) {
    /* group top-2 sums: g0 1.0, g1 1.1, g2 1.65, g3 0.5 -> keep g2, g1; expert 0 (0.9) is out */
    const real bias[E] = {0};
    Routed r = route(TOPK_NOAUX_TC, 4, 2, 1, S, bias);
    expect_sel(r.sel, 5, 4, 3);
    double z = 0.85 + 0.8 + 0.6;
    EXPECT_NEAR(r.g[0], 2.5 * 0.85 / z, 1e-6, 0);
    EXPECT_NEAR(r.g[2], 2.5 * 0.6 / z, 1e-6, 0);
}

static void test_group_max(void) {
    /* group max: g0 0.9, g1 0.6, g2 0.85, g3 0.3 -> keep g0, g2 */
    Routed r = route(TOPK_GROUP_LIMITED_GREEDY, 4, 2, 0, S, NULL);
    expect_sel(r.sel, 0, 5, 4);
    EXPECT_NEAR(r.g[0], 2.5 * 0.9, 1e-6, 0);   /* no normalisation */
}

static void test_greedy_ignores_groups(void) {
    expect_sel(route(TOPK_GREEDY, 4, 1, 1, S, NULL).sel, 0, 5, 4);
}

static void test_bias_selects_but_does_not_weight(void) {
    /* bias[3] = +1: c3 = 1.6, g1 = 1.6 + 0.5 = 2.1 -> keep g1, g2 -> 3, 5, 4; weights from s */
    const real bias[E] = {0, 0, 0, 1, 0, 0, 0, 0};
    Routed r = route(TOPK_NOAUX_TC, 4, 2, 1, S, bias);
    expect_sel(r.sel, 3, 5, 4);
    double z = 0.6 + 0.85 + 0.8;
    EXPECT_NEAR(r.g[0], 2.5 * 0.6 / z, 1e-6, 0);
    /* a negative bias on a kept group's experts: −inf masking still keeps dropped groups out */
    const real bias2[E] = {0, 0, -2, -2, -2, -2, 0, 0};   /* g1, g2 now negative sums */
    expect_sel(route(TOPK_NOAUX_TC, 4, 2, 1, S, bias2).sel, 0, 7, 6);   /* kept g0 (1.0) and g3 (0.5): 0.9, 0.3, 0.2, then 0.1 */
}

static void test_ties_lower_index_wins(void) {
    double flat[E];
    for (int e = 0; e < E; e++) flat[e] = 0.5;
    const real bias[E] = {0};
    expect_sel(route(TOPK_NOAUX_TC, 4, 2, 1, flat, bias).sel, 0, 1, 2);
}

static void test_bias_update_sign_rule(void) {
    int64_t counts[4] = {5, 1, 3, 3};
    real b[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    moe_bias_update(b, counts, 4, 0.01);
    EXPECT_NEAR(b[0], 0.49, 1e-7, 0);
    EXPECT_NEAR(b[1], 0.51, 1e-7, 0);
    EXPECT_NEAR(b[2], 0.5, 0, 0);
    EXPECT_NEAR(b[3], 0.5, 0, 0);
}

int main(void) {
    RUN(test_noaux_tc_top2_sum_groups);
    RUN(test_group_max);
    RUN(test_greedy_ignores_groups);
    RUN(test_bias_selects_but_does_not_weight);
    RUN(test_ties_lower_index_wins);
    RUN(test_bias_update_sign_rule);
    return TEST_EXIT();
}
