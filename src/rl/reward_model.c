/* Reward model: trunk + scalar head, scoring, Bradley–Terry / point-wise training, RM folders.
 * See reward_model.h. Data loading and the built-in pairs are in rm_data.c. */
#include "rl/reward_model.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/rng.h"
#include "infer/model_dir.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/model_hidden.h"
#include "model/model_io.h"
#include "rl/rl_prompts.h"

#define REAL_ST (REAL_IS_DOUBLE ? ST_F64 : ST_F32)

static void rm_set_len(RewardModel *rm) {
    rm->max_len = rm->m.cfg.max_position_embeddings;
    if (rm->max_len > 256) rm->max_len = 256;
}

int rm_init_from_policy(RewardModel *rm, const char *dir, uint64_t seed, Err *e) {
    memset(rm, 0, sizeof *rm);
    Model pol;
    if (model_dir_open(dir, &pol, &rm->tok, e)) return -1;
    snprintf(rm->tok_path, sizeof rm->tok_path, "%s/tokenizer.json", dir);
    ModelConfig cfg = pol.cfg;
    cfg.num_nextn_predict_layers = 0;
    model_init(&rm->m, &cfg);
    for (int i = 0; i < rm->m.table.n; i++) {
        const ParamInfo *p = &rm->m.table.t[i];
        const ParamInfo *q = param_find(&pol.table, p->name);
        CHECK(q && q->numel == p->numel);
        memcpy(rm->m.params + p->offset, pol.params + q->offset, p->numel * sizeof(real));
    }
    model_free(&pol);
    const int D = cfg.hidden_size;
    rm->score = xcalloc((size_t)D, sizeof(real));
    Rng r = rng_make(seed, RNG_INIT, 1u << 20, 0);
    for (int d = 0; d < D; d++) rm->score[d] = (real)((2 * rng_uniform(&r) - 1) * 0.1 / sqrt((double)D));
    rm_set_len(rm);
    return 0;
}

void rm_free(RewardModel *rm) {
    if (rm->acts_B) model_acts_free(&rm->a);
    free(rm->score);
    if (rm->tok) tokenizer_free(rm->tok);
    model_free(&rm->m);
    memset(rm, 0, sizeof *rm);
}

int rm_load(RewardModel *rm, const char *dir, Err *e) {
    memset(rm, 0, sizeof *rm);
    ModelConfig cfg;
    Safetensors st;
    if (model_io_open(dir, &cfg, &st, e)) return -1;
    const StTensor *sw = st_find(&st, "score.weight");
    if (!sw) {
        err_set(e, "%s: tensor 'score.weight': missing (not a reward-model folder)", dir);
        st_free(&st);
        return -1;
    }
    if (sw->ndim != 2 || sw->shape[0] != 1 || sw->shape[1] != cfg.hidden_size) {
        err_set(e, "%s: tensor 'score.weight': shape must be [1, %d]", st_path(&st, sw), cfg.hidden_size);
        st_free(&st);
        return -1;
    }
    model_init(&rm->m, &cfg);
    rm->score = xcalloc((size_t)cfg.hidden_size, sizeof(real));
    int rc = st_read(&st, sw, rm->score, REAL_ST, e);
    if (rc == 0) {
        /* the trunk: the folder's tensors without score.weight (still sorted by name) */
        Safetensors trunk = st;
        trunk.t = xmalloc((size_t)st.n * sizeof *trunk.t);
        trunk.n = 0;
        for (int i = 0; i < st.n; i++)
            if (&st.t[i] != sw) trunk.t[trunk.n++] = st.t[i];
        rc = model_io_read_params(&trunk, &rm->m.cfg, &rm->m.table, rm->m.params, e);
        free(trunk.t);
    }
    st_free(&st);
    if (rc == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        rm->tok = tokenizer_load(path, e);
        snprintf(rm->tok_path, sizeof rm->tok_path, "%s", path);
        if (!rm->tok) rc = -1;
    }
    if (rc) {
        free(rm->score);
        model_free(&rm->m);
        memset(rm, 0, sizeof *rm);
        return err_prefix(e, "reward model %s", dir);
    }
    rm_set_len(rm);
    return 0;
}

