/* The C model (float) against the PyTorch references (tools/ref_model.py for DeepSeek-V3,
 * tools/ref_dense.py for llama and qwen2; float64) on the committed fixtures
 * tests/fixtures/model/{a_plain,c_yarn_mtp,b_bench,d_llama,e_qwen2} (format: tools/README.md).
 *
 * Parameters come from the deterministic fixture init (tests/fixture_params.h, bit-exact with
 * the reference), tokens from the fixture, targets = tokens shifted left (−1 at T−1). Compared:
 * logits (all, or the 4096-element sample and the norm), loss, mtp_loss, aux_loss, total_loss,
 * the expert counts of every MoE layer (exactly), and the gradient of every parameter tensor
 * (all elements, or the 64-element sample and the L2 norm).
 *
 * Tolerances (float32 C vs float64 reference; errors scale with the tensor's magnitude):
 *   logits:   |c − r| <= 2e-5 · max|r| + 1e-4 · |r|
 *   losses:   |c − r| <= 1e-5 + 1e-4 · |r|
 *   gradient: per tensor, |c − r| <= 1e-4 · max|r_tensor| + 1e-3 · |r| + 1e-7
 *             (sampled tensors: max|r_tensor| -> max(max|sample|, norm/sqrt(numel)))
 *   gradient norms (sampled tensors): relative 1e-4
 * When /usr/bin/python3 has torch, the fixtures are also regenerated into a temporary directory
 * with tools/make_fixtures.py and compared the same way (a SKIP line without torch).
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/error.h"
#include "base/threads.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "fixture_params.h"
#include "model/model.h"
#include "test.h"
#include "test_util.h"

#if REAL_IS_DOUBLE
#error "test_model_fixture runs the float build"
#endif

/* ---- fixture tensors through src/io/safetensors ---- */

typedef Safetensors StFile;

static int st_open(StFile *f, const char *path) {
    Err e = {{0}};
    if (st_open_file(f, path, &e) != 0) { printf("  %s\n", e.msg); st_free(f); return -1; }
    return 0;
}

static void st_close(StFile *f) { st_free(f); }

/* Returns the tensor as doubles (malloc'ed, caller frees) and its element count; NULL if absent. */
static double *st_get(const StFile *f, const char *name, size_t *numel) {
    const StTensor *t = st_find(f, name);
    if (!t) return NULL;
    size_t n = (size_t)t->numel;
    double *out = xmalloc((n ? n : 1) * sizeof *out);
    Err e = {{0}};
    if (t->dtype == ST_I32 || t->dtype == ST_I64) {
        int64_t *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
        CHECKF(st_read(f, t, tmp, ST_I64, &e) == 0, "%s", e.msg);
        for (size_t i = 0; i < n; i++) out[i] = (double)tmp[i];
        free(tmp);
    } else {
        CHECKF(st_read(f, t, out, ST_F64, &e) == 0, "%s", e.msg);
    }
    *numel = n;
    return out;
}

static double st_scalar(const StFile *f, const char *name) {
    size_t n;
    double *v = st_get(f, name, &n);
    CHECKF(v && n == 1, "fixture tensor %s missing", name);
    double x = v[0];
    free(v);
    return x;
}

static size_t sample_index(size_t k, size_t n) { return (size_t)(((uint64_t)k * 2654435761ull) % n); }

/* ---- comparison ---- */

typedef struct Stats { int tensors, bad; double worst; } Stats;

/* c [n] against r [n] with |c − r| <= atol + rtol·|r|; returns 1 if ok. */
static int close_arrays(const char *what, const double *c, const double *r, size_t n, double atol,
                        double rtol, Stats *st) {
    size_t worst_i = 0;
    double worst_x = -1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(c[i] - r[i]), excess = d - (atol + rtol * fabs(r[i]));
        if (isnan(d)) excess = INFINITY;
        if (excess > worst_x) { worst_x = excess; worst_i = i; }
        double rel = d / (atol + rtol * fabs(r[i]));
        if (st && rel > st->worst) st->worst = rel;
    }
    if (st) st->tensors++;
    if (n && worst_x > 0) {
        if (!st || st->bad < 6)
            printf("  %s[%zu]: C %.8g vs ref %.8g (atol %.2g rtol %.2g)\n", what, worst_i, c[worst_i],
                   r[worst_i], atol, rtol);
        if (st) st->bad++;
        return 0;
    }
    return 1;
}

