/* The pretraining loop end to end on a tiny DeepSeek-V3 (tests/fixtures/train/config.json: MLA
 * with q_lora, one dense and one MoE layer, noaux_tc routing, one MTP module):
 *   - ten steps match the losses, gradient norms and learning rates of tools/ref_train.py;
 *   - a tiny model memorises a small corpus;
 *   - N steps + resume + N steps = 2N steps, bit for bit, at 1 and 2 threads;
 *   - a checkpoint interrupted half-way (simulated, and a real SIGKILL) leaves the previous one
 *     loadable; truncated or altered files are refused;
 *   - bad inputs fail before any work; the NaN/Inf guard stops or skips. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/rng.h"
#include "base/threads.h"
#include "fixture_params.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/pretrain.h"
#include "train/tokcache.h"

#define FIXTURE_DIR "tests/fixtures/train"
static char tmpdir[256];
static char cfg_path[512];

static const char *tpath(const char *name) { return tu_path(tmpdir, name); }

static void fixture_init(const ParamTable *pt, const ModelConfig *cfg, real *params, uint64_t seed) {
    (void)cfg;
    fixture_init_params(pt, params, seed);
}

/* A stream of n tokens < V from Philox, written as a token cache. */
static void random_tokens(const char *path, uint64_t n, int V, uint64_t seed) {
    uint32_t *t = malloc(n * sizeof *t);
    Rng r = rng_make(seed, RNG_TEST, 11, 0);
    for (uint64_t i = 0; i < n; i++) t[i] = (uint32_t)rng_below(&r, (uint64_t)V);
    Err e;
    CHECK(tokcache_write(path, t, n, 0, 1, &e) == 0);
    free(t);
}

/* res.bin: 400 tokens below 48 (seed 5), the data of the short runs; returns its path. */
static const char *res_tokens(void) {
    const char *tp = tpath("res.bin");
    random_tokens(tp, 400, 48, 5);
    return tp;
}

static PretrainOptions base_options(const char *out, const char *tokens) {
    PretrainOptions o = pretrain_defaults();
    o.config_path = cfg_path;
    o.tokens_path = tokens;
    o.run.out_dir = out;
    o.batch = 2;
    o.seq_len = 8;
    o.grad_accum = 2;
    o.steps = 8;
    o.optim.learning_rate = 1e-2;
    o.optim.warmup_steps = 2;
    o.val_frac = 0.2;
    o.eval_every = 2;
    o.eval_batches = 2;
    o.run.save_every = 0;
    o.run.keep = 0;
    o.optim.bias_update_speed = 0.01;
    o.seed = 3;
    o.run.quiet = 1;
    return o;
}

/* ---- ten steps against the PyTorch reference ---- */

static void test_matches_reference(void) {
    Err e = {{0}};
    cJSON *ref = json_load_file(FIXTURE_DIR "/ref.json", &e);
    EXPECTF(ref, "%s", e.msg);
    if (!ref) return;
    const cJSON *opt = cJSON_GetObjectItem(ref, "options"), *toks = cJSON_GetObjectItem(ref, "tokens");
    const cJSON *steps = cJSON_GetObjectItem(ref, "steps");
#define REF(k) cJSON_GetObjectItem(opt, k)->valuedouble
    int n = cJSON_GetArraySize(toks);
    uint32_t *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) t[i] = (uint32_t)cJSON_GetArrayItem(toks, i)->valueint;
    const char *tp = tpath("ref_tokens.bin");
    CHECK(tokcache_write(tp, t, (uint64_t)n, 0, 1, &e) == 0);
    free(t);
    PretrainOptions o = pretrain_defaults();
    o.config_path = FIXTURE_DIR "/config.json";
    o.tokens_path = tp;
    o.run.out_dir = tpath("ref_run");
    o.steps = (int64_t)REF("steps");
    o.batch = (int)REF("batch");
    o.seq_len = (int)REF("seq_len");
    o.grad_accum = (int)REF("grad_accum");
    o.optim.learning_rate = REF("lr");
    o.optim.warmup_steps = (int64_t)REF("warmup");
    o.optim.min_lr_ratio = REF("min_lr_ratio");
    o.optim.lr_scheduler = SCHED_COSINE;
    o.optim.adamw.beta1 = REF("beta1");
    o.optim.adamw.beta2 = REF("beta2");
    o.optim.adamw.eps = REF("eps");
    o.optim.adamw.weight_decay = REF("weight_decay");
    o.optim.max_grad_norm = REF("clip");
    o.mtp_lambda = REF("mtp_lambda");
    o.seq_aux_alpha = 0;
    o.optim.bias_update_speed = REF("bias_update_speed");
    o.seed = (uint64_t)REF("seed");
    o.init_seed = (uint64_t)REF("init_seed");
    o.init_params = fixture_init;
    o.val_frac = 0;
    o.eval_every = 0;
    o.run.save_every = 0;
    o.run.quiet = 1;
    PretrainResult res;
    int rc = pretrain_run(&o, &res, &e);
    EXPECTF(rc == 0, "%s", e.msg);
    if (rc == 0) {
        double loss[16], mtp[16], norm[16], lr[16];
        int k = tu_read_metric(o.run.out_dir, "loss", loss, 16);
        tu_read_metric(o.run.out_dir, "mtp_loss", mtp, 16);
        tu_read_metric(o.run.out_dir, "grad_norm", norm, 16);
        tu_read_metric(o.run.out_dir, "lr", lr, 16);
        EXPECT(k == cJSON_GetArraySize(steps));
        for (int s = 0; s < k && s < cJSON_GetArraySize(steps); s++) {
            const cJSON *r = cJSON_GetArrayItem(steps, s);
            EXPECT_NEAR(loss[s], cJSON_GetObjectItem(r, "loss")->valuedouble, 0, 2e-4);
            EXPECT_NEAR(mtp[s], cJSON_GetObjectItem(r, "mtp_loss")->valuedouble, 0, 2e-4);
            EXPECT_NEAR(norm[s], cJSON_GetObjectItem(r, "grad_norm")->valuedouble, 0, 1e-3);
            EXPECT_NEAR(lr[s], cJSON_GetObjectItem(r, "lr")->valuedouble, 0, 1e-7);
        }
        /* the loss went down over the ten steps (the reference's does) */
        EXPECT(k >= 10 && loss[9] < loss[0] - 0.3);
    }
    cJSON_Delete(ref);
