/* Finite-difference check of model_backward_hidden (model/model_hidden.h), in double precision
 * (built with -DR1_DOUBLE like dtest_gradcheck_model).
 *
 * Objective J(θ) = Σ_ij c_ij · hf_ij(θ) for a fixed random c [B·T, D] (what a head on the
 * final-normed hidden states would hand back). For sampled elements of every trunk tensor,
 *   numeric = (J(θ + h e_j) − J(θ − h e_j)) / 2h,  h = 1e-5
 * must match the analytic gradient from model_backward_hidden(dhf = c) within
 * 1e-8 + 1e-6·max(|numeric|, |analytic|), with expert routing frozen. lm_head must get no
 * gradient. A corrupted dhf (one element off) must be caught.
 */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "base/rng.h"
#include "fixture_params.h"
#include "model/model.h"
#include "model/model_hidden.h"
#include "test.h"

#if !REAL_IS_DOUBLE
#error "dtest_model_hidden must be built with -DR1_DOUBLE"
#endif

/* MoE + dense layer, q-LoRA, two expert groups */
static const char *CFG =
    "{\"vocab_size\":17,\"hidden_size\":8,\"num_hidden_layers\":2,\"first_k_dense_replace\":1,"
    "\"intermediate_size\":12,\"num_attention_heads\":2,\"num_key_value_heads\":2,"
    "\"q_lora_rank\":5,\"kv_lora_rank\":6,\"qk_nope_head_dim\":4,\"qk_rope_head_dim\":4,"
    "\"v_head_dim\":3,\"n_routed_experts\":4,\"n_shared_experts\":1,\"num_experts_per_tok\":2,"
    "\"moe_intermediate_size\":5,\"n_group\":2,\"topk_group\":1,\"scoring_func\":\"sigmoid\","
    "\"topk_method\":\"noaux_tc\",\"norm_topk_prob\":true,\"routed_scaling_factor\":2.5,"
    "\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,\"rope_scaling\":null,"
    "\"max_position_embeddings\":32,\"num_nextn_predict_layers\":1,\"tie_word_embeddings\":false}";

enum { B = 2, T = 6 };

typedef struct Case {
    Model m;
    ModelActs a;
    int tokens[B * T];
    real *c;        /* [B·T, D] */
    real *grads;
    double alpha;
} Case;

static double objective(Case *k) {
    ModelOptions o = {.mtp_lambda = 0, .seq_aux_alpha = k->alpha, .freeze_routing = 1};
    ModelLosses l = model_forward(&k->m, &k->a, k->tokens, NULL, B, T, &o);
    const size_t n = (size_t)B * T * k->m.cfg.hidden_size;
    double j = l.aux_loss;
    for (size_t i = 0; i < n; i++) j += k->c[i] * k->a.hf[i];
    return j;
}

static void case_init(Case *k, double alpha) {
    memset(k, 0, sizeof *k);
    fixture_model_json(&k->m, CFG, 11);
    model_acts_init(&k->a, &k->m, B, T);
    fixture_tokens(k->tokens, B, T, k->m.cfg.vocab_size, 12);
    const size_t n = (size_t)B * T * k->m.cfg.hidden_size;
    k->c = xcalloc(n, sizeof(real));
    Rng r = rng_make(13, RNG_TEST, 2, 0);
    for (size_t i = 0; i < n; i++) k->c[i] = (real)(2 * rng_uniform(&r) - 1);
    k->grads = xcalloc(k->m.table.total, sizeof(real));
    k->alpha = alpha;
}

static void case_free(Case *k) {
    free(k->c);
    free(k->grads);
    model_acts_free(&k->a);
    model_free(&k->m);
}

static void analytic(Case *k, const real *dhf) {
    memset(k->grads, 0, k->m.table.total * sizeof(real));
    ModelOptions o = {.mtp_lambda = 0, .seq_aux_alpha = k->alpha};
    model_forward(&k->m, &k->a, k->tokens, NULL, B, T, &o);
    model_backward_hidden(&k->m, &k->a, k->grads, dhf);
}

/* returns mismatches over `per` samples of every tensor except lm_head / MTP (no gradient) */
static int check(Case *k, int per, double *worst, int verbose) {
    const double h = 1e-5, atol = 1e-8, rtol = 1e-6;
    int bad = 0;
    *worst = 0;
    Rng r = rng_make(14, RNG_TEST, 3, 0);
    for (int ti = 0; ti < k->m.table.n; ti++) {
        const ParamInfo *p = &k->m.table.t[ti];
        int trunk = strcmp(p->name, "lm_head.weight") != 0 &&
                    strncmp(p->name, "model.layers.2.", 15) != 0;   /* layer L = MTP module */
        if (strstr(p->name, "e_score_correction_bias")) continue;   /* no gradient by design */
        for (int s = 0; s < per; s++) {
            size_t j = s == 0 ? 0 : (size_t)rng_below(&r, p->numel);
            double ana = k->grads[p->offset + j];
            if (!trunk) {
                if (ana != 0) bad++;
                continue;
            }
            real *w = k->m.params + p->offset + j;
            real saved = *w;
            *w = saved + h;
            double jp = objective(k);
            *w = saved - h;
            double jm = objective(k);
            *w = saved;
            double num = (jp - jm) / (2 * h);
            double diff = fabs(num - ana), mag = fmax(fabs(num), fabs(ana));
            if (diff > atol + rtol * mag) {
                if (verbose && bad < 8) printf("  %s[%zu]: numeric %.10g analytic %.10g\n", p->name, j, num, ana);
                bad++;
            }
            if (mag > 1e-7 && diff / mag > *worst) *worst = diff / mag;
        }
    }
    return bad;
}

static void run(double alpha) {
    Case k;
    case_init(&k, alpha);
    analytic(&k, k.c);
    double gn = 0;
    for (size_t i = 0; i < k.m.table.total; i++) gn += k.grads[i] * k.grads[i];
    EXPECT(gn > 1e-6);
    double worst;
    int bad = check(&k, 4, &worst, 1);
    printf("  alpha %.1f: worst relative error %.2e\n", alpha, worst);
    EXPECTF(bad == 0, "%d gradient elements disagree with finite differences", bad);
    case_free(&k);
}

static void test_hidden_gradcheck(void) { run(0); }
static void test_hidden_gradcheck_seq_aux(void) { run(0.3); }

/* a gradient computed from a wrong dhf (one row's entries scaled by 1.01) must be caught */
static void test_hidden_catches_errors(void) {
    Case k;
    case_init(&k, 0);
    const int D = k.m.cfg.hidden_size;
    real *wrong = xcalloc((size_t)B * T * D, sizeof(real));
    memcpy(wrong, k.c, (size_t)B * T * D * sizeof(real));
    for (int d = 0; d < D; d++) wrong[3 * D + d] *= 1.01;
    analytic(&k, wrong);
    double worst;
    int bad = check(&k, 4, &worst, 0);
    EXPECTF(bad >= 3, "a 1%% error in one row of dhf was caught at only %d elements", bad);
    free(wrong);
    case_free(&k);
}

int main(void) {
    RUN(test_hidden_gradcheck);
    RUN(test_hidden_gradcheck_seq_aux);
    RUN(test_hidden_catches_errors);
    return TEST_EXIT();
}
