/* Finite-difference gradient check of the whole model, in double precision (this file and
 * src/kernels + src/model are compiled with -DR1_DOUBLE, see the Makefile).
 *
 * For tiny configs covering MLA with and without q-LoRA, dense and MoE layers, expert groups
 * (noaux_tc top-2 group scores), YaRN, MTP (two modules) and the sequence-wise balance loss
 * (α > 0), softmax scoring with group max, greedy routing without shared experts, and the dense
 * families' grouped-query attention (llama: biases on q/k/v/o, tied embeddings, explicit head_dim,
 * llama3 RoPE; qwen2: q/k/v biases, 3 query heads per key head), and for every
 * parameter tensor, a few sampled elements θ_j get
 *   numeric_j = (J(θ + h e_j) − J(θ − h e_j)) / 2h,   h = 1e-5,
 * with the expert selection frozen to the unperturbed pass (ModelOptions.freeze_routing), and
 * are compared with the analytic gradient from model_backward:
 *   |numeric − analytic| <= 1e-8 + 1e-6 · max(|numeric|, |analytic|)
 * (central differences in double: truncation ~h²·J''' ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11).
 * J is total = loss + mtp_loss + aux_loss, or Σ_i w_i ce_i + mtp + aux with explicit row weights.
 * The checker must catch deliberately wrong gradients (a corrupted element; a 0.1% wrong CE
 * weight), or the test fails.
 */
#include <cJSON.h>
#include <stdlib.h>

#include "base/rng.h"
#include "fixture_params.h"
#include "model/model.h"
#include "test.h"

#if !REAL_IS_DOUBLE
#error "dtest_gradcheck_model must be built with -DR1_DOUBLE"
#endif

/* a_plain-like: q_proj, no MTP, one expert group, plain RoPE */
static const char *CFG_PLAIN =
    "{\"vocab_size\":17,\"hidden_size\":8,\"num_hidden_layers\":2,\"first_k_dense_replace\":1,"
    "\"intermediate_size\":12,\"num_attention_heads\":2,\"num_key_value_heads\":2,"
    "\"q_lora_rank\":null,\"kv_lora_rank\":6,\"qk_nope_head_dim\":4,\"qk_rope_head_dim\":4,"
    "\"v_head_dim\":3,\"n_routed_experts\":4,\"n_shared_experts\":1,\"num_experts_per_tok\":2,"
    "\"moe_intermediate_size\":5,\"n_group\":1,\"topk_group\":1,\"scoring_func\":\"sigmoid\","
    "\"topk_method\":\"noaux_tc\",\"norm_topk_prob\":true,\"routed_scaling_factor\":2.5,"
    "\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,\"rope_scaling\":null,"
    "\"max_position_embeddings\":32,\"num_nextn_predict_layers\":0,\"tie_word_embeddings\":false}";

/* c_yarn_mtp-like: q-LoRA, YaRN (T > original), 8 experts in 4 groups keep 2, K = 3, 2 MTP */
static const char *CFG_YARN_MTP =
    "{\"vocab_size\":19,\"hidden_size\":8,\"num_hidden_layers\":2,\"first_k_dense_replace\":1,"
    "\"intermediate_size\":10,\"num_attention_heads\":2,\"num_key_value_heads\":2,"
    "\"q_lora_rank\":6,\"kv_lora_rank\":5,\"qk_nope_head_dim\":3,\"qk_rope_head_dim\":4,"
    "\"v_head_dim\":3,\"n_routed_experts\":8,\"n_shared_experts\":1,\"num_experts_per_tok\":3,"
    "\"moe_intermediate_size\":4,\"n_group\":4,\"topk_group\":2,\"scoring_func\":\"sigmoid\","
    "\"topk_method\":\"noaux_tc\",\"norm_topk_prob\":true,\"routed_scaling_factor\":2.5,"
    "\"rms_norm_eps\":1e-6,\"rope_theta\":10.0,"
    "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":4,"
    "\"beta_fast\":32.0,\"beta_slow\":1.0,\"mscale\":1.0,\"mscale_all_dim\":1.0},"
    "\"max_position_embeddings\":16,\"num_nextn_predict_layers\":2,\"tie_word_embeddings\":false}";

