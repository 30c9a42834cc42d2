/* The SFT / distillation loop (see sft.h). Uses the training engine's pieces (adamw, schedule,
 * clip, checkpoint) directly; the step is one packed batch: forward, backward, clip, AdamW. */
#include "train/sft.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/bigmem.h"
#include "base/strbuf.h"
#include "infer/generate.h"
#include "io/file.h"
#include "io/metrics.h"
#include "model/model.h"
#include "model/model_io.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/clip.h"
#include "train/sft_data.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

SftOptions sft_defaults(void) {
    SftOptions o;
    memset(&o, 0, sizeof o);
    o.task_n = 512;
    o.task_level = 1;
    o.epochs = 1;
    o.batch = 8;
    o.seq_len = 256;
    o.lr = 3e-4;
    o.min_lr_ratio = 0.1;
    o.warmup = 0;
    o.schedule = SCHED_COSINE;
    o.adamw = adamw_defaults();
    o.adamw.weight_decay = 0.0;
    o.clip = 1.0;
    o.bias_update_speed = 0.001;
    o.seed = 1;
    o.val_frac = 0.05;
    o.keep = 2;
    o.eval_samples = 16;
    return o;
}

typedef struct Run {
    const SftOptions *o;
    Model m;
    int have_model;
    Tokenizer *tok;
    char tok_json[4096], tok_cfg[4096], ckpt_root[4096];
    const char *extra[2];
    int n_extra;
    SftSet train, val;
    ModelActs acts;
    AdamW opt;
    real *grads;
    double *norm_partial;
    int64_t *counts;
    int *tokens, *targets;      /* [B, T] */
} Run;

static int is_dense(const ModelConfig *c) {
    return c->n_routed_experts == 0 || c->first_k_dense_replace >= c->num_hidden_layers + c->num_nextn_predict_layers;
}

static int load_model(Run *r, Err *e) {
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
    r->extra[r->n_extra++] = r->tok_json;
    if (file_exists(r->tok_cfg)) r->extra[r->n_extra++] = r->tok_cfg;
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
        return err_set(e, "--seq-len %d exceeds the model's max_position_embeddings %d", o->seq_len,
                       r->m.cfg.max_position_embeddings);
    return 0;
}

static int load_data(Run *r, Err *e) {
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

/* Mean completion-token loss over the whole held-out set (file order). */
static double val_loss(Run *r) {
    const SftOptions *o = r->o;
    if (r->val.n == 0) return NAN;
    SftBatcher vb;
    sft_batcher_init(&vb, &r->val, 0, 0);
    double sum = 0;
    int64_t n = 0;
    while (vb.epoch == 0) {
        int B = 0;
        while (B < o->batch && vb.epoch == 0) {
            sft_batcher_row(&vb, o->seq_len, 0, r->tokens + (size_t)B * o->seq_len, r->targets + (size_t)B * o->seq_len);
            B++;
        }
        ModelOptions mo = {0};
        ModelLosses l = model_forward(&r->m, &r->acts, r->tokens, r->targets, B, o->seq_len, &mo);
        sum += l.loss * l.n_valid;
        n += l.n_valid;
    }
    sft_batcher_free(&vb);
    return n > 0 ? sum / (double)n : NAN;
}

/* Greedy completions of the first eval_samples held-out prompts, scored against the reference
 * completions by the caller's verifier; NAN when off. */
static double task_accuracy(Run *r, Err *e) {
    const SftOptions *o = r->o;
    int n = o->eval_samples < r->val.n ? o->eval_samples : r->val.n;
    if (!o->score || n <= 0) return NAN;
    GenRequest *rq = xcalloc((size_t)n, sizeof(GenRequest));
    GenOutput *out = xcalloc((size_t)n, sizeof(GenOutput));
    int max_prompt = 0;
    for (int i = 0; i < n; i++) {
        rq[i] = (GenRequest){r->val.ex[i].tok, r->val.ex[i].n_prompt, (uint64_t)i, 0};
        if (r->val.ex[i].n_prompt > max_prompt) max_prompt = r->val.ex[i].n_prompt;
    }
    int eos = (int)tokenizer_eos_id(r->tok);
    GenOptions go = gen_defaults();
    go.sampler.temperature = 0;
    int room = r->m.cfg.max_position_embeddings - max_prompt;
    go.max_new_tokens = o->eval_max_new > 0 ? o->eval_max_new : o->seq_len - max_prompt;
    if (go.max_new_tokens > room) go.max_new_tokens = room;
    go.stop_ids = &eos;
    go.n_stop_ids = 1;
    go.vocab_limit = (int)tokenizer_vocab_size(r->tok);
    double acc = NAN;
    if (go.max_new_tokens >= 1 && generate(&r->m, rq, n, &go, out, NULL, e) == 0) {
        double sum = 0;
        StrBuf c = {0}, ref = {0};
        for (int i = 0; i < n; i++) {
            const SftExample *x = &r->val.ex[i];
            sb_clear(&c);
            sb_clear(&ref);
            int ok = tokenizer_decode(r->tok, (const uint32_t *)out[i].tokens, (size_t)out[i].n, 1, &c, e) == 0 &&
                     tokenizer_decode(r->tok, (const uint32_t *)x->tok + x->n_prompt, (size_t)(x->n - x->n_prompt),
                                      1, &ref, e) == 0;
            if (ok) sum += o->score(o->score_ctx, c.s ? c.s : "", c.len, ref.s ? ref.s : "", ref.len);
        }
        sb_free(&c);
        sb_free(&ref);
        gen_outputs_free(out, n);
        acc = sum / n;
    }
    free(rq);
    free(out);
    return acc;
}

static cJSON *options_json(const SftOptions *o, int64_t steps) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "command", o->model_dir ? "sft" : "distill");
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "steps", (double)steps);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "seq_len", o->seq_len);
    cJSON_AddNumberToObject(j, "lr", o->lr);
    return j;
}

