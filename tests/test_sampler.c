/* Sampler: flag validation, greedy ties, truncation filters (exact survivor sets), empirical
 * frequencies against softmax, penalties, the log-probability definition, seeded repeatability,
 * and the KV cache's sizes and slots. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/kvcache.h"
#include "infer/sampler.h"
#include "test.h"

static void test_validate(void) {
    Err e = {{0}};
    SamplerParams p = sampler_defaults();
    EXPECT(sampler_validate(&p, &e) == 0);
    p.temperature = -0.5;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--temperature"));
    p = sampler_defaults(); p.top_p = 0;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--top-p"));
    p.top_p = 1.5;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--top-p"));
    p.top_p = NAN;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--top-p"));
    p = sampler_defaults(); p.top_k = -1;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--top-k"));
    p = sampler_defaults(); p.min_p = 1.01;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--min-p"));
    p = sampler_defaults(); p.repetition_penalty = 0;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--repetition-penalty"));
    p = sampler_defaults(); p.temperature = INFINITY;
    EXPECT(sampler_validate(&p, &e) < 0 && strstr(e.msg, "--temperature"));
    EXPECT(strchr(e.msg, '\n') == NULL);
}

static void test_greedy(void) {
    SamplerScratch s;
    sampler_scratch_init(&s, 8);
    float z[8] = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f, 0, 0, 0};
    SamplerParams p = sampler_defaults();
    p.temperature = 0;
    Rng r = sampler_rng(1, 0, 0);
    double lp;
    int t = sampler_sample(&p, z, 8, NULL, 0, 0, &r, &s, &lp);
    EXPECT(t == 1);                                  /* tie between 1 and 3: lower id */
    EXPECT_NEAR(lp, sampler_logprob(z, 8, 1, 1.0), 1e-12, 0);
    EXPECT(r.counter == 0 && r.pos == 4);             /* greedy draws nothing */
    /* repetition penalty 2 on token 1 (in the prompt): 2.0 -> 1.0, so 3 wins */
    int ctx[1] = {1};
    p.repetition_penalty = 2;
    EXPECT(sampler_sample(&p, z, 8, ctx, 1, 1, &r, &s, NULL) == 3);
    /* negative logits are multiplied: token 2 (-1) becomes -2, still not chosen; z unchanged */
    EXPECT(z[1] == 2.0f);
    /* presence penalty: only generated tokens (here token 1 is in the prompt: no effect) */
    p.repetition_penalty = 1;
    p.presence_penalty = 0.5;
    EXPECT(sampler_sample(&p, z, 8, ctx, 1, 1, &r, &s, NULL) == 1);
    EXPECT(sampler_sample(&p, z, 8, ctx, 1, 0, &r, &s, NULL) == 3);
    /* scratch marks were cleared: a later call without context is unaffected */
    EXPECT(sampler_sample(&p, z, 8, NULL, 0, 0, &r, &s, NULL) == 1);
    sampler_scratch_free(&s);
}

/* Survivor set of a filter configuration, found by sampling many streams. */
static unsigned survivors(const SamplerParams *p, const float *z, int V, int draws) {
    SamplerScratch s;
    sampler_scratch_init(&s, V);
    unsigned mask = 0;
    for (int i = 0; i < draws; i++) {
        Rng r = sampler_rng(7, 1, (uint64_t)i);
        mask |= 1u << sampler_sample(p, z, V, NULL, 0, 0, &r, &s, NULL);
    }
    sampler_scratch_free(&s);
    return mask;
}