/* V2-style variants: softmax scores, group max, no norm_topk_prob; greedy */
static const char *CFG_SOFTMAX =
    "{\"vocab_size\":13,\"hidden_size\":8,\"num_hidden_layers\":1,\"first_k_dense_replace\":0,"
    "\"intermediate_size\":12,\"num_attention_heads\":2,\"num_key_value_heads\":2,"
    "\"q_lora_rank\":5,\"kv_lora_rank\":6,\"qk_nope_head_dim\":2,\"qk_rope_head_dim\":2,"
    "\"v_head_dim\":3,\"n_routed_experts\":6,\"n_shared_experts\":2,\"num_experts_per_tok\":2,"
    "\"moe_intermediate_size\":3,\"n_group\":3,\"topk_group\":2,\"scoring_func\":\"softmax\","
    "\"topk_method\":\"group_limited_greedy\",\"norm_topk_prob\":false,"
    "\"routed_scaling_factor\":1.5,\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,"
    "\"rope_scaling\":null,\"max_position_embeddings\":32,\"num_nextn_predict_layers\":1,"
    "\"tie_word_embeddings\":false}";

/* greedy top-k, no shared experts, sigmoid without normalisation, all layers MoE, q-LoRA */
static const char *CFG_GREEDY =
    "{\"vocab_size\":11,\"hidden_size\":6,\"num_hidden_layers\":2,\"first_k_dense_replace\":0,"
    "\"intermediate_size\":8,\"num_attention_heads\":3,\"num_key_value_heads\":3,"
    "\"q_lora_rank\":4,\"kv_lora_rank\":3,\"qk_nope_head_dim\":2,\"qk_rope_head_dim\":2,"
    "\"v_head_dim\":2,\"n_routed_experts\":5,\"n_shared_experts\":0,\"num_experts_per_tok\":2,"
    "\"moe_intermediate_size\":3,\"n_group\":1,\"topk_group\":1,\"scoring_func\":\"sigmoid\","
    "\"topk_method\":\"greedy\",\"norm_topk_prob\":false,\"routed_scaling_factor\":1.0,"
    "\"rms_norm_eps\":1e-6,\"rope_theta\":10000.0,\"rope_scaling\":null,"
    "\"max_position_embeddings\":32,\"num_nextn_predict_layers\":1,\"tie_word_embeddings\":false}";

/* llama: GQA (4 query heads on 2 key/value heads), an explicit head_dim (not D/H), q/k/v and o
 * biases (attention_bias), tied embeddings, llama3 RoPE scaling with all three bands present */
static const char *CFG_LLAMA =
    "{\"model_type\":\"llama\",\"vocab_size\":17,\"hidden_size\":8,\"num_hidden_layers\":2,"
    "\"intermediate_size\":12,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":6,"
    "\"attention_bias\":true,\"tie_word_embeddings\":true,\"rms_norm_eps\":1e-5,\"rope_theta\":10000.0,"
    "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
    "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":64},\"max_position_embeddings\":32}";

/* qwen2: GQA (6 query heads on 2), q/k/v biases, no o bias, separate lm_head */
static const char *CFG_QWEN2 =
    "{\"model_type\":\"qwen2\",\"vocab_size\":13,\"hidden_size\":12,\"num_hidden_layers\":2,"
    "\"intermediate_size\":10,\"num_attention_heads\":6,\"num_key_value_heads\":2,"
    "\"tie_word_embeddings\":false,\"rms_norm_eps\":1e-6,\"rope_theta\":1000000.0,"
    "\"max_position_embeddings\":32,\"use_sliding_window\":false}";

typedef struct Case {
    Model m;
    ModelActs a;
    int B, T;
    int tokens[64], targets[64];
    real row_weight[64];
    int use_row_weight;
    ModelOptions opt;
    real *grads;
} Case;

static double objective(Case *c) {
    ModelOptions o = c->opt;
    o.freeze_routing = 1;
    ModelLosses l = model_forward(&c->m, &c->a, c->tokens, c->targets, c->B, c->T, &o);
    if (!c->use_row_weight) return l.total;
    double j = l.mtp_loss + l.aux_loss;
    for (int i = 0; i < c->B * c->T; i++) if (c->targets[i] >= 0) j += c->row_weight[i] * c->a.ce[i];
    return j;
}

