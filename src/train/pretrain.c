#include "train/pretrain.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/bigmem.h"
#include "base/threads.h"
#include "io/file.h"
#include "io/json.h"
#include "io/metrics.h"
#include "model/config.h"
#include "model/model.h"
#include "model/params.h"
#include "train/checkpoint.h"
#include "train/clip.h"
#include "train/loader.h"
#include "train/tokcache.h"

PretrainOptions pretrain_defaults(void) {
    return (PretrainOptions){
        .steps = 0, .tokens = 0, .batch = 16, .seq_len = 256, .grad_accum = 1,
        .lr = 3e-4, .min_lr_ratio = 0.1, .decay_frac = 0.2, .warmup = 100,
        .schedule = SCHED_COSINE, .adamw = adamw_defaults(), .clip = 1.0,
        .mtp_lambda = 0.3, .seq_aux_alpha = 0.0, .bias_update_speed = 0.001, .seed = 1,
        .val_frac = 0.01, .eval_every = 100, .eval_batches = 8, .save_every = 500, .keep = 3,
        .log_every = 10,
    };
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the run's options as JSON (saved in every checkpoint, restored on resume) ---- */

static cJSON *options_to_json(const PretrainOptions *o, int64_t total_steps) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "tokens_path", o->tokens_path ? o->tokens_path : "");
    cJSON_AddNumberToObject(j, "steps", (double)total_steps);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "seq_len", o->seq_len);
    cJSON_AddNumberToObject(j, "grad_accum", o->grad_accum);
    cJSON_AddNumberToObject(j, "lr", o->lr);
    cJSON_AddNumberToObject(j, "min_lr_ratio", o->min_lr_ratio);
    cJSON_AddNumberToObject(j, "decay_frac", o->decay_frac);
    cJSON_AddNumberToObject(j, "warmup", (double)o->warmup);
    cJSON_AddStringToObject(j, "schedule", schedule_kind_name(o->schedule));
    cJSON_AddNumberToObject(j, "beta1", o->adamw.beta1);
    cJSON_AddNumberToObject(j, "beta2", o->adamw.beta2);
    cJSON_AddNumberToObject(j, "eps", o->adamw.eps);
    cJSON_AddNumberToObject(j, "weight_decay", o->adamw.weight_decay);
    cJSON_AddBoolToObject(j, "decay_norms", o->adamw.decay_norms);
    cJSON_AddBoolToObject(j, "decay_embed", o->adamw.decay_embed);
    cJSON_AddNumberToObject(j, "clip", o->clip);
    cJSON_AddNumberToObject(j, "mtp_lambda", o->mtp_lambda);
    cJSON_AddNumberToObject(j, "seq_aux_alpha", o->seq_aux_alpha);
    cJSON_AddNumberToObject(j, "bias_update_speed", o->bias_update_speed);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);   /* exact beyond 2^53 */
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "val_frac", o->val_frac);
    cJSON_AddNumberToObject(j, "eval_batches", (double)o->eval_batches);
    cJSON_AddBoolToObject(j, "skip_nonfinite", o->skip_nonfinite);
    return j;
}

/* Restores the options that decide the math from a checkpoint; `o` keeps its paths and its
 * logging/checkpoint cadence. */
