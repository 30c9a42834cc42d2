/* The pretraining trainer (pretrain.h): its options, data, step and evaluation; the run engine
 * (run.h) does the rest. */
#include "train/pretrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/clock.h"
#include "io/file.h"
#include "io/json.h"
#include "model/config.h"
#include "model/model.h"
#include "train/loader.h"
#include "train/pretrain_data.h"
#include "train/tokcache.h"

static const OptSpec PRETRAIN_SPECS[] = {
    OPT("config", OPT_STR, offsetof(PretrainOptions, config_path), 0, "model config.json (not needed with --resume)"),
    OPT("tokenizer", OPT_STR, offsetof(PretrainOptions, tokenizer_path), 0,
     "tokenizer.json (copied into the model folders as tokenizer.json)"),
    OPT("data", OPT_STR, offsetof(PretrainOptions, data), 0,
     "text or JSONL ({\"text\": ...}) files, comma-separated (also positional)"),
    OPT("cache", OPT_STR, offsetof(PretrainOptions, cache_path), 0, "token cache file (default OUT/data/tokens.bin)"),
    OPT("skip_bad", OPT_BOOL, offsetof(PretrainOptions, skip_bad), 0,
     "skip (and count) JSONL lines that are not {\"text\": ...}"),
    OPT("steps", OPT_I64, offsetof(PretrainOptions, steps), OPT_LENGTH, "optimizer steps (or --tokens)"),
    OPT("tokens", OPT_I64, offsetof(PretrainOptions, tokens), OPT_LENGTH, "training tokens, when --steps is not given"),
    OPT("batch", OPT_INT, offsetof(PretrainOptions, batch), OPT_MATH, "sequences per micro-batch"),
    OPT("seq_len", OPT_INT, offsetof(PretrainOptions, seq_len), OPT_MATH, "tokens per sequence"),
    OPT("grad_accum", OPT_INT, offsetof(PretrainOptions, grad_accum), OPT_MATH, "micro-batches per optimizer step"),
    OPT("mtp_lambda", OPT_DOUBLE, offsetof(PretrainOptions, mtp_lambda), OPT_MATH,
     "weight of the multi-token-prediction loss"),
    OPT("seq_aux_alpha", OPT_DOUBLE, offsetof(PretrainOptions, seq_aux_alpha), OPT_MATH,
     "weight of the sequence-wise balance loss (0: off)"),
    OPT("seed", OPT_U64, offsetof(PretrainOptions, seed), OPT_MATH, "seed of initialisation and data order"),
    OPT("val_frac", OPT_DOUBLE, offsetof(PretrainOptions, val_frac), OPT_MATH, "held-out fraction of the sequences"),
    OPT("eval_every", OPT_I64, offsetof(PretrainOptions, eval_every), 0, "validation loss every N steps (0: at the end only)"),
    OPT("eval_batches", OPT_I64, offsetof(PretrainOptions, eval_batches), 0, "held-out batches per evaluation"),
};
static const OptTable PRETRAIN_TABLE = OPT_TABLE(PRETRAIN_SPECS);

const OptSet PRETRAIN_OPTIONS = {"pretrain", {{&PRETRAIN_TABLE, 0},
                                              {&OPTIM_OPT_TABLE, offsetof(PretrainOptions, optim)},
                                              {&RUN_OPT_TABLE, offsetof(PretrainOptions, run)}}, 3};

PretrainOptions pretrain_defaults(void) {
    return (PretrainOptions){
        .batch = 16, .seq_len = 256, .grad_accum = 1, .mtp_lambda = 0.3, .seq_aux_alpha = 0.0, .seed = 1,
        .val_frac = 0.01, .eval_every = 100, .eval_batches = 8,
        .optim = {.learning_rate = 3e-4, .lr_scheduler = SCHED_COSINE, .warmup_steps = 100, .min_lr_ratio = 0.1,
                  .decay_frac = 0.2, .adamw = adamw_defaults(), .max_grad_norm = 1.0, .bias_update_speed = 0.001},
        .run = {.save_every = 500, .keep = 3, .log_every = 10, .zero_stage = 1},
    };
}

