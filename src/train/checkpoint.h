/* Training checkpoints: out/checkpoints/step-N/ =
 *     config.json, model.safetensors (f32), generation_config.json   the Hugging Face model folder
 *     tokenizer.json, tokenizer_config.json                          copied in, under these names
 *     trainer_state/optimizer.safetensors   AdamW moments: "exp_avg.<HF name>" and
 *                                           "exp_avg_sq.<HF name>" for every trainable tensor (F32)
 *     trainer_state/state.json              step, AdamW step count, skipped steps, training
 *                                           tokens, the run's
 *                                           options, the trainer's own state (its data cursor),
 *                                           and the size and 64-bit hash of every file above (a
 *                                           truncated or altered file is refused)
 *
 * Written into out/checkpoints/.tmp-step-N/, every file fsync'ed, then renamed to step-N and the
 * parent folder fsync'ed: an interrupted write (kill, full disk) leaves only a .tmp folder, which
 * is never read and is removed by the next save; earlier checkpoints are untouched.
 */
#ifndef R1_TRAIN_CHECKPOINT_H
#define R1_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include <cJSON.h>

#include "base/error.h"
#include "model/model.h"
#include "train/adamw.h"

typedef struct TrainerState {
    int64_t step;           /* optimizer steps done */
    int64_t adamw_t;        /* AdamW updates taken (steps minus skipped ones); set by load */
    int64_t skipped;        /* updates skipped by the NaN/Inf policy */
    int64_t train_tokens;   /* tokens through forward+backward so far (0 in older checkpoints) */
    cJSON *options;         /* the run's options (built by the caller) */
    cJSON *trainer;         /* the trainer's own state: data cursor, counters (may be NULL) */
} TrainerState;             /* on save the caller owns the JSON; on load the state does:
                             * free with trainer_state_free */

void trainer_state_free(TrainerState *st);

/* A file copied into model folders under a fixed name, whatever the source is called
 * ("tok.json" -> "tokenizer.json"), so the folder is a valid model folder. */
typedef struct ModelFile {
    const char *src;
    const char *name;
} ModelFile;

/* What a model folder holds: the model's weights — model_write_dir(m) (config.json,
 * model.safetensors, generation_config.json), or `write` for a folder of another layout (the
 * reward model's) that writes config.json and model.safetensors —, and copies of files. */
typedef struct CkptModel {
    const Model *m;
    int (*write)(void *ctx, const char *dir, Err *e);
    void *ctx;
    const ModelFile *files;
    int n_files;
} CkptModel;

/* Where the AdamW moments a checkpoint writes come from when no one optimizer holds them all
 * (ZeRO-1: rank 0 receives the other ranks' shards as the file needs them): get points *out at
 * elements [first, first + n) of moment g (0: exp_avg, 1: exp_avg_sq), laid out by the table, and
 * returns how many of them, from the first on, are there (1 to n). Asked in file order: moment 0
 * then 1, each over the trainable tensors in table order (increasing offsets). */
typedef struct MomentSource {
    size_t (*get)(void *ctx, int g, size_t first, size_t n, const float **out);
    void *ctx;
} MomentSource;

/* Writes checkpoint step-<st->step> under root: the model folder, the moments (from `moments`, or
 * opt's own when NULL: then it must hold them all; opt gives the table and the AdamW step count)
 * and the state. Test hook: fault = k > 0 makes the save fail at point k (1: after the model
 * folder, 2: half-way through optimizer.safetensors, 3: before the rename), as a full disk or a
 * kill would. */
int checkpoint_save(const char *root, const CkptModel *cm, const AdamW *opt, const MomentSource *moments,
                    const TrainerState *st, int fault, char *dir_out, size_t dir_cap, Err *e);

/* Writes the model folder into an existing folder `dir`, every file fsync'ed. */
int checkpoint_write_model_folder(const char *dir, const CkptModel *cm, Err *e);

/* Latest complete checkpoint under root (highest N of step-N with a trainer_state/state.json).
 * Returns 1 and its folder, 0 when there is none, -1 on error. */
int checkpoint_latest(const char *root, char *dir, size_t cap, int64_t *step, Err *e);

/* True when the run folder out_dir holds a complete checkpoint (out_dir/checkpoints/step-N). */
int checkpoint_in_run(const char *out_dir);

/* Reads the trainer state of a checkpoint folder (options included), verifying the sizes and
 * hashes of the files it lists. */
int checkpoint_read_state(const char *dir, TrainerState *st, Err *e);

/* Loads parameters and AdamW moments from a checkpoint whose state was read (hashes verified)
 * into a model built from the same config and an optimizer over its table (holding all the
 * moments). */
int checkpoint_load(const char *dir, Model *m, AdamW *opt, const TrainerState *st, Err *e);
/* The parameters alone (model.safetensors when it holds f32, else the master copy). */
int checkpoint_load_params(const char *dir, Model *m, Err *e);

/* A checkpoint's moments read range by range (ZeRO-1: rank 0 reads each rank's shard in turn). */
typedef struct MomentReader {
    int fd;
    char path[4200];            /* DIR/trainer_state/optimizer.safetensors */
    const ParamTable *pt;
    int64_t *at;                /* [2 * pt->n]: where tensor i's exp_avg (at[i]) and exp_avg_sq
                                 * (at[pt->n + i]) start in the file; -1: no moments */
} MomentReader;

/* Opens the moments of checkpoint folder dir, every entry checked against the table (dtype,
 * shape, data inside the file). */
int checkpoint_moments_open(MomentReader *mr, const char *dir, const ParamTable *pt, Err *e);
/* Elements [first, first + n) of moment g (0: exp_avg, 1: exp_avg_sq) into dst [n], laid out by
 * the table (elements of tensors without moments: 0). */
int checkpoint_moments_read(MomentReader *mr, int g, size_t first, size_t n, float *dst, Err *e);
void checkpoint_moments_close(MomentReader *mr);

/* Removes all but the newest `keep` step-N folders (keep <= 0: nothing) and stale .tmp folders. */
int checkpoint_prune(const char *root, int keep, Err *e);

/* 64-bit hash of a file's bytes (streamed) and its size. */
int file_hash64(const char *path, uint64_t *hash, uint64_t *size, Err *e);

#endif