#undef REF
}

/* ---- memorisation ---- */

static void test_memorises_small_corpus(void) {
    const char *tp = tpath("mem.bin");
    random_tokens(tp, 4 * 16 + 1, 48, 99);   /* 4 sequences of 16+1 random tokens */
    PretrainOptions o = base_options(tpath("mem_run"), tp);
    o.batch = 4;
    o.seq_len = 16;
    o.grad_accum = 1;
    o.steps = 150;
    o.optim.learning_rate = 1e-2;
    o.optim.warmup_steps = 10;
    o.optim.min_lr_ratio = 0.1;
    o.optim.adamw.weight_decay = 0.0;
    o.val_frac = 0;
    o.eval_every = 0;
    PretrainResult res;
    Err e = {{0}};
    int rc = pretrain_run(&o, &res, &e);
    EXPECTF(rc == 0, "%s", e.msg);
    /* from ln(48) ≈ 3.87 to below 0.05: the 64 tokens are memorised */
    printf("  memorisation: final loss %.4f after %lld steps\n", res.last_loss, (long long)res.steps_done);
    EXPECTF(res.last_loss < 0.05, "final loss %.4f (bound 0.05)", res.last_loss);
    EXPECT(res.steps_done == 150 && res.skipped == 0);
    /* the final model folder */
    EXPECT(file_exists(tpath("mem_run/config.json")) && file_exists(tpath("mem_run/model.safetensors")));
    EXPECT(file_exists(tpath("mem_run/checkpoints/step-150/trainer_state/state.json")));
}

/* ---- resume: bit for bit ---- */

