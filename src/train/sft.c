/* The SFT / distillation trainer (sft.h): its options, data, step and evaluations; the run
 * engine (run.h) does the rest. */
#include "train/sft.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "io/file.h"
#include "io/json.h"
#include "model/model_io.h"

/* the model source: SFT's folder, or distillation's student */
static const OptSpec SFT_SOURCE[] = {
    OPT("model", OPT_STR, offsetof(SftOptions, model_dir), 0, "model folder to fine-tune (with tokenizer.json)"),
};
static const OptSpec DISTILL_SOURCE[] = {
    OPT("student_config", OPT_STR, offsetof(SftOptions, config_path), 0,
        "config.json of the student: qwen2 or llama (R1-Distill shapes), or a dense deepseek_v3"),
    OPT("tokenizer", OPT_STR, offsetof(SftOptions, tokenizer_path), 0,
        "tokenizer.json (tokenizer_config.json beside it is copied too)"),
    OPT("init", OPT_STR, offsetof(SftOptions, init_dir), 0, "start from this student folder (default: random init from --seed)"),
};
static const OptSpec SFT_SPECS[] = {
    OPT("data", OPT_STR, offsetof(SftOptions, data_path), 0,
        "JSONL records: {\"messages\":[...]} or {\"prompt\",\"completion\"}"),
    OPT("task", OPT_STR, offsetof(SftOptions, tasks), OPT_MATH, "built-in task(s) instead of --data, comma-separated"),
    OPT("n", OPT_I64, offsetof(SftOptions, task_n), OPT_MATH, "records generated from --task"),
    OPT("level", OPT_INT, offsetof(SftOptions, task_level), OPT_MATH, "--task difficulty 1..5"),
    OPT("epochs", OPT_I64, offsetof(SftOptions, epochs), OPT_LENGTH, "passes over the training examples (when --steps is 0)"),
    OPT("steps", OPT_I64, offsetof(SftOptions, steps), OPT_LENGTH, "optimizer steps (0: from --epochs)"),
    OPT("batch", OPT_INT, offsetof(SftOptions, batch), OPT_MATH, "packed rows per step"),
    OPT("micro_batch", OPT_INT, offsetof(SftOptions, micro_batch), OPT_MATH,
        "rows per forward/backward, dividing --batch (0: --batch); under mpirun the ranks share them"),
    OPT("seq_len", OPT_INT, offsetof(SftOptions, seq_len), OPT_MATH, "tokens per row; longer examples are truncated"),
    OPT("drop_long", OPT_BOOL, offsetof(SftOptions, drop_long), OPT_MATH,
        "drop examples longer than --seq-len instead of truncating"),
    OPT("seed", OPT_U64, offsetof(SftOptions, seed), OPT_MATH,
        "seed of the shuffles, the split, task records and random init"),
    OPT("val_frac", OPT_DOUBLE, offsetof(SftOptions, val_frac), OPT_MATH, "held-out share of the examples"),
    OPT("eval_every", OPT_I64, offsetof(SftOptions, eval_every), 0, "held-out loss every N steps (0: at the end)"),
    OPT("eval_samples", OPT_INT, offsetof(SftOptions, eval_samples), 0,
        "held-out prompts completed greedily for task accuracy on eval steps (0: off)"),
    OPT("eval_max_new", OPT_INT, offsetof(SftOptions, eval_max_new), 0,
        "tokens generated per accuracy prompt at most (0: up to --seq-len)"),
};
static const OptTable SFT_SOURCE_TABLE = OPT_TABLE(SFT_SOURCE);
static const OptTable DISTILL_SOURCE_TABLE = OPT_TABLE(DISTILL_SOURCE);
static const OptTable SFT_TABLE = OPT_TABLE(SFT_SPECS);

const OptSet SFT_OPTIONS = {"sft", {{&SFT_SOURCE_TABLE, 0}, {&SFT_TABLE, 0},
                                    {&OPTIM_OPT_TABLE, offsetof(SftOptions, optim)},
                                    {&RUN_OPT_TABLE, offsetof(SftOptions, run)}}, 4};