static int check_options(const PretrainOptions *o, Err *e) {
    const OptSet *s = &PRETRAIN_OPTIONS;
    char f[64];
    if (!o->run.out_dir || !*o->run.out_dir) return opt_err(s, e, "out", "required");
    if (o->batch <= 0) return opt_err(s, e, "batch", "%d: must be > 0", o->batch);
    if (o->seq_len <= 1) return opt_err(s, e, "seq_len", "%d: must be > 1", o->seq_len);
    if (o->grad_accum <= 0) return opt_err(s, e, "grad_accum", "%d: must be > 0", o->grad_accum);
    if (!(o->mtp_lambda >= 0)) return opt_err(s, e, "mtp_lambda", "must be >= 0");
    if (!(o->seq_aux_alpha >= 0)) return opt_err(s, e, "seq_aux_alpha", "must be >= 0");
    if (!(o->val_frac >= 0 && o->val_frac < 1)) return opt_err(s, e, "val_frac", "must be in [0, 1)");
    if (o->steps < 0) return opt_err(s, e, "steps", "%lld: must be >= 0", (long long)o->steps);
    if (o->tokens < 0) return opt_err(s, e, "tokens", "%lld: must be >= 0", (long long)o->tokens);
    if (!o->tokens_path && !(o->tokenizer_path && o->data))
        return opt_err(s, e, "tokenizer", "required, with %s", opt_flag("data", f, sizeof f));
    const int N = dist_ranks(o->run.dist);
    if (o->grad_accum % N != 0) {
        char g[64];
        snprintf(g, sizeof g, "%d", N);
        if (o->batch % N == 0 && o->grad_accum == 1)
            snprintf(g, sizeof g, "%d (%s %d %s %d keeps the %d sequences a step)", N, opt_flag("batch", f, sizeof f),
                     o->batch / N, "--grad-accum", N, o->batch);
        return opt_err(s, e, "grad_accum", "%d: the micro-batches of a step cannot be shared by %d ranks; give a "
                                           "multiple of %s", o->grad_accum, N, g);
    }
    return 0;
}

typedef struct Pretrain {
    const PretrainOptions *o;
    ModelConfig cfg;
    Model m;
    int have_model;
    ModelActs acts;
    PretrainData pd;
    char cache[4400];
    TokFile tf;
    uint32_t *tok_copy;         /* ranks > 0: the token stream rank 0 read (else NULL) */
    Loader ld;
    int *tokens, *targets;      /* [A·B·T]: the step's micro-batches */
    int64_t tokens_seen;
    double model_seconds, last_loss, val_loss;
} Pretrain;

/* Mean held-out loss over at most eval_batches batches, shared by the ranks; NAN when there is
 * no held-out batch. */
static double evaluate(Pretrain *p, Run *r) {
    const PretrainOptions *o = p->o;
    const int B = o->batch, T = o->seq_len;
    uint64_t n_batches = p->ld.n_val / (uint64_t)B;
    if (n_batches == 0) return NAN;
    if (o->eval_batches > 0 && n_batches > (uint64_t)o->eval_batches) n_batches = (uint64_t)o->eval_batches;
    ModelOptions mo = {0};
    double *v = xcalloc(2 * n_batches, sizeof *v);   /* [batch] loss sum, targets */
    int64_t lo, hi;
    run_share(r, (int64_t)n_batches, &lo, &hi);
    for (int64_t k = lo; k < hi; k++) {
        loader_val_batch(&p->ld, (uint64_t)k * (uint64_t)B, B, p->tokens, p->targets);
        ModelLosses l = model_forward(&p->m, &p->acts, p->tokens, p->targets, B, T, &mo);
        v[2 * k] = l.loss * l.n_valid;
        v[2 * k + 1] = l.n_valid;
    }
    double mean = run_gather_mean(r, (int64_t)n_batches, v);
    free(v);
    return mean;
}

/* Micro-batch `leaf` of the step: its losses into stats [4]. */
static int pt_leaf(void *ctx, Run *r, int64_t leaf, real *grads, double *stats, Err *e) {
    (void)e;
    Pretrain *p = ctx;
    const PretrainOptions *o = p->o;
    const int B = o->batch, T = o->seq_len;
    const size_t at = (size_t)leaf * (size_t)B * (size_t)T;
    ModelOptions mo = {.mtp_lambda = o->mtp_lambda, .seq_aux_alpha = o->seq_aux_alpha,
                       .head_grad_in_forward = 1};   /* backward follows, without row weights */
    const double t1 = clock_now();
    ModelLosses l = model_forward(&p->m, &p->acts, p->tokens + at, p->targets + at, B, T, &mo);
    model_backward(&p->m, &p->acts, grads, NULL);
    p->model_seconds += clock_now() - t1;
    run_count_forward(r, &p->acts);
    stats[0] = l.loss;
    stats[1] = l.mtp_loss;
    stats[2] = l.aux_loss;
    stats[3] = l.total;
    return 0;
}

