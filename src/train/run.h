/* The training-run engine: one loop under every trainer — pretrain, sft (and distill), grpo (and
 * zero, align), rm train. A trainer keeps its data and its step function; the engine owns:
 *
 *   the run folder  out/metrics.jsonl (one JSON object per step; "step" is its 0-based index),
 *                   out/checkpoints/step-N/ (checkpoint.h: the state after N steps) and, at the
 *                   end, the final model folder in out/ itself, a valid model folder whatever the
 *                   inputs were called (ModelFile). A folder holding another run (a checkpoint)
 *                   is refused unless resuming; resuming a folder with no checkpoint is an error.
 *                   out NULL: in memory (no folder, checkpoints or metrics).
 *   checkpoints     every save_every steps, after the last step, on SIGINT/SIGTERM (`stop`) and
 *                   once max_seconds have passed; the newest `keep` are kept. Each holds what the
 *                   maths depends on: the weights (MoE correction biases included), the AdamW
 *                   moments and update count, the step, the skipped-update count, the trainer's
 *                   data cursor and state, and its OPT_MATH options (options.h): a resume whose
 *                   value differs is refused, naming the option. Every random stream is keyed by
 *                   (seed, purpose, step/epoch/index) (base/rng.h), so the seed and the cursor
 *                   are the random state. A resumed run reaches the bits of the uninterrupted one
 *                   (same thread count).
 *   the update      run_update(): global gradient norm -> NaN/Inf policy (stop, or skip with
 *                   skip_nonfinite) -> clipping -> AdamW -> the auxiliary-loss-free MoE bias
 *                   update (DeepSeek-V3 §2.1.2: every training step, γ = bias_update_speed) with
 *                   the expert loads the trainer's training forwards counted (run_count_forward).
 *   compute         train_tokens: the positions of every training forward (run_count_forward),
 *                   each followed by a backward: tokens through forward+backward, the measure of
 *                   max_train_tokens, in checkpoints and on every metrics line.
 *   reporting       the step's metrics line (the trainer adds its fields to r->line), the
 *                   progress line with ETA (the trainer's r->summary; a \r line on a terminal,
 *                   a line every log_every steps otherwise), notes between them (run_note).
 *
 * Data parallelism (`mpirun -np N`, RunOptions.dist; train/dp.h): a step's gradient is a sum
 * over leaves, the units of work the trainer's options fix (never the rank count). The trainer
 * hands them to run_leaves(), which computes this rank's leaves, each from zero, sums them in the
 * one binary tree dp.h describes, and gives every rank every leaf's statistics (losses, counts),
 * which the trainer adds in leaf order; run_update() sums the ranks' subtrees up the same tree
 * (and the expert loads, integers), so every rank applies the update one process would, bit for
 * bit. Work without gradients (evaluations, rollouts) is shared with run_share() and
 * run_gather(). Only rank 0 touches the run folder: it writes metrics, checkpoints and the final
 * folder, and reads the checkpoint being resumed, whose state and parameters it broadcasts
 * (ZeRO-1: scatters the AdamW moments, gathered again for each checkpoint). Stops (signals,
 * max_seconds) are agreed between steps, so all ranks stop after the same step.
 *
 * Use:  run_begin(&r, &o.run, &o.optim, &trainer, e)    options, the folder, the checkpoint to
 *                                                         resume from (r.resume_dir, r.resume)
 *       ... the trainer builds its model and data ...
 *       run_attach(&r, &model, total_steps, files, n_files, e)     optimizer, resumed state
 *       run_loop(&r, e)          steps, checkpoints, the trainer's finish, the final folder
 *       run_free(&r)
 * A step:  run_leaves(r, n, leaf_fn, ctx, stats, k, e)   gradients of the step's n leaves
 *          run_update(r, &u, &clip, e)                   the update
 */
#ifndef R1_TRAIN_RUN_H
#define R1_TRAIN_RUN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "base/dist.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/dp.h"
#include "io/options.h"
#include "train/schedule.h"