static double max_abs(const double *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) if (fabs(x[i]) > m) m = fabs(x[i]);
    return m;
}

/* Runs the model on fixture dir `dir` and compares everything. Returns the number of failed
 * checks (0 = all good); missing files count as failures. */
static int check_fixture(const char *dir) {
    char path[1024];
    int fails = 0;
    Err e = {{0}};
    ModelConfig cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (config_load(&cfg, path, &e) != 0) { printf("  %s\n", e.msg); return 1; }
    snprintf(path, sizeof path, "%s/meta.json", dir);
    cJSON *meta = json_load_file(path, &e);
    if (!meta) { printf("  %s\n", e.msg); return 1; }
    const int seed = (int)cJSON_GetObjectItem(meta, "seed")->valuedouble;
    const int B = (int)cJSON_GetObjectItem(meta, "batch")->valuedouble;
    const int T = (int)cJSON_GetObjectItem(meta, "seq")->valuedouble;
    ModelOptions opt = {0};
    opt.mtp_lambda = cJSON_GetObjectItem(meta, "mtp_lambda")->valuedouble;
    opt.seq_aux_alpha = cJSON_GetObjectItem(meta, "seq_aux_alpha")->valuedouble;
    const double param_count = cJSON_GetObjectItem(meta, "param_count")->valuedouble;
    cJSON_Delete(meta);
    StFile st;
    snprintf(path, sizeof path, "%s/ref.safetensors", dir);
    if (st_open(&st, path) != 0) { printf("  %s: unreadable\n", path); return 1; }

    Model m;
    model_init(&m, &cfg);
    if ((double)m.table.count != param_count) {
        printf("  param_count: C %zu vs ref %.0f\n", m.table.count, param_count);
        fails++;
    }
    fixture_init_params(&m.table, m.params, (uint64_t)seed);
    const int N = B * T, V = cfg.vocab_size;
    size_t n;
    double *tok = st_get(&st, "tokens", &n);
    CHECK(tok && n == (size_t)N);
    int *tokens = xmalloc(N * sizeof *tokens), *targets = xmalloc(N * sizeof *targets);
    int *tok_check = xmalloc(N * sizeof *tok_check);
    fixture_tokens(tok_check, B, T, V, (uint64_t)seed);
    for (int i = 0; i < N; i++) {
        tokens[i] = (int)tok[i];
        if (tokens[i] != tok_check[i]) { fails++; printf("  token %d differs from fixture init\n", i); break; }
    }
    for (int i = 0; i < N; i++) targets[i] = i % T + 1 < T ? tokens[i + 1] : -1;
    free(tok);
    free(tok_check);

    ModelActs a;
    model_acts_init(&a, &m, B, T);
    ModelLosses l = model_forward(&m, &a, tokens, targets, B, T, &opt);

    /* logits */
    double *ref = st_get(&st, "logits", &n);
    if (ref) {
        CHECK(n == (size_t)N * V);
        double *c = xmalloc(n * sizeof *c);
        for (size_t i = 0; i < n; i++) c[i] = a.logits[i];
        fails += !close_arrays("logits", c, ref, n, 2e-5 * max_abs(ref, n), 1e-4, NULL);
        free(c);
    } else {
        ref = st_get(&st, "logits_sample", &n);
        if (!ref) { printf("  no logits in the fixture\n"); fails++; }
        else {
            double c[4096];
            CHECK(n <= 4096);
            for (size_t k = 0; k < n; k++) c[k] = a.logits[sample_index(k, (size_t)N * V)];
            fails += !close_arrays("logits_sample", c, ref, n, 2e-5 * max_abs(ref, n), 1e-4, NULL);
            double norm = 0;
            for (size_t i = 0; i < (size_t)N * V; i++) norm += (double)a.logits[i] * a.logits[i];
            double rn = st_scalar(&st, "logits_norm"), cn = sqrt(norm);
            fails += !close_arrays("logits_norm", &cn, &rn, 1, 0, 1e-4, NULL);
        }
    }
    free(ref);
    /* losses */
    double cl[4] = {l.loss, l.mtp_loss, l.aux_loss, l.total};
    const char *ln[4] = {"loss", "mtp_loss", "aux_loss", "total_loss"};
    for (int i = 0; i < 4; i++) {
        double r = st_scalar(&st, ln[i]);
        fails += !close_arrays(ln[i], &cl[i], &r, 1, 1e-5, 1e-4, NULL);
    }
    printf("  loss %.6f mtp %.6f aux %.6f total %.6f\n", l.loss, l.mtp_loss, l.aux_loss, l.total);
    /* expert counts */
    for (int layer = 0; layer < cfg.num_hidden_layers + cfg.num_nextn_predict_layers; layer++) {
        const int *cnt = model_expert_counts(&a, &cfg, layer);
        char name[64];
        snprintf(name, sizeof name, "expert_counts.%d", layer);
        double *rc = st_get(&st, name, &n);
        if (!cnt) { if (rc) { printf("  %s in the fixture for a dense layer\n", name); fails++; } free(rc); continue; }
        if (!rc || n != (size_t)cfg.n_routed_experts) { printf("  %s missing\n", name); fails++; free(rc); continue; }
        for (int e2 = 0; e2 < cfg.n_routed_experts; e2++)
            if (cnt[e2] != (int)rc[e2]) { printf("  %s[%d]: C %d vs ref %.0f\n", name, e2, cnt[e2], rc[e2]); fails++; break; }
        free(rc);
    }
    /* gradients */
    real *grads = xcalloc(m.table.total, sizeof(real));
    model_backward(&m, &a, grads, NULL);
    Stats gs = {0};
    for (int ti = 0; ti < m.table.n; ti++) {
        const ParamInfo *p = &m.table.t[ti];
        char name[160];
        snprintf(name, sizeof name, "grad.%s", p->name);
        double *r = st_get(&st, name, &n);
        const real *g = grads + p->offset;
        if (r) {
            CHECK(n == p->numel);
            double *c = xmalloc(n * sizeof *c);
            for (size_t i = 0; i < n; i++) c[i] = g[i];
            close_arrays(name, c, r, n, 1e-4 * max_abs(r, n) + 1e-7, 1e-3, &gs);
            free(c);
            free(r);
            continue;
        }
        snprintf(name, sizeof name, "grad_sample.%s", p->name);
        r = st_get(&st, name, &n);
        if (!r) { printf("  %s: no gradient in the fixture\n", p->name); gs.bad++; continue; }
        size_t want = p->numel < 64 ? p->numel : 64;
        CHECK(n == want);
        double c[64], norm = 0;
        for (size_t k = 0; k < n; k++) c[k] = g[sample_index(k, p->numel)];
        for (size_t i = 0; i < p->numel; i++) norm += (double)g[i] * g[i];
        snprintf(name, sizeof name, "grad_norm.%s", p->name);
        double rn = st_scalar(&st, name), cn = sqrt(norm);
        double scale = fmax(max_abs(r, n), rn / sqrt((double)p->numel));
        close_arrays(name, c, r, n, 1e-4 * scale + 1e-7, 1e-3, &gs);
        close_arrays(name, &cn, &rn, 1, 1e-7, 1e-4, &gs);
        free(r);
    }
    printf("  %d gradient checks, %d failed, worst error/tolerance %.2e\n", gs.tensors, gs.bad, gs.worst);
    fails += gs.bad;
    free(grads);
    free(tokens);
    free(targets);
    model_acts_free(&a);
    model_free(&m);
    st_close(&st);
    return fails;
}

