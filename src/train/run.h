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
 * Data parallelism goes in here, once: run_update() is the only way a step's gradients reach the
 * optimizer, and its first act (reduce_gradients in run.c) is where the gradients, the expert
 * loads, the loss and extra squared norms are to be summed over ranks in a fixed rank order;
 * every file a run writes goes through the engine, to be written by rank 0 only.
 *
 * Use:  run_begin(&r, &o.run, &o.optim, &trainer, e)    options, the folder, the checkpoint to
 *                                                         resume from (r.resume_dir, r.resume)
 *       ... the trainer builds its model and data ...
 *       run_attach(&r, &model, total_steps, files, n_files, e)     optimizer, resumed state
 *       run_loop(&r, e)          steps, checkpoints, the trainer's finish, the final folder
 *       run_free(&r)
 */
#ifndef R1_TRAIN_RUN_H
#define R1_TRAIN_RUN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
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
    double lr;                      /* learning rate of the running step */
    double grad_norm;               /* of the last update (clipping applies to it) */
    int step_skipped;               /* an update of the running step was skipped */
    StrBuf line, summary;
    double t_start;                 /* when run_loop began */
    int interrupted;                /* stopped by a signal or stop_after: checkpoint written */
    char resume_dir[4096];          /* the checkpoint being resumed ("" if none) */
    TrainerState resume;            /* its state (options, trainer) */
    /* internal */
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

/* One optimizer update from r->grads (and r->counts). Returns 0 when applied, 1 when skipped
 * (skip_nonfinite), -1 with an Err naming the step otherwise. Sets r->grad_norm; *clip (may be
 * NULL) receives the factor the gradient was multiplied by besides grad_scale. */
int run_update(Run *r, const RunUpdate *u, double *clip, Err *e);

/* An extra metrics line {"step": r->step<fields>} (e.g. a final evaluation, from `finish`). */
void run_metrics_write(Run *r, const char *fields);

/* A training forward (a backward follows): r->counts += its expert loads, r->train_tokens += its
 * positions (B·T, padding included: what was computed). */
void run_count_forward(Run *r, const ModelActs *acts);

/* A line of its own between progress lines (not when quiet). */
void run_note(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds since run_loop began. */
double run_elapsed(const Run *r);

#endif
