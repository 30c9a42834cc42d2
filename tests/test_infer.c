/* Generation engine properties, on the model fixtures' configs (a_plain: no q-LoRA, plain RoPE;
 * c_yarn_mtp: q-LoRA, YaRN beyond the original context, grouped routing, MTP; b_bench: the bench
 * config; d_llama and e_qwen2: the dense families' grouped-query attention, llama3 RoPE,
 * biases, tied embeddings) with the fixture init:
 *   - incremental decode over the cache (chunked prefill + one-token steps) gives the logits of
 *     a full forward pass (model_forward) at every position: |Δ| <= 2e-4 + 2e-3·|ref|;
 *   - absorbed MLA equals naive MLA (K/V re-expanded from the cache): same tolerance;
 *   - a batch of mixed-length prompts under continuous batching (fewer slots than prompts) gives
 *     each prompt exactly the tokens it gives alone, greedy and seeded sampling, and the same
 *     log-probs (1e-4);
 *   - seeded sampling repeats exactly, at 1 and at 2 threads;
 *   - MTP speculative greedy output equals plain greedy output;
 *   - stop ids, stop strings, max tokens and the context limit; bad input gives one-line errors;
 *   - the stepwise session that generate() and r1 serve share: sequences that join a running
 *     session at different steps, each with its own settings, get exactly generate()'s tokens
 *     alone; a cancelled sequence frees its slot at once (another joins in it), the others are
 *     unaffected; greedy continuation after forced tokens equals generation from the prompt
 *     extended by them, forced tokens count as output and reach on_token, forcing past max
 *     tokens ends the sequence; a full session refuses a sequence.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "fixture_params.h"
#include "infer/decode.h"
#include "infer/generate.h"
#include "infer/session.h"
#include "model/model.h"
#include "test.h"
#include "tokenizer/tokenizer.h"

static int load_model(Model *m, const char *name) {
    Err e = {{0}};
    if (fixture_load_model(m, name, &e) == 0) return 0;
    test_fail(__FILE__, __LINE__, "%s", e.msg);
    return -1;
}

/* Full forward logits [T, V] vs the engine fed in chunks of `chunk` then one token at a time. */
static void check_incremental(const char *name, int T, int chunk, AttnMode mode) {
    Model m;
    if (load_model(&m, name) < 0) return;
    const int V = m.cfg.vocab_size;
    int *toks = malloc(T * sizeof *toks);
    fixture_tokens(toks, 1, T, V, 77);
    ModelActs a;
    model_acts_init(&a, &m, 1, T);
    ModelOptions opt = {0};
    model_forward(&m, &a, toks, NULL, 1, T, &opt);

    Engine g;
    engine_init(&g, &m, 2, T, T, 0);
    g.mode = mode;
    /* slot 1 gets the sequence; slot 0 a different one interleaved, to catch cross-slot leaks */
    int other[64];
    fixture_tokens(other, 1, 64, V, 78);
    float *got = malloc((size_t)T * V * sizeof *got);
    int t = 0, step = 0;
    while (t < T) {
        int n = step == 0 ? chunk : (step % 3 == 1 ? 2 : 1);
        if (t + n > T) n = T - t;
        int tk[64], sl[64];
        int nr = 0;
        if (g.kv.len[0] < T && step % 2 == 1) { tk[nr] = other[g.kv.len[0] % 64]; sl[nr++] = 0; }
        for (int j = 0; j < n; j++) { tk[nr] = toks[t + j]; sl[nr++] = 1; }
        int nw = engine_forward(&g, tk, sl, nr, NULL);
        EXPECT(nw == nr);
        memcpy(got + (size_t)t * V, g.logits + (size_t)(nr - n) * V, (size_t)n * V * sizeof *got);
        t += n;
        step++;
    }
    char what[96];
    snprintf(what, sizeof what, "%s %s incremental vs full", name, mode == ATTN_NAIVE ? "naive" : "absorbed");
    expect_close_f32(what, got, a.logits, (size_t)T * V, 2e-4, 2e-3);
    engine_free(&g);
    model_acts_free(&a);
    free(got);
    free(toks);
    model_free(&m);
}

