/* Shared prompts (generate.h, share_prompts): requests with the same prompt prefill it once.
 *
 * What "the same output" can mean here: a request's bits already depend on the steps it runs in,
 * as the Linear products of a step of more than LINEAR_MAX_ROWS rows run as one matmul instead of
 * the packed few-row kernel (kernels/linear.h) and MLA's absorbed attention and the MoE router
 * multiply all of a step's rows at once, so alone and in a batch differ in the last bits
 * (test_infer holds tokens exact and log-probs to 1e-4 there). Sharing changes only which rows
 * the steps have. So, with sharing on against off, on the model fixtures (a_plain, b_bench,
 * c_yarn_mtp: MLA with MoE; d_llama, e_qwen2: dense GQA):
 *   - G samples of each of several prompts (longer and shorter than a prefill chunk) give the
 *     same tokens and finish, and log-probs within 1e-5; the log-prob bits too where the design
 *     makes every row's bits independent of its step — dense GQA models (attention one row at a
 *     time, no router) with steps of at most LINEAR_MAX_ROWS rows, or with bf16 products (packed
 *     at any row count);
 *   - the stats show the sharing: prefill rows = the distinct prompts' tokens, shared rows = the
 *     other samples' prompt tokens;
 *   - with fewer slots than requests, a sample that starts after its prompt's prefill copies a
 *     running sibling's rows and feeds only its last prompt token;
 *   - in a session, a leader cancelled mid-prefill hands its followers over, and forced tokens on
 *     a leader or on a follower mid-prefill are fed by that sequence itself;
 *   - with sharing, 1 and 2 threads give the same bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "fixture_params.h"
#include "infer/generate.h"
#include "infer/session.h"
#include "kernels/linear.h"
#include "model/model.h"
#include "test.h"

enum { NPR = 3, G = 4, N = NPR * G, MAXP = 40 };
static const int g_len[NPR] = {5, 37, 12};
static int g_prompt[NPR][MAXP];

static int load(Model *m, const char *name) {
    Err e = {{0}};
    if (fixture_load_model(m, name, &e) == 0) return 0;
    test_fail(__FILE__, __LINE__, "%s", e.msg);
    return -1;
}

/* Request i = g·G + j: sample j of prompt g, as GRPO lays out its groups. */
static void make_requests(GenRequest *r, int V) {
    for (int g = 0; g < NPR; g++) {
        fixture_tokens(g_prompt[g], 1, g_len[g], V, 300 + (uint64_t)g);
        for (int j = 0; j < G; j++) r[g * G + j] = (GenRequest){g_prompt[g], g_len[g], (uint64_t)g, (uint64_t)j};
    }
}

static GenOptions options(double temperature, int n_slots, int chunk, KnFormat wf) {
    GenOptions o = gen_options(sampler_defaults(), 11, 12, NULL);
    o.sampler.temperature = temperature;
    o.sampler.top_p = 0.95;
    o.want_logprobs = 1;
    o.n_slots = n_slots;
    o.prefill_chunk = chunk;
    o.weight_format = wf;
    return o;
}

static int gen(const Model *m, const GenRequest *r, int n, const GenOptions *o, GenOutput *out, GenStats *st) {
    Err e = {{0}};
    int rc = generate(m, r, n, o, out, st, &e);
    if (rc < 0) test_fail(__FILE__, __LINE__, "generate: %s", e.msg);
    return rc;
}

/* Same tokens and finish; log-probs bit for bit (exact) or within 1e-5. */
static int same_output(const GenOutput *a, const GenOutput *b, int exact) {
    if (a->n != b->n || a->finish != b->finish || memcmp(a->tokens, b->tokens, (size_t)a->n * sizeof(int))) return 0;
    if (exact) return !memcmp(a->logprobs, b->logprobs, (size_t)a->n * sizeof(float));
    for (int t = 0; t < a->n; t++)
        if (!(fabs((double)a->logprobs[t] - b->logprobs[t]) <= 1e-5)) return 0;
    return 1;
}