static void resume_case(int threads) {
    threads_set(threads);
    char name[64];
    const char *tp = res_tokens();
    Err e = {{0}};
    PretrainResult ra, rb, rc_;
    snprintf(name, sizeof name, "res_full_%d", threads);
    PretrainOptions a = base_options(tpath(name), tp);
    EXPECTF(pretrain_run(&a, &ra, &e) == 0, "%s", e.msg);
    snprintf(name, sizeof name, "res_part_%d", threads);
    PretrainOptions b = base_options(tpath(name), tp);
    b.run.stop_after = 4;   /* as if SIGINT arrived during step 4 */
    EXPECTF(pretrain_run(&b, &rb, &e) == 0, "%s", e.msg);
    EXPECT(rb.interrupted && rb.steps_done == 4);
    snprintf(name, sizeof name, "res_part_%d/checkpoints/step-4/trainer_state/state.json", threads);
    EXPECT(file_exists(tpath(name)));
    PretrainOptions c = base_options(b.run.out_dir, tp);
    c.run.resume = 1;
    c.steps = 0;            /* the saved total */
    c.config_path = NULL;   /* comes from the checkpoint */
    EXPECTF(pretrain_run(&c, &rc_, &e) == 0, "%s", e.msg);
    EXPECT(rc_.steps_done == 8 && !rc_.interrupted);
    char pa[600], pc[600];
    snprintf(pa, sizeof pa, "%s/model.safetensors", a.run.out_dir);
    snprintf(pc, sizeof pc, "%s/model.safetensors", c.run.out_dir);
    EXPECTF(tu_same_file(pa, pc), "final parameters differ after resume (%d threads)", threads);
    snprintf(pa, sizeof pa, "%s/checkpoints/step-8/trainer_state/optimizer.safetensors", a.run.out_dir);
    snprintf(pc, sizeof pc, "%s/checkpoints/step-8/trainer_state/optimizer.safetensors", c.run.out_dir);
    EXPECTF(tu_same_file(pa, pc), "AdamW moments differ after resume (%d threads)", threads);
    double la[16], lc[16], va[16], vc[16];
    int na = tu_read_metric(a.run.out_dir, "loss", la, 16), nc = tu_read_metric(c.run.out_dir, "loss", lc, 16);
    tu_read_metric(a.run.out_dir, "val_loss", va, 16);
    tu_read_metric(c.run.out_dir, "val_loss", vc, 16);
    EXPECT(na == 8 && nc == 8);
    for (int s = 0; s < na && s < nc; s++) {
        EXPECTF(la[s] == lc[s], "step %d loss %.9g vs resumed %.9g", s + 1, la[s], lc[s]);
        EXPECT((isnan(va[s]) && isnan(vc[s])) || va[s] == vc[s]);
    }
    EXPECT(!isnan(va[1]) && isnan(va[0]));   /* eval every 2 steps */
    EXPECT(ra.val_loss == rc_.val_loss);
}

static void test_resume_bit_exact_1_thread(void) { resume_case(1); }
static void test_resume_bit_exact_2_threads(void) { resume_case(2); }

/* ---- interrupted checkpoints, corrupt files ---- */

static void test_interrupted_checkpoint_keeps_previous(void) {
    threads_set(2);
    const char *tp = res_tokens();
    Err e = {{0}};
    PretrainResult r;
    /* fault in the 2nd save (step 4), half-way through optimizer.safetensors: a full disk */
    PretrainOptions o = base_options(tpath("int_run"), tp);
    o.run.save_every = 2;
    o.run.ckpt_fault = 2;
    EXPECT(pretrain_run(&o, &r, &e) == -1);
    EXPECTF(strstr(e.msg, "step 4") && strstr(e.msg, "previous checkpoint is intact") &&
            strstr(e.msg, "write failed"), "msg: %s", e.msg);
    char dir[600];
    int64_t step = -1;
    EXPECT(checkpoint_latest(tpath("int_run/checkpoints"), dir, sizeof dir, &step, &e) == 1 && step == 2);
    EXPECT(!file_exists(tpath("int_run/checkpoints/step-4")));
    TrainerState st;
    EXPECTF(checkpoint_read_state(dir, &st, &e) == 0, "%s", e.msg);
    EXPECT(st.step == 2);
    trainer_state_free(&st);
    /* resuming from step 2 reaches the uninterrupted run's bits */
    PretrainOptions c = base_options(o.run.out_dir, tp);
    c.run.resume = 1;
    c.steps = 0;
    EXPECTF(pretrain_run(&c, &r, &e) == 0, "%s", e.msg);
    PretrainOptions a = base_options(tpath("int_ref"), tp);
    EXPECTF(pretrain_run(&a, &r, &e) == 0, "%s", e.msg);
    EXPECT(tu_same_file(tpath("int_run/model.safetensors"), tpath("int_ref/model.safetensors")));
    EXPECT(!file_exists(tpath("int_run/checkpoints/.tmp-step-4")));
}

/* A child process training on fresh tokens (tp) into out = tpath(run), in the --child mode given:
 * a fresh process, as OpenMP does not survive fork(). */