static void test_incremental_plain(void) { check_incremental("a_plain", 40, 5, ATTN_ABSORBED); }
static void test_incremental_yarn(void) { check_incremental("c_yarn_mtp", 60, 7, ATTN_ABSORBED); }
static void test_incremental_bench(void) { check_incremental("b_bench", 48, 16, ATTN_ABSORBED); }
static void test_incremental_naive(void) {
    check_incremental("a_plain", 30, 4, ATTN_NAIVE);
    check_incremental("c_yarn_mtp", 40, 3, ATTN_NAIVE);
}
static void test_incremental_gqa(void) {
    check_incremental("d_llama", 60, 5, ATTN_ABSORBED);
    check_incremental("e_qwen2", 50, 7, ATTN_ABSORBED);
    check_incremental("e_qwen2", 30, 4, ATTN_NAIVE);       /* the model's products as training runs them */
}

/* Absorbed vs naive on the same steps, directly. */
static void test_absorbed_equals_naive(void) {
    const char *names[2] = {"a_plain", "c_yarn_mtp"};
    for (int k = 0; k < 2; k++) {
        Model m;
        if (load_model(&m, names[k]) < 0) return;
        const int V = m.cfg.vocab_size, T = 32;
        int toks[32];
        fixture_tokens(toks, 1, T, V, 5);
        Engine ga, gn;
        engine_init(&ga, &m, 1, T, T, 0);
        engine_init(&gn, &m, 1, T, T, 0);
        gn.mode = ATTN_NAIVE;
        int sl[32] = {0};
        engine_forward(&ga, toks, sl, 20, NULL);
        engine_forward(&gn, toks, sl, 20, NULL);
        expect_close_f32("prefill absorbed vs naive", ga.logits, gn.logits, (size_t)20 * V, 2e-4, 2e-3);
        for (int t = 20; t < T; t++) {
            engine_forward(&ga, toks + t, sl, 1, NULL);
            engine_forward(&gn, toks + t, sl, 1, NULL);
            expect_close_f32("decode absorbed vs naive", ga.logits, gn.logits, (size_t)V, 2e-4, 2e-3);
        }
        /* and the caches hold the same latents: in layer 0 (no attention before it) up to the
         * rounding of the kv_a product (the absorbed engine multiplies by its packed transposed
         * copy of the weight, the naive one by the model's matmul), within rounding after */
        size_t per_layer = (size_t)ga.kv.n_slots * ga.kv.max_len * ga.kv.W;
        expect_close_f32("cache layer 0", ga.kv.data, gn.kv.data, per_layer, 2e-6, 2e-6);
        expect_close_f32("cache", ga.kv.data, gn.kv.data, kvcache_bytes(&ga.kv) / 4, 1e-5, 1e-4);
        engine_free(&ga);
        engine_free(&gn);
        model_free(&m);
    }
}

/* ---- generation ---- */

#define NP 5
static int g_prompts[NP][24];
static const int g_plen[NP] = {3, 17, 1, 9, 24};

static void make_requests(GenRequest *r, int V) {
    for (int i = 0; i < NP; i++) {
        fixture_tokens(g_prompts[i], 1, g_plen[i], V, 100 + (uint64_t)i);
        r[i] = (GenRequest){g_prompts[i], g_plen[i], (uint64_t)i, 0};
    }
}

/* The fixture model NAME and the NP requests of make_requests for it; -1 (counted) on failure. */
static int load_with_requests(Model *m, const char *name, GenRequest r[NP]) {
    if (load_model(m, name) < 0) return -1;
    make_requests(r, m->cfg.vocab_size);
    return 0;
}

static int run(const Model *m, const GenRequest *r, int n, const GenOptions *o, GenOutput *out,
               GenStats *st) {
    Err e = {{0}};
    int rc = generate(m, r, n, o, out, st, &e);
    if (rc < 0) test_fail(__FILE__, __LINE__, "generate: %s", e.msg);
    return rc;
}