static void test_fixture_a_plain(void) { EXPECT(check_fixture("tests/fixtures/model/a_plain") == 0); }
static void test_fixture_c_yarn_mtp(void) { EXPECT(check_fixture("tests/fixtures/model/c_yarn_mtp") == 0); }
static void test_fixture_b_bench(void) { EXPECT(check_fixture("tests/fixtures/model/b_bench") == 0); }
static void test_fixture_d_llama(void) { EXPECT(check_fixture("tests/fixtures/model/d_llama") == 0); }
static void test_fixture_e_qwen2(void) { EXPECT(check_fixture("tests/fixtures/model/e_qwen2") == 0); }

/* c_yarn_mtp with the fixture init of seed, B×T fixture tokens (seed + 1) with their next-token
 * targets, and activations for them. */
typedef struct Batch {
    Model m;
    ModelActs a;
    int tokens[64], targets[64];
} Batch;

static void batch_init(Batch *k, int B, int T, uint64_t seed) {
    Err e = {{0}};
    CHECK(B * T <= 64);
    CHECKF(fixture_load_model_seed(&k->m, "c_yarn_mtp", seed, &e) == 0, "%s", e.msg);
    fixture_tokens(k->tokens, B, T, k->m.cfg.vocab_size, seed + 1);
    fixture_next_targets(k->targets, k->tokens, B, T);
    model_acts_init(&k->a, &k->m, B, T);
}