static pid_t start_child(const char *mode, const char *run, char out[512], char tp[512]) {
    snprintf(tp, 512, "%s", tpath("kill.bin"));
    random_tokens(tp, 4000, 48, 6);
    snprintf(out, 512, "%s", tpath(run));
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_train_loop", "--child", mode, out, tp, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The latest complete checkpoint of the run in out is at step 3 or later and reads back with its
 * step; returns the step. */
static int64_t expect_latest_checkpoint(const char *out) {
    char ckpts[600], dir[600];
    snprintf(ckpts, sizeof ckpts, "%s/checkpoints", out);
    int64_t step = -1;
    Err e = {{0}};
    EXPECT(checkpoint_latest(ckpts, dir, sizeof dir, &step, &e) == 1 && step >= 3);
    TrainerState st;
    int rc = checkpoint_read_state(dir, &st, &e);
    EXPECTF(rc == 0, "%s", e.msg);
    if (rc == 0) {
        EXPECT(st.step == step);
        trainer_state_free(&st);
    }
    return step;
}

/* A real kill while checkpoints are being written: the latest complete checkpoint verifies. */
static void test_killed_during_checkpoint(void) {
    char tp[512], out[512];
    pid_t pid = start_child("kill", "kill_run", out, tp);
    /* wait until a few checkpoints exist and a save is under way, then kill */
    int tries = 0, killed_in_save = 0;
    char tmp[600];
    while (tries++ < 20000) {
        int64_t s = -1;
        char dir[600];
        Err e;
        if (checkpoint_latest(tpath("kill_run/checkpoints"), dir, sizeof dir, &s, &e) == 1 && s >= 3) {
            snprintf(tmp, sizeof tmp, "%s/checkpoints/.tmp-step-%lld", out, (long long)s + 1);
            if (file_exists(tmp)) { kill(pid, SIGKILL); killed_in_save = 1; break; }
        }
        usleep(200);
    }
    if (!killed_in_save) kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    EXPECT(WIFSIGNALED(status));
    int64_t step = expect_latest_checkpoint(out);
    /* and the run resumes from it (for two more steps) */
    Err e = {{0}};
    PretrainOptions c = base_options(out, tp);
    c.run.resume = 1;
    c.steps = step + 2;
    c.eval_every = 0;
    PretrainResult r;
    EXPECTF(pretrain_run(&c, &r, &e) == 0, "%s", e.msg);
    EXPECT(r.steps_done == step + 2);
}

/* SIGINT: the handler's flag makes the loop write a checkpoint and return normally. */
static volatile sig_atomic_t child_stop;
static void child_on_sigint(int sig) { (void)sig; child_stop = 1; }

static void test_sigint_writes_checkpoint(void) {
    char tp[512], out[512];
    pid_t pid = start_child("sigint", "sig_run", out, tp);
    double v[8];
    for (int tries = 0; tries < 20000 && tu_read_metric(out, "loss", v, 8) < 3; tries++) usleep(500);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_latest_checkpoint(out);
}

static void test_corrupt_checkpoint_refused(void) {
    const char *tp = res_tokens();
    Err e = {{0}};
    PretrainResult r;
    PretrainOptions o = base_options(tpath("bad_run"), tp);
    o.steps = 2;
    EXPECTF(pretrain_run(&o, &r, &e) == 0, "%s", e.msg);
    const char *dir = tpath("bad_run/checkpoints/step-2");
    const char *model = tpath("bad_run/checkpoints/step-2/model.safetensors");
    const char *optf = tpath("bad_run/checkpoints/step-2/trainer_state/optimizer.safetensors");
    size_t n;
    char *orig = file_read_all(model, &n, &e);
    CHECK(orig);
    TrainerState st;
    /* truncated */
    EXPECT(truncate(model, (off_t)(n - 100)) == 0);
    EXPECT(checkpoint_read_state(dir, &st, &e) == -1);
    EXPECTF(strstr(e.msg, "model.safetensors") && strstr(e.msg, "truncated"), "msg: %s", e.msg);
    PretrainOptions c = base_options(o.run.out_dir, tp);
    c.run.resume = 1;
    c.steps = 0;
    EXPECT(pretrain_run(&c, &r, &e) == -1 && strstr(e.msg, "truncated"));
    /* altered: one byte of the data flipped, same size */
    orig[n - 7] ^= 0x20;
    CHECK(file_write_atomic(model, orig, n, &e) == 0);
    EXPECT(checkpoint_read_state(dir, &st, &e) == -1);
    EXPECTF(strstr(e.msg, "model.safetensors") && strstr(e.msg, "altered"), "msg: %s", e.msg);
    orig[n - 7] ^= 0x20;
    CHECK(file_write_atomic(model, orig, n, &e) == 0);
    EXPECTF(checkpoint_read_state(dir, &st, &e) == 0, "%s", e.msg);
    trainer_state_free(&st);
    free(orig);
    /* the optimizer file too */
    char *ob = file_read_all(optf, &n, &e);
    CHECK(ob);
    ob[n / 2] ^= 1;
    CHECK(file_write_atomic(optf, ob, n, &e) == 0);
    EXPECT(checkpoint_read_state(dir, &st, &e) == -1 && strstr(e.msg, "optimizer.safetensors"));
    free(ob);
}

/* ---- bad input before any work; the NaN/Inf guard ---- */

static void test_bad_inputs(void) {
    Err e = {{0}};
    PretrainResult r;
    const char *tp = res_tokens();
    PretrainOptions o = base_options(tpath("bad_in"), tp);
    o.seq_len = 65;   /* config max_position_embeddings = 64 */
    EXPECT(pretrain_run(&o, &r, &e) == -1 && strstr(e.msg, "max_position_embeddings"));
    const char *big = tpath("bigid.bin");
    random_tokens(big, 400, 60, 5);   /* ids up to 59 > vocab 48 */
    o = base_options(tpath("bad_in"), big);
    EXPECT(pretrain_run(&o, &r, &e) == -1 && strstr(e.msg, "vocab_size"));
    const char *empty = tpath("empty.bin");
    CHECK(tokcache_write(empty, NULL, 0, 0, 1, &e) == 0);
    o = base_options(tpath("bad_in"), empty);
    EXPECT(pretrain_run(&o, &r, &e) == -1 && strstr(e.msg, "too few"));
    o = base_options(tpath("bad_in"), tp);
    o.steps = 0;
    o.tokens = 0;
    EXPECT(pretrain_run(&o, &r, &e) == -1 && strstr(e.msg, "--steps"));
    o.tokens = -1;   /* each bad option is named alone */
    EXPECTF(pretrain_run(&o, &r, &e) == -1 && !strncmp(e.msg, "--tokens: -1: must be >= 0", 26), "%s", e.msg);
    /* an out folder that holds checkpoints needs --resume */
    o = base_options(tpath("bad_in2"), tp);
    o.steps = 1;
    EXPECTF(pretrain_run(&o, &r, &e) == 0, "%s", e.msg);
    EXPECT(pretrain_run(&o, &r, &e) == -1 && strstr(e.msg, "--resume"));
    o = base_options(tpath("bad_in3"), tp);
    o.run.resume = 1;
    EXPECT(pretrain_run(&o, &r, &e) == -1 && strstr(e.msg, "no checkpoint"));
    /* --tokens gives the step count */
    o = base_options(tpath("bad_in4"), tp);
    o.steps = 0;
    o.tokens = 3 * 2 * 8 * 2 - 5;   /* 3 steps of 2×8×2 tokens, rounded up */
    EXPECTF(pretrain_run(&o, &r, &e) == 0, "%s", e.msg);
    EXPECT(r.steps_done == 3);
}

static void nan_init(const ParamTable *pt, const ModelConfig *cfg, real *params, uint64_t seed) {
    param_init(pt, cfg, params, seed);
    const ParamInfo *p = param_find(pt, "model.norm.weight");
    params[p->offset + 3] = NAN;
}

static void test_nonfinite_guard(void) {
    Err e = {{0}};
    PretrainResult r;
    const char *tp = res_tokens();
    PretrainOptions o = base_options(tpath("nan_run"), tp);
    o.init_params = nan_init;
    o.steps = 3;
    EXPECT(pretrain_run(&o, &r, &e) == -1);
    EXPECTF(strstr(e.msg, "step 1:") && strstr(e.msg, "NaN") && strstr(e.msg, "--skip-nonfinite"), "msg: %s", e.msg);
    o = base_options(tpath("nan_run2"), tp);
    o.init_params = nan_init;
    o.steps = 3;
    o.run.skip_nonfinite = 1;   /* every update skipped, and weights of NaN are never written */
    EXPECT(pretrain_run(&o, &r, &e) == -1);
    EXPECTF(strstr(e.msg, "step 3: the weights hold NaN") && strstr(e.msg, "no checkpoint written"), "msg: %s", e.msg);
    EXPECT(!file_exists(tpath("nan_run2/checkpoints/step-3")) && !file_exists(tpath("nan_run2/model.safetensors")));
}

/* True when every parameter of the checkpoint in dir is finite (loaded through the hashes). */
static int checkpoint_finite(const char *dir) {
    Err e = {{0}};
    TrainerState st;
    if (checkpoint_read_state(dir, &st, &e) != 0) { printf("  %s\n", e.msg); return 0; }
    ModelConfig cfg;
    cJSON *j = json_load_file(tu_path(dir, "config.json"), &e);
    int ok = j && config_from_json(&cfg, j, "config", &e) == 0;
    cJSON_Delete(j);
    Model m;
    AdamW opt;
    if (ok) {
        model_init(&m, &cfg);
        AdamWConfig ac = adamw_defaults();
        adamw_init(&opt, &m.table, &ac);
        ok = checkpoint_load(dir, &m, &opt, &st, &e) == 0;
        for (size_t i = 0; ok && i < m.table.total; i++) ok = isfinite(m.params[i]);
        adamw_free(&opt);
        model_free(&m);
    }
    trainer_state_free(&st);
    return ok;
}

/* A NaN weight or an Inf gradient injected mid-run: the error names the step, and nothing corrupt
 * is written: the latest checkpoint is the last good state, no final model folder. */
static void test_nonfinite_injected_mid_run(void) {
    Err e = {{0}};
    PretrainResult r;
    const char *tp = res_tokens();
    static const struct { int kind, skip; int64_t at; const char *dir, *want; int64_t latest; } CASES[] = {
        {RUN_FAULT_NAN_WEIGHT, 0, 5, "inj_w", "step 5: the loss is NaN", 4},
        {RUN_FAULT_NAN_WEIGHT, 1, 5, "inj_ws", "step 6: the weights hold NaN", 4},
        {RUN_FAULT_INF_GRAD, 0, 3, "inj_g", "step 3: the gradient norm is Inf", 2},
    };
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        PretrainOptions o = base_options(tpath(CASES[c].dir), tp);
        o.run.save_every = 2;
        o.run.fault_step = CASES[c].at;
        o.run.fault_kind = CASES[c].kind;
        o.run.skip_nonfinite = CASES[c].skip;
        EXPECT(pretrain_run(&o, &r, &e) == -1);
        EXPECTF(strstr(e.msg, CASES[c].want) != NULL, "%s: %s", CASES[c].dir, e.msg);
        char root[600], dir[700];
        snprintf(root, sizeof root, "%s/checkpoints", o.run.out_dir);
        int64_t step = -1;
        EXPECT(checkpoint_latest(root, dir, sizeof dir, &step, &e) == 1 && step == CASES[c].latest);
        EXPECTF(checkpoint_finite(dir), "%s: the latest checkpoint is not finite", CASES[c].dir);
        EXPECT(!file_exists(tu_path(o.run.out_dir, "model.safetensors")));
    }
    /* a corrupt batch skipped: the run goes on and its weights stay finite */
    PretrainOptions o = base_options(tpath("inj_gs"), tp);
    o.run.fault_step = 3;
    o.run.fault_kind = RUN_FAULT_INF_GRAD;
    o.run.skip_nonfinite = 1;
    EXPECTF(pretrain_run(&o, &r, &e) == 0, "%s", e.msg);
    EXPECT(r.skipped == 1 && r.steps_done == 8);
    EXPECT(checkpoint_finite(tpath("inj_gs/checkpoints/step-8")));
}