/* One step: grad_accum micro-batches of batch sequences (the leaves), then one update. */
static int pt_step(void *ctx, Run *r, Err *e) {
    Pretrain *p = ctx;
    const PretrainOptions *o = p->o;
    const int B = o->batch, T = o->seq_len, A = o->grad_accum;
    const double t0 = clock_now();
    for (int a = 0; a < A; a++)   /* every rank reads them all: the cursor moves the same */
        loader_next_batch(&p->ld, B, p->tokens + (size_t)a * B * T, p->targets + (size_t)a * B * T);
    double *st = xmalloc(sizeof(double) * 4 * (size_t)A);
    if (run_leaves(r, A, pt_leaf, p, st, 4, e) != 0) {
        free(st);
        return -1;
    }
    ModelLosses sum = {0};
    for (int a = 0; a < A; a++) {
        sum.loss += st[4 * a] / A;
        sum.mtp_loss += st[4 * a + 1] / A;
        sum.aux_loss += st[4 * a + 2] / A;
        sum.total += st[4 * a + 3] / A;
    }
    free(st);
    p->tokens_seen += (int64_t)A * B * T;
    RunUpdate u = {.grad_scale = 1.0 / A, .loss = sum.total};
    if (run_update(r, &u, NULL, e) < 0) return -1;
    p->last_loss = sum.loss;
    const double per_step = (double)A * B * T;
    double val = NAN;
    if (o->eval_every > 0 && (r->step + 1) % o->eval_every == 0) val = p->val_loss = evaluate(p, r);
    sb_printf(&r->line, ", \"loss\": %.9g, \"mtp_loss\": %.9g, \"aux_loss\": %.9g, \"lr\": %.9g, \"grad_norm\": %.9g, "
                        "\"tokens\": %lld, \"tokens_per_s\": %.1f, \"time_s\": %.3f",
              sum.loss, sum.mtp_loss, sum.aux_loss, r->lr, r->grad_norm, (long long)p->tokens_seen,
              per_step / (clock_now() - t0), run_elapsed(r));
    if (!isnan(val)) sb_printf(&r->line, ", \"val_loss\": %.9g", val);
    double el = run_elapsed(r);
    sb_printf(&r->summary, "loss %.4f  lr %.3e  %.0f tok/s", sum.loss, r->lr,
              el > 0 ? (double)(r->step + 1 - r->first) * per_step / el : 0);
    return 0;
}

static void pt_save(void *ctx, cJSON *st) {
    const Pretrain *p = ctx;
    cJSON_AddNumberToObject(st, "epoch", (double)p->ld.epoch);
    cJSON_AddNumberToObject(st, "pos", (double)p->ld.pos);
    cJSON_AddNumberToObject(st, "tokens_seen", (double)p->tokens_seen);
    cJSON_AddNumberToObject(st, "n_tokens", (double)p->tf.n_tokens);
}

static int pt_load(void *ctx, const cJSON *st, Err *e) {
    Pretrain *p = ctx;
    int64_t epoch, pos, n_tokens;
    if (json_get_int(st, "epoch", 1, &epoch, e) < 0 || json_get_int(st, "pos", 1, &pos, e) < 0 ||
        json_get_int(st, "tokens_seen", 1, &p->tokens_seen, e) < 0 || json_get_int(st, "n_tokens", 1, &n_tokens, e) < 0)
        return -1;
    if ((uint64_t)n_tokens != p->tf.n_tokens)
        return err_set(e, "the training data changed since the checkpoint (%lld tokens, now %llu)",
                       (long long)n_tokens, (unsigned long long)p->tf.n_tokens);
    loader_seek(&p->ld, (uint64_t)epoch, (uint64_t)pos);
    return 0;
}

/* The last point of the held-out curve, when the last step was not an eval step. */
static int pt_finish(void *ctx, Run *r, Err *e) {
    (void)e;
    Pretrain *p = ctx;
    const PretrainOptions *o = p->o;
    if (p->ld.n_val >= (uint64_t)o->batch && (o->eval_every <= 0 || r->step % o->eval_every != 0))
        p->val_loss = evaluate(p, r);
    return 0;
}