int rm_write_weights(const RewardModel *rm, const char *dir, Err *e) {
    const ModelConfig *cfg = &rm->m.cfg;
    const ParamTable *pt = &rm->m.table;
    char path[4096];
    /* config.json: the trunk's, marked as a sequence classifier */
    cJSON *j = config_to_json(cfg);
    cJSON_DeleteItemFromObject(j, "architectures");
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("DeepseekV3ForSequenceClassification"));
    cJSON_DeleteItemFromObject(j, "num_labels");
    cJSON_AddNumberToObject(j, "num_labels", 1);
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = json_save_file(j, path, e);
    cJSON_Delete(j);
    if (rc) return -1;
    StWriteTensor *w = xcalloc((size_t)pt->n + 1, sizeof *w);
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        w[i] = (StWriteTensor){.name = p->name, .dtype = ST_F32, .ndim = p->ndim,
                               .shape = {p->shape[0], p->shape[1]}, .data = rm->m.params + p->offset,
                               .src_type = REAL_ST};
    }
    w[pt->n] = (StWriteTensor){.name = "score.weight", .dtype = ST_F32, .ndim = 2,
                               .shape = {1, cfg->hidden_size}, .data = rm->score, .src_type = REAL_ST};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rc = st_write(path, w, pt->n + 1, e);
    free(w);
    return rc;
}

int rm_save(const RewardModel *rm, const char *dir, Err *e) {
    if (file_mkdirs(dir, e) || rm_write_weights(rm, dir, e)) return -1;
    /* the tokenizer, so the folder scores text on its own */
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (!strcmp(path, rm->tok_path)) return 0;
    size_t n = 0;
    char *json = file_read_all(rm->tok_path, &n, e);
    if (!json) return -1;
    int rc = file_write_atomic(path, json, n, e);
    free(json);
    return rc;
}

/* ---- encoding and scoring ---- */

static void ensure_acts(RewardModel *rm, int B) {
    if (rm->acts_B >= B) return;
    if (rm->acts_B) model_acts_free(&rm->a);
    model_acts_init(&rm->a, &rm->m, B, rm->max_len);
    rm->acts_B = B;
    rm->acts_T = rm->max_len;
}

/* ids of one (prompt, response): BOS + chat prompt + response + EOS, the last max_len kept */
static int encode_one(RewardModel *rm, const char *prompt, const char *response, TokIds *ids, Err *e) {
    StrBuf text = {0};
    prompt_render(PROMPT_CHAT, prompt, &text);
    sb_append(&text, response);
    ids->n = 0;
    int64_t bos = tokenizer_bos_id(rm->tok), eos = tokenizer_eos_id(rm->tok);
    if (bos >= 0) tokids_push(ids, (uint32_t)bos);
    int rc = tokenizer_encode(rm->tok, text.s ? text.s : "", text.len, ids, e);
    sb_free(&text);
    if (rc) return -1;
    if (eos >= 0) tokids_push(ids, (uint32_t)eos);
    if (ids->n > (size_t)rm->max_len) {
        size_t drop = ids->n - (size_t)rm->max_len;
        memmove(ids->v, ids->v + drop, (size_t)rm->max_len * sizeof *ids->v);
        ids->n = (size_t)rm->max_len;
    }
    for (size_t i = 0; i < ids->n; i++)
        if (ids->v[i] >= (uint32_t)rm->m.cfg.vocab_size)
            return err_set(e, "token id %u beyond the model's vocab_size %d", ids->v[i], rm->m.cfg.vocab_size);
    return 0;
}

/* Encodes B texts right-padded into tokens [B, T]; lens [B]. Returns T, or -1. */
static int encode_batch(RewardModel *rm, int B, const char *const *prompts, const char *const *responses,
                        int *tokens, int *lens, Err *e) {
    TokIds ids = {0};
    int T = 1;
    for (int b = 0; b < B; b++) {
        if (encode_one(rm, prompts[b], responses[b], &ids, e)) { tokids_free(&ids); return -1; }
        if (ids.n == 0) tokids_push(&ids, 0);
        lens[b] = (int)ids.n;
        for (int t = 0; t < rm->max_len; t++) tokens[b * rm->max_len + t] = t < (int)ids.n ? (int)ids.v[t] : 0;
        if (lens[b] > T) T = lens[b];
    }
    tokids_free(&ids);
    /* compact rows from stride max_len to stride T */
    for (int b = 0; b < B; b++) memmove(tokens + b * T, tokens + b * rm->max_len, (size_t)T * sizeof *tokens);
    return T;
}