/* The engine's options: the same flags for every trainer (RUN_OPT_TABLE). */
typedef struct RunOptions {
    const char *out_dir;            /* "out" */
    int64_t save_every;             /* 0: only after the last step, on a signal, at max_seconds */
    int keep;                       /* newest checkpoints kept (0: all) */
    int resume;
    double max_seconds;             /* > 0: stop (and finish normally) after the step that
                                     * passes this wall time (how many steps that is depends on
                                     * the machine: for results, use max_train_tokens) */
    int64_t max_train_tokens;       /* > 0: stop (and finish normally) after the step that brings
                                     * train_tokens to this: a compute budget met at the same step
                                     * by every run, resumed or not */
    int skip_nonfinite;             /* skip an update whose loss or gradient is NaN/Inf (else stop) */
    int64_t log_every;              /* progress every N steps when stderr is not a terminal */
    int threads;                    /* > 0: threads_set() at the start */
    int quiet;                      /* no progress line or notes */
    int64_t stop_after;             /* tests: act as if signalled once this step is done (0: off) */
    volatile sig_atomic_t *stop;    /* set by a SIGINT/SIGTERM handler: checkpoint and return */
    int ckpt_fault;                 /* tests: make checkpoint number k (1-based) of this process
                                     * fail half-way (checkpoint.h) (0: off) */
    int zero_stage;                 /* ranks > 1: 1 shards the AdamW moments (ZeRO-1), 0 does not */
    Dist *dist;                     /* the ranks (NULL: one process) */
    int64_t fault_step;             /* tests: corrupt step k (1-based; 0: off) as fault_kind says */
    int fault_kind;                 /* RUN_FAULT_* */
} RunOptions;

/* Faults a test injects (RunOptions.fault_step): a weight turns NaN before the step (bad memory,
 * a corrupt update), or the step's gradient holds an Inf (a corrupt batch). */
enum { RUN_FAULT_NAN_WEIGHT = 1, RUN_FAULT_INF_GRAD = 2 };

/* The optimizer's options, shared by every trainer (OPTIM_OPT_TABLE). */
typedef struct OptimOptions {
    double learning_rate;           /* peak */
    ScheduleKind lr_scheduler;
    int64_t warmup_steps;
    double min_lr_ratio, decay_frac;
    AdamWConfig adamw;
    double max_grad_norm;           /* 0: no clipping */
    double bias_update_speed;       /* γ of the MoE balancing bias (0: off) */
    MatPrec precision;              /* of the model's big products (model_set_precision) */
} OptimOptions;

extern const OptTable RUN_OPT_TABLE;
extern const OptTable OPTIM_OPT_TABLE;

typedef struct Run Run;

/* What a trainer gives the engine. Hooks return 0 or -1 with an Err. */
typedef struct Trainer {
    const char *name;               /* "pretrain": the progress line, messages, checkpoints */
    const OptSet *options;          /* its option set and struct: OPT_MATH options are recorded */
    const void *opts;               /*   in checkpoints and compared on resume */
    void *ctx;
    /* One step, r->step (0-based) being its index: the data, forward/backward, run_update() once
     * per optimizer update (GRPO: num_iterations times); its metrics fields go to r->line
     * (", \"loss\": 2.5"), its progress fields to r->summary. */
    int (*step)(void *ctx, Run *r, Err *e);
    /* The trainer's own state (data cursor, running sums) into / out of a checkpoint. */
    void (*save_state)(void *ctx, cJSON *state);                     /* may be NULL */
    int (*load_state)(void *ctx, const cJSON *state, Err *e);        /* may be NULL */
    /* After the last step of a run that was not stopped: a final evaluation, say. */
    int (*finish)(void *ctx, Run *r, Err *e);                        /* may be NULL */
    /* Writes config.json + model.safetensors of a folder of another layout (CkptModel.write). */
    int (*write_model)(void *ctx, const char *dir, Err *e);          /* NULL: the model's own */
} Trainer;

struct Run {
    const RunOptions *o;
    const OptimOptions *optim;
    const Trainer *t;
    Model *m;                       /* the trainer's */
    AdamW opt;
    real *grads;                    /* [m->table.total] gradients; zero after every update */
    int64_t *counts;                /* [(L+M), E] expert loads since the last update */
    double *partial;                /* norm scratch */
    Schedule sched;
    int64_t step;                   /* steps done: the index of the step running */
    int64_t total;                  /* steps of the run */
    int64_t first;                  /* the step this process started at */
    int64_t skipped;                /* updates skipped by the NaN/Inf policy */
    int64_t train_tokens;           /* positions through forward+backward so far (run_count_forward) */
    int64_t step_tokens;            /* this rank's share of the running step's (summed after it) */
    double lr;                      /* learning rate of the running step */
    double grad_norm;               /* of the last update (clipping applies to it) */
    int step_skipped;               /* an update of the running step was skipped */
    StrBuf line, summary;
    double t_start;                 /* when run_loop began */
    int interrupted;                /* stopped by a signal or stop_after: checkpoint written */
    char resume_dir[4096];          /* the checkpoint being resumed ("" if none) */
    TrainerState resume;            /* its state (options, trainer) */
    Dist *dist;                     /* o->dist (NULL: one process) */
    double comm_seconds;            /* spent exchanging gradients and parameters in this step */
    /* internal */
    DpShards shards;
    DpPool pool;
    int64_t n_leaves;               /* of the gradient waiting for run_update (0: none) */
    char root[4096];
    FILE *metrics;
    ModelFile files[4];
    int n_files;
    int progress_open, saves;
    int metrics_errno;              /* a metrics line could not be written (errno) */
    int64_t saved_step;
};