static int options_from_json(PretrainOptions *o, int64_t *total_steps, const cJSON *j, Err *e) {
    int64_t i64;
    double d;
    const char *s;
    int b;
#define GET_I(key, dst) do { if (json_get_int(j, key, 1, &i64, e) < 0) return -1; dst = i64; } while (0)
#define GET_D(key, dst) do { if (json_get_double(j, key, 1, &d, e) < 0) return -1; dst = d; } while (0)
#define GET_B(key, dst) do { if (json_get_bool(j, key, 1, &b, e) < 0) return -1; dst = b; } while (0)
    GET_I("steps", *total_steps);
    GET_I("batch", o->batch);
    GET_I("seq_len", o->seq_len);
    GET_I("grad_accum", o->grad_accum);
    GET_D("lr", o->lr);
    GET_D("min_lr_ratio", o->min_lr_ratio);
    GET_D("decay_frac", o->decay_frac);
    GET_I("warmup", o->warmup);
    if (json_get_string(j, "schedule", 1, &s, e) < 0 || schedule_parse_kind(s, &o->schedule, e) < 0) return -1;
    GET_D("beta1", o->adamw.beta1);
    GET_D("beta2", o->adamw.beta2);
    GET_D("eps", o->adamw.eps);
    GET_D("weight_decay", o->adamw.weight_decay);
    GET_B("decay_norms", o->adamw.decay_norms);
    GET_B("decay_embed", o->adamw.decay_embed);
    GET_D("clip", o->clip);
    GET_D("mtp_lambda", o->mtp_lambda);
    GET_D("seq_aux_alpha", o->seq_aux_alpha);
    GET_D("bias_update_speed", o->bias_update_speed);
    if (json_get_string(j, "seed", 1, &s, e) < 0) return -1;
    o->seed = strtoull(s, NULL, 10);
    GET_D("val_frac", o->val_frac);
    GET_I("eval_batches", o->eval_batches);
    GET_B("skip_nonfinite", o->skip_nonfinite);
#undef GET_I
#undef GET_D
#undef GET_B
    return 0;
}

static int check_options(const PretrainOptions *o, Err *e) {
    if (!o->out_dir || !*o->out_dir) return err_set(e, "--out: required");
    if (o->batch <= 0) return err_set(e, "--batch %d: must be > 0", o->batch);
    if (o->seq_len <= 1) return err_set(e, "--seq-len %d: must be > 1", o->seq_len);
    if (o->grad_accum <= 0) return err_set(e, "--grad-accum %d: must be > 0", o->grad_accum);
    if (!(o->lr > 0)) return err_set(e, "--lr %g: must be > 0", o->lr);
    if (o->warmup < 0) return err_set(e, "--warmup: must be >= 0");
    if (o->clip < 0) return err_set(e, "--clip %g: must be >= 0", o->clip);
    if (o->adamw.weight_decay < 0) return err_set(e, "--weight-decay: must be >= 0");
    if (!(o->adamw.beta1 >= 0 && o->adamw.beta1 < 1) || !(o->adamw.beta2 >= 0 && o->adamw.beta2 < 1))
        return err_set(e, "--beta1/--beta2: must be in [0, 1)");
    if (o->mtp_lambda < 0 || o->seq_aux_alpha < 0 || o->bias_update_speed < 0)
        return err_set(e, "--mtp-lambda, --seq-aux-alpha, --bias-update-speed: must be >= 0");
    if (o->min_lr_ratio < 0 || o->min_lr_ratio > 1) return err_set(e, "--min-lr-ratio: must be in [0, 1]");
    if (o->decay_frac < 0 || o->decay_frac > 1) return err_set(e, "--decay-frac: must be in [0, 1]");
    return 0;
}

typedef struct Run {
    const PretrainOptions *o;
    ModelConfig cfg;
    Model m;
    ModelActs acts;
    AdamW opt;
    TokFile tf;
    Loader ld;
    Schedule sched;
    int64_t total_steps;
    int64_t step;           /* updates done */
    int64_t tokens_seen, skipped;
    real *grads;            /* [table.total] */
    int64_t *counts;        /* [(L+M), E] expert loads summed over the micro-batches of a step */
    double *partial;        /* [chunks] norm partial sums */
    int *tokens, *targets;  /* [B·T] */
    FILE *metrics;
    char ckpt_root[4096];
    int saves;              /* checkpoints written by this process */
    double model_seconds;
} Run;