const OptSet DISTILL_OPTIONS = {"distill", {{&DISTILL_SOURCE_TABLE, 0}, {&SFT_TABLE, 0},
                                            {&OPTIM_OPT_TABLE, offsetof(SftOptions, optim)},
                                            {&RUN_OPT_TABLE, offsetof(SftOptions, run)}}, 4};

SftOptions sft_defaults(void) {
    SftOptions o;
    memset(&o, 0, sizeof o);
    o.task_n = 512;
    o.task_level = 1;
    o.epochs = 1;
    o.batch = 8;
    o.seq_len = 256;
    o.seed = 1;
    o.val_frac = 0.05;
    o.eval_samples = 16;
    o.optim = (OptimOptions){.learning_rate = 3e-4, .lr_scheduler = SCHED_COSINE, .warmup_steps = 0,
                             .min_lr_ratio = 0.1, .decay_frac = 0.2, .adamw = adamw_defaults(), .max_grad_norm = 1.0,
                             .bias_update_speed = 0.001};
    o.optim.adamw.weight_decay = 0.0;
    o.run = (RunOptions){.keep = 2, .log_every = 10, .zero_stage = 1};
    return o;
}

static const OptSet *options_of(const SftOptions *o) { return o->require_dense ? &DISTILL_OPTIONS : &SFT_OPTIONS; }

typedef struct Sft {
    const SftOptions *o;
    Model m;
    int have_model;
    Tokenizer *tok;
    char tok_json[4096], tok_cfg[4096];
    ModelFile extra[2];
    int n_extra;
    SftSet train, val;
    ModelActs acts;
    SftBatcher tb;
    int pad;
    int *tokens, *targets;      /* [B, T] */
    int64_t step_valid;         /* completion tokens of the step's rows */
    int64_t tokens_seen, tokens_run;
    double first_loss, last_loss, val_loss, accuracy;
} Sft;

static int is_dense(const ModelConfig *c) {
    return c->n_routed_experts == 0 || c->first_k_dense_replace >= c->num_hidden_layers + c->num_nextn_predict_layers;
}

static int load_model(Sft *r, Err *e) {
    const SftOptions *o = r->o;
    if (o->model_dir) {
        snprintf(r->tok_json, sizeof r->tok_json, "%s/tokenizer.json", o->model_dir);
        snprintf(r->tok_cfg, sizeof r->tok_cfg, "%s/tokenizer_config.json", o->model_dir);
    } else {
        snprintf(r->tok_json, sizeof r->tok_json, "%s", o->tokenizer_path);
        const char *slash = strrchr(o->tokenizer_path, '/');
        int dl = slash ? (int)(slash - o->tokenizer_path) : 1;
        snprintf(r->tok_cfg, sizeof r->tok_cfg, "%.*s/tokenizer_config.json", dl, slash ? o->tokenizer_path : ".");
    }
    r->tok = tokenizer_load(r->tok_json, e);
    if (!r->tok) return -1;
    r->extra[r->n_extra++] = (ModelFile){r->tok_json, "tokenizer.json"};
    if (file_exists(r->tok_cfg)) r->extra[r->n_extra++] = (ModelFile){r->tok_cfg, "tokenizer_config.json"};
    if (tokenizer_eos_id(r->tok) < 0) return err_set(e, "%s: the tokenizer has no EOS token", r->tok_json);
    if (o->model_dir) {
        if (model_load_dir(&r->m, o->model_dir, e) != 0) return -1;
        r->have_model = 1;
    } else {
        ModelConfig cfg;
        if (config_load(&cfg, o->config_path, e) != 0) return -1;
        if (o->require_dense && !is_dense(&cfg))
            return err_set(e, "%s: the student must be dense, but it has n_routed_experts = %d on layers >= "
                              "first_k_dense_replace = %d (set n_routed_experts to 0)",
                           o->config_path, cfg.n_routed_experts, cfg.first_k_dense_replace);
        if (o->init_dir) {
            if (model_load_dir(&r->m, o->init_dir, e) != 0) return -1;
            r->have_model = 1;
            if (r->m.table.total != 0) {
                ModelConfig *lc = &r->m.cfg;
                if (lc->model_type != cfg.model_type || lc->hidden_size != cfg.hidden_size ||
                    lc->num_hidden_layers != cfg.num_hidden_layers ||
                    lc->vocab_size != cfg.vocab_size || lc->n_routed_experts != cfg.n_routed_experts)
                    return err_set(e, "%s: its config does not match the student config %s", o->init_dir, o->config_path);
            }
        } else {
            model_init(&r->m, &cfg);
            r->have_model = 1;
            param_init(&r->m.table, &r->m.cfg, r->m.params, o->seed);
        }
    }
    if (o->require_dense && !is_dense(&r->m.cfg))
        return err_set(e, "the student must be dense (n_routed_experts = %d)", r->m.cfg.n_routed_experts);
    if (tokenizer_vocab_size(r->tok) > (uint32_t)r->m.cfg.vocab_size)
        return err_set(e, "%s: the tokenizer's %u ids do not fit the model's vocab_size %d", r->tok_json,
                       tokenizer_vocab_size(r->tok), r->m.cfg.vocab_size);
    if (o->seq_len > r->m.cfg.max_position_embeddings)
        return opt_err(&SFT_OPTIONS, e, "seq_len", "%d exceeds the model's max_position_embeddings %d", o->seq_len,
                       r->m.cfg.max_position_embeddings);
    return 0;
}