static void check_groups(const char *name, double temperature, int n_slots, int chunk, KnFormat wf, int exact) {
    Model m;
    if (load(&m, name) < 0) return;
    GenRequest r[N];
    make_requests(r, m.cfg.vocab_size);
    GenOptions o = options(temperature, n_slots, chunk, wf);
    GenOutput on[N], off[N];
    GenStats son, soff;
    o.share_prompts = 0;
    if (gen(&m, r, N, &o, off, &soff) < 0) { model_free(&m); return; }
    o.share_prompts = 1;
    if (gen(&m, r, N, &o, on, &son) < 0) { gen_outputs_free(off, N); model_free(&m); return; }
    for (int i = 0; i < N; i++)
        EXPECTF(same_output(&on[i], &off[i], exact), "%s T=%g slots %d chunk %d%s request %d: shared differs from "
                "unshared", name, temperature, n_slots, chunk, wf == KN_BF16_DOT ? " bf16" : "", i);
    int differ = 0;
    for (int g = 0; g < NPR; g++)
        for (int j = 1; j < G; j++) differ += !same_output(&on[g * G], &on[g * G + j], 0);
    EXPECTF(temperature == 0 || differ > 0, "%s: the samples of each prompt are the same text", name);
    int64_t distinct = 0;
    for (int g = 0; g < NPR; g++) distinct += g_len[g];
    EXPECT(soff.prefill_tokens == G * distinct && soff.shared_prompt_tokens == 0);
    EXPECT(son.decode_tokens == soff.decode_tokens);
    if (n_slots >= N) {      /* every sample joins while its prompt is prefilled: one prefill each */
        EXPECTF(son.prefill_tokens == distinct && son.shared_prompt_tokens == (G - 1) * distinct,
                "%s: prefill %lld shared %lld, want %lld and %lld", name, (long long)son.prefill_tokens,
                (long long)son.shared_prompt_tokens, (long long)distinct, (long long)((G - 1) * distinct));
    } else {                 /* some copy a running sibling's rows and feed one row */
        EXPECT(son.prefill_tokens + son.shared_prompt_tokens == G * distinct);
        EXPECT(son.shared_prompt_tokens > 0 && son.prefill_tokens < soff.prefill_tokens);
    }
    gen_outputs_free(on, N);
    gen_outputs_free(off, N);
    model_free(&m);
}

static void test_groups_sampled(void) {
    check_groups("a_plain", 1.0, N, 256, KN_F32, 0);
    check_groups("b_bench", 1.0, N, 256, KN_F32, 0);
    check_groups("c_yarn_mtp", 0.8, N, 8, KN_F32, 0);      /* the long prompt over several steps */
    check_groups("e_qwen2", 1.0, N, 256, KN_F32, 0);
}

static void test_groups_greedy(void) {
    check_groups("a_plain", 0, N, 8, KN_F32, 0);
    check_groups("b_bench", 0, N, 256, KN_F32, 0);
}

/* Where every row's bits are its own by design: exactly the same log-probs. */
static void test_groups_exact_bits(void) {
    CHECK(N + 16 <= LINEAR_MAX_ROWS);
    check_groups("d_llama", 3.0, N, 16, KN_F32, 1);     /* its fixture init is sharply peaked */
    check_groups("e_qwen2", 0.7, N, 8, KN_F32, 1);
    check_groups("e_qwen2", 1.0, N, 256, KN_BF16_DOT, 1);
}

static void test_fewer_slots(void) {
    check_groups("a_plain", 1.0, 5, 8, KN_F32, 0);
    check_groups("c_yarn_mtp", 0.8, 3, 256, KN_F32, 0);
    check_groups("d_llama", 3.0, 6, 16, KN_F32, 1);
}