static int same_tokens(const GenOutput *a, const GenOutput *b) {
    return a->n == b->n && !memcmp(a->tokens, b->tokens, (size_t)a->n * sizeof *a->tokens);
}

static void check_batch_vs_alone(const char *name, double temperature) {
    Model m;
    GenRequest r[NP];
    if (load_with_requests(&m, name, r) < 0) return;
    GenOptions o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.sampler.temperature = temperature;
    o.sampler.top_p = 0.9;
    o.seed = 42;
    o.max_new_tokens = 20;
    o.want_logprobs = 1;
    o.n_slots = 3;               /* fewer slots than prompts: continuous batching */
    o.prefill_chunk = 8;         /* prompts longer than a chunk */
    GenOutput batch[NP], alone[NP];
    GenStats st;
    if (run(&m, r, NP, &o, batch, &st) < 0) { model_free(&m); return; }
    o.n_slots = 1;
    o.prefill_chunk = 256;
    for (int i = 0; i < NP; i++) {
        if (run(&m, &r[i], 1, &o, &alone[i], NULL) < 0) { model_free(&m); return; }
        EXPECTF(same_tokens(&batch[i], &alone[i]), "%s T=%g prompt %d: batch and alone differ", name,
                temperature, i);
        EXPECT(batch[i].n == 20 && batch[i].finish == GEN_MAX_TOKENS);
        if (batch[i].n == alone[i].n)
            expect_close_f32("logprobs", batch[i].logprobs, alone[i].logprobs, (size_t)batch[i].n, 1e-4, 1e-4);
        for (int j = 0; j < batch[i].n; j++) EXPECT(batch[i].logprobs[j] <= 0);
    }
    EXPECT(st.decode_tokens == NP * 20);
    EXPECT(st.prefill_tokens == 3 + 17 + 1 + 9 + 24);
    gen_outputs_free(batch, NP);
    gen_outputs_free(alone, NP);
    model_free(&m);
}

static void test_batch_vs_alone_greedy(void) {
    check_batch_vs_alone("a_plain", 0);
    check_batch_vs_alone("c_yarn_mtp", 0);
    check_batch_vs_alone("e_qwen2", 0);
}
static void test_batch_vs_alone_sampled(void) {
    check_batch_vs_alone("a_plain", 1.0);
    check_batch_vs_alone("c_yarn_mtp", 0.8);
    check_batch_vs_alone("d_llama", 1.0);
}

static void test_seeded_threads(void) {
    Model m;
    GenRequest r[NP];
    if (load_with_requests(&m, "c_yarn_mtp", r) < 0) return;
    GenOptions o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.sampler.temperature = 1.0;
    o.sampler.top_k = 20;
    o.sampler.min_p = 0.01;
    o.seed = 7;
    o.max_new_tokens = 30;
    o.n_slots = 4;
    GenOutput a[NP], b[NP], c[NP], d[NP];
    int before = threads_count();
    threads_set(1);
    run(&m, r, NP, &o, a, NULL);
    run(&m, r, NP, &o, b, NULL);
    threads_set(2);
    run(&m, r, NP, &o, c, NULL);
    o.seed = 8;
    run(&m, r, NP, &o, d, NULL);
    threads_set(before);
    int differ = 0;
    for (int i = 0; i < NP; i++) {
        EXPECTF(same_tokens(&a[i], &b[i]), "prompt %d: two runs differ", i);
        EXPECTF(same_tokens(&a[i], &c[i]), "prompt %d: 1 vs 2 threads differ", i);
        differ += !same_tokens(&a[i], &d[i]);
    }
    EXPECT(differ > 0);     /* another seed gives other text */
    gen_outputs_free(a, NP); gen_outputs_free(b, NP); gen_outputs_free(c, NP); gen_outputs_free(d, NP);
    model_free(&m);
}

