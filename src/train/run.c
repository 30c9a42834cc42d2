/* The training-run engine (see run.h): options, the loop, the update. The folder, checkpoints,
 * metrics and progress are in run_io.c. */
#include "train/run.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/clock.h"
#include "base/threads.h"
#include "train/clip.h"
#include "train/run_dp.h"
#include "train/run_io.h"

_Static_assert(sizeof(ScheduleKind) == sizeof(int), "OPT_ENUM fields are int-sized");

static const OptSpec RUN_SPECS[] = {
    OPT("out", OPT_STR, offsetof(RunOptions, out_dir), 0, "run folder: metrics.jsonl, checkpoints/, the final model"),
    OPT("save_every", OPT_I64, offsetof(RunOptions, save_every), 0,
     "checkpoint every N steps (0: only after the last step, on SIGINT/SIGTERM and at --max-seconds)"),
    OPT("keep", OPT_INT, offsetof(RunOptions, keep), 0, "keep the newest K checkpoints (0: all)"),
    OPT("resume", OPT_BOOL, offsetof(RunOptions, resume), 0,
     "continue the run in --out from its latest checkpoint (options not given are the run's)"),
    OPT("max_seconds", OPT_DOUBLE, offsetof(RunOptions, max_seconds), 0,
     "stop after the step that passes this wall time, as if it were the last (0: no limit)"),
    OPT("max_train_tokens", OPT_I64, offsetof(RunOptions, max_train_tokens), OPT_LENGTH,
     "stop after the step that brings the tokens through forward+backward to this, as if it were the last "
     "(0: no limit): a compute budget every run meets at the same step"),
    OPT("skip_nonfinite", OPT_BOOL, offsetof(RunOptions, skip_nonfinite), OPT_MATH,
     "skip updates with a NaN/Inf loss or gradient instead of stopping"),
    OPT("log_every", OPT_I64, offsetof(RunOptions, log_every), 0,
     "progress line every N steps when stderr is not a terminal (0: every step)"),
    OPT("threads", OPT_INT, offsetof(RunOptions, threads), 0, "threads (0: $R1_THREADS or all cores)"),
    OPT("quiet", OPT_BOOL, offsetof(RunOptions, quiet), 0, "no progress line"),
    OPT("stop_after", OPT_I64, offsetof(RunOptions, stop_after), 0,
     "stop with a checkpoint after this step, as a signal would (tests; 0: off)"),
    OPT("ckpt_fault", OPT_INT, offsetof(RunOptions, ckpt_fault), 0,
     "make checkpoint number K fail half-way through its optimizer file, as a full disk would (tests; 0: off)"),
    OPT("zero_stage", OPT_INT, offsetof(RunOptions, zero_stage), 0,
     "under mpirun: 1 shards the AdamW moments across the ranks (ZeRO-1), 0 keeps them all on every rank"),
};
const OptTable RUN_OPT_TABLE = OPT_TABLE(RUN_SPECS);

static const OptSpec OPTIM_SPECS[] = {
    OPT("learning_rate", OPT_DOUBLE, offsetof(OptimOptions, learning_rate), OPT_MATH, "peak learning rate"),
    OPT("lr_scheduler", OPT_ENUM, offsetof(OptimOptions, lr_scheduler), OPT_MATH,
     "learning-rate schedule after the warm-up: cosine, wsd or constant", .choices = SCHEDULE_NAMES),
    OPT("warmup_steps", OPT_I64, offsetof(OptimOptions, warmup_steps), OPT_MATH, "linear warm-up steps"),
    OPT("min_lr_ratio", OPT_DOUBLE, offsetof(OptimOptions, min_lr_ratio), OPT_MATH,
     "final learning rate as a fraction of the peak (cosine, wsd)"),
    OPT("decay_frac", OPT_DOUBLE, offsetof(OptimOptions, decay_frac), OPT_MATH, "wsd: share of the steps spent decaying"),
    OPT("weight_decay", OPT_DOUBLE, offsetof(OptimOptions, adamw.weight_decay), OPT_MATH, "AdamW decoupled weight decay"),
    OPT("beta1", OPT_DOUBLE, offsetof(OptimOptions, adamw.beta1), OPT_MATH, "AdamW beta1"),
    OPT("beta2", OPT_DOUBLE, offsetof(OptimOptions, adamw.beta2), OPT_MATH, "AdamW beta2"),
    OPT("eps", OPT_DOUBLE, offsetof(OptimOptions, adamw.eps), OPT_MATH, "AdamW epsilon"),
    OPT("decay_norms", OPT_BOOL, offsetof(OptimOptions, adamw.decay_norms), OPT_MATH, "also decay RMSNorm gains"),
    OPT("decay_embed", OPT_BOOL, offsetof(OptimOptions, adamw.decay_embed), OPT_MATH, "also decay the embedding"),
    OPT("max_grad_norm", OPT_DOUBLE, offsetof(OptimOptions, max_grad_norm), OPT_MATH,
     "clip the global gradient norm to this (0: off)"),
    OPT("bias_update_speed", OPT_DOUBLE, offsetof(OptimOptions, bias_update_speed), OPT_MATH,
     "gamma of the MoE auxiliary-loss-free balancing (0: off)"),
    OPT("precision", OPT_ENUM, offsetof(OptimOptions, precision), OPT_MATH,
     "operands of the big products (forward, dX, dW): f32, or bf16 (fp32 sums, master weights, moments, "
     "norms, softmax and losses)", .choices = MAT_PREC_NAMES),
};
const OptTable OPTIM_OPT_TABLE = OPT_TABLE(OPTIM_SPECS);