/* The token data: the given cache, or the corpus tokenized into out/data/tokens.bin. */
static int prepare_data(Pretrain *p, Err *e) {
    const PretrainOptions *o = p->o;
    if (o->tokens_path) return tokfile_open(&p->tf, o->tokens_path, e);
    const char *cache = o->cache_path;
    if (!cache) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/data", o->run.out_dir);
        if (file_mkdirs(dir, e) != 0) return -1;
        snprintf(p->cache, sizeof p->cache, "%s/tokens.bin", dir);
        cache = p->cache;
    } else if (file_mkdirs(o->run.out_dir, e) != 0) {
        return -1;
    }
    enum { MAX_FILES = 256 };
    const char *files[MAX_FILES];
    int n_files = 0;
    char *list = xstrdup(o->data);
    for (char *s = strtok(list, ","); s && n_files < MAX_FILES; s = strtok(NULL, ","))
        if (*s) files[n_files++] = s;
    int rc = n_files ? 0 : opt_err(&PRETRAIN_OPTIONS, e, "data", "no files given");
    if (rc == 0)
        rc = pretrain_prepare_data(&p->pd, o->tokenizer_path, files, n_files, cache, &p->cfg, o->skip_bad,
                                   o->run.out_dir, e);
    free(list);
    if (rc != 0) return -1;
    if (!o->run.quiet) {
        fprintf(stderr, "data: %llu tokens in %llu documents%s", (unsigned long long)p->pd.info.n_tokens,
                (unsigned long long)p->pd.info.n_docs, p->pd.info.rebuilt ? " (tokenized now)" : " (cached)");
        if (p->pd.info.n_bad) fprintf(stderr, ", %llu bad JSONL lines skipped", (unsigned long long)p->pd.info.n_bad);
        fputc('\n', stderr);
    }
    return tokfile_open(&p->tf, cache, e);
}

/* The run's length: --steps, or --tokens rounded up to whole steps; resuming without either,
 * the run's own. */
static int total_steps(const Pretrain *p, const Run *r, int64_t *total, Err *e) {
    const PretrainOptions *o = p->o;
    int64_t steps = o->steps, tokens = o->tokens;
    if (r->resume_dir[0] && steps <= 0 && tokens <= 0) {
        json_get_int(r->resume.options, "steps", 0, &steps, e);
        json_get_int(r->resume.options, "tokens", 0, &tokens, e);
    }
    int64_t per_step = (int64_t)o->batch * o->seq_len * o->grad_accum;
    *total = steps > 0 ? steps : (tokens + per_step - 1) / per_step;
    char f[64];
    if (*total <= 0) return opt_err(&PRETRAIN_OPTIONS, e, "steps", "or %s: required (> 0)", opt_flag("tokens", f, sizeof f));
    return 0;
}

/* The token stream: rank 0 prepares it (tokenizing into the run folder if need be) and the other
 * ranks receive it; a given token cache every rank opens itself. */
static int token_stream(Pretrain *p, Run *r, Err *e) {
    const PretrainOptions *o = p->o;
    if (o->tokens_path) return tokfile_open(&p->tf, o->tokens_path, e);
    int rc = run_is_root(r) ? prepare_data(p, e) : 0;
    if (dist_bcast_status(r->dist, rc, e) != 0 || dist_ranks(r->dist) == 1) return rc ? -1 : 0;
    uint64_t n = p->tf.n_tokens;
    dist_bcast(r->dist, &n, sizeof n, 0);
    if (!run_is_root(r)) {
        p->tok_copy = big_alloc(n * sizeof(uint32_t), "token stream");
        p->tf.tok = p->tok_copy;
        p->tf.n_tokens = n;
    }
    dist_bcast(r->dist, (void *)p->tf.tok, n * sizeof(uint32_t), 0);
    return 0;
}

/* Everything before the first step; errors about the inputs come before any work, agreed by the
 * ranks. */