static void test_filters(void) {
    /* probabilities 0.5, 0.3, 0.15, 0.05 at T = 1 */
    float z[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    SamplerParams p = sampler_defaults();
    EXPECT(survivors(&p, z, 4, 4000) == 0xF);
    p.top_k = 2;
    EXPECT(survivors(&p, z, 4, 4000) == 0x3);
    p.top_k = 1;
    EXPECT(survivors(&p, z, 4, 500) == 0x1);
    p = sampler_defaults(); p.top_p = 0.79;
    EXPECT(survivors(&p, z, 4, 4000) == 0x3);
    p.top_p = 0.81;
    EXPECT(survivors(&p, z, 4, 4000) == 0x7);
    p.top_p = 0.4;
    EXPECT(survivors(&p, z, 4, 500) == 0x1);
    p = sampler_defaults(); p.min_p = 0.5;         /* keeps p >= 0.25 */
    EXPECT(survivors(&p, z, 4, 4000) == 0x3);
    p.min_p = 0.25;                                 /* keeps p >= 0.125 */
    EXPECT(survivors(&p, z, 4, 4000) == 0x7);
    /* combined: min-p then top-k then top-p (renormalised): {0,1,2} -> top-k 2 -> top-p 0.6 of
     * 0.8 mass = 0.48 -> {0} */
    p.top_k = 2; p.top_p = 0.6;
    EXPECT(survivors(&p, z, 4, 500) == 0x1);
    p.top_p = 0.7;   /* 0.5/0.8 = 0.625 < 0.7 -> {0, 1} */
    EXPECT(survivors(&p, z, 4, 4000) == 0x3);
}

/* A large vocabulary: the threshold search must find the same nucleus as a full sort. */
static void test_large_vocab_nucleus(void) {
    const int V = 3000;
    float *z = malloc(V * sizeof *z);
    Rng g = rng_make(3, RNG_TEST, 0, 0);
    for (int i = 0; i < V; i++) z[i] = (float)(rng_normal(&g) * 2.0);
    z[17] = z[1234];                                  /* a tie */
    SamplerScratch s;
    sampler_scratch_init(&s, V);
    SamplerParams p = sampler_defaults();
    p.temperature = 0.7;
    p.top_p = 0.9;
    /* reference nucleus by a full selection sort */
    double *pr = malloc(V * sizeof *pr), mx = -INFINITY, sum = 0;
    for (int i = 0; i < V; i++) if (z[i] > mx) mx = z[i];
    for (int i = 0; i < V; i++) sum += (pr[i] = exp((z[i] - mx) / 0.7));
    unsigned char *in = calloc(V, 1);
    double acc = 0;
    int n_in = 0;
    while (acc < 0.9 * sum) {
        int best = -1;
        for (int i = 0; i < V; i++)
            if (!in[i] && (best < 0 || pr[i] > pr[best])) best = i;
        in[best] = 1;
        acc += pr[best];
        n_in++;
    }
    int outside = 0;
    unsigned char *hit = calloc(V, 1);
    for (int k = 0; k < 20000; k++) {
        Rng r = sampler_rng(11, 2, (uint64_t)k);
        int t = sampler_sample(&p, z, V, NULL, 0, 0, &r, &s, NULL);
        outside += !in[t];
        hit[t] = 1;
    }
    EXPECT(outside == 0);
    int n_hit = 0;
    for (int i = 0; i < V; i++) n_hit += hit[i];
    EXPECTF(n_hit > n_in / 2, "only %d of the %d nucleus tokens ever drawn", n_hit, n_in);
    free(z); free(pr); free(in); free(hit);
    sampler_scratch_free(&s);
}

static void test_frequencies_and_logprob(void) {
    float z[5] = {1.0f, 0.5f, -0.3f, 2.0f, 0.0f};
    const double T = 0.8;
    double q[5], sum = 0;
    for (int i = 0; i < 5; i++) sum += (q[i] = exp(z[i] / T));
    for (int i = 0; i < 5; i++) q[i] /= sum;
    SamplerParams p = sampler_defaults();
    p.temperature = T;
    SamplerScratch s;
    sampler_scratch_init(&s, 5);
    int cnt[5] = {0};
    const int N = 40000;
    for (int k = 0; k < N; k++) {
        Rng r = sampler_rng(99, 0, (uint64_t)k);
        double lp;
        int t = sampler_sample(&p, z, 5, NULL, 0, 0, &r, &s, &lp);
        cnt[t]++;
        if (k < 50) EXPECT_NEAR(lp, log(q[t]), 1e-9, 0);
    }
    for (int i = 0; i < 5; i++) {
        double f = (double)cnt[i] / N, sd = sqrt(q[i] * (1 - q[i]) / N);
        EXPECTF(fabs(f - q[i]) < 5 * sd, "token %d: frequency %.4f vs %.4f", i, f, q[i]);
    }
    /* the log-prob ignores truncation: with top-k 1 the token is always 3, logprob log q[3] */
    p.top_k = 1;
    Rng r = sampler_rng(99, 0, 0);
    double lp;
    EXPECT(sampler_sample(&p, z, 5, NULL, 0, 0, &r, &s, &lp) == 3);
    EXPECT_NEAR(lp, log(q[3]), 1e-9, 0);
    sampler_scratch_free(&s);
}

static void test_seeded_repeat(void) {
    float z[16];
    for (int i = 0; i < 16; i++) z[i] = (float)sin(i * 1.3);
    SamplerParams p = sampler_defaults();
    p.top_p = 0.95;
    SamplerScratch s;
    sampler_scratch_init(&s, 16);
    int a[64], b[64], c[64];
    Rng ra = sampler_rng(5, 3, 1), rb = sampler_rng(5, 3, 1), rc = sampler_rng(5, 3, 2);
    for (int i = 0; i < 64; i++) {
        a[i] = sampler_sample(&p, z, 16, NULL, 0, 0, &ra, &s, NULL);
        c[i] = sampler_sample(&p, z, 16, NULL, 0, 0, &rc, &s, NULL);   /* interleaved use */
        b[i] = sampler_sample(&p, z, 16, NULL, 0, 0, &rb, &s, NULL);
    }
    EXPECT(memcmp(a, b, sizeof a) == 0);
    EXPECT(memcmp(a, c, sizeof a) != 0);
    sampler_scratch_free(&s);
}

static void test_kvcache(void) {
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.num_hidden_layers = 61;
    cfg.num_attention_heads = 128;
    cfg.kv_lora_rank = 512;
    cfg.qk_rope_head_dim = 64;
    cfg.qk_nope_head_dim = 128;
    cfg.v_head_dim = 128;
    /* V3: 576 numbers per layer per token vs 40960 for plain MHA */
    EXPECT(kvcache_bytes_per_token(&cfg) == (size_t)61 * 576 * 4);
    EXPECT(kvcache_mha_bytes_per_token(&cfg) == (size_t)61 * 40960 * 4);
    cfg.num_hidden_layers = 2;
    cfg.kv_lora_rank = 8;
    cfg.qk_rope_head_dim = 4;
    KvCache kv;
    kvcache_init(&kv, &cfg, 3, 10, 1);
    EXPECT(kv.n_layers == 3 && kv.W == 12);
    EXPECT(kvcache_bytes(&kv) == (size_t)3 * 3 * 10 * 12 * 4);
    EXPECT(kvcache_row(&kv, 1, 2, 3) - kv.data == (ptrdiff_t)(((1 * 3 + 2) * 10 + 3) * 12));
    int a = kvcache_acquire(&kv), b = kvcache_acquire(&kv), c = kvcache_acquire(&kv);
    EXPECT(a == 0 && b == 1 && c == 2 && kvcache_acquire(&kv) == -1);
    kv.len[1] = 7;
    kvcache_release(&kv, 1);
    EXPECT(kvcache_acquire(&kv) == 1 && kv.len[1] == 0);
    kvcache_free(&kv);
}

int main(void) {
    RUN(test_validate);
    RUN(test_greedy);
    RUN(test_filters);
    RUN(test_large_vocab_nucleus);
    RUN(test_frequencies_and_logprob);
    RUN(test_seeded_repeat);
    RUN(test_kvcache);
    return TEST_EXIT();
}
