/* Supervised fine-tuning (R1's cold start and rejection-sampled SFT) and distillation into a
 * dense student: chat records (sft_data.h) packed into rows of seq_len, cross-entropy on the
 * assistant (completion) tokens only, epochs of seeded shuffles, held-out loss and, through a
 * hook, held-out task accuracy. The run engine (run.h) owns the update (clipping, AdamW, the MoE
 * bias update), the folder, checkpoints, resume, metrics and progress:
 *     out/metrics.jsonl          {"step", "epoch", "loss", "lr", "grad_norm", "tokens",
 *                                 "tokens_per_s"[, "val_loss"][, "accuracy"]} per step
 *     out/checkpoints/step-N/    the data cursor is (epoch, pos) of the training batcher
 *     out/config.json, model.safetensors, tokenizer.json, tokenizer_config.json   the final model
 *
 * Step s (0-based) takes `batch` packed rows, lr = schedule(s).
 *
 * Model source: model_dir (a HF folder with tokenizer.json: SFT), or config_path +
 * tokenizer_path (+ init_dir, a folder with the same config's weights, else param_init(seed)):
 * distillation. require_dense refuses a config with routed experts (the student must be dense).
 */
#ifndef R1_TRAIN_SFT_H
#define R1_TRAIN_SFT_H

#include <stdint.h>

#include "base/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "io/options.h"
#include "train/run.h"
#include "train/sft_data.h"

/* Held-out task accuracy in [0, 1] of model m on the first n examples of val: completions of
 * their prompts (at most max_new tokens) scored against the reference completions; NAN when it
 * cannot be measured. Generation lives above this layer: rl/sft_eval.h supplies one. */
typedef double (*SftAccuracyFn)(void *ctx, const Model *m, Tokenizer *tok, const SftSet *val, int n, int max_new);

typedef struct SftOptions {
    const char *model_dir;          /* SFT: start from this folder (its tokenizer.json is used) */
    const char *config_path;        /* distill: student config.json */
    const char *tokenizer_path;     /* distill: tokenizer.json (tokenizer_config.json beside it is copied) */
    const char *init_dir;           /* distill: initial student weights (NULL: param_init(seed)) */
    int require_dense;
    const char *data_path;          /* JSONL records, or: */
    const char *tasks;              /* built-in tasks, comma-separated */
    int64_t task_n;                 /* records generated from the tasks */
    int task_level;
    int64_t epochs, steps;          /* steps == 0: epochs × rows per epoch / batch (rounded up) */
    int batch, seq_len;
    int micro_batch;                /* rows per forward/backward (0: batch): the step's gradient is
                                     * the tree sum of its micro-batches' (train/dp.h) */
    uint64_t seed;
    int drop_long;                  /* drop examples longer than seq_len instead of truncating */
    double val_frac;
    int64_t eval_every;             /* held-out loss every N steps (0: only at the end) */
    int eval_samples;               /* held-out prompts for the accuracy on eval steps (0: off) */
    int eval_max_new;               /* 0: up to seq_len minus the prompt */
    SftAccuracyFn accuracy;         /* NULL: no accuracy */
    void *accuracy_ctx;
    OptimOptions optim;
    RunOptions run;
} SftOptions;

extern const OptSet SFT_OPTIONS;        /* r1 sft: --model */
extern const OptSet DISTILL_OPTIONS;    /* r1 distill: --student-config, --tokenizer, --init */

SftOptions sft_defaults(void);

typedef struct SftResult {
    int64_t steps_done;
    int64_t n_train, n_val;         /* examples */
    int64_t truncated, dropped;
    double first_loss, last_loss, val_loss;   /* val_loss NAN when there is no held-out set */
    double accuracy;                /* last held-out task accuracy (NAN if not measured) */
    double seconds, tokens_per_s;
    int interrupted;
} SftResult;

int sft_run(const SftOptions *o, SftResult *res, Err *e);

#endif