static void test_speculative_equals_greedy(void) {
    const char *names[2] = {"c_yarn_mtp", "b_bench"};
    for (int k = 0; k < 2; k++) {
        Model m;
        GenRequest r[NP];
        if (load_with_requests(&m, names[k], r) < 0) return;
        GenOptions o = gen_options(sampler_defaults(), 0, 128, NULL);
        o.sampler.temperature = 0;
        o.max_new_tokens = 30;
        o.n_slots = 3;
        o.prefill_chunk = 8;
        o.max_len = 50;          /* some sequences run into the context limit */
        GenOutput plain[NP], spec[NP];
        GenStats st;
        run(&m, r, NP, &o, plain, NULL);
        o.speculative = 1;
        run(&m, r, NP, &o, spec, &st);
        for (int i = 0; i < NP; i++) {
            EXPECTF(same_tokens(&plain[i], &spec[i]), "%s prompt %d: speculative differs from greedy",
                    names[k], i);
            EXPECT(plain[i].finish == spec[i].finish);
        }
        EXPECT(st.drafted > 0 && st.accepted <= st.drafted);
        printf("  %s: MTP drafts accepted %lld / %lld, %lld forwards for %lld tokens\n", names[k],
               (long long)st.accepted, (long long)st.drafted, (long long)st.steps,
               (long long)st.decode_tokens);
        gen_outputs_free(plain, NP);
        gen_outputs_free(spec, NP);
        model_free(&m);
    }
}

/* A byte-level tokenizer whose id i is the single character 33 + i (no merges). */
static Tokenizer *tiny_tokenizer(int V) {
    char buf[8192];
    int o = snprintf(buf, sizeof buf, "{\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (int i = 0; i < V; i++) {
        char ch = (char)(33 + i);
        if (ch == '"' || ch == '\\') o += snprintf(buf + o, sizeof buf - o, "%s\"\\%c\":%d", i ? "," : "", ch, i);
        else o += snprintf(buf + o, sizeof buf - o, "%s\"%c\":%d", i ? "," : "", ch, i);
    }
    o += snprintf(buf + o, sizeof buf - o, "},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"ByteLevel\","
                  "\"add_prefix_space\":false,\"use_regex\":false},\"decoder\":{\"type\":\"ByteLevel\"},"
                  "\"added_tokens\":[]}");
    Err e = {{0}};
    Tokenizer *t = tokenizer_from_json(buf, (size_t)o, "tiny", &e);
    if (!t) test_fail(__FILE__, __LINE__, "tiny tokenizer: %s", e.msg);
    return t;
}

static void test_stops(void) {
    Model m;
    GenRequest r[NP];
    if (load_with_requests(&m, "a_plain", r) < 0) return;
    GenOptions o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.sampler.temperature = 0;
    o.max_new_tokens = 24;
    GenOutput base;
    run(&m, &r[1], 1, &o, &base, NULL);
    EXPECT(base.n == 24);
    /* stop id: the token at index 6 ends the sequence at its first occurrence, included */
    int stop_id = base.tokens[6], first = 0;
    while (base.tokens[first] != stop_id) first++;
    o.stop_id = stop_id;
    GenOutput s1;
    run(&m, &r[1], 1, &o, &s1, NULL);
    EXPECT(s1.finish == GEN_EOS && s1.n == first + 1 && s1.tokens[first] == stop_id);
    gen_outputs_free(&s1, 1);
    o.stop_id = -1;
    /* stop string spanning tokens 9 and 10 */
    Tokenizer *tok = tiny_tokenizer(m.cfg.vocab_size);
    if (tok) {
        char stop[3] = {(char)(33 + base.tokens[9]), (char)(33 + base.tokens[10]), 0};
        const char *stops[1] = {stop};
        int at = -1;
        for (int j = 0; j + 1 < base.n; j++)
            if (base.tokens[j] == base.tokens[9] && base.tokens[j + 1] == base.tokens[10]) { at = j; break; }
        o.tok = tok;
        o.stop_strings = stops;
        o.n_stop_strings = 1;
        GenOutput s2;
        run(&m, &r[1], 1, &o, &s2, NULL);
        EXPECT(s2.finish == GEN_STOP_STRING && s2.n == at + 2 && s2.stop_at == at);
        gen_outputs_free(&s2, 1);
        o.n_stop_strings = 0;
        tokenizer_free(tok);
    }
    /* context limit: 17-token prompt, context 20 -> 3 tokens, finish "length" */
    o.max_len = 20;
    GenOutput s3;
    run(&m, &r[1], 1, &o, &s3, NULL);
    EXPECT(s3.finish == GEN_LENGTH && s3.n == 3);
    EXPECT(s3.n == 3 && !memcmp(s3.tokens, base.tokens, 3 * sizeof(int)));
    gen_outputs_free(&s3, 1);
    gen_outputs_free(&base, 1);
    model_free(&m);
}

