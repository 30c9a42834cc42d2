/* The stepwise generation session (infer/session.h) that generate() and r1 serve share, on the
 * c_yarn_mtp fixture config (fixture init):
 *   - sequences that join a running session at different steps, with their own settings (seed,
 *     temperature, max tokens), get exactly the tokens generate() gives each alone;
 *   - a cancelled sequence frees its slot at once (another joins in it) and the others are
 *     unaffected; cancel marks it GEN_CANCELLED;
 *   - forced tokens: greedy continuation after k sampled + forced tokens equals greedy generation
 *     from the prompt extended by them; forced tokens count as output and reach on_token; forcing
 *     past max tokens ends the sequence;
 *   - a full session refuses a sequence with an error. */
#include <stdlib.h>
#include <string.h>

#include "fixture_params.h"
#include "infer/generate.h"
#include "infer/session.h"
#include "model/model.h"
#include "test.h"

static int load_model(Model *m, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/model/%s/config.json", name);
    ModelConfig cfg;
    Err e = {{0}};
    if (config_load(&cfg, path, &e) != 0) {
        test_fail(__FILE__, __LINE__, "%s", e.msg);
        return -1;
    }
    model_init(m, &cfg);
    fixture_init_params(&m->table, m->params, 1234);
    return 0;
}

#define NP 5
static int g_prompts[NP][24];
static const int g_plen[NP] = {3, 17, 1, 9, 24};

static GenOptions base_options(void) {
    GenOptions o = gen_defaults();
    o.n_slots = 3;
    o.prefill_chunk = 8;
    o.max_new_tokens = 16;
    return o;
}

/* Settings of sequence i: alternately greedy and sampled, each its own seed and length. */
static GenSeqParams seq_params(int i) {
    GenSeqParams p = {sampler_defaults(), 40 + (uint64_t)i, 10 + 2 * i, NULL, 0, 0};
    p.sampler.temperature = i % 2 ? 0.9 : 0;
    p.sampler.top_p = 0.95;
    return p;
}

static int same_tokens(const GenOutput *a, const GenOutput *b) {
    return a->n == b->n && !memcmp(a->tokens, b->tokens, (size_t)a->n * sizeof *a->tokens);
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
    if (load_model(&m, "c_yarn_mtp") < 0) return;
    GenRequest r[NP];
    for (int i = 0; i < NP; i++) {
        fixture_tokens(g_prompts[i], 1, g_plen[i], m.cfg.vocab_size, 100 + (uint64_t)i);
        r[i] = (GenRequest){g_prompts[i], g_plen[i], (uint64_t)i, 0};
    }
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
    if (load_model(&m, "c_yarn_mtp") < 0) return;
    GenRequest r[NP];
    for (int i = 0; i < NP; i++) {
        fixture_tokens(g_prompts[i], 1, g_plen[i], m.cfg.vocab_size, 100 + (uint64_t)i);
        r[i] = (GenRequest){g_prompts[i], g_plen[i], (uint64_t)i, 0};
    }
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
    RUN(test_join_while_running);
    RUN(test_cancel);
    RUN(test_force);
    return TEST_EXIT();
}
