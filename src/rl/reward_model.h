/* The reward model of alignment RL: the DeepSeek-V3 trunk plus a scalar head on the final-normed
 * hidden state of the last token (Hugging Face's DeepseekV3ForSequenceClassification layout with
 * num_labels 1: tensor "score.weight" [1, D]).
 *
 * Input text of one (prompt, response): BOS + the chat prompt (rl_prompts.h PROMPT_CHAT:
 * <｜User｜>prompt<｜Assistant｜><think>\n) + response + EOS, tokenized; longer than max_len
 * tokens keeps the last max_len (the score reads the last token). Sequences of a batch are padded
 * on the right: attention is causal, so the last real token never sees the padding.
 *
 *   r = score · hf[last]                                   hf [B·T, D] from model_forward
 *   pairs (Bradley–Terry)  L = mean −log σ(r_chosen − r_rejected)
 *   point-wise (safe = 1)  L = mean BCE(σ(r), label)
 * dL/dr goes to dscore (= Σ dr·hf[last]) and dhf[last] = dr·score, then model_backward_hidden.
 * AdamW on the trunk (train/adamw.h), the same update by hand on the D head weights.
 *
 * An RM folder: config.json (the trunk's config, num_nextn_predict_layers 0, plus
 * "architectures": ["DeepseekV3ForSequenceClassification"], "num_labels": 1),
 * model.safetensors (every trunk tensor under its HF name, lm_head kept so the trunk is a complete
 * DeepSeek-V3 table, + score.weight [1, D]), tokenizer.json. The policy loader (model_io.h)
 * refuses such a folder (score.weight is unexpected); rm_load reads the trunk with
 * model_io_read_params on the folder's tensors minus score.weight, and the head separately.
 */
#ifndef R1_RL_REWARD_MODEL_H
#define R1_RL_REWARD_MODEL_H

#include <stdint.h>

#include "base/error.h"
#include "kernels/real.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

enum { RM_MAX_BATCH = 16 };   /* sequences per scoring forward; items per training step at most */

typedef struct RewardModel {
    Model m;            /* trunk (MTP modules dropped) */
    real *score;        /* [D] score.weight */
    Tokenizer *tok;     /* owned */
    ModelActs a;        /* sized lazily for (max_B, max_T) */
    int acts_B, acts_T;
    int max_len;        /* tokens per sequence (<= max_position_embeddings) */
    char tok_path[4096];/* the tokenizer.json it was read from (rm_save copies it) */
} RewardModel;

/* A new RM from a policy/base folder: the trunk copied, the head small random (seed). */
int rm_init_from_policy(RewardModel *rm, const char *dir, uint64_t seed, Err *e);
int rm_load(RewardModel *rm, const char *dir, Err *e);
/* The RM folder: rm_write_weights (config.json, model.safetensors) + tokenizer.json. */
int rm_save(const RewardModel *rm, const char *dir, Err *e);
int rm_write_weights(const RewardModel *rm, const char *dir, Err *e);
void rm_free(RewardModel *rm);

/* Scores n (prompt, response) texts, up to RM_MAX_BATCH per forward. */
int rm_score(RewardModel *rm, int n, const char *const *prompts, const char *const *responses,
             double *out, Err *e);

/* Training data: pairs (prompt, chosen, rejected), or point-wise (prompt, response = chosen,
 * label 1 safe / 0 unsafe). */
typedef struct RmItem {
    char *prompt, *chosen, *rejected;   /* rejected NULL when point-wise */
    int label;
} RmItem;

typedef struct RmData {
    RmItem *it;
    int n, cap;
    int pointwise;
} RmData;

/* JSONL: {"prompt","chosen","rejected"} lines, or {"prompt","response","label"} when pointwise
 * (label 0/1 or false/true). Errors name file:line and the key. */
int rm_data_load(RmData *d, const char *path, int pointwise, Err *e);
/* Built-in data: "helpful" (task problems: the worked solution vs its flawed one — arith, linear,
 * countdown at levels 1-2 — and the chat task's helpful reply vs an unhelpful one) or "harmless" (tasks/safety.h). n items from seed. Point-wise turns
 * each pair into two labelled items. */
int rm_data_builtin(RmData *d, const char *kind, int n, uint64_t seed, int pointwise, Err *e);
void rm_data_free(RmData *d);

/* Loss of P <= RM_MAX_BATCH items idx[0..P) of d, added to *loss (sum over items), and *correct
 * += the items scored right; when grads is not NULL, the gradient of the loss summed over the
 * items and divided by `norm` (the items of the whole step, of which these are a micro-batch):
 * the trunk's added to grads [table.total], the head's to gscore [D]. Pairs run as sequences
 * [chosen_0..chosen_{P-1}, rejected_0..rejected_{P-1}]. Scratch: tokens
 * [2·RM_MAX_BATCH·max_len], dhf [2·RM_MAX_BATCH·max_len·D] (with grads). */
int rm_batch_loss(RewardModel *rm, const RmData *d, const int *idx, int P, int norm, real *grads, real *gscore,
                  int *tokens, real *dhf, double *loss, int *correct, Err *e);

/* Held-out metrics over items idx[0..n) of d: accuracy (pairs: r_chosen > r_rejected; point-wise:
 * (r > 0) == label) and mean loss. */
int rm_evaluate(RewardModel *rm, const RmData *d, const int *idx, int n, double *acc, double *loss, Err *e);

#endif