/* The engine's own options, for the messages that name them. */
static const OptSet ENGINE_SET = {"run", {{&RUN_OPT_TABLE, 0}}, 1};
static const OptSet OPTIM_SET = {"optimizer", {{&OPTIM_OPT_TABLE, 0}}, 1};

static int check_options(const RunOptions *o, const OptimOptions *p, Err *e) {
    if (o->save_every < 0) return opt_err(&ENGINE_SET, e, "save_every", "must be >= 0");
    if (o->keep < 0) return opt_err(&ENGINE_SET, e, "keep", "must be >= 0");
    if (!(o->max_seconds >= 0)) return opt_err(&ENGINE_SET, e, "max_seconds", "must be >= 0");
    if (o->max_train_tokens < 0) return opt_err(&ENGINE_SET, e, "max_train_tokens", "must be >= 0");
    if (o->log_every < 0) return opt_err(&ENGINE_SET, e, "log_every", "must be >= 0");
    if (o->threads < 0) return opt_err(&ENGINE_SET, e, "threads", "must be >= 0");
    if (o->stop_after < 0) return opt_err(&ENGINE_SET, e, "stop_after", "must be >= 0");
    if (o->ckpt_fault < 0) return opt_err(&ENGINE_SET, e, "ckpt_fault", "must be >= 0");
    if (o->zero_stage < 0 || o->zero_stage > 1) return opt_err(&ENGINE_SET, e, "zero_stage", "must be 0 or 1");
    if (!(p->learning_rate > 0)) return opt_err(&OPTIM_SET, e, "learning_rate", "%g: must be > 0", p->learning_rate);
    if (p->warmup_steps < 0) return opt_err(&OPTIM_SET, e, "warmup_steps", "must be >= 0");
    if (!(p->max_grad_norm >= 0)) return opt_err(&OPTIM_SET, e, "max_grad_norm", "%g: must be >= 0", p->max_grad_norm);
    if (!(p->adamw.weight_decay >= 0)) return opt_err(&OPTIM_SET, e, "weight_decay", "must be >= 0");
    if (!(p->adamw.beta1 >= 0 && p->adamw.beta1 < 1)) return opt_err(&OPTIM_SET, e, "beta1", "must be in [0, 1)");
    if (!(p->adamw.beta2 >= 0 && p->adamw.beta2 < 1)) return opt_err(&OPTIM_SET, e, "beta2", "must be in [0, 1)");
    if (!(p->adamw.eps > 0)) return opt_err(&OPTIM_SET, e, "eps", "must be > 0");
    if (!(p->bias_update_speed >= 0)) return opt_err(&OPTIM_SET, e, "bias_update_speed", "must be >= 0");
    if (!(p->min_lr_ratio >= 0 && p->min_lr_ratio <= 1)) return opt_err(&OPTIM_SET, e, "min_lr_ratio", "must be in [0, 1]");
    if (!(p->decay_frac >= 0 && p->decay_frac <= 1)) return opt_err(&OPTIM_SET, e, "decay_frac", "must be in [0, 1]");
    return 0;
}

int run_begin(Run *r, const RunOptions *o, const OptimOptions *optim, const Trainer *t, Err *e) {
    memset(r, 0, sizeof *r);
    r->o = o;
    r->optim = optim;
    r->t = t;
    r->dist = o->dist;
    if (check_options(o, optim, e) != 0) return -1;
    run_dp_threads(r);
    int rc = run_is_root(r) ? run_io_open_folder(r, e) : 0;
    if (dist_bcast_status(r->dist, rc, e) != 0) return -1;
    return run_dp_share_resume(r, e);
}