static double evaluate(Run *r) {
    const PretrainOptions *o = r->o;
    const int B = o->batch, T = o->seq_len;
    uint64_t n_batches = r->ld.n_val / (uint64_t)B;
    if (n_batches == 0) return NAN;
    if (o->eval_batches > 0 && n_batches > (uint64_t)o->eval_batches) n_batches = (uint64_t)o->eval_batches;
    ModelOptions mo = {0};
    double sum = 0;
    int64_t n = 0;
    for (uint64_t k = 0; k < n_batches; k++) {
        loader_val_batch(&r->ld, k * (uint64_t)B, B, r->tokens, r->targets);
        ModelLosses l = model_forward(&r->m, &r->acts, r->tokens, r->targets, B, T, &mo);
        sum += l.loss * l.n_valid;
        n += l.n_valid;
    }
    return n ? sum / (double)n : NAN;
}

static const char *const *extra_files(const PretrainOptions *o, int *n) {
    int k = 0;
    while (k < 4 && o->tokenizer_dir_files[k]) k++;
    *n = k;
    return o->tokenizer_dir_files;
}

static int save(Run *r, Err *e) {
    const PretrainOptions *o = r->o;
    TrainerState st = {.step = r->step, .epoch = (int64_t)r->ld.epoch, .pos = (int64_t)r->ld.pos,
                       .tokens_seen = r->tokens_seen, .skipped = r->skipped,
                       .options = options_to_json(o, r->total_steps)};
    cJSON_AddNumberToObject(st.options, "n_tokens", (double)r->tf.n_tokens);
    int n_extra;
    const char *const *extra = extra_files(o, &n_extra);
    r->saves++;
    char dir[4096];
    int rc = checkpoint_save(r->ckpt_root, &r->m, &r->opt, &st, extra, n_extra,
                             o->ckpt_fault == r->saves ? 2 : 0, dir, sizeof dir, e);
    cJSON_Delete(st.options);
    if (rc != 0) return err_prefix(e, "checkpoint at step %lld (the previous checkpoint is intact)",
                                   (long long)r->step);
    if (checkpoint_prune(r->ckpt_root, o->keep, e) != 0) return -1;
    if (!o->quiet) fprintf(stderr, "\ncheckpoint: %s\n", dir);
    return 0;
}

static void progress(Run *r, double loss, double lr, double tok_s, double elapsed, int64_t first) {
    const PretrainOptions *o = r->o;
    if (o->quiet) return;
    int64_t done = r->step - first;
    double eta = done > 0 ? elapsed / (double)done * (double)(r->total_steps - r->step) : 0;
    int tty = isatty(2);
    if (!tty && o->log_every > 0 && r->step % o->log_every != 0 && r->step != r->total_steps) return;
    fprintf(stderr, "%sstep %lld/%lld  loss %.4f  lr %.3e  %.0f tok/s  ETA %dm%02ds%s",
            tty ? "\r" : "", (long long)r->step, (long long)r->total_steps, loss, lr, tok_s,
            (int)(eta / 60), (int)fmod(eta, 60), tty ? "   " : "\n");
    fflush(stderr);
}