static void test_threads(void) {
    Model m;
    if (load(&m, "c_yarn_mtp") < 0) return;
    GenRequest r[N];
    make_requests(r, m.cfg.vocab_size);
    const GenOptions o = options(1.0, N, 256, KN_F32);
    GenOutput a[N], b[N];
    const int before = threads_count();
    threads_set(1);
    int rc = gen(&m, r, N, &o, a, NULL);
    threads_set(2);
    if (rc == 0 && gen(&m, r, N, &o, b, NULL) == 0) {
        for (int i = 0; i < N; i++) EXPECTF(same_output(&a[i], &b[i], 1), "request %d: 1 and 2 threads differ", i);
        gen_outputs_free(b, N);
    }
    threads_set(before);
    if (rc == 0) gen_outputs_free(a, N);
    model_free(&m);
}

/* A session of G samples of the long prompt, prefilled in chunks of 8 rows, disturbed mid-prefill
 * (after 2 steps): the leader (slot 0) cancelled or forced, or a follower forced. */
typedef enum { CANCEL_LEADER, FORCE_LEADER, FORCE_FOLLOWER } Disturb;

static int run_disturbed(const Model *m, Disturb d, int share, GenOutput *out, GenStats *st) {
    GenOptions o = options(0.9, G, 8, KN_F32);
    o.max_new_tokens = 10;
    o.share_prompts = share;
    Err e = {{0}};
    GenSession *s = gen_session_new(m, &o, &e);
    if (!s) { test_fail(__FILE__, __LINE__, "%s", e.msg); return -1; }
    const GenSeqParams p = gen_seq_params(&o);
    for (int j = 0; j < G; j++) {
        GenRequest q = {g_prompt[1], g_len[1], 1, (uint64_t)j};
        EXPECT(gen_session_add(s, &q, &p, j, &out[j], &e) == j);
    }
    gen_session_step(s);
    gen_session_step(s);
    const int forced[2] = {3, 4};
    if (d == CANCEL_LEADER) gen_session_cancel(s, 0);
    else gen_session_force(s, d == FORCE_LEADER ? 0 : 2, forced, 2);
    while (gen_session_running(s) > 0) gen_session_step(s);
    *st = gen_session_stats(s);
    gen_session_free(s);
    return 0;
}

static void test_disturbed_prefill(void) {
    Model m;
    if (load(&m, "c_yarn_mtp") < 0) return;
    GenRequest r[N];
    make_requests(r, m.cfg.vocab_size);
    const char *what[3] = {"leader cancelled", "leader forced", "follower forced"};
    for (int d = 0; d < 3; d++) {
        GenOutput on[G], off[G];
        GenStats son, soff;
        if (run_disturbed(&m, (Disturb)d, 0, off, &soff) < 0) break;
        if (run_disturbed(&m, (Disturb)d, 1, on, &son) < 0) { gen_outputs_free(off, G); break; }
        for (int j = 0; j < G; j++)
            EXPECTF(same_output(&on[j], &off[j], 0), "%s: sequence %d differs with sharing", what[d], j);
        EXPECT(on[0].finish == (d == CANCEL_LEADER ? GEN_CANCELLED : GEN_MAX_TOKENS));
        EXPECTF(son.shared_prompt_tokens > 0 && son.prefill_tokens < soff.prefill_tokens,
                "%s: prefill %lld shared %lld (unshared %lld)", what[d], (long long)son.prefill_tokens,
                (long long)son.shared_prompt_tokens, (long long)soff.prefill_tokens);
        gen_outputs_free(on, G);
        gen_outputs_free(off, G);
    }
    model_free(&m);
}

int main(void) {
    RUN(test_groups_sampled);
    RUN(test_groups_greedy);
    RUN(test_groups_exact_bits);
    RUN(test_fewer_slots);
    RUN(test_threads);
    RUN(test_disturbed_prefill);
    return TEST_EXIT();
}
