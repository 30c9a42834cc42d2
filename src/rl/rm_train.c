/* Reward-model training on the run engine (rm_train.h). */
#include "rl/rm_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "io/json.h"

#define R_(field) offsetof(RmTrainOptions, field)
static const OptSpec RM_SPECS[] = {
    OPT("model", OPT_STR, R_(model_dir), 0, "policy/base model folder the RM starts from (trunk copied)"),
    OPT("data", OPT_STR, R_(data), 0,
        "JSONL of {\"prompt\",\"chosen\",\"rejected\"} (point-wise: {\"prompt\",\"response\",\"label\"})"),
    OPT("builtin", OPT_STR, R_(builtin), OPT_MATH, "built-in data instead of --data: helpful or harmless"),
    OPT("n", OPT_INT, R_(n), OPT_MATH, "built-in data: number of pairs"),
    OPT("pointwise", OPT_BOOL, R_(pointwise), OPT_MATH, "BCE on safe (1) / unsafe (0) labels instead of pairs"),
    OPT("epochs", OPT_INT, R_(epochs), OPT_LENGTH, "passes over the training items"),
    OPT("batch", OPT_INT, R_(batch), OPT_MATH, "pairs (or labelled items) per step, 1..16"),
    OPT("micro_batch", OPT_INT, R_(micro_batch), OPT_MATH,
        "pairs (or items) per forward/backward, dividing --batch (0: --batch); under mpirun the ranks share them"),
    OPT("val_frac", OPT_DOUBLE, R_(val_frac), OPT_MATH, "share held out for the accuracy"),
    OPT("seed", OPT_U64, R_(seed), OPT_MATH, "seed of the head init, the split and the shuffles (and of built-in data)"),
};
static const OptTable RM_TABLE = OPT_TABLE(RM_SPECS);
const OptSet RM_TRAIN_OPTIONS = {"rm train", {{&RM_TABLE, 0}, {&OPTIM_OPT_TABLE, R_(optim)}, {&RUN_OPT_TABLE, R_(run)}}, 3};
#undef R_

RmTrainOptions rm_train_defaults(void) {
    RmTrainOptions o = {.n = 400, .epochs = 3, .batch = 8, .val_frac = 0.2, .seed = 1};
    o.optim = (OptimOptions){.learning_rate = 1e-3, .lr_scheduler = SCHED_CONSTANT, .min_lr_ratio = 1.0,
                             .decay_frac = 0.2, .adamw = adamw_defaults(), .max_grad_norm = 1.0,
                             .bias_update_speed = 0};   /* 0: the trunk keeps the routing bias it was copied with
                                                         * (DeepSeek describe the balancing for pretraining and the
                                                         * policy's RL, not for reward models) */
    o.optim.adamw.weight_decay = 0.0;
    o.run = (RunOptions){.keep = 2, .log_every = 10, .zero_stage = 1};
    return o;
}

typedef struct RmTrain {
    const RmTrainOptions *o;
    RewardModel *rm;
    const RmData *d;
    int n_train, n_val, steps_per_epoch;
    int *order;                 /* [n] the split: training items, then held-out ones */
    int *perm;                  /* [n_train] the current epoch's order */
    int perm_epoch;
    real *gscore;               /* [D] the head's gradient */
    double *hm, *hv;            /* [D] its AdamW moments */
    int *tokens;
    real *dhf;
    const int *step_idx;        /* the running step's items */
    int step_items;
    double ep_loss;             /* sums over the epoch so far */
    int ep_correct;
    RmTrainResult *res;
} RmTrain;

static void shuffle(int *v, int n, Rng *r) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint64_t)i + 1);
        int t = v[i]; v[i] = v[j]; v[j] = t;
    }
}

/* The training items of epoch ep in order: a function of (seed, ep). */
static void epoch_order(RmTrain *t, int ep) {
    if (t->perm_epoch == ep) return;
    memcpy(t->perm, t->order, (size_t)t->n_train * sizeof *t->perm);
    Rng re = rng_make(t->o->seed, RNG_DATA, (uint64_t)ep + 1, 7);
    shuffle(t->perm, t->n_train, &re);
    t->perm_epoch = ep;
}