int run_attach(Run *r, Model *m, int64_t total_steps, const ModelFile *files, int n_files, Err *e) {
    CHECK(n_files <= (int)(sizeof r->files / sizeof r->files[0]));
    if (total_steps <= 0) return err_set(e, "%s: the run has no steps", r->t->name);
    const OptimOptions *p = r->optim;
    r->m = m;
    r->total = total_steps;
    r->n_files = n_files;
    for (int i = 0; i < n_files; i++) r->files[i] = files[i];
    r->sched = (Schedule){.kind = p->lr_scheduler, .lr = p->learning_rate, .warmup = p->warmup_steps,
                          .total = total_steps, .min_ratio = p->min_lr_ratio, .decay_frac = p->decay_frac};
    model_set_precision(m, p->precision);
    run_dp_init_optimizer(r);
    r->grads = big_calloc(m->table.total * sizeof(real), "gradients");
    const ModelConfig *c = &m->cfg;
    const int LM = c->num_hidden_layers + c->num_nextn_predict_layers;
    r->counts = xcalloc((size_t)LM * (size_t)(c->n_routed_experts > 0 ? c->n_routed_experts : 1), sizeof *r->counts);
    r->partial = xcalloc((size_t)(r->opt.chunks.n > 0 ? r->opt.chunks.n : 1), sizeof *r->partial);
    if (r->resume_dir[0]) {
        if (run_dp_load(r, e) != 0) return -1;
        r->step = r->resume.step;
        r->skipped = r->resume.skipped;
        r->train_tokens = r->resume.train_tokens;
        if (r->t->load_state && r->t->load_state(r->t->ctx, r->resume.trainer, e) != 0)
            return err_prefix(e, "%s/trainer_state/state.json", r->resume_dir);
        if (r->step > total_steps)
            return err_set(e, "%s: the checkpoint is at step %lld, past the run's %lld steps", r->resume_dir,
                           (long long)r->step, (long long)total_steps);
    }
    r->first = r->saved_step = r->step;
    int rc = run_is_root(r) ? run_io_open_metrics(r, e) : 0;
    if (dist_bcast_status(r->dist, rc, e) != 0) return -1;
    if (r->resume_dir[0]) run_note(r, "%s: resuming from %s (step %lld)", r->t->name, r->resume_dir, (long long)r->step);
    return 0;
}

void run_free(Run *r) {
    run_io_close(r);
    if (r->opt.m) adamw_free(&r->opt);
    dp_shards_free(&r->shards);
    dp_pool_free(&r->pool);
    free(r->grads);
    free(r->counts);
    free(r->partial);
    sb_free(&r->line);
    sb_free(&r->summary);
    trainer_state_free(&r->resume);
    memset(r, 0, sizeof *r);
}

double run_elapsed(const Run *r) { return clock_now() - r->t_start; }

void run_count_forward(Run *r, const ModelActs *acts) {
    r->step_tokens += (int64_t)acts->B * acts->T;
    if (r->m->cfg.n_routed_experts > 0) model_expert_counts_add(acts, &r->m->cfg, r->counts);
}

static void zero_counts(Run *r) {
    const ModelConfig *c = &r->m->cfg;
    if (c->n_routed_experts > 0)
        memset(r->counts, 0, sizeof *r->counts * (size_t)(c->num_hidden_layers + c->num_nextn_predict_layers) *
                                 (size_t)c->n_routed_experts);
}

static const char *nonfinite_name(double x) { return isnan(x) ? "NaN" : "Inf"; }

int run_update(Run *r, const RunUpdate *u_in, double *clip, Err *e) {
    RunUpdate u = *u_in;
    if (r->o->fault_kind == RUN_FAULT_INF_GRAD && r->o->fault_step == r->step + 1) r->grads[0] = INFINITY;
    double norm = run_dp_reduce(r, u.grad_scale);   /* sums over the ranks first */
    if (u.extra) norm = sqrt(norm * norm + u.extra_sq);
    r->grad_norm = norm;
    if (!isfinite(u.loss) || !isfinite(norm)) {
        if (!r->o->skip_nonfinite) {
            char f[64];
            return err_set(e, "step %lld: %s is %s; stopping (parameters are those after step %lld; %s skips "
                              "such steps)", (long long)r->step + 1,
                           !isfinite(u.loss) ? "the loss" : "the gradient norm",
                           nonfinite_name(!isfinite(u.loss) ? u.loss : norm), (long long)r->step,
                           opt_flag("skip_nonfinite", f, sizeof f));
        }
        memset(r->grads, 0, r->m->table.total * sizeof(real));
        r->n_leaves = 0;
        zero_counts(r);
        r->skipped++;
        r->step_skipped = 1;
        if (clip) *clip = 0;
        return 1;
    }
    double cf = clip_factor(norm, r->optim->max_grad_norm);
    run_dp_apply(r, u.grad_scale * cf);
    if (r->optim->bias_update_speed > 0 && r->m->cfg.n_routed_experts > 0)
        model_bias_update(r->m, r->counts, r->optim->bias_update_speed);
    zero_counts(r);
    if (clip) *clip = cf;
    return 0;
}