/* What a kill leaves between writes: a half-written checkpoint folder, one checkpoint too many
 * (killed between a save and its pruning), a torn last metrics line. Resuming the finished run
 * clears them: the folder holds what the uninterrupted run's does. */
static void test_resume_clears_kill_leftovers(void) {
    Err e = {{0}};
    PretrainResult r;
    const char *tp = res_tokens();
    PretrainOptions a = base_options(tpath("left_ref"), tp);
    a.run.save_every = 2;
    a.run.keep = 2;
    EXPECTF(pretrain_run(&a, &r, &e) == 0, "%s", e.msg);
    PretrainOptions b = base_options(tpath("left_run"), tp);
    b.run.save_every = 2;
    EXPECTF(pretrain_run(&b, &r, &e) == 0, "%s", e.msg);   /* keep 0: step-2 .. step-8 stay */
    EXPECT(file_exists(tpath("left_run/checkpoints/step-4")));
    EXPECT(file_mkdirs(tpath("left_run/checkpoints/.tmp-step-9/trainer_state"), &e) == 0);
    FILE *f = fopen(tpath("left_run/metrics.jsonl"), "a");
    if (f) { fputs("{\"step\": 8, \"loss\": 1.2", f); fclose(f); }
    PretrainOptions c = base_options(b.run.out_dir, tp);
    c.run.resume = 1;
    c.run.keep = 2;
    c.steps = 0;
    c.config_path = NULL;
    EXPECTF(pretrain_run(&c, &r, &e) == 0, "%s", e.msg);
    StrBuf la = {0}, lb = {0};
    tu_runf(&la, "ls -A %s", tpath("left_ref/checkpoints"));
    tu_runf(&lb, "ls -A %s", tpath("left_run/checkpoints"));
    EXPECTF(!strcmp(la.s, lb.s), "checkpoints: %s vs the uninterrupted run's %s", lb.s, la.s);
    double va[16], vb[16];
    int na = tu_read_metric(a.run.out_dir, "loss", va, 16), nb = tu_read_metric(b.run.out_dir, "loss", vb, 16);
    EXPECT(na == 8 && nb == 8 && !memcmp(va, vb, sizeof va[0] * 8));
    EXPECT(tu_same_file(tpath("left_ref/model.safetensors"), tpath("left_run/model.safetensors")));
    sb_free(&la);
    sb_free(&lb);
}