/* The head: the AdamW update of the trunk (no decay), with its clip factor and update count. */
static void head_update(RmTrain *t, const Run *r, double cf) {
    const AdamWConfig *ac = &t->o->optim.adamw;
    double b1 = ac->beta1, b2 = ac->beta2, step = (double)r->opt.t;
    for (int k = 0; k < t->rm->m.cfg.hidden_size; k++) {
        double g = cf * t->gscore[k];
        t->hm[k] = b1 * t->hm[k] + (1 - b1) * g;
        t->hv[k] = b2 * t->hv[k] + (1 - b2) * g * g;
        double mh = t->hm[k] / (1 - pow(b1, step)), vh = t->hv[k] / (1 - pow(b2, step));
        t->rm->score[k] -= (real)(r->lr * mh / (sqrt(vh) + ac->eps));
    }
}

static int micro_items(const RmTrainOptions *o) { return o->micro_batch > 0 ? o->micro_batch : o->batch; }

/* Micro-batch `leaf` of the step's items: stats = its loss sum, items right, head gradient [D]. */
static int rm_leaf(void *ctx, Run *r, int64_t leaf, real *grads, double *stats, Err *e) {
    RmTrain *t = ctx;
    const int D = t->rm->m.cfg.hidden_size, M = micro_items(t->o), i0 = (int)leaf * M;
    const int P = t->step_items - i0 < M ? t->step_items - i0 : M;
    double l = 0;
    int correct = 0;
    memset(t->gscore, 0, (size_t)D * sizeof *t->gscore);
    if (rm_batch_loss(t->rm, t->d, t->step_idx + i0, P, t->step_items, grads, t->gscore, t->tokens, t->dhf, &l,
                      &correct, e))
        return -1;
    run_count_forward(r, &t->rm->a);
    stats[0] = l;
    stats[1] = correct;
    for (int k = 0; k < D; k++) stats[2 + k] = t->gscore[k];
    return 0;
}

static int rm_step(void *ctx, Run *r, Err *e) {
    RmTrain *t = ctx;
    const int D = t->rm->m.cfg.hidden_size, B = t->o->batch;
    const int ep = (int)(r->step / t->steps_per_epoch), i = (int)(r->step % t->steps_per_epoch) * B;
    epoch_order(t, ep);
    int P = t->n_train - i < B ? t->n_train - i : B;
    const int M = micro_items(t->o), n_leaves = (P + M - 1) / M;
    t->step_idx = t->perm + i;
    t->step_items = P;
    double *stats = xmalloc(sizeof(double) * (size_t)(2 + D) * (size_t)n_leaves);
    if (run_leaves(r, n_leaves, rm_leaf, t, stats, 2 + D, e) != 0) {
        free(stats);
        return -1;
    }
    /* the leaves' sums in leaf order: the head's gradient in float, as one micro-batch adds it */
    double l = 0;
    for (int k = 0; k < D; k++) t->gscore[k] = (real)stats[2 + k];
    for (int j = 0; j < n_leaves; j++) {
        const double *x = stats + (size_t)j * (2 + D);
        l += x[0];
        t->ep_correct += (int)x[1];
        for (int k = 0; j > 0 && k < D; k++) t->gscore[k] += (real)x[2 + k];
    }
    free(stats);
    t->ep_loss += l;
    double hn = 0, cf = 0;
    for (int k = 0; k < D; k++) hn += (double)t->gscore[k] * t->gscore[k];
    RunUpdate u = {.grad_scale = 1.0, .loss = l, .extra = 1, .extra_sq = hn};
    int st = run_update(r, &u, &cf, e);
    if (st < 0) return -1;
    if (st == 0) head_update(t, r, cf);
    sb_printf(&r->line, ", \"epoch\": %d, \"loss\": %.6g, \"lr\": %.6g, \"grad_norm\": %.6g", ep, l / P, r->lr, r->grad_norm);
    sb_printf(&r->summary, "epoch %d  loss %.4f", ep + 1, l / P);
    if (i + P == t->n_train) {   /* the epoch's last step */
        double mean = t->ep_loss / t->n_train, acc = (double)t->ep_correct / t->n_train;
        if (ep == 0) t->res->first_loss = mean;
        t->res->last_loss = mean;
        sb_printf(&r->line, ", \"epoch_loss\": %.6g, \"epoch_accuracy\": %.6g", mean, acc);
        run_note(r, "rm: epoch %d/%d  train loss %.4f  train acc %.3f", ep + 1, t->o->epochs, mean, acc);
        t->ep_loss = 0;
        t->ep_correct = 0;
    }
    return 0;
}