static int load_data(Sft *r, Err *e) {
    const SftOptions *o = r->o;
    SftDataOptions d = {o->seq_len, o->drop_long};
    SftSet all = {0};
    int rc = o->data_path ? sft_load_jsonl(&all, r->tok, o->data_path, &d, e)
                          : sft_load_tasks(&all, r->tok, o->tasks, o->task_level, o->task_n, o->seed, &d, e);
    if (rc == 0 && all.n == 0) rc = err_set(e, "no usable examples (all %lld dropped)", (long long)all.dropped);
    if (rc) { sft_set_free(&all); return -1; }
    sft_split(&all, o->val_frac, o->seed, &r->train, &r->val);
    return 0;
}

static int micro_rows(const SftOptions *o) { return o->micro_batch > 0 ? o->micro_batch : o->batch; }

/* Mean completion-token loss over the whole held-out set (file order), in batches of
 * micro-batch rows shared by the ranks. */
static double heldout_loss(Sft *r, Run *run) {
    const SftOptions *o = r->o;
    const int M = micro_rows(o), T = o->seq_len;
    if (r->val.n == 0) return NAN;
    SftBatcher vb;
    sft_batcher_init(&vb, &r->val, 0, 0);
    int64_t n_batches = 0;   /* every rank walks the batches; each runs its share */
    while (vb.epoch == 0) {
        for (int b = 0; b < M && vb.epoch == 0; b++) sft_batcher_row(&vb, T, 0, r->tokens, r->targets);
        n_batches++;
    }
    sft_batcher_free(&vb);
    int64_t lo, hi;
    run_share(run, n_batches, &lo, &hi);
    double *v = xcalloc(2 * (size_t)n_batches, sizeof *v);   /* [batch] loss sum, targets */
    sft_batcher_init(&vb, &r->val, 0, 0);
    for (int64_t k = 0; k < hi; k++) {
        int B = 0;
        while (B < M && vb.epoch == 0) {
            sft_batcher_row(&vb, T, 0, r->tokens + (size_t)B * T, r->targets + (size_t)B * T);
            B++;
        }
        if (k < lo) continue;
        ModelOptions mo = {0};
        ModelLosses l = model_forward(&r->m, &r->acts, r->tokens, r->targets, B, T, &mo);
        v[2 * k] = l.loss * l.n_valid;
        v[2 * k + 1] = l.n_valid;
    }
    sft_batcher_free(&vb);
    double mean = run_gather_mean(run, n_batches, v);
    free(v);
    return mean;
}

/* The accuracy hook on the first eval_samples held-out examples, with as many new tokens as the
 * rows and the context leave; NAN when off. */