static void test_bad_input(void) {
    Model m;
    GenRequest r[NP];
    if (load_with_requests(&m, "a_plain", r) < 0) return;
    GenOptions o = gen_options(sampler_defaults(), 0, 128, NULL);
    GenOutput out[NP];
    Err e = {{0}};
    /* prompt 1 has 17 tokens; context 16 */
    o.max_len = 16;
    o.max_new_tokens = 4;
    EXPECT(generate(&m, r, NP, &o, out, NULL, &e) < 0);
    EXPECTF(strstr(e.msg, "prompt 1") && strstr(e.msg, "17 tokens") && strstr(e.msg, "truncate_left"),
            "%s", e.msg);
    /* left truncation keeps the last max_len - max_new = 12 tokens: same output as that suffix */
    o.truncate_left = 1;
    o.sampler.temperature = 0;
    if (generate(&m, &r[4], 1, &o, out, NULL, &e) == 0) {
        EXPECT(out[0].n_prompt == 12 && out[0].n == 4);
        GenRequest suffix = {g_prompts[4] + 12, 12, 4, 0};
        GenOutput o2;
        o.truncate_left = 0;
        if (generate(&m, &suffix, 1, &o, &o2, NULL, &e) == 0) {
            EXPECT(same_tokens(&out[0], &o2));
            gen_outputs_free(&o2, 1);
        }
        gen_outputs_free(out, 1);
    } else test_fail(__FILE__, __LINE__, "%s", e.msg);
    o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.sampler.temperature = -1;
    EXPECT(generate(&m, r, NP, &o, out, NULL, &e) < 0 && strstr(e.msg, "--temperature"));
    o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.sampler.top_p = 1.2;
    EXPECT(generate(&m, r, NP, &o, out, NULL, &e) < 0 && strstr(e.msg, "--top-p"));
    o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.speculative = 1;      /* a_plain has no MTP module */
    o.sampler.temperature = 0;
    EXPECT(generate(&m, r, NP, &o, out, NULL, &e) < 0 && strstr(e.msg, "MTP"));
    o = gen_options(sampler_defaults(), 0, 128, NULL);
    int bad[2] = {3, 64};
    GenRequest rb = {bad, 2, 0, 0};
    EXPECT(generate(&m, &rb, 1, &o, out, NULL, &e) < 0 && strstr(e.msg, "vocabulary"));
    GenRequest re = {bad, 0, 0, 0};
    EXPECT(generate(&m, &re, 1, &o, out, NULL, &e) < 0 && strstr(e.msg, "empty"));
    o.max_len = 100;     /* > max_position_embeddings 64 */
    EXPECT(generate(&m, r, 1, &o, out, NULL, &e) < 0 && strstr(e.msg, "max_len"));
    model_free(&m);
}

/* ---- the stepwise session (infer/session.h) ---- */

static GenOptions base_options(void) {
    GenOptions o = gen_options(sampler_defaults(), 0, 16, NULL);
    o.n_slots = 3;
    o.prefill_chunk = 8;
    return o;
}

/* Settings of sequence i: alternately greedy and sampled, each its own seed and length. */
static GenSeqParams seq_params(int i) {
    GenSeqParams p = {sampler_defaults(), 40 + (uint64_t)i, 10 + 2 * i, NULL, 0, 0};
    p.sampler.temperature = i % 2 ? 0.9 : 0;
    p.sampler.top_p = 0.95;
    return p;
}