static cJSON *array_of(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, json_exact_number(v[i]));
    return a;
}

static void rm_save_state(void *ctx, cJSON *st) {
    const RmTrain *t = ctx;
    const int D = t->rm->m.cfg.hidden_size;
    double *w = xmalloc((size_t)D * sizeof *w);
    for (int k = 0; k < D; k++) w[k] = (double)t->rm->score[k];
    cJSON_AddItemToObject(st, "head", array_of(w, D));
    cJSON_AddItemToObject(st, "head_exp_avg", array_of(t->hm, D));
    cJSON_AddItemToObject(st, "head_exp_avg_sq", array_of(t->hv, D));
    free(w);
    cJSON_AddItemToObject(st, "epoch_loss", json_exact_number(t->ep_loss));
    cJSON_AddNumberToObject(st, "epoch_correct", t->ep_correct);
    cJSON_AddItemToObject(st, "first_loss", json_exact_number(t->res->first_loss));
    cJSON_AddItemToObject(st, "val_acc_before", json_exact_number(t->res->val_acc_before));
}

static int read_array(const cJSON *st, const char *key, double *v, int n, Err *e) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return err_set(e, "key '%s': want %d numbers", key, n);
    int k = 0;
    for (const cJSON *x = a->child; x; x = x->next) v[k++] = x->valuedouble;
    return 0;
}

static int rm_load_state(void *ctx, const cJSON *st, Err *e) {
    RmTrain *t = ctx;
    const int D = t->rm->m.cfg.hidden_size;
    double *w = xmalloc((size_t)D * sizeof *w);
    int64_t correct = 0;
    int rc = read_array(st, "head", w, D, e);
    if (rc == 0) rc = read_array(st, "head_exp_avg", t->hm, D, e);
    if (rc == 0) rc = read_array(st, "head_exp_avg_sq", t->hv, D, e);
    if (rc == 0 && (json_get_double(st, "epoch_loss", 1, &t->ep_loss, e) < 0 ||
                    json_get_int(st, "epoch_correct", 1, &correct, e) < 0 ||
                    json_get_double(st, "first_loss", 1, &t->res->first_loss, e) < 0 ||
                    json_get_double(st, "val_acc_before", 1, &t->res->val_acc_before, e) < 0))
        rc = -1;
    for (int k = 0; rc == 0 && k < D; k++) t->rm->score[k] = (real)w[k];
    t->ep_correct = (int)correct;
    free(w);
    return rc;
}

/* The held-out accuracy after training, on a metrics line of its own. */
static int rm_finish(void *ctx, Run *r, Err *e) {
    RmTrain *t = ctx;
    if (!t->n_val) return 0;
    if (rm_evaluate(t->rm, t->d, t->order + t->n_train, t->n_val, &t->res->val_acc, &t->res->val_loss, e)) return -1;
    char line[160];
    snprintf(line, sizeof line, ", \"final\": true, \"val_accuracy\": %.6g, \"val_loss\": %.6g", t->res->val_acc,
             t->res->val_loss);
    run_metrics_write(r, line);
    return 0;
}

static int rm_write(void *ctx, const char *dir, Err *e) { return rm_write_weights(((RmTrain *)ctx)->rm, dir, e); }

static int validate(const RmTrainOptions *o, Err *e) {
    const OptSet *s = &RM_TRAIN_OPTIONS;
    if (o->batch < 1 || o->batch > RM_MAX_BATCH) return opt_err(s, e, "batch", "must be 1..%d", RM_MAX_BATCH);
    char f[64];
    if (o->micro_batch < 0 || (o->micro_batch > 0 && o->batch % o->micro_batch != 0))
        return opt_err(s, e, "micro_batch", "%d does not divide %s %d", o->micro_batch, opt_flag("batch", f, sizeof f),
                       o->batch);
    const int N = dist_ranks(o->run.dist), leaves = o->batch / micro_items(o);
    if (leaves % N != 0)
        return opt_err(s, e, "micro_batch", "%d: the step's %d micro-batches of %s %d cannot be shared by %d ranks; "
                       "give a divisor of %d", micro_items(o), leaves, opt_flag("batch", f, sizeof f), o->batch, N,
                       o->batch / N);
    if (o->epochs < 1) return opt_err(s, e, "epochs", "must be >= 1");
    if (!(o->val_frac >= 0 && o->val_frac < 1)) return opt_err(s, e, "val_frac", "must be in [0, 1)");
    return 0;
}