static double task_accuracy(Sft *r) {
    const SftOptions *o = r->o;
    int n = o->eval_samples < r->val.n ? o->eval_samples : r->val.n;
    if (!o->accuracy || n <= 0) return NAN;
    int max_prompt = 0;
    for (int i = 0; i < n; i++)
        if (r->val.ex[i].n_prompt > max_prompt) max_prompt = r->val.ex[i].n_prompt;
    int room = r->m.cfg.max_position_embeddings - max_prompt;
    int max_new = o->eval_max_new > 0 ? o->eval_max_new : o->seq_len - max_prompt;
    if (max_new > room) max_new = room;
    return max_new >= 1 ? o->accuracy(o->accuracy_ctx, &r->m, r->tok, &r->val, n, max_new) : NAN;
}

/* Micro-batch `leaf` of the step's rows: the gradient of its share of the step's mean loss
 * (its own mean, times its share of the completion tokens); stats: its mean loss. */
static int sft_leaf(void *ctx, Run *run, int64_t leaf, real *grads, double *stats, Err *e) {
    (void)e;
    Sft *r = ctx;
    const int M = micro_rows(r->o), T = r->o->seq_len;
    const size_t at = (size_t)leaf * (size_t)M * (size_t)T;
    ModelOptions mo = {.head_grad_in_forward = 1};   /* backward follows, without row weights */
    ModelLosses l = model_forward(&r->m, &r->acts, r->tokens + at, r->targets + at, M, T, &mo);
    stats[0] = l.loss;
    if (l.n_valid == 0) return 0;
    model_backward(&r->m, &r->acts, grads, NULL);
    run_count_forward(run, &r->acts);
    if (l.n_valid != r->step_valid) {
        const real f = (real)((double)l.n_valid / (double)r->step_valid);
        const size_t n = r->m.table.total;
        for (size_t i = 0; i < n; i++) grads[i] *= f;
    }
    return 0;
}

static int sft_step(void *ctx, Run *run, Err *e) {
    Sft *r = ctx;
    const SftOptions *o = r->o;
    const int B = o->batch, T = o->seq_len, M = micro_rows(o), n_leaves = B / M;
    int64_t ep = r->tb.epoch;
    for (int b = 0; b < B; b++)   /* every rank packs every row: the cursor moves the same */
        sft_batcher_row(&r->tb, T, r->pad, r->tokens + (size_t)b * T, r->targets + (size_t)b * T);
    ModelLosses l = {0};
    int64_t *leaf_valid = xcalloc((size_t)n_leaves, sizeof *leaf_valid);
    for (size_t i = 0; i < (size_t)B * T; i++)
        if (r->targets[i] >= 0) { leaf_valid[i / ((size_t)M * T)]++; l.n_valid++; }
    r->step_valid = l.n_valid;
    double norm = 0;
    if (l.n_valid > 0) {   /* rows with no completion token: nothing to learn this step */
        double *st = xcalloc((size_t)n_leaves, sizeof *st);
        int rc = run_leaves(run, n_leaves, sft_leaf, r, st, 1, e);
        /* the step's mean: a leaf's mean weighted by its share of the tokens */
        if (n_leaves == 1) l.loss = st[0];
        else for (int k = 0; k < n_leaves; k++) l.loss += st[k] * (double)leaf_valid[k] / (double)l.n_valid;
        free(st);
        RunUpdate u = {.grad_scale = 1.0, .loss = l.loss};
        if (rc != 0 || run_update(run, &u, NULL, e) < 0) { free(leaf_valid); return -1; }
        norm = run->grad_norm;
    }
    free(leaf_valid);
    r->tokens_seen += l.n_valid;
    r->tokens_run += (int64_t)B * T;
    if (isnan(r->first_loss)) r->first_loss = l.loss;
    r->last_loss = l.loss;
    int last = run->step + 1 == run->total;
    double vl = NAN, acc = NAN;
    if (r->val.n > 0 && (last || (o->eval_every > 0 && (run->step + 1) % o->eval_every == 0))) {
        vl = r->val_loss = heldout_loss(r, run);
        acc = run_is_root(run) ? task_accuracy(r) : NAN;   /* a report: rank 0's */
        if (!isnan(acc)) r->accuracy = acc;
    }
    double el = run_elapsed(run), tps = el > 0 ? (double)r->tokens_run / el : 0;
    sb_printf(&run->line, ", \"epoch\": %lld, \"loss\": %.6g, \"lr\": %.6g, \"grad_norm\": %.6g, \"tokens\": %lld, "
                          "\"tokens_per_s\": %.1f", (long long)ep, l.loss, run->lr, norm, (long long)r->tokens_seen, tps);
    if (!isnan(vl)) sb_printf(&run->line, ", \"val_loss\": %.6g", vl);
    if (!isnan(acc)) sb_printf(&run->line, ", \"accuracy\": %.6g", acc);
    sb_printf(&run->summary, "epoch %lld  loss %.4f  lr %.2e  %.0f tok/s", (long long)ep, l.loss, run->lr, tps);
    if (!isnan(acc)) run_note(run, "  held-out loss %.4f, task accuracy %.3f", vl, acc);
    else if (!isnan(vl)) run_note(run, "  held-out loss %.4f", vl);
    return 0;
}