static int setup(Run *r, const PretrainOptions *o_in, PretrainOptions *o, Err *e) {
    *o = *o_in;
    if (check_options(o, e) != 0) return -1;
    snprintf(r->ckpt_root, sizeof r->ckpt_root, "%s/checkpoints", o->out_dir);
    TrainerState st = {0};
    char ckdir[4096] = "";
    int64_t ckstep = 0;
    int have = checkpoint_latest(r->ckpt_root, ckdir, sizeof ckdir, &ckstep, e);
    if (have < 0) return -1;
    if (o->resume) {
        if (!have) return err_set(e, "%s: --resume: no checkpoint to resume from", r->ckpt_root);
        if (checkpoint_read_state(ckdir, &st, e) != 0) return -1;
        int64_t saved_total;
        if (options_from_json(o, &saved_total, st.options, e) != 0) {
            trainer_state_free(&st);
            return err_prefix(e, "%s/trainer_state/state.json: options", ckdir);
        }
        /* --steps / --tokens given again extend (or shorten) the run; otherwise the saved total */
        if (o_in->steps <= 0 && o_in->tokens <= 0) r->total_steps = saved_total;
        char cfgpath[4200];
        snprintf(cfgpath, sizeof cfgpath, "%s/config.json", ckdir);
        if (config_load(&r->cfg, cfgpath, e) != 0) { trainer_state_free(&st); return -1; }
    } else {
        if (have)
            return err_set(e, "%s: holds checkpoints of an earlier run: pass --resume to continue "
                              "it, or choose another --out", r->ckpt_root);
        if (!o->config_path) return err_set(e, "--config: required");
        if (config_load(&r->cfg, o->config_path, e) != 0) return -1;
    }
    /* ---- everything below is checked before any work ---- */
    if (o->seq_len > r->cfg.max_position_embeddings) {
        trainer_state_free(&st);
        return err_set(e, "--seq-len %d: above the config's max_position_embeddings %d", o->seq_len,
                       r->cfg.max_position_embeddings);
    }
    if (!o->tokens_path) { trainer_state_free(&st); return err_set(e, "no token data given"); }
    if (tokfile_open(&r->tf, o->tokens_path, e) != 0) { trainer_state_free(&st); return -1; }
    if (loader_init(&r->ld, r->tf.tok, r->tf.n_tokens, o->seq_len, o->val_frac, o->seed,
                    "training data", e) != 0) {
        trainer_state_free(&st);
        return -1;
    }
    uint32_t max_id = loader_max_id(&r->ld);
    if (max_id >= (uint32_t)r->cfg.vocab_size) {
        trainer_state_free(&st);
        return err_set(e, "%s: token id %u does not fit the config's vocab_size %d", o->tokens_path,
                       max_id, r->cfg.vocab_size);
    }
    if (!o->resume || o_in->steps > 0 || o_in->tokens > 0) {
        int64_t per_step = (int64_t)o->batch * o->seq_len * o->grad_accum;
        r->total_steps = o->steps > 0 ? o->steps : (o->tokens + per_step - 1) / per_step;
        if (r->total_steps <= 0) { trainer_state_free(&st); return err_set(e, "--steps or --tokens: required (> 0)"); }
    }
    r->sched = (Schedule){.kind = o->schedule, .lr = o->lr, .warmup = o->warmup,
                          .total = r->total_steps, .min_ratio = o->min_lr_ratio,
                          .decay_frac = o->decay_frac};
    if (file_mkdirs(r->ckpt_root, e) != 0) { trainer_state_free(&st); return -1; }

    /* ---- model, optimizer, buffers ---- */
    model_init(&r->m, &r->cfg);
    adamw_init(&r->opt, &r->m.table, &o->adamw);
    if (o->resume) {
        int64_t saved_n = -1;
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(st.options, "n_tokens");
        if (nt) saved_n = (int64_t)nt->valuedouble;
        if (saved_n >= 0 && (uint64_t)saved_n != r->tf.n_tokens) {
            trainer_state_free(&st);
            return err_set(e, "%s: the training data changed since the checkpoint (%lld tokens, now %llu)",
                           ckdir, (long long)saved_n, (unsigned long long)r->tf.n_tokens);
        }
        if (checkpoint_load(ckdir, &r->m, &r->opt, &st, e) != 0) { trainer_state_free(&st); return -1; }
        r->step = st.step;
        r->tokens_seen = st.tokens_seen;
        r->skipped = st.skipped;
        loader_seek(&r->ld, (uint64_t)st.epoch, (uint64_t)st.pos);
        trainer_state_free(&st);
    } else {
        uint64_t iseed = o->init_seed ? o->init_seed : o->seed;
        if (o->init_params) o->init_params(&r->m.table, &r->m.cfg, r->m.params, iseed);
        else param_init(&r->m.table, &r->m.cfg, r->m.params, iseed);
    }
    model_acts_init(&r->acts, &r->m, o->batch, o->seq_len);
    r->grads = big_calloc(r->m.table.total * sizeof(real), "gradients");
    const int LM = r->cfg.num_hidden_layers + r->cfg.num_nextn_predict_layers;
    const int E = r->cfg.n_routed_experts > 0 ? r->cfg.n_routed_experts : 1;
    r->counts = xcalloc((size_t)LM * E, sizeof *r->counts);
    r->partial = xcalloc((size_t)(r->opt.chunks.n > 0 ? r->opt.chunks.n : 1), sizeof *r->partial);
    r->tokens = xmalloc((size_t)o->batch * o->seq_len * sizeof(int));
    r->targets = xmalloc((size_t)o->batch * o->seq_len * sizeof(int));

    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", o->out_dir);
    if (o->resume ? metrics_truncate(mpath, r->step + 1, e) != 0 : 0) return -1;
    r->metrics = fopen(mpath, o->resume ? "a" : "w");
    if (!r->metrics) return err_set(e, "%s: %s", mpath, strerror(errno));
    return 0;
}