/* generate() of one request alone with sequence i's settings. */
static int alone(const Model *m, const GenRequest *r, const GenSeqParams *p, GenOutput *out) {
    GenOptions o = base_options();
    o.sampler = p->sampler;
    o.seed = p->seed;
    o.max_new_tokens = p->max_new_tokens;
    Err e = {{0}};
    if (generate(m, r, 1, &o, out, NULL, &e) < 0) {
        test_fail(__FILE__, __LINE__, "generate: %s", e.msg);
        return -1;
    }
    return 0;
}

static void test_join_while_running(void) {
    Model m;
    GenRequest r[NP];
    if (load_with_requests(&m, "c_yarn_mtp", r) < 0) return;
    GenOptions o = base_options();
    Err e = {{0}};
    GenSession *s = gen_session_new(&m, &o, &e);
    if (!s) { test_fail(__FILE__, __LINE__, "%s", e.msg); model_free(&m); return; }
    GenOutput out[NP];
    GenSeqParams p[NP];
    int next = 0, steps = 0;
    /* sequence i may join from step 3·i on, when a slot is free */
    while (next < NP || gen_session_running(s) > 0) {
        while (next < NP && steps >= 3 * next && gen_session_free_slots(s) > 0) {
            p[next] = seq_params(next);
            EXPECT(gen_session_add(s, &r[next], &p[next], next, &out[next], &e) >= 0);
            next++;
        }
        gen_session_step(s);
        steps++;
        if (steps > 1000) break;
    }
    GenStats st = gen_session_stats(s);
    EXPECT(st.prefill_tokens == 3 + 17 + 1 + 9 + 24);
    gen_session_free(s);
    for (int i = 0; i < NP; i++) {
        GenOutput a;
        if (alone(&m, &r[i], &p[i], &a) < 0) break;
        EXPECTF(same_tokens(&out[i], &a), "sequence %d: joined a running session, differs from alone", i);
        EXPECT(out[i].finish == a.finish && out[i].n_prompt == g_plen[i]);
        gen_outputs_free(&a, 1);
    }
    gen_outputs_free(out, NP);
    model_free(&m);
}

static void test_cancel(void) {
    Model m;
    GenRequest r[NP];
    if (load_with_requests(&m, "c_yarn_mtp", r) < 0) return;
    GenOptions o = base_options();
    o.n_slots = 2;
    Err e = {{0}};
    GenSession *s = gen_session_new(&m, &o, &e);
    if (!s) { test_fail(__FILE__, __LINE__, "%s", e.msg); model_free(&m); return; }
    GenOutput out[3];
    GenSeqParams p[3] = {seq_params(0), seq_params(1), seq_params(2)};
    int h0 = gen_session_add(s, &r[0], &p[0], 0, &out[0], &e);
    int h1 = gen_session_add(s, &r[1], &p[1], 1, &out[1], &e);
    EXPECT(h0 >= 0 && h1 >= 0 && gen_session_free_slots(s) == 0);
    /* full: refused with an error */
    GenOutput spare;
    EXPECT(gen_session_add(s, &r[2], &p[2], 2, &spare, &e) < 0 && strstr(e.msg, "no free slot"));
    for (int k = 0; k < 4; k++) gen_session_step(s);
    int n_at_cancel = out[0].n;
    gen_session_cancel(s, h0);
    EXPECT(out[0].finish == GEN_CANCELLED && gen_session_free_slots(s) == 1);
    EXPECT(gen_session_add(s, &r[2], &p[2], 2, &out[2], &e) == h0);   /* the freed slot */
    while (gen_session_running(s) > 0) gen_session_step(s);
    EXPECT(out[0].n == n_at_cancel);
    gen_session_free(s);
    for (int i = 1; i < 3; i++) {
        GenOutput a;
        if (alone(&m, &r[i], &p[i], &a) < 0) break;
        EXPECTF(same_tokens(&out[i], &a), "sequence %d differs after a cancel beside it", i);
        gen_outputs_free(&a, 1);
    }
    /* the cancelled sequence's tokens are the start of its own run */
    GenOutput a0;
    if (alone(&m, &r[0], &p[0], &a0) == 0) {
        EXPECT(n_at_cancel > 0 && a0.n >= n_at_cancel &&
               !memcmp(a0.tokens, out[0].tokens, (size_t)n_at_cancel * sizeof(int)));
        gen_outputs_free(&a0, 1);
    }
    gen_outputs_free(out, 3);
    model_free(&m);
}