static void sft_save(void *ctx, cJSON *st) {
    const Sft *r = ctx;
    cJSON_AddNumberToObject(st, "epoch", (double)r->tb.epoch);
    cJSON_AddNumberToObject(st, "pos", (double)r->tb.pos);
    cJSON_AddNumberToObject(st, "tokens_seen", (double)r->tokens_seen);
    cJSON_AddItemToObject(st, "first_loss", json_exact_number(r->first_loss));
}

static int sft_load(void *ctx, const cJSON *st, Err *e) {
    Sft *r = ctx;
    if (json_get_int(st, "epoch", 1, &r->tb.epoch, e) < 0 || json_get_int(st, "pos", 1, &r->tb.pos, e) < 0 ||
        json_get_int(st, "tokens_seen", 1, &r->tokens_seen, e) < 0)
        return -1;
    json_get_double(st, "first_loss", 0, &r->first_loss, e);
    if (r->tb.pos < 0 || r->tb.pos >= r->train.n)
        return err_set(e, "data cursor %lld out of range (%d examples)", (long long)r->tb.pos, r->train.n);
    return 0;
}

static int validate(const SftOptions *o, Err *e) {
    const OptSet *s = options_of(o);
    char f1[64], f2[64];
    if (!o->run.out_dir) return opt_err(s, e, "out", "required");
    if (o->require_dense ? !(o->config_path && o->tokenizer_path) : !o->model_dir)
        return o->require_dense ? opt_err(s, e, "student_config", "required, with %s", opt_flag("tokenizer", f1, sizeof f1))
                                : opt_err(s, e, "model", "required");
    if (!o->data_path == !o->tasks)
        return err_set(e, "give exactly one of %s or %s", opt_flag("data", f1, sizeof f1), opt_flag("task", f2, sizeof f2));
    if (o->task_level < 1 || o->task_level > 5) return opt_err(s, e, "level", "must be in 1..5 (got %d)", o->task_level);
    if (o->batch < 1 || o->batch > 4096) return opt_err(s, e, "batch", "must be in 1..4096 (got %d)", o->batch);
    if (o->micro_batch < 0 || (o->micro_batch > 0 && o->batch % o->micro_batch != 0))
        return opt_err(s, e, "micro_batch", "%d does not divide %s %d", o->micro_batch,
                       opt_flag("batch", f1, sizeof f1), o->batch);
    const int N = dist_ranks(o->run.dist), leaves = o->batch / micro_rows(o);
    if (leaves % N != 0)
        return opt_err(s, e, "micro_batch", "%d: the step's %d micro-batches of %s %d rows cannot be shared by %d "
                       "ranks; give a divisor of %d", micro_rows(o), leaves, opt_flag("batch", f1, sizeof f1),
                       o->batch, N, o->batch / N);
    if (o->seq_len < 2 || o->seq_len > 1 << 20) return opt_err(s, e, "seq_len", "must be in 2..1048576 (got %d)", o->seq_len);
    if (o->steps < 0 || o->epochs < 0 || (o->steps == 0 && o->epochs == 0))
        return opt_err(s, e, "steps", "or %s must be > 0", opt_flag("epochs", f1, sizeof f1));
    if (!(o->val_frac >= 0 && o->val_frac < 1)) return opt_err(s, e, "val_frac", "must be in [0, 1) (got %g)", o->val_frac);
    if (o->tasks && o->task_n < 1) return opt_err(s, e, "n", "must be >= 1");
    if (o->eval_samples < 0) return opt_err(s, e, "eval_samples", "must be >= 0 (got %d)", o->eval_samples);
    if (o->eval_max_new < 0) return opt_err(s, e, "eval_max_new", "must be >= 0 (got %d)", o->eval_max_new);
    return 0;
}