static int setup(Pretrain *p, Run *r, const Trainer *t, int64_t *total, Err *e) {
    const PretrainOptions *o = p->o;
    Dist *d = o->run.dist;
    if (dist_agree(d, check_options(o, e), e) != 0 || run_begin(r, &o->run, &o->optim, t, e) != 0) return -1;
    char cfgpath[4200];
    const char *config = o->config_path;
    if (r->resume_dir[0]) {
        snprintf(cfgpath, sizeof cfgpath, "%s/config.json", r->resume_dir);
        config = cfgpath;
    }
    int rc = 0;
    if (!config) rc = opt_err(&PRETRAIN_OPTIONS, e, "config", "required");
    /* a resumed run's config is in rank 0's run folder */
    else if (run_is_root(r) || !r->resume_dir[0]) rc = config_load(&p->cfg, config, e);
    if (rc == 0 && r->resume_dir[0]) dist_bcast(d, &p->cfg, sizeof p->cfg, 0);
    if (rc == 0 && o->seq_len > p->cfg.max_position_embeddings)
        rc = opt_err(&PRETRAIN_OPTIONS, e, "seq_len", "%d: above the config's max_position_embeddings %d",
                     o->seq_len, p->cfg.max_position_embeddings);
    if (dist_agree(d, rc, e) != 0 || token_stream(p, r, e) != 0) return -1;
    rc = loader_init(&p->ld, p->tf.tok, p->tf.n_tokens, o->seq_len, o->val_frac, o->seed, "training data", e);
    if (rc == 0) {
        uint32_t max_id = loader_max_id(&p->ld);
        if (max_id >= (uint32_t)p->cfg.vocab_size)
            rc = err_set(e, "%s: token id %u does not fit the config's vocab_size %d",
                         o->tokens_path ? o->tokens_path : "the token cache", max_id, p->cfg.vocab_size);
    }
    if (rc == 0) rc = total_steps(p, r, total, e);
    if (dist_agree(d, rc, e) != 0) return -1;
    model_init(&p->m, &p->cfg);
    p->have_model = 1;
    if (!r->resume_dir[0]) {
        uint64_t iseed = o->init_seed ? o->init_seed : o->seed;
        if (o->init_params) o->init_params(&p->m.table, &p->m.cfg, p->m.params, iseed);
        else param_init(&p->m.table, &p->m.cfg, p->m.params, iseed);
    }
    model_acts_init(&p->acts, &p->m, o->batch, o->seq_len);
    const size_t cells = (size_t)o->grad_accum * (size_t)o->batch * (size_t)o->seq_len;
    p->tokens = xmalloc(cells * sizeof(int));
    p->targets = xmalloc(cells * sizeof(int));
    return 0;
}

static void teardown(Pretrain *p) {
    free(p->tokens);
    free(p->targets);
    if (p->acts.mem) model_acts_free(&p->acts);
    if (p->have_model) model_free(&p->m);
    if (p->ld.perm) loader_free(&p->ld);
    if (p->tok_copy) p->tf.tok = NULL;
    free(p->tok_copy);
    tokfile_close(&p->tf);
    pretrain_data_free(&p->pd);
}

int pretrain_run(const PretrainOptions *o, PretrainResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    res->val_loss = res->last_loss = NAN;
    Pretrain p;
    memset(&p, 0, sizeof p);
    p.o = o;
    p.val_loss = p.last_loss = NAN;
    Trainer t = {.name = "pretrain", .options = &PRETRAIN_OPTIONS, .opts = o, .ctx = &p, .step = pt_step,
                 .save_state = pt_save, .load_state = pt_load, .finish = pt_finish};
    Run r;
    memset(&r, 0, sizeof r);
    int64_t total = 0;
    int rc = setup(&p, &r, &t, &total, e);
    if (rc == 0) rc = run_attach(&r, &p.m, total, p.pd.files, p.pd.n_files, e);
    if (rc == 0) {
        if (!o->run.quiet)
            fprintf(stderr, "pretrain: %zu parameters, %llu tokens (%llu train / %llu held-out sequences of %d), "
                            "steps %lld..%lld, batch %d x %d x %d\n",
                    p.m.table.count, (unsigned long long)p.tf.n_tokens, (unsigned long long)p.ld.n_train,
                    (unsigned long long)p.ld.n_val, o->seq_len, (long long)r.step, (long long)r.total, o->batch,
                    o->seq_len, o->grad_accum);
        rc = run_loop(&r, e);
        res->seconds = run_elapsed(&r);
        res->tokens_per_s = res->seconds > 0 ? (double)(r.step - r.first) * o->batch * o->seq_len * o->grad_accum /
                                                   res->seconds : 0;
    }
    res->steps_done = r.step;
    res->skipped = r.skipped;
    res->interrupted = r.interrupted;
    res->last_loss = p.last_loss;
    res->val_loss = p.val_loss;
    res->model_seconds = p.model_seconds;
    run_free(&r);
    teardown(&p);
    return rc;
}
