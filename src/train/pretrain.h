/* Pretraining: text tokenized once into a token cache (pretrain_data.h), shuffled sequences from
 * the loader, model forward/backward with gradient accumulation, the run engine's update
 * (train/run.h: NaN/Inf policy, clipping, AdamW, MoE bias update) with the schedule's learning
 * rate, held-out loss. The run engine owns the folder, checkpoints, resume, metrics and progress:
 *     out/metrics.jsonl      {"step", "loss", "mtp_loss", "aux_loss", "lr", "grad_norm", "tokens",
 *                            "tokens_per_s", "time_s"[, "val_loss"][, "skipped"]} per step
 *     out/checkpoints/step-N/, out/ the final model (tokenizer.json, tokenizer_config.json copied)
 *     out/data/tokens.bin    the token cache, unless cache_path names another
 *
 * Resume: the checkpoint gives the parameters, moments, step, the loader cursor (epoch, pos) and
 * the data size (a changed corpus is refused); the data order is a function of (seed, epoch), the
 * schedule of the step, and every reduction runs in a fixed order, so the resumed run reaches the
 * uninterrupted run's bits (same thread count).
 *
 * Step accounting: step s (0-based) consumes grad_accum·batch sequences with lr = schedule(s);
 * checkpoint step-N holds the state after N steps.
 */
#ifndef R1_TRAIN_PRETRAIN_H
#define R1_TRAIN_PRETRAIN_H

#include <stdint.h>

#include "base/error.h"
#include "model/params.h"
#include "io/options.h"
#include "train/run.h"

typedef struct PretrainOptions {
    /* inputs */
    const char *config_path;        /* model config.json (when resuming: the checkpoint's) */
    const char *tokenizer_path;     /* tokenizer.json, whatever it is called */
    const char *data;               /* text or JSONL ({"text": ...}) files, comma-separated */
    const char *cache_path;         /* token cache (NULL: out/data/tokens.bin) */
    int skip_bad;                   /* skip (and count) JSONL lines that are not {"text": ...} */
    const char *tokens_path;        /* instead of tokenizer + data: a token cache already built
                                     * (tests; model folders then get no tokenizer files) */
    /* length */
    int64_t steps;                  /* optimizer steps (0: from `tokens`; resuming: the run's) */
    int64_t tokens;                 /* training tokens when steps == 0 */
    /* batch */
    int batch, seq_len, grad_accum;
    /* model losses */
    double mtp_lambda, seq_aux_alpha;
    uint64_t seed;
    /* evaluation */
    double val_frac;                /* held-out fraction of sequences */
    int64_t eval_every;             /* 0: only at the end (when there is held-out data) */
    int64_t eval_batches;           /* at most this many held-out batches per evaluation */
    OptimOptions optim;
    RunOptions run;
    /* tests: fills the initial parameters instead of param_init (NULL: param_init(seed)) */
    void (*init_params)(const ParamTable *pt, const ModelConfig *cfg, real *params, uint64_t seed);
    uint64_t init_seed;             /* seed handed to init_params / param_init (0: `seed`) */
} PretrainOptions;

extern const OptSet PRETRAIN_OPTIONS;

/* Defaults of every field (the CLI's --help shows these). */
PretrainOptions pretrain_defaults(void);

typedef struct PretrainResult {
    int64_t steps_done;             /* optimizer steps in total (including before a resume) */
    int64_t skipped;                /* updates skipped by the NaN/Inf policy */
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