static void sft_free(Sft *r) {
    if (r->acts.mem) model_acts_free(&r->acts);
    free(r->tokens);
    free(r->targets);
    sft_batcher_free(&r->tb);
    sft_set_free(&r->train);
    sft_set_free(&r->val);
    if (r->have_model) model_free(&r->m);
    tokenizer_free(r->tok);
}

/* Model, tokenizer, data and buffers; the run's length into *steps. */
static int setup(Sft *r, int64_t *steps, Err *e) {
    const SftOptions *o = r->o;
    if (load_model(r, e) != 0 || load_data(r, e) != 0) return -1;
    if (r->train.n == 0) return err_set(e, "no training examples left after the held-out split");
    const int B = o->batch, T = o->seq_len;
    *steps = o->steps;
    if (*steps == 0) *steps = (o->epochs * sft_rows_per_epoch(&r->train, T) + B - 1) / B;
    if (*steps < 1) *steps = 1;
    r->pad = (int)tokenizer_pad_id(r->tok);
    if (r->pad < 0) r->pad = (int)tokenizer_eos_id(r->tok);
    r->tokens = xmalloc(sizeof(int) * (size_t)B * (size_t)T);
    r->targets = xmalloc(sizeof(int) * (size_t)B * (size_t)T);
    model_acts_init(&r->acts, &r->m, micro_rows(o), T);
    sft_batcher_init(&r->tb, &r->train, o->seed, 1);
    return 0;
}

int sft_run(const SftOptions *o, SftResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    res->val_loss = res->accuracy = res->first_loss = res->last_loss = NAN;
    Sft s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.first_loss = s.last_loss = s.val_loss = s.accuracy = NAN;
    const char *name = o->require_dense ? "distill" : "sft";
    Trainer t = {.name = name, .options = options_of(o), .opts = o, .ctx = &s, .step = sft_step,
                 .save_state = sft_save, .load_state = sft_load};
    Run r;
    memset(&r, 0, sizeof r);
    int64_t steps = 0;
    int rc = dist_agree(o->run.dist, validate(o, e), e);
    if (rc == 0) rc = run_begin(&r, &o->run, &o->optim, &t, e);
    if (rc == 0) rc = dist_agree(o->run.dist, setup(&s, &steps, e), e);
    if (rc == 0) {
        res->n_train = s.train.n;
        res->n_val = s.val.n;
        res->truncated = s.train.truncated;
        res->dropped = s.train.dropped;
        if (!o->run.quiet && (res->truncated > 0 || res->dropped > 0))
            fprintf(stderr, "%s: warning: %lld examples longer than %d tokens truncated, %lld dropped%s\n", name,
                    (long long)res->truncated, o->seq_len, (long long)res->dropped, o->drop_long ? " (drop_long)" : "");
        rc = run_attach(&r, &s.m, steps, s.extra, s.n_extra, e);
    }
    if (rc == 0) {
        rc = run_loop(&r, e);
        res->seconds = run_elapsed(&r);
        res->tokens_per_s = res->seconds > 0 ? (double)s.tokens_run / res->seconds : 0;
    }
    res->steps_done = r.step;
    res->interrupted = r.interrupted;
    res->first_loss = s.first_loss;
    res->last_loss = s.last_loss;
    res->val_loss = s.val_loss;
    res->accuracy = s.accuracy;
    run_free(&r);
    sft_free(&s);
    return rc;
}