static int save(Run *r, int64_t step, const SftBatcher *tb, int64_t tokens_seen, int64_t steps, Err *e) {
    TrainerState st = {0};
    st.step = step;
    st.adamw_t = r->opt.t;
    st.epoch = tb->epoch;
    st.pos = tb->pos;
    st.tokens_seen = tokens_seen;
    st.options = options_json(r->o, steps);
    char dir[4096];
    int rc = checkpoint_save(r->ckpt_root, &r->m, &r->opt, &st, r->extra, r->n_extra, 0, dir, sizeof dir, e);
    cJSON_Delete(st.options);
    if (rc == 0) rc = checkpoint_prune(r->ckpt_root, r->o->keep, e);
    return rc;
}

static int validate(const SftOptions *o, Err *e) {
    if (!o->out_dir) return err_set(e, "--out is required");
    if (!o->model_dir && !(o->config_path && o->tokenizer_path))
        return err_set(e, "a model (--model) or a student config and tokenizer is required");
    if (!o->data_path == !o->tasks) return err_set(e, "give exactly one of --data or --task");
    if (o->batch < 1) return err_set(e, "--batch: must be >= 1 (got %d)", o->batch);
    if (o->seq_len < 2) return err_set(e, "--seq-len: must be >= 2 (got %d)", o->seq_len);
    if (o->steps < 0 || o->epochs < 0 || (o->steps == 0 && o->epochs == 0))
        return err_set(e, "--steps or --epochs must be > 0");
    if (!(o->lr > 0)) return err_set(e, "--lr: must be > 0 (got %g)", o->lr);
    if (o->val_frac < 0 || o->val_frac >= 1) return err_set(e, "--val-frac: must be in [0, 1) (got %g)", o->val_frac);
    if (o->tasks && o->task_n < 1) return err_set(e, "--n: must be >= 1");
    return 0;
}

static void run_free(Run *r) {
    if (r->grads) { model_acts_free(&r->acts); adamw_free(&r->opt); }
    free(r->grads); free(r->norm_partial); free(r->counts); free(r->tokens); free(r->targets);
    sft_set_free(&r->train);
    sft_set_free(&r->val);
    if (r->have_model) model_free(&r->m);
    tokenizer_free(r->tok);
}