static void forward_scores(RewardModel *rm, const int *tokens, const int *lens, int B, int T, double *r) {
    ModelOptions opt = {0};
    model_forward(&rm->m, &rm->a, tokens, NULL, B, T, &opt);
    const int D = rm->m.cfg.hidden_size;
    for (int b = 0; b < B; b++) {
        const real *h = rm->a.hf + ((size_t)b * T + lens[b] - 1) * D;
        double s = 0;
        for (int d = 0; d < D; d++) s += (double)rm->score[d] * h[d];
        r[b] = s;
    }
}

int rm_score(RewardModel *rm, int n, const char *const *prompts, const char *const *responses,
             double *out, Err *e) {
    ensure_acts(rm, RM_MAX_BATCH);
    int *tokens = xmalloc((size_t)RM_MAX_BATCH * rm->max_len * sizeof *tokens);
    int lens[RM_MAX_BATCH];
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i += RM_MAX_BATCH) {
        int B = n - i < RM_MAX_BATCH ? n - i : RM_MAX_BATCH;
        int T = encode_batch(rm, B, prompts + i, responses + i, tokens, lens, e);
        if (T < 0) { rc = -1; break; }
        forward_scores(rm, tokens, lens, B, T, out + i);
    }
    free(tokens);
    return rc;
}

/* ---- the losses ---- */

static double softplus(double x) { return x > 30 ? x : log1p(exp(x)); }
static double sigmoid(double x) { return 1 / (1 + exp(-x)); }

int rm_batch_loss(RewardModel *rm, const RmData *d, const int *idx, int P, int norm, real *grads, real *gscore,
                  int *tokens, real *dhf, double *loss, int *correct, Err *e) {
    const char *pr[2 * RM_MAX_BATCH] = {0}, *rs[2 * RM_MAX_BATCH] = {0};
    int lens[2 * RM_MAX_BATCH];
    double r[2 * RM_MAX_BATCH], dr[2 * RM_MAX_BATCH];
    CHECK(P <= RM_MAX_BATCH);
    ensure_acts(rm, 2 * RM_MAX_BATCH);
    int B = d->pointwise ? P : 2 * P;
    for (int i = 0; i < P; i++) {
        const RmItem *it = &d->it[idx[i]];
        pr[i] = it->prompt;
        rs[i] = it->chosen;
        if (!d->pointwise) { pr[P + i] = it->prompt; rs[P + i] = it->rejected; }
    }
    int T = encode_batch(rm, B, pr, rs, tokens, lens, e);
    if (T < 0) return -1;
    forward_scores(rm, tokens, lens, B, T, r);
    for (int i = 0; i < P; i++) {
        if (d->pointwise) {
            int y = d->it[idx[i]].label;
            *loss += softplus(r[i]) - y * r[i];
            dr[i] = (sigmoid(r[i]) - y) / norm;
            *correct += (r[i] > 0) == (y == 1);
        } else {
            double diff = r[i] - r[P + i];
            *loss += softplus(-diff);
            double g = -sigmoid(-diff) / norm;
            dr[i] = g;
            dr[P + i] = -g;
            *correct += diff > 0;
        }
    }
    if (!grads) return 0;
    const int D = rm->m.cfg.hidden_size;
    memset(dhf, 0, (size_t)B * T * D * sizeof *dhf);
    for (int b = 0; b < B; b++) {
        size_t row = ((size_t)b * T + lens[b] - 1) * D;
        for (int k = 0; k < D; k++) {
            dhf[row + k] = (real)(dr[b] * rm->score[k]);
            gscore[k] += (real)(dr[b] * rm->a.hf[row + k]);
        }
    }
    model_backward_hidden(&rm->m, &rm->a, grads, dhf);
    return 0;
}

int rm_evaluate(RewardModel *rm, const RmData *d, const int *idx, int n, double *acc, double *loss, Err *e) {
    ensure_acts(rm, 2 * RM_MAX_BATCH);
    int *tokens = xmalloc((size_t)2 * RM_MAX_BATCH * rm->max_len * sizeof *tokens);
    double l = 0;
    int correct = 0, rc = 0;
    for (int i = 0; i < n && rc == 0; i += RM_MAX_BATCH) {
        int P = n - i < RM_MAX_BATCH ? n - i : RM_MAX_BATCH;
        rc = rm_batch_loss(rm, d, idx + i, P, P, NULL, NULL, tokens, NULL, &l, &correct, e);
    }
    free(tokens);
    *acc = n ? (double)correct / n : 0;
    *loss = n ? l / n : 0;
    return rc;
}