static void case_init(Case *c, const char *json, int B, int T, double lambda, double alpha,
                      uint64_t seed) {
    memset(c, 0, sizeof *c);
    fixture_model_json(&c->m, json, seed);
    model_acts_init(&c->a, &c->m, B, T);
    c->B = B;
    c->T = T;
    fixture_tokens(c->tokens, B, T, c->m.cfg.vocab_size, seed + 1);
    fixture_next_targets(c->targets, c->tokens, B, T);
    c->targets[1] = -1;    /* one more position without a target */
    c->opt.mtp_lambda = lambda;
    c->opt.seq_aux_alpha = alpha;
    c->grads = xcalloc(c->m.table.total, sizeof(real));
}

static void case_free(Case *c) {
    free(c->grads);
    model_acts_free(&c->a);
    model_free(&c->m);
}

static void analytic(Case *c) {
    memset(c->grads, 0, c->m.table.total * sizeof(real));
    model_forward(&c->m, &c->a, c->tokens, c->targets, c->B, c->T, &c->opt);
    model_backward(&c->m, &c->a, c->grads, c->use_row_weight ? c->row_weight : NULL);
}

/* Checks `per_tensor` sampled elements of every tensor; returns the number of mismatches and
 * the worst relative error. Verbose: print the first mismatches. */
static int check_all(Case *c, int per_tensor, double *worst, int verbose) {
    const double h = 1e-5, atol = 1e-8, rtol = 1e-6;
    int bad = 0, checked = 0;
    *worst = 0;
    Rng r = rng_make(7, RNG_TEST, 1, 0);
    for (int ti = 0; ti < c->m.table.n; ti++) {
        const ParamInfo *p = &c->m.table.t[ti];
        for (int s = 0; s < per_tensor; s++) {
            size_t j = s == 0 ? 0 : (size_t)rng_below(&r, p->numel);
            real *w = c->m.params + p->offset + j;
            real saved = *w;
            *w = saved + h;
            double jp = objective(c);
            *w = saved - h;
            double jm = objective(c);
            *w = saved;
            double num = (jp - jm) / (2 * h), ana = c->grads[p->offset + j];
            double diff = fabs(num - ana), mag = fmax(fabs(num), fabs(ana));
            double rel = diff / fmax(mag, 1e-12);
            checked++;
            if (diff > atol + rtol * mag) {
                if (verbose && bad < 8)
                    printf("  %s[%zu]: numeric %.10g analytic %.10g\n", p->name, j, num, ana);
                bad++;
            }
            if (mag > 1e-7 && rel > *worst) *worst = rel;
        }
    }
    (void)checked;
    return bad;
}

static void run_case(const char *json, int B, int T, double lambda, double alpha, int rw) {
    Case c;
    case_init(&c, json, B, T, lambda, alpha, 42);
    if (rw) {
        c.use_row_weight = 1;
        for (int i = 0; i < B * T; i++) c.row_weight[i] = (real)(0.3 * sin(1.7 * i) - 0.05);
    }
    analytic(&c);
    /* the terms under test are really on */
    EXPECT(alpha == 0 || c.a.losses.aux_loss > 0);
    EXPECT(lambda == 0 || c.m.cfg.num_nextn_predict_layers == 0 || c.a.losses.mtp_loss > 0);
    /* the gradient must not be trivially zero */
    double gn = 0;
    for (size_t i = 0; i < c.m.table.total; i++) gn += c.grads[i] * c.grads[i];
    EXPECT(gn > 1e-6);
    double worst;
    int bad = check_all(&c, 4, &worst, 1);
    printf("  %d tensors, worst relative error %.2e\n", c.m.table.n, worst);
    EXPECTF(bad == 0, "%d gradient elements disagree with finite differences", bad);
    case_free(&c);
}