/* --max-train-tokens: the run stops after the step that reaches the budget (32 tokens a step
 * here), writes its model, and a resume of the finished run runs no further step. */
static void test_train_token_budget(void) {
    Err e = {{0}};
    PretrainResult r;
    const char *tp = res_tokens();
    PretrainOptions o = base_options(tpath("budget"), tp);
    o.run.max_train_tokens = 100;
    EXPECTF(pretrain_run(&o, &r, &e) == 0, "%s", e.msg);
    EXPECT(r.steps_done == 4 && !r.interrupted);
    EXPECT(file_exists(tpath("budget/model.safetensors")) && file_exists(tpath("budget/checkpoints/step-4")));
    double tok[16];
    EXPECT(tu_read_metric(o.run.out_dir, "train_tokens", tok, 16) == 4 && tok[0] == 32 && tok[3] == 128);
    size_t nb = 0, na = 0;
    char *before = file_read_all(tpath("budget/model.safetensors"), &nb, &e);
    PretrainOptions c = base_options(o.run.out_dir, tp);
    c.run.resume = 1;
    c.steps = 0;
    c.config_path = NULL;
    c.run.max_train_tokens = 100;
    EXPECTF(pretrain_run(&c, &r, &e) == 0, "%s", e.msg);
    EXPECT(r.steps_done == 4 && !file_exists(tpath("budget/checkpoints/step-5")));
    EXPECT(tu_read_metric(o.run.out_dir, "train_tokens", tok, 16) == 4);
    char *after = file_read_all(tpath("budget/model.safetensors"), &na, &e);
    EXPECT(before && after && nb > 0 && na == nb && memcmp(before, after, na) == 0);
    free(before);
    free(after);
}