/* The split: a seeded shuffle, the last val_frac held out; the held-out accuracy before training. */
static int split(RmTrain *t, Run *r, Err *e) {
    const int n = t->d->n;
    t->order = xmalloc((size_t)(n ? n : 1) * sizeof *t->order);
    for (int i = 0; i < n; i++) t->order[i] = i;
    Rng rng = rng_make(t->o->seed, RNG_DATA, 0, 7);
    shuffle(t->order, n, &rng);
    t->n_val = (int)(n * t->o->val_frac);
    t->n_train = n - t->n_val;
    char f[64];
    if (t->n_train < 1)
        return err_set(e, "no training items (%d items, %s %.2f)", n, opt_flag("val_frac", f, sizeof f), t->o->val_frac);
    t->res->n_train = t->n_train;
    t->res->n_val = t->n_val;
    t->steps_per_epoch = (t->n_train + t->o->batch - 1) / t->o->batch;
    double vl;
    if (t->n_val && !r->resume_dir[0] &&
        rm_evaluate(t->rm, t->d, t->order + t->n_train, t->n_val, &t->res->val_acc_before, &vl, e))
        return -1;
    return 0;
}

int rm_train(RewardModel *rm, const RmData *d, const RmTrainOptions *o, RmTrainResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    RmTrain t = {.o = o, .rm = rm, .d = d, .perm_epoch = -1, .res = res};
    Trainer tr = {.name = "rm train", .options = &RM_TRAIN_OPTIONS, .opts = o, .ctx = &t, .step = rm_step,
                  .save_state = rm_save_state, .load_state = rm_load_state, .finish = rm_finish, .write_model = rm_write};
    Run r;
    memset(&r, 0, sizeof r);
    const int D = rm->m.cfg.hidden_size;
    int rc = dist_agree(o->run.dist, validate(o, e), e);
    if (rc == 0) rc = run_begin(&r, &o->run, &o->optim, &tr, e);
    if (rc == 0) rc = dist_agree(o->run.dist, split(&t, &r, e), e);
    if (rc == 0) {
        t.perm = xmalloc((size_t)t.n_train * sizeof *t.perm);
        t.gscore = xcalloc((size_t)D, sizeof(real));
        t.hm = xcalloc((size_t)D, sizeof(double));
        t.hv = xcalloc((size_t)D, sizeof(double));
        t.tokens = xmalloc((size_t)2 * RM_MAX_BATCH * rm->max_len * sizeof *t.tokens);
        t.dhf = xmalloc((size_t)2 * RM_MAX_BATCH * rm->max_len * D * sizeof(real));
        ModelFile tok = {rm->tok_path, "tokenizer.json"};
        rc = run_attach(&r, &rm->m, (int64_t)o->epochs * t.steps_per_epoch, &tok, 1, e);
    }
    if (rc == 0) {
        rc = run_loop(&r, e);
        res->seconds = run_elapsed(&r);
        res->interrupted = r.interrupted;
        res->steps = (int)r.step;
    }
    run_free(&r);
    free(t.order); free(t.perm); free(t.gscore); free(t.hm); free(t.hv); free(t.tokens); free(t.dhf);
    return rc;
}

int rm_train_run(const RmTrainOptions *o, RmTrainResult *res, Err *e) {
    char f1[64], f2[64];
    if (!o->model_dir) return opt_err(&RM_TRAIN_OPTIONS, e, "model", "required");
    if (!o->run.out_dir) return opt_err(&RM_TRAIN_OPTIONS, e, "out", "required");
    if (!o->data == !o->builtin)
        return err_set(e, "give exactly one of %s and %s", opt_flag("data", f1, sizeof f1), opt_flag("builtin", f2, sizeof f2));
    RmData d;
    if (o->data ? rm_data_load(&d, o->data, o->pointwise, e) : rm_data_builtin(&d, o->builtin, o->n, o->seed, o->pointwise, e))
        return -1;
    RewardModel rm;
    int rc = rm_init_from_policy(&rm, o->model_dir, o->seed, e);
    if (rc == 0) {
        rc = rm_train(&rm, &d, o, res, e);
        rm_free(&rm);
    }
    rm_data_free(&d);
    return rc;
}
