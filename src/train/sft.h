/* Supervised fine-tuning (R1's cold start and rejection-sampled SFT) and distillation into a
 * dense student: chat records (sft_data.h) packed into rows of seq_len, cross-entropy on the
 * assistant (completion) tokens only, AdamW with warm-up + cosine schedule, global-norm
 * clipping, epochs of seeded shuffles, held-out loss, metrics.jsonl, checkpoints and resume.
 *
 * A run lives in one folder `out`:
 *     out/metrics.jsonl          {"step", "epoch", "loss", "lr", "grad_norm", "tokens",
 *                                 "tokens_per_s"[, "val_loss"][, "accuracy"]} per step
 *     out/checkpoints/step-N/    HF folder + trainer_state/ (train/checkpoint.h); the data cursor
 *                                is (epoch, pos) of the training batcher
 *     out/config.json, model.safetensors, tokenizer.json, tokenizer_config.json   the final model
 *
 * Step s (0-based) takes `batch` packed rows, lr = schedule(s). Resume from the latest checkpoint
 * reaches the same bits as the uninterrupted run (same thread count).
 *
 * Model source: model_dir (a HF folder with tokenizer.json: SFT), or config_path + tokenizer_path
 * (+ init_dir, a folder with the same config's weights, else param_init(seed)): distillation.
 * require_dense refuses a config with routed experts (the student must be dense).
 */
#ifndef R1_TRAIN_SFT_H
#define R1_TRAIN_SFT_H

#include <signal.h>
#include <stdint.h>
#include "base/error.h"
#include "train/adamw.h"
#include "train/schedule.h"

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
    const char *out_dir;
    int64_t epochs, steps;          /* steps == 0: epochs × rows per epoch / batch (rounded up) */
    int batch, seq_len;
    double lr, min_lr_ratio;
    int64_t warmup;
    ScheduleKind schedule;
    AdamWConfig adamw;
    double clip;
    double bias_update_speed;       /* γ of the MoE balancing bias (0: off) */
    uint64_t seed;
    int drop_long;                  /* drop examples longer than seq_len instead of truncating */
    double val_frac;
    int64_t eval_every;             /* held-out loss every N steps (0: only at the end) */
    /* task accuracy on eval steps: the first eval_samples held-out prompts are completed greedily
     * (at most eval_max_new tokens, stopping at EOS) and score(completion, reference completion)
     * in [0, 1] is averaged into "accuracy". The caller supplies the verifier (rl/verify.h sits
     * above this layer); NULL or eval_samples 0: off. */
    int eval_samples;
    int eval_max_new;               /* 0: up to seq_len minus the prompt */
    double (*score)(void *ctx, const char *completion, size_t n, const char *reference, size_t ref_n);
    void *score_ctx;
    int64_t save_every;             /* 0: at the end and on a signal */
    int keep;
    int resume;
    int quiet;
    volatile sig_atomic_t *stop;
    int64_t stop_after;             /* tests: act as signalled after this step (0: off) */
} SftOptions;

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