static void test_gradcheck_plain(void) { run_case(CFG_PLAIN, 2, 6, 0, 0, 0); }
static void test_gradcheck_plain_seq_aux(void) { run_case(CFG_PLAIN, 2, 6, 0, 0.3, 0); }
static void test_gradcheck_yarn_mtp(void) { run_case(CFG_YARN_MTP, 2, 8, 0.3, 0.1, 0); }
static void test_gradcheck_row_weights(void) { run_case(CFG_YARN_MTP, 2, 7, 0.5, 0.2, 1); }
static void test_gradcheck_softmax_groupmax(void) { run_case(CFG_SOFTMAX, 3, 5, 0.4, 0.2, 0); }
static void test_gradcheck_greedy_no_shared(void) { run_case(CFG_GREEDY, 2, 6, 0.3, 0.2, 0); }
static void test_gradcheck_llama(void) { run_case(CFG_LLAMA, 2, 7, 0, 0, 0); }
static void test_gradcheck_llama_row_weights(void) { run_case(CFG_LLAMA, 2, 6, 0, 0, 1); }
static void test_gradcheck_qwen2(void) { run_case(CFG_QWEN2, 3, 5, 0, 0, 0); }

/* The checker must catch wrong gradients. */
static void test_gradcheck_catches_errors(void) {
    Case c;
    case_init(&c, CFG_YARN_MTP, 2, 8, 0.3, 0.1, 42);
    analytic(&c);
    double worst;
    EXPECT(check_all(&c, 2, &worst, 0) == 0);
    /* (1) one corrupted element of o_proj in layer 1 */
    const ParamInfo *p = param_find(&c.m.table, "model.layers.1.self_attn.o_proj.weight");
    CHECK(p);
    c.grads[p->offset] += 1e-4 + 1e-3 * fabs(c.grads[p->offset]);
    EXPECTF(check_all(&c, 2, &worst, 0) >= 1, "a corrupted gradient element was not caught");
    /* (2) a gradient computed with CE weights 0.1% off: every tensor is wrong by a little */
    c.use_row_weight = 1;
    int nv = 0;
    for (int i = 0; i < c.B * c.T; i++) nv += c.targets[i] >= 0;
    for (int i = 0; i < c.B * c.T; i++) c.row_weight[i] = (real)(1.001 / nv);
    analytic(&c);
    for (int i = 0; i < c.B * c.T; i++) c.row_weight[i] = (real)(1.0 / nv);
    int bad = check_all(&c, 2, &worst, 0);
    EXPECTF(bad >= 10, "a 0.1%% error in the CE gradient was caught at only %d elements", bad);
    /* (3) and with matching weights it is right again */
    analytic(&c);
    EXPECT(check_all(&c, 2, &worst, 0) == 0);
    case_free(&c);
}

/* Routing is frozen under perturbation, and without freezing a big enough perturbation of the
 * router really does change the selection (so the freeze is doing something). */
static void test_freeze_routing_holds_selection(void) {
    Case c;
    case_init(&c, CFG_YARN_MTP, 2, 8, 0.3, 0.1, 42);
    analytic(&c);
    const int *cnt = model_expert_counts(&c.a, &c.m.cfg, 1);
    int before[8];
    memcpy(before, cnt, sizeof before);
    const ParamInfo *p = param_find(&c.m.table, "model.layers.1.mlp.gate.weight");
    for (size_t j = 0; j < p->numel; j++) c.m.params[p->offset + j] *= -3;
    objective(&c);      /* frozen */
    EXPECT(!memcmp(before, model_expert_counts(&c.a, &c.m.cfg, 1), sizeof before));
    model_forward(&c.m, &c.a, c.tokens, c.targets, c.B, c.T, &c.opt);   /* not frozen */
    EXPECT(memcmp(before, model_expert_counts(&c.a, &c.m.cfg, 1), sizeof before) != 0);
    int sum = 0;
    for (int e = 0; e < 8; e++) sum += model_expert_counts(&c.a, &c.m.cfg, 1)[e];
    EXPECT(sum == c.B * c.T * 3);
    case_free(&c);
}

int main(void) {
    RUN(test_gradcheck_plain);
    RUN(test_gradcheck_plain_seq_aux);
    RUN(test_gradcheck_yarn_mtp);
    RUN(test_gradcheck_row_weights);
    RUN(test_gradcheck_softmax_groupmax);
    RUN(test_gradcheck_greedy_no_shared);
    RUN(test_gradcheck_llama);
    RUN(test_gradcheck_llama_row_weights);
    RUN(test_gradcheck_qwen2);
    RUN(test_gradcheck_catches_errors);
    RUN(test_freeze_routing_holds_selection);
    return TEST_EXIT();
}