int sft_run(const SftOptions *o, SftResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    res->val_loss = NAN;
    res->accuracy = NAN;
    if (validate(o, e)) return -1;
    Run run;
    memset(&run, 0, sizeof run);
    run.o = o;
    int rc = load_model(&run, e);
    if (rc == 0) rc = load_data(&run, e);
    if (rc == 0 && run.train.n == 0) rc = err_set(e, "no training examples left after the held-out split");
    if (rc == 0) {
        snprintf(run.ckpt_root, sizeof run.ckpt_root, "%s/checkpoints", o->out_dir);
        rc = file_mkdirs(run.ckpt_root, e);
    }
    if (rc) { run_free(&run); return -1; }
    res->n_train = run.train.n;
    res->n_val = run.val.n;
    res->truncated = run.train.truncated;
    res->dropped = run.train.dropped;
    if (!o->quiet && (res->truncated > 0 || res->dropped > 0))
        fprintf(stderr, "%s: warning: %lld examples longer than --seq-len %d truncated, %lld dropped%s\n",
                o->model_dir ? "sft" : "distill", (long long)res->truncated, o->seq_len, (long long)res->dropped,
                o->drop_long ? " (--drop-long)" : "");
    const int B = o->batch, T = o->seq_len;
    const ModelConfig *c = &run.m.cfg;
    int64_t steps = o->steps;
    if (steps == 0) steps = (o->epochs * sft_rows_per_epoch(&run.train, T) + B - 1) / B;
    if (steps < 1) steps = 1;
    int pad = (int)tokenizer_pad_id(run.tok);
    if (pad < 0) pad = (int)tokenizer_eos_id(run.tok);
    adamw_init(&run.opt, &run.m.table, &o->adamw);
    run.grads = big_calloc(run.m.table.total * sizeof(real), "gradients");
    run.norm_partial = xcalloc((size_t)run.opt.chunks.n + 1, sizeof(double));
    size_t n_counts = (size_t)(c->num_hidden_layers + c->num_nextn_predict_layers) * (size_t)(c->n_routed_experts + 1);
    run.counts = xcalloc(n_counts, sizeof(int64_t));
    run.tokens = xmalloc(sizeof(int) * (size_t)B * (size_t)T);
    run.targets = xmalloc(sizeof(int) * (size_t)B * (size_t)T);
    model_acts_init(&run.acts, &run.m, B, T);
    SftBatcher tb;
    sft_batcher_init(&tb, &run.train, o->seed, 1);
    int64_t start = 0, tokens_seen = 0;
    if (o->resume) {
        char dir[4096];
        int64_t st_step = 0;
        int found = checkpoint_latest(run.ckpt_root, dir, sizeof dir, &st_step, e);
        if (found < 0) rc = -1;
        else if (found) {
            TrainerState ts = {0};
            rc = checkpoint_read_state(dir, &ts, e);
            if (rc == 0) rc = checkpoint_load(dir, &run.m, &run.opt, &ts, e);
            if (rc == 0) {
                start = ts.step;
                tb.epoch = ts.epoch;
                tb.pos = ts.pos;
                tokens_seen = ts.tokens_seen;
                if (tb.pos < 0 || tb.pos >= run.train.n) rc = err_set(e, "%s: data cursor %lld out of range", dir, (long long)tb.pos);
            }
            trainer_state_free(&ts);
            if (rc == 0 && !o->quiet) fprintf(stderr, "sft: resuming from %s (step %lld)\n", dir, (long long)start);
        }
    }
    char metrics_path[4200];
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", o->out_dir);
    if (rc == 0) rc = metrics_truncate(metrics_path, start, e);
    FILE *mf = rc == 0 ? fopen(metrics_path, "a") : NULL;
    if (rc == 0 && !mf) rc = err_set(e, "%s: cannot open for appending", metrics_path);
    Schedule sched = {o->schedule, o->lr, o->warmup, steps, o->min_lr_ratio, 0.2};
    double t_begin = now_s();
    int64_t tokens_run = 0;
    res->first_loss = NAN;
    for (int64_t step = start; step < steps && rc == 0; step++) {
        if (o->stop && *o->stop) { res->interrupted = 1; break; }
        int64_t ep = tb.epoch;
        for (int b = 0; b < B; b++)
            sft_batcher_row(&tb, T, pad, run.tokens + (size_t)b * T, run.targets + (size_t)b * T);
        ModelOptions mo = {.head_grad_in_forward = 1};   /* backward follows, without row weights */
        ModelLosses l = model_forward(&run.m, &run.acts, run.tokens, run.targets, B, T, &mo);
        double lr = schedule_lr(&sched, step), norm = 0;
        if (l.n_valid > 0) {
            model_backward(&run.m, &run.acts, run.grads, NULL);
            norm = grad_global_norm(&run.opt.chunks, run.grads, 1.0, run.norm_partial);
            if (!isfinite(norm) || !isfinite(l.loss)) {
                rc = err_set(e, "step %lld: the loss or gradient is not finite (loss %g); lower --lr",
                             (long long)step, l.loss);
                break;
            }
            adamw_step_and_zero(&run.opt, run.m.params, run.grads, lr, clip_factor(norm, o->clip));
            if (c->n_routed_experts > 0 && o->bias_update_speed > 0) {
                memset(run.counts, 0, sizeof(int64_t) * n_counts);
                model_expert_counts_add(&run.acts, c, run.counts);
                model_bias_update(&run.m, run.counts, o->bias_update_speed);
            }
        }
        tokens_seen += l.n_valid;
        tokens_run += (int64_t)B * T;
        if (isnan(res->first_loss)) res->first_loss = l.loss;
        res->last_loss = l.loss;
        int last = step + 1 == steps;
        int stop_now = (o->stop && *o->stop) || (o->stop_after > 0 && step + 1 == o->stop_after);
        double vl = NAN, acc = NAN;
        if (run.val.n > 0 && (last || (o->eval_every > 0 && (step + 1) % o->eval_every == 0))) {
            vl = val_loss(&run);
            res->val_loss = vl;
            acc = task_accuracy(&run, e);
            if (!isnan(acc)) res->accuracy = acc;
        }
        double el = now_s() - t_begin;
        double tps = el > 0 ? (double)tokens_run / el : 0;
        fprintf(mf, "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.6g, \"lr\": %.6g, \"grad_norm\": %.6g, "
                    "\"tokens\": %lld, \"tokens_per_s\": %.1f",
                (long long)step, (long long)ep, l.loss, lr, norm, (long long)tokens_seen, tps);
        if (!isnan(vl)) fprintf(mf, ", \"val_loss\": %.6g", vl);
        if (!isnan(acc)) fprintf(mf, ", \"accuracy\": %.6g", acc);
        fprintf(mf, "}\n");
        fflush(mf);
        res->steps_done = step + 1;
        if (!o->quiet) {
            double eta = (double)(steps - step - 1) * el / (double)(step + 1 - start);
            fprintf(stderr, "\r%s %lld/%lld | epoch %lld | loss %.4f | lr %.2e | %.0f tok/s | eta %.0fs   ",
                    o->model_dir ? "sft" : "distill", (long long)step + 1, (long long)steps, (long long)ep, l.loss, lr, tps, eta);
            if (!isnan(acc)) fprintf(stderr, "\n  held-out loss %.4f, task accuracy %.3f\n", vl, acc);
            else if (!isnan(vl)) fprintf(stderr, "\n  held-out loss %.4f\n", vl);
            else if (last) fputc('\n', stderr);
        }
        if (stop_now || last || (o->save_every > 0 && (step + 1) % o->save_every == 0))
            rc = save(&run, step + 1, &tb, tokens_seen, steps, e);
        if (stop_now) { res->interrupted = 1; break; }
    }
    res->seconds = now_s() - t_begin;
    res->tokens_per_s = res->seconds > 0 ? (double)tokens_run / res->seconds : 0;
    if (rc == 0 && !res->interrupted) rc = checkpoint_write_model_folder(o->out_dir, &run.m, run.extra, run.n_extra, e);
    if (mf) fclose(mf);
    sft_batcher_free(&tb);
    run_free(&run);
    return rc;
}