typedef struct Seen { int n, tok[64]; } Seen;
static void on_token(void *ctx, int request, int token) {
    Seen *s = ctx;
    if (request == 0 && s->n < 64) s->tok[s->n++] = token;
}

static void test_force(void) {
    Model m;
    if (load_model(&m, "c_yarn_mtp") < 0) return;
    const int V = m.cfg.vocab_size;
    int prompt[9];
    fixture_tokens(prompt, 1, 9, V, 7);
    GenRequest r = {prompt, 9, 0, 0};
    GenOptions o = base_options();
    Seen seen = {0};
    o.on_token = on_token;
    o.on_token_ctx = &seen;
    Err e = {{0}};
    GenSession *s = gen_session_new(&m, &o, &e);
    if (!s) { test_fail(__FILE__, __LINE__, "%s", e.msg); model_free(&m); return; }
    GenSeqParams p = seq_params(0);      /* greedy */
    p.max_new_tokens = 20;
    GenOutput out;
    int h = gen_session_add(s, &r, &p, 0, &out, &e);
    for (int k = 0; k < 4; k++) gen_session_step(s);      /* prefill (2 chunks) + 3 tokens */
    const int forced[3] = {5, 6, 7};
    int k0 = out.n;
    EXPECT(k0 > 0 && gen_session_force(s, h, forced, 3) == GEN_RUNNING && out.n == k0 + 3);
    while (gen_session_running(s) > 0) gen_session_step(s);
    EXPECT(out.n == 20 && out.finish == GEN_MAX_TOKENS);
    EXPECT(seen.n == out.n && !memcmp(seen.tok, out.tokens, (size_t)out.n * sizeof(int)));
    /* greedy from prompt + sampled + forced gives the rest */
    int ext[40];
    memcpy(ext, prompt, sizeof prompt);
    memcpy(ext + 9, out.tokens, (size_t)(k0 + 3) * sizeof(int));
    GenRequest r2 = {ext, 9 + k0 + 3, 0, 0};
    GenSeqParams p2 = p;
    p2.max_new_tokens = 20 - k0 - 3;
    GenOutput rest;
    if (alone(&m, &r2, &p2, &rest) == 0) {
        EXPECTF(rest.n == p2.max_new_tokens &&
                !memcmp(rest.tokens, out.tokens + k0 + 3, (size_t)rest.n * sizeof(int)),
                "continuation after forced tokens differs from generation from the extended prompt");
        gen_outputs_free(&rest, 1);
    }
    gen_outputs_free(&out, 1);
    /* forcing past max tokens ends the sequence and frees the slot */
    p.max_new_tokens = 2;
    h = gen_session_add(s, &r, &p, 1, &out, &e);
    EXPECT(gen_session_force(s, h, forced, 3) == GEN_MAX_TOKENS && out.n == 2 &&
           gen_session_running(s) == 0);
    gen_outputs_free(&out, 1);
    gen_session_free(s);
    model_free(&m);
}

int main(void) {
    RUN(test_incremental_plain);
    RUN(test_incremental_yarn);
    RUN(test_incremental_bench);
    RUN(test_incremental_naive);
    RUN(test_incremental_gqa);
    RUN(test_absorbed_equals_naive);
    RUN(test_batch_vs_alone_greedy);
    RUN(test_batch_vs_alone_sampled);
    RUN(test_seeded_threads);
    RUN(test_speculative_equals_greedy);
    RUN(test_stops);
    RUN(test_bad_input);
    RUN(test_join_while_running);
    RUN(test_cancel);
    RUN(test_force);
    return TEST_EXIT();
}