static void batch_free(Batch *k) {
    model_acts_free(&k->a);
    model_free(&k->m);
}

/* Same inputs and thread count, same bits: forward + backward twice on the c_yarn_mtp config
 * (MoE with groups, MTP, α > 0) at 2 threads gives identical losses, logits and gradients; and
 * so does a forward that forms the heads' gradients itself (head_grad_in_forward). */
static void test_repeatable_bits(void) {
    int prev = threads_count();
    threads_set(2);
    enum { B = 3, T = 20 };
    Batch k;
    batch_init(&k, B, T, 5);
    const ModelConfig cfg = k.m.cfg;
    ModelOptions opt = {.mtp_lambda = 0.3, .seq_aux_alpha = 0.1};
    size_t nl = (size_t)B * T * cfg.vocab_size;
    real *g1 = xcalloc(k.m.table.total, sizeof(real)), *g2 = xcalloc(k.m.table.total, sizeof(real));
    real *l1 = xmalloc(nl * sizeof(real));
    ModelLosses r1 = model_forward(&k.m, &k.a, k.tokens, k.targets, B, T, &opt);
    memcpy(l1, k.a.logits, nl * sizeof(real));
    model_backward(&k.m, &k.a, g1, NULL);
    ModelLosses r2 = model_forward(&k.m, &k.a, k.tokens, k.targets, B, T, &opt);
    EXPECT(!memcmp(l1, k.a.logits, nl * sizeof(real)));
    model_backward(&k.m, &k.a, g2, NULL);
    EXPECT(r1.total == r2.total && r1.aux_loss == r2.aux_loss && r1.mtp_loss == r2.mtp_loss);
    EXPECT(!memcmp(g1, g2, k.m.table.total * sizeof(real)));
    /* the heads' gradients formed in forward: the same losses, logits-gradient and gradients */
    memcpy(l1, k.a.logits, nl * sizeof(real));                 /* backward left dlogits there */
    ModelOptions fused = opt;
    fused.head_grad_in_forward = 1;
    real *g3 = xcalloc(k.m.table.total, sizeof(real));
    ModelLosses r3 = model_forward(&k.m, &k.a, k.tokens, k.targets, B, T, &fused);
    EXPECT(!memcmp(l1, k.a.logits, nl * sizeof(real)));
    model_backward(&k.m, &k.a, g3, NULL);
    EXPECT(r1.total == r3.total && r1.mtp_loss == r3.mtp_loss);
    EXPECT(!memcmp(g1, g3, k.m.table.total * sizeof(real)));
    free(g1);
    free(g2);
    free(g3);
    free(l1);
    batch_free(&k);
    threads_set(prev);
}

/* Causality: the logits of a prefix do not depend on what follows (B = 1, no targets, T = 1
 * included); with no targets loss and mtp_loss are 0 (the balance loss needs none). */
static void test_prefix_logits_causal(void) {
    Model m;
    Err e = {{0}};
    CHECKF(fixture_load_model_seed(&m, "c_yarn_mtp", 9, &e) == 0, "%s", e.msg);
    const ModelConfig cfg = m.cfg;
    enum { T = 20 };
    const int V = cfg.vocab_size;
    int tokens[T];
    fixture_tokens(tokens, 1, T, V, 10);
    ModelActs a;
    model_acts_init(&a, &m, 1, T);
    ModelOptions opt = {.mtp_lambda = 0.3, .seq_aux_alpha = 0.1};
    ModelLosses l = model_forward(&m, &a, tokens, NULL, 1, T, &opt);
    EXPECT(l.loss == 0 && l.mtp_loss == 0 && l.n_valid == 0 && l.aux_loss > 0);   /* aux needs no targets */
    double *full = xmalloc((size_t)T * V * sizeof *full);
    for (int i = 0; i < T * V; i++) full[i] = a.logits[i];
    int lens[] = {1, 7, 13};
    for (int k = 0; k < 3; k++) {
        model_forward(&m, &a, tokens, NULL, 1, lens[k], &opt);
        double *pre = xmalloc((size_t)lens[k] * V * sizeof *pre);
        for (int i = 0; i < lens[k] * V; i++) pre[i] = a.logits[i];
        EXPECTF(close_arrays("prefix logits", pre, full, (size_t)lens[k] * V, 1e-4, 1e-4, NULL),
                "prefix of length %d", lens[k]);
        free(pre);
    }
    free(full);
    model_acts_free(&a);
    model_free(&m);
}