static void teardown(Run *r) {
    if (r->metrics) fclose(r->metrics);
    free(r->grads);
    free(r->counts);
    free(r->partial);
    free(r->tokens);
    free(r->targets);
    if (r->acts.mem) model_acts_free(&r->acts);
    if (r->opt.m) adamw_free(&r->opt);
    if (r->m.params) model_free(&r->m);
    if (r->ld.perm) loader_free(&r->ld);
    tokfile_close(&r->tf);
}

/* One optimizer step. Returns 0, 1 when the step was skipped (non-finite), -1 on error. */
static int train_step(Run *r, double *loss_out, double *lr_out, double *norm_out, ModelLosses *parts, Err *e) {
    const PretrainOptions *o = r->o;
    const int B = o->batch, T = o->seq_len, A = o->grad_accum;
    const ModelConfig *c = &r->cfg;
    const int LM = c->num_hidden_layers + c->num_nextn_predict_layers, E = c->n_routed_experts;
    ModelOptions mo = {.mtp_lambda = o->mtp_lambda, .seq_aux_alpha = o->seq_aux_alpha,
                       .head_grad_in_forward = 1};   /* backward follows, without row weights */
    if (E > 0) memset(r->counts, 0, (size_t)LM * E * sizeof *r->counts);
    ModelLosses sum = {0};
    for (int a = 0; a < A; a++) {
        loader_next_batch(&r->ld, B, r->tokens, r->targets);
        double t0 = now_s();
        ModelLosses l = model_forward(&r->m, &r->acts, r->tokens, r->targets, B, T, &mo);
        model_backward(&r->m, &r->acts, r->grads, NULL);
        r->model_seconds += now_s() - t0;
        sum.loss += l.loss / A;
        sum.mtp_loss += l.mtp_loss / A;
        sum.aux_loss += l.aux_loss / A;
        sum.total += l.total / A;
        sum.n_valid += l.n_valid;
        if (E > 0)
            for (int i = 0; i < LM * E; i++) r->counts[i] += r->acts.expert_counts[i];
    }
    r->tokens_seen += (int64_t)A * B * T;
    const double gscale = 1.0 / A;
    double norm = grad_global_norm(&r->opt.chunks, r->grads, gscale, r->partial);
    double lr = schedule_lr(&r->sched, r->step);
    *loss_out = sum.loss;
    *lr_out = lr;
    *norm_out = norm;
    *parts = sum;
    if (!isfinite(sum.total) || !isfinite(norm)) {
        if (!o->skip_nonfinite)
            return err_set(e, "step %lld: %s is %s; stopping (parameters are those after step %lld; "
                              "--skip-nonfinite skips such steps)",
                           (long long)r->step + 1, !isfinite(sum.total) ? "the loss" : "the gradient norm",
                           !isfinite(sum.total) ? (isnan(sum.total) ? "NaN" : "Inf") : (isnan(norm) ? "NaN" : "Inf"),
                           (long long)r->step);
        memset(r->grads, 0, r->m.table.total * sizeof(real));
        r->skipped++;
        r->step++;
        return 1;
    }
    adamw_step_and_zero(&r->opt, r->m.params, r->grads, lr, gscale * clip_factor(norm, o->clip));
    if (o->bias_update_speed > 0 && E > 0) model_bias_update(&r->m, r->counts, o->bias_update_speed);
    r->step++;
    return 0;
}

