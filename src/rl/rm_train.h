/* Reward-model training (reward_model.h's losses) as a trainer on the run engine (train/run.h):
 * a seeded split holds out the last val_frac of the items; each epoch visits the training items
 * in a seeded shuffle, batch items per step (the last step of an epoch takes what is left), the
 * trunk updated by the engine's AdamW, the D head weights by the same AdamW rule (no decay) with
 * the same clip factor, the norm taken over both. With a run folder: metrics.jsonl ({"step",
 * "epoch", "loss", "lr", "grad_norm"[, "epoch_loss", "epoch_accuracy"]} per step and a last line
 * {"step": N, "final": true, "val_accuracy", "val_loss"}), checkpoints (the head and its moments
 * in the trainer state) and resume to the same bits, and at the end the RM folder in out/. */
#ifndef R1_RL_RM_TRAIN_H
#define R1_RL_RM_TRAIN_H

#include <stdint.h>

#include "rl/reward_model.h"
#include "io/options.h"
#include "train/run.h"

typedef struct RmTrainOptions {
    const char *model_dir;      /* rm_train_run: the policy/base folder the RM starts from */
    const char *data;           /* rm_train_run: JSONL preferences (or labelled items), or */
    const char *builtin;        /*   built-in data: "helpful" or "harmless" */
    int n;                      /* built-in items */
    int pointwise;              /* BCE on safe (1) / unsafe (0) labels instead of pairs */
    int epochs, batch;          /* batch: pairs (or labelled items) per step, 1..RM_MAX_BATCH */
    int micro_batch;            /* items per forward/backward (0: batch): the leaves of a step's
                                 * gradient (train/run.h) */
    double val_frac;            /* held out (the last share after a seeded shuffle) */
    uint64_t seed;              /* head init, the split, the shuffles, built-in data */
    OptimOptions optim;
    RunOptions run;             /* out_dir NULL: in memory (rm_train only) */
} RmTrainOptions;

extern const OptSet RM_TRAIN_OPTIONS;

RmTrainOptions rm_train_defaults(void);

typedef struct RmTrainResult {
    int n_train, n_val, steps;
    double first_loss, last_loss;   /* mean train loss of the first / last epoch */
    double val_acc, val_loss;       /* held-out pair accuracy (point-wise: sign matches label) */
    double val_acc_before;          /* the same before training */
    double seconds;
    int interrupted;
} RmTrainResult;

/* Trains rm on d. */
int rm_train(RewardModel *rm, const RmData *d, const RmTrainOptions *o, RmTrainResult *res, Err *e);

/* `r1 rm train`: the data, an RM from model_dir (trunk copied, head from seed), rm_train into
 * run.out_dir. */
int rm_train_run(const RmTrainOptions *o, RmTrainResult *res, Err *e);

#endif