/* Expert loads summed over two forwards drive the sign-rule bias update of every MoE layer
 * (main and MTP), and nothing else in the parameters moves. */
static void test_bias_update_from_loads(void) {
    enum { B = 2, T = 16 };
    Batch bt;
    batch_init(&bt, B, T, 5);
    const ModelConfig cfg = bt.m.cfg;
    ModelOptions opt = {.mtp_lambda = 0.3};
    const int L = cfg.num_hidden_layers, M = cfg.num_nextn_predict_layers, E = cfg.n_routed_experts;
    int64_t *acc = xcalloc((size_t)(L + M) * E, sizeof *acc);
    for (int rep = 0; rep < 2; rep++) {
        model_forward(&bt.m, &bt.a, bt.tokens, bt.targets, B, T, &opt);
        model_expert_counts_add(&bt.a, &cfg, acc);
    }
    real *before = xmalloc(bt.m.table.total * sizeof(real));
    memcpy(before, bt.m.params, bt.m.table.total * sizeof(real));
    const double gamma = 0.01;
    model_bias_update(&bt.m, acc, gamma);
    int moved = 0;
    for (int ti = 0; ti < bt.m.table.n; ti++) {
        const ParamInfo *p = &bt.m.table.t[ti];
        for (size_t j = 0; j < p->numel; j++) {
            double d = (double)bt.m.params[p->offset + j] - before[p->offset + j];
            if (p->kind != PARAM_ROUTER_BIAS) { if (d != 0) { EXPECTF(0, "%s moved", p->name); break; } continue; }
            const int64_t *c = acc + (size_t)p->layer * E;
            int expect_tokens = p->layer < L ? 2 * B * T : 2 * B * (T - (p->layer - L + 1));
            int64_t sum = 0;
            for (int k = 0; k < E; k++) sum += c[k];
            EXPECT(sum == (int64_t)expect_tokens * cfg.num_experts_per_tok);
            double mean = (double)sum / E, want = mean > c[j] ? gamma : mean < c[j] ? -gamma : 0;
            EXPECT_NEAR(d, want, 1e-6, 0);
            moved += d != 0;
        }
    }
    EXPECT(moved > 0);
    free(before);
    free(acc);
    batch_free(&bt);
}

/* Regenerates the fixtures with the PyTorch reference when /usr/bin/python3 has torch. */
static void test_fixture_live_torch(void) {
    SKIP_IF(tu_no_torch());
    char dir[] = "/tmp/r1_model_fixture_XXXXXX";
    int made = mkdtemp(dir) != NULL;
    EXPECT(made);
    if (!made) return;
    const char *names[] = {"a_plain", "c_yarn_mtp", "d_llama", "e_qwen2"};
    for (int i = 0; i < 4; i++) {
        char cmd[1024], sub[1100];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 tools/make_fixtures.py --out %s --only %s >/dev/null 2>&1", dir,
                 names[i]);
        EXPECTF(system(cmd) == 0, "%s failed", cmd);
        snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
        EXPECTF(check_fixture(sub) == 0, "live fixture %s", names[i]);
    }
    char rm[1100];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0) printf("  could not remove %s\n", dir);
}

int main(void) {
    RUN(test_fixture_a_plain);
    RUN(test_fixture_c_yarn_mtp);
    RUN(test_fixture_b_bench);
    RUN(test_fixture_d_llama);
    RUN(test_fixture_e_qwen2);
    RUN(test_repeatable_bits);
    RUN(test_prefix_logits_causal);
    RUN(test_bias_update_from_loads);
    RUN(test_fixture_live_torch);
    return TEST_EXIT();
}