/* ---- the CLI end to end (when the r1 binary is known: $R1, set by make test) ---- */

static int sh(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_pretrain(void) {
    const char *r1 = tu_r1_bin();
    EXPECTF(access(r1, X_OK) == 0, "%s not built", r1);
    if (access(r1, X_OK) != 0) return;
    char cmd[4096];
    /* a tokenizer file not called tokenizer.json: model folders get it as tokenizer.json */
    char tokz[512];
    snprintf(tokz, sizeof tokz, "%s", tpath("tok.json"));
    char *tj = tu_slurp("tests/fixtures/tokenizer/v3_pruned.tokenizer.json");
    EXPECT(tu_write_text(tokz, tj) == 0);
    free(tj);
    /* a config whose vocab_size fits the fixture tokenizer */
    Err e = {{0}};
    cJSON *c = json_load_file(FIXTURE_DIR "/config.json", &e);
    CHECK(c);
    cJSON_ReplaceItemInObject(c, "vocab_size", cJSON_CreateNumber(128815));
    CHECK(json_save_file(c, tpath("cli_config.json"), &e) == 0);
    cJSON_Delete(c);
    FILE *f = fopen(tpath("cli.jsonl"), "w");
    for (int i = 0; i < 60; i++) fprintf(f, "{\"text\": \"Problem %d: %d + %d = %d. The answer is %d.\"}\n", i, i, 2 * i, 3 * i, 3 * i);
    fprintf(f, "not json\n");
    fclose(f);
    char out[512];
    snprintf(out, sizeof out, "%s", tpath("cli_run"));
    snprintf(cmd, sizeof cmd, "%s pretrain --config %s --tokenizer %s --data %s --out %s --steps 4 "
             "--batch 2 --seq-len 16 --save-every 2 --eval-every 2 --val-frac 0.1 --threads 2 2>%s",
             r1, tpath("cli_config.json"), tokz, tpath("cli.jsonl"), out, tpath("cli_err1.txt"));
    EXPECT(sh(cmd) == 1);   /* the bad line stops it before any work ... */
    size_t n;
    char *msg = file_read_all(tpath("cli_err1.txt"), &n, &e);
    EXPECTF(msg && strstr(msg, "r1: error: ") && strstr(msg, "cli.jsonl:61: not JSON"), "stderr: %s", msg ? msg : "");
    free(msg);
    snprintf(cmd, sizeof cmd, "%s pretrain --config %s --tokenizer %s --data %s --out %s --steps 4 "
             "--batch 2 --seq-len 16 --save-every 2 --eval-every 2 --val-frac 0.1 --threads 2 --skip-bad 2>%s",
             r1, tpath("cli_config.json"), tokz, tpath("cli.jsonl"), out, tpath("cli_err2.txt"));
    EXPECT(sh(cmd) == 0);   /* ... and --skip-bad counts it */
    msg = file_read_all(tpath("cli_err2.txt"), &n, &e);
    EXPECTF(msg && strstr(msg, "1 bad JSONL lines skipped") && strstr(msg, "done: 4 steps"), "stderr: %s", msg ? msg : "");
    free(msg);
    static const char *const want[] = {"config.json", "model.safetensors", "tokenizer.json",
                                       "tokenizer_config.json", "generation_config.json", "metrics.jsonl",
                                       "checkpoints/step-4/trainer_state/state.json",
                                       "checkpoints/step-2/tokenizer.json"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", out, want[i]);
        EXPECTF(file_exists(p), "missing %s", p);
    }
    EXPECT(!file_exists(tpath("cli_run/tok.json")) && !file_exists(tpath("cli_run/checkpoints/step-4/tok.json")));
    /* a resume that changes an option of the maths is refused, naming it */
    snprintf(cmd, sizeof cmd, "%s pretrain --tokenizer %s --data %s --out %s --steps 6 --resume --skip-bad "
             "--learning-rate 1e-3 2>%s", r1, tokz, tpath("cli.jsonl"), out, tpath("cli_err5.txt"));
    EXPECT(sh(cmd) == 1);
    msg = file_read_all(tpath("cli_err5.txt"), &n, &e);
    EXPECTF(msg && strstr(msg, "--learning-rate is 0.001") && strstr(msg, "step-4"), "stderr: %s", msg ? msg : "");
    free(msg);
    double v[16];
    EXPECT(tu_read_metric(out, "loss", v, 16) == 4);
    /* resume with more steps */
    snprintf(cmd, sizeof cmd, "%s pretrain --tokenizer %s --data %s --out %s --steps 6 --resume --skip-bad 2>/dev/null",
             r1, tokz, tpath("cli.jsonl"), out);
    EXPECT(sh(cmd) == 0);
    EXPECT(tu_read_metric(out, "loss", v, 16) == 6);
    /* without --resume, the same folder is refused */
    snprintf(cmd, sizeof cmd, "%s pretrain --config %s --tokenizer %s --data %s --out %s --steps 4 --seq-len 16 --skip-bad 2>%s",
             r1, tpath("cli_config.json"), tokz, tpath("cli.jsonl"), out, tpath("cli_err3.txt"));
    EXPECT(sh(cmd) == 1);
    msg = file_read_all(tpath("cli_err3.txt"), &n, &e);
    EXPECTF(msg && strstr(msg, "--resume"), "stderr: %s", msg ? msg : "");
    free(msg);
    /* seq-len above max_position_embeddings: refused before any work */
    snprintf(cmd, sizeof cmd, "%s pretrain --config %s --tokenizer %s --data %s --out %s --steps 4 --seq-len 100 2>%s",
             r1, tpath("cli_config.json"), tokz, tpath("cli.jsonl"), tpath("cli_run2"), tpath("cli_err4.txt"));
    EXPECT(sh(cmd) == 1);
    msg = file_read_all(tpath("cli_err4.txt"), &n, &e);
    EXPECTF(msg && strstr(msg, "max_position_embeddings"), "stderr: %s", msg ? msg : "");
    free(msg);
    EXPECT(!file_exists(tpath("cli_run2/data/tokens.bin")));
}

/* Child processes of the kill and SIGINT tests: long runs to be interrupted. */
static int child_main(const char *mode, const char *out, const char *tp) {
    snprintf(cfg_path, sizeof cfg_path, "%s", FIXTURE_DIR "/config.json");
    threads_set(2);
    PretrainOptions o = base_options(out, tp);
    o.steps = 100000;
    o.eval_every = 0;
    if (!strcmp(mode, "kill")) {
        o.run.save_every = 1;
        o.run.keep = 2;
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = child_on_sigint;
        sigaction(SIGINT, &sa, NULL);
        o.run.stop = &child_stop;
    }
    PretrainResult r;
    Err e;
    int rc = pretrain_run(&o, &r, &e);
    if (rc != 0) fprintf(stderr, "child: %s\n", e.msg);
    return rc == 0 && r.interrupted && r.steps_done < 100000 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--child")) return child_main(argv[2], argv[3], argv[4]);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/r1_test_train_loop_%d", (int)getpid());
    Err e;
    CHECK(file_mkdirs(tmpdir, &e) == 0);
    snprintf(cfg_path, sizeof cfg_path, "%s", FIXTURE_DIR "/config.json");
    int saved = threads_set(0);
    threads_set(saved > 2 ? 2 : saved);
    RUN(test_matches_reference);
    RUN(test_memorises_small_corpus);
    RUN(test_resume_bit_exact_1_thread);
    RUN(test_resume_bit_exact_2_threads);
    RUN(test_interrupted_checkpoint_keeps_previous);
    RUN(test_killed_during_checkpoint);
    RUN(test_sigint_writes_checkpoint);
    RUN(test_corrupt_checkpoint_refused);
    RUN(test_bad_inputs);
    RUN(test_nonfinite_guard);
    RUN(test_nonfinite_injected_mid_run);
    RUN(test_train_token_budget);
    RUN(test_resume_clears_kill_leftovers);
    RUN(test_cli_pretrain);
    return tu_finish(tmpdir);
}