/* Checks the options, the folder and what there is to resume; reads the checkpoint's state and
 * refuses one of another command or with other OPT_MATH options. Nothing is written. */
int run_begin(Run *r, const RunOptions *o, const OptimOptions *optim, const Trainer *t, Err *e);

/* The optimizer over m, the buffers, the run of total_steps (> 0), the files copied into every
 * model folder; when resuming, the parameters, moments, step and the trainer's state. Creates
 * the folder and opens metrics.jsonl. */
int run_attach(Run *r, Model *m, int64_t total_steps, const ModelFile *files, int n_files, Err *e);

/* Runs the steps; then, unless stopped by a signal: the trainer's finish and the final model
 * folder in out/. */
int run_loop(Run *r, Err *e);

void run_free(Run *r);

typedef struct RunUpdate {
    double grad_scale;              /* multiplies r->grads (1 / accumulation steps) */
    double loss;                    /* the loss these gradients are of: non-finite -> policy */
    int extra;                      /* the gradient has values outside the model's table: */
    double extra_sq;                /*   their sum of squares (scaled), part of the norm */
} RunUpdate;

/* One leaf of a step: grads (zero on entry) += its gradient; its statistics into stats
 * [n_stats] (run_leaves). Expert loads go through run_count_forward as usual. 0 or -1. */
typedef int (*RunLeafFn)(void *ctx, Run *r, int64_t leaf, real *grads, double *stats, Err *e);

/* The gradient of the step's leaves 0..n-1 (n >= 1) into r->grads (zero on entry): this rank's
 * share of the tree (dp.h); afterwards stats [n·n_stats] holds every leaf's statistics on every
 * rank (stats may be NULL when n_stats is 0). An error on any rank is every rank's. 0 or -1. */
int run_leaves(Run *r, int64_t n, RunLeafFn fn, void *ctx, double *stats, int n_stats, Err *e);

/* One optimizer update from the gradient run_leaves left (and r->counts), summed over the
 * ranks first. Returns 0 when applied, 1 when skipped (skip_nonfinite), -1 with an Err naming
 * the step otherwise. Sets r->grad_norm; *clip (may be NULL) receives the factor the gradient
 * was multiplied by besides grad_scale. u's loss and extra_sq must be the same on every rank
 * (made from run_leaves' statistics). */
int run_update(Run *r, const RunUpdate *u, double *clip, Err *e);

/* Work without gradients (evaluation batches, rollout batches) shared by the ranks: items
 * [*lo, *hi) of n are this rank's (contiguous, in rank order; the tree's split). */
void run_share(const Run *r, int64_t n, int64_t *lo, int64_t *hi);
/* After run_share: v [n·per] holds this rank's items; afterwards every rank's. */
void run_gather(Run *r, int64_t n, double *v, int per);
/* run_gather of n (sum, count) pairs v [2n], then Σ sum / Σ count added in item order (NaN when
 * the counts are 0): an evaluation's mean per token. */
double run_gather_mean(Run *r, int64_t n, double *v);
/* Rank 0 runs this process's files and terminal output (one process: always). */
int run_is_root(const Run *r);

/* An extra metrics line {"step": r->step<fields>} (e.g. a final evaluation, from `finish`). */
void run_metrics_write(Run *r, const char *fields);

/* A training forward (a backward follows): r->counts += its expert loads, r->train_tokens += its
 * positions (B·T, padding included: what was computed; summed over the ranks after the step). */
void run_count_forward(Run *r, const ModelActs *acts);

/* A line of its own between progress lines (not when quiet). */
void run_note(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds since run_loop began. */
double run_elapsed(const Run *r);

#endif