static int budget_spent(const Run *r) {
    return r->o->max_train_tokens > 0 && r->train_tokens >= r->o->max_train_tokens;
}

/* Stop conditions after a step, agreed by the ranks (a signal reaches each on its own; the
 * clock is rank 0's; train_tokens is the same on every rank): 1 signal / stop_after
 * (interrupted), 2 out of time or compute. */
static int stop_kind(const Run *r) {
    int k = 0;
    if ((r->o->stop && *r->o->stop) || (r->o->stop_after > 0 && r->step == r->o->stop_after)) k |= 1;
    if (run_is_root(r) && r->o->max_seconds > 0 && run_elapsed(r) >= r->o->max_seconds) k |= 2;
    if (budget_spent(r)) k |= 2;
    k = dist_or_int(r->dist, k);
    return k & 1 ? 1 : k;
}

/* A checkpoint of the state after r->step steps: rank 0 writes it (ZeRO-1: with the moments
 * streamed from every rank as the file reaches them). */
static int save(Run *r, Err *e) {
    MomentStream ms;
    const MomentSource *moments = run_dp_moments_begin(r, &ms);
    int rc = 0;
    if (run_is_root(r)) rc = run_io_save(r, moments, e);
    else r->saved_step = r->step;
    run_dp_moments_end(r, &ms);   /* (after a failed write too: no rank is left sending) */
    return dist_agree(r->dist, rc, e);
}

/* The fault RUN_FAULT_NAN_WEIGHT: a NaN in the final norm, which every token passes. */
static void inject_nan_weight(Run *r) {
    const ParamInfo *p = param_find(&r->m->table, "model.norm.weight");
    r->m->params[p ? p->offset : 0] = NAN;
}

int run_loop(Run *r, Err *e) {
    r->t_start = clock_now();
    int rc = 0;
    const int ranks = dist_ranks(r->dist);
    while (r->step < r->total && !budget_spent(r)) {   /* (a resumed run may have spent it) */
        if (dist_or_int(r->dist, r->o->stop && *r->o->stop)) {   /* signalled between steps */
            r->interrupted = 1;
            if (r->step > r->saved_step) rc = save(r, e);
            break;
        }
        if (r->o->fault_kind == RUN_FAULT_NAN_WEIGHT && r->o->fault_step == r->step + 1) inject_nan_weight(r);
        r->lr = schedule_lr(&r->sched, r->step);
        r->step_skipped = 0;
        r->comm_seconds = 0;
        sb_clear(&r->line);
        sb_clear(&r->summary);
        r->step_tokens = 0;
        if ((rc = r->t->step(r->t->ctx, r, e)) != 0) break;
        dist_sum_i64(r->dist, &r->step_tokens, 1);   /* every rank counted its own forwards */
        r->train_tokens += r->step_tokens;
        if (ranks > 1) sb_printf(&r->line, ", \"comm_s\": %.4f", r->comm_seconds);
        run_io_metrics_line(r, r->line.s, r->step_skipped);
        if ((rc = dist_agree(r->dist, run_io_metrics_check(r, e), e)) != 0) break;   /* rank 0 writes */
        r->step++;
        run_io_progress(r);
        int stop = stop_kind(r), last = r->step == r->total;
        if (stop || last || (r->o->save_every > 0 && r->step % r->o->save_every == 0))
            if ((rc = save(r, e)) != 0) break;
        if (stop == 1) r->interrupted = 1;
        if (stop) break;
    }
    run_io_progress_end(r);
    if (rc == 0 && !r->interrupted) {
        if (r->t->finish) rc = r->t->finish(r->t->ctx, r, e);
        if (rc == 0) rc = dist_agree(r->dist, run_io_metrics_check(r, e), e);
        if (rc == 0) rc = dist_agree(r->dist, run_is_root(r) ? run_io_final_folder(r, e) : 0, e);
    }
    if (rc == 0) rc = run_dp_report_memory(r, e);
    return rc;
}

void run_metrics_write(Run *r, const char *fields) { run_io_metrics_line(r, fields, 0); }

void run_note(Run *r, const char *fmt, ...) {
    if (r->o->quiet || !run_is_root(r)) return;
    run_io_progress_end(r);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