int pretrain_run(const PretrainOptions *o_in, PretrainResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    res->val_loss = NAN;
    Run r;
    memset(&r, 0, sizeof r);
    PretrainOptions o;
    r.o = &o;
    int rc = setup(&r, o_in, &o, e);
    if (rc != 0) { teardown(&r); return -1; }
    const int64_t first = r.step;
    const double t_start = now_s();
    double loss = NAN;
    int n_extra;
    const char *const *extra = extra_files(&o, &n_extra);
    if (!o.quiet)
        fprintf(stderr, "pretrain: %zu parameters, %llu tokens (%llu train / %llu held-out sequences of %d), "
                        "steps %lld..%lld, batch %d x %d x %d\n",
                r.m.table.count, (unsigned long long)r.tf.n_tokens, (unsigned long long)r.ld.n_train,
                (unsigned long long)r.ld.n_val, o.seq_len, (long long)first, (long long)r.total_steps,
                o.batch, o.seq_len, o.grad_accum);
    while (r.step < r.total_steps) {
        double lr, norm, t0 = now_s();
        ModelLosses parts;
        int st = train_step(&r, &loss, &lr, &norm, &parts, e);
        if (st < 0) { rc = -1; break; }
        double dt = now_s() - t0, elapsed = now_s() - t_start;
        double tok_s = (double)o.batch * o.seq_len * o.grad_accum / dt;
        double val = NAN;
        if (o.eval_every > 0 && r.step % o.eval_every == 0) val = res->val_loss = evaluate(&r);
        fprintf(r.metrics, "{\"step\": %lld, \"loss\": %.9g, \"mtp_loss\": %.9g, \"aux_loss\": %.9g, "
                           "\"lr\": %.9g, \"grad_norm\": %.9g, \"tokens\": %lld, \"tokens_per_s\": %.1f, "
                           "\"time_s\": %.3f%s",
                (long long)r.step, parts.loss, parts.mtp_loss, parts.aux_loss, lr, norm,
                (long long)r.tokens_seen, tok_s, elapsed, st == 1 ? ", \"skipped\": true" : "");
        if (!isnan(val)) fprintf(r.metrics, ", \"val_loss\": %.9g", val);
        fputs("}\n", r.metrics);
        fflush(r.metrics);
        progress(&r, parts.loss, lr, elapsed > 0 ? (double)(r.step - first) * o.batch * o.seq_len * o.grad_accum / elapsed : 0,
                 elapsed, first);
        int stop = (o.stop && *o.stop) || (o.stop_after > 0 && r.step == o.stop_after);
        if ((o.save_every > 0 && r.step % o.save_every == 0 && r.step < r.total_steps) || stop) {
            if (save(&r, e) != 0) { rc = -1; break; }
        }
        if (stop) { res->interrupted = 1; break; }
    }
    res->seconds = now_s() - t_start;
    res->tokens_per_s = res->seconds > 0 ? (double)(r.step - first) * o.batch * o.seq_len * o.grad_accum / res->seconds : 0;
    res->model_seconds = r.model_seconds;
    if (rc == 0 && !res->interrupted) {
        /* the end: a last checkpoint (unless there is one of this step), the final model in out/ */
        if (r.step > first && save(&r, e) != 0) rc = -1;
        if (rc == 0 && r.ld.n_val >= (uint64_t)o.batch && (o.eval_every <= 0 || r.step % o.eval_every != 0))
            res->val_loss = evaluate(&r);
        if (rc == 0 && checkpoint_write_model_folder(o.out_dir, &r.m, extra, n_extra, e) != 0) rc = -1;
    }
    if (!o.quiet) fputc('\n', stderr);
    res->steps_done = r.step;
    res->skipped = r.skipped;
    res->last_loss = loss;
    teardown(&r);
    return rc;
}
