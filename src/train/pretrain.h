/* The pretraining loop: batches from the loader → model forward/backward (gradient accumulation)
 * → NaN/Inf guard → global-norm clipping → AdamW → auxiliary-loss-free bias update, with the
 * schedule's learning rate; validation loss, metrics.jsonl, a progress line, periodic
 * checkpoints (checkpoint.h) and resume.
 *
 * A run lives in one folder `out`:
 *     out/metrics.jsonl                 one JSON object per step (and "val_loss" on eval steps)
 *     out/checkpoints/step-N/           HF model folder + trainer_state/ (checkpoint.h)
 *     out/config.json, model.safetensors, tokenizer.json, ...   the final model, at the end
 *
 * Resume: the latest valid checkpoint gives the parameters (model.safetensors, f32), the AdamW
 * moments and step count, the loader cursor and the run's options; the loop then continues to
 * exactly the bits the uninterrupted run reaches (same thread count): the schedule is a function
 * of the step, the data order a function of (seed, epoch), and every reduction runs in a fixed
 * order.
 *
 * Step accounting: step s (0-based) consumes grad_accum·batch sequences, uses lr =
 * schedule_lr(s); the checkpoint "step-N" holds the state after N updates.
 */
#ifndef R1_TRAIN_PRETRAIN_H
#define R1_TRAIN_PRETRAIN_H

#include <signal.h>
#include <stdint.h>

#include "base/error.h"
#include "model/params.h"
#include "train/adamw.h"
#include "train/schedule.h"

typedef struct PretrainOptions {
    /* inputs */
    const char *config_path;        /* model config.json */
    const char *tokens_path;        /* token cache (tokcache.h), already built */
    const char *tokenizer_dir_files[4]; /* files copied into every checkpoint and the final
                                         * folder (tokenizer.json, tokenizer_config.json); NULLs */
    const char *out_dir;
    /* length */
    int64_t steps;                  /* total optimizer steps (0: from `tokens`) */
    int64_t tokens;                 /* total training tokens when steps == 0 */
    /* batch */
    int batch, seq_len, grad_accum;
    /* optimizer */
    double lr, min_lr_ratio, decay_frac;
    int64_t warmup;
    ScheduleKind schedule;
    AdamWConfig adamw;
    double clip;                    /* max global grad norm (0: off) */
    /* model losses */
    double mtp_lambda, seq_aux_alpha, bias_update_speed;
    uint64_t seed;
    /* evaluation, checkpoints, logging */
    double val_frac;                /* held-out fraction of sequences */
    int64_t eval_every;             /* 0: never (except at the end when val data exists) */
    int64_t eval_batches;           /* at most this many held-out batches per evaluation */
    int64_t save_every;             /* 0: only at the end and on a signal */
    int keep;                       /* keep the last K checkpoints (0: all) */
    int64_t log_every;              /* progress line every N steps (0: a TTY-friendly 1) */
    int skip_nonfinite;             /* skip steps with a NaN/Inf loss or gradient instead of stopping */
    int resume;
    int quiet;                      /* no progress line (tests) */
    /* control */
    volatile sig_atomic_t *stop;    /* set by a SIGINT/SIGTERM handler: checkpoint and return */
    int64_t stop_after;             /* tests: behave as if signalled once this step is done (0: off) */
    /* tests: fills the initial parameters instead of param_init (NULL: param_init(seed)) */
    void (*init_params)(const ParamTable *pt, const ModelConfig *cfg, real *params, uint64_t seed);
    uint64_t init_seed;             /* seed handed to init_params / param_init (0: `seed`) */
    int ckpt_fault;                 /* tests: simulate a write failure in checkpoint number
                                     * ckpt_fault (1-based) of this run (0: off), see checkpoint.h */
} PretrainOptions;

/* Defaults of every field (the CLI's --help shows these). */
PretrainOptions pretrain_defaults(void);

typedef struct PretrainResult {
    int64_t steps_done;             /* optimizer steps in total (including before a resume) */
    int64_t skipped;                /* steps skipped by the NaN/Inf guard */
    double last_loss;               /* training loss of the last step */
    double val_loss;                /* last validation loss (NAN if none) */
    int interrupted;                /* stopped by a signal / stop_after: checkpoint written */
    double seconds;                 /* wall time of the loop */
    double tokens_per_s;            /* training tokens per second over the loop */
    double model_seconds;           /* time inside model forward + backward */
} PretrainResult;

/* Runs (or resumes) a run. Errors about the inputs come before any work. */
int pretrain_run(const PretrainOptions *o, PretrainResult *res, Err *e);

#endif
