#include "rl/grpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/bigmem.h"
#include "base/strbuf.h"
#include "base/threads.h"
#include "infer/generate.h"
#include "io/file.h"
#include "io/json.h"
#include "io/metrics.h"
#include "model/model.h"
#include "model/model_io.h"
#include "rl/eval_metrics.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/clip.h"

GrpoOptions grpo_defaults(void) {
    GrpoOptions o;
    memset(&o, 0, sizeof o);
    o.prompt_format = PROMPT_CHAT;
    reward_params_default(&o.reward_params);
    o.prompts_per_step = 16;
    o.num_generations = 8;
    o.temperature = 1.0;
    o.top_p = 1.0;
    o.max_completion_length = 256;
    o.max_prompt_length = 256;
    o.max_refill = 2;
    o.loss.type = GRPO_LOSS_DAPO;
    o.loss.epsilon_low = 0.2;
    o.loss.epsilon_high = 0.2;
    o.scale_rewards = SCALE_GROUP;
    o.num_iterations = 1;
    o.lr = 1e-4;
    o.min_lr_ratio = 1.0;
    o.schedule = SCHED_CONSTANT;
    o.adamw = adamw_defaults();
    o.adamw.weight_decay = 0.0;
    o.clip = 1.0;
    o.micro_batch = 16;
    o.steps = 100;
    o.seed = 1;
    o.save_every = 50;
    o.keep = 2;
    return o;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the rollout batch ---- */

typedef struct Rollout {
    int n;                  /* sequences (groups × G) */
    int cap;
    int **tokens;           /* [n] prompt + completion ids, owned */
    int *n_prompt, *len;    /* [n] */
    int *finish;            /* [n] GenFinish */
    double *reward;         /* [n] weighted sum */
    double *terms;          /* [n × REWARD_MAX_TERMS] unweighted */
    double *accuracy;       /* [n] */
    double *extra;          /* [n] the caller's reward term (unweighted) */
    double *think;          /* [n] 1: a non-empty chain of thought */
    double *adv;            /* [n] */
} Rollout;

static void rollout_reserve(Rollout *r, int n) {
    if (n <= r->cap) return;
    r->cap = n;
    r->tokens = xrealloc(r->tokens, sizeof(int *) * (size_t)n);
    r->n_prompt = xrealloc(r->n_prompt, sizeof(int) * (size_t)n);
    r->len = xrealloc(r->len, sizeof(int) * (size_t)n);
    r->finish = xrealloc(r->finish, sizeof(int) * (size_t)n);
    r->reward = xrealloc(r->reward, sizeof(double) * (size_t)n);
    r->terms = xrealloc(r->terms, sizeof(double) * (size_t)n * REWARD_MAX_TERMS);
    r->accuracy = xrealloc(r->accuracy, sizeof(double) * (size_t)n);
    r->extra = xrealloc(r->extra, sizeof(double) * (size_t)n);
    r->think = xrealloc(r->think, sizeof(double) * (size_t)n);
    r->adv = xrealloc(r->adv, sizeof(double) * (size_t)n);
}

static void rollout_clear(Rollout *r) {
    for (int i = 0; i < r->n; i++) free(r->tokens[i]);
    r->n = 0;
}

static void rollout_free(Rollout *r) {
    rollout_clear(r);
    free(r->tokens); free(r->n_prompt); free(r->len); free(r->finish);
    free(r->reward); free(r->terms); free(r->accuracy); free(r->extra); free(r->think); free(r->adv);
    memset(r, 0, sizeof *r);
}

/* Everything a run holds. */
typedef struct Run {
    const GrpoOptions *o;
    Model m, ref;
    int has_ref;
    ModelActs acts;
    AdamW opt;
    real *grads;
    double *norm_partial;
    Tokenizer *tok;
    int eos;
    int max_prompt;         /* longest prompt in tokens this run accepts */
    char ckpt_root[4096];
    char tok_json[4096], tok_cfg[4096];
    ModelFile extra[2];
    int n_extra;
} Run;

/* Where a batch of completions comes from: the training rollouts, or the held-out evaluation
 * (other prompts, R1's evaluation sampling, accuracy only). */
typedef struct RolloutSpec {
    const PromptSource *src;
    int G;
    double temperature, top_p;
    int top_k;
    uint64_t seed;
    int eval;               /* 1: score accuracy only (no rule-reward set, no extra reward) */
} RolloutSpec;

static RolloutSpec training_spec(const GrpoOptions *o) {
    return (RolloutSpec){o->prompts, o->num_generations, o->temperature, o->top_p, o->top_k, o->seed, 0};
}

/* Generates G completions for each of n_groups prompts (indices first_index..), scores them and
 * appends them to r. */
static int rollout_groups(Run *run, const RolloutSpec *sp, int64_t step, uint64_t first_index, int n_groups,
                          Rollout *r, GrpoStepStats *st, Err *e) {
    const GrpoOptions *o = run->o;
    const int G = sp->G, n = n_groups * G;
    int **prompt_ids = xcalloc((size_t)n_groups, sizeof(int *));
    int *prompt_len = xcalloc((size_t)n_groups, sizeof(int));
    char **refs = xcalloc((size_t)n_groups, sizeof(char *));
    char **questions = xcalloc((size_t)n_groups, sizeof(char *));
    GenRequest *req = xcalloc((size_t)n, sizeof *req);
    GenOutput *out = xcalloc((size_t)n, sizeof *out);
    int rc = 0;
    TokIds ids = {0};
    for (int g = 0; g < n_groups && rc == 0; g++) {
        StrBuf q = {0}, ref = {0}, text = {0};
        rc = prompt_source_get(sp->src, first_index + (uint64_t)g, &q, &ref, e);
        if (rc == 0) {
            prompt_render(o->prompt_format, q.s ? q.s : "", &text);
            ids.n = 0;
            rc = tokenizer_encode(run->tok, text.s, text.len, &ids, e);
        }
        if (rc == 0 && (int)ids.n + 1 > run->max_prompt)
            rc = err_set(e, "prompt %llu is %zu tokens, more than the %d the context leaves before "
                         "%d completion tokens", (unsigned long long)(first_index + (uint64_t)g),
                         ids.n + 1, run->max_prompt, o->max_completion_length);
        if (rc == 0) {
            prompt_len[g] = (int)ids.n + 1;
            prompt_ids[g] = xmalloc(sizeof(int) * (size_t)prompt_len[g]);
            prompt_ids[g][0] = (int)tokenizer_bos_id(run->tok);
            for (size_t k = 0; k < ids.n; k++) prompt_ids[g][k + 1] = (int)ids.v[k];
            questions[g] = q.s ? sb_take(&q) : xstrdup("");
            refs[g] = ref.s ? sb_take(&ref) : xstrdup("");
            for (int j = 0; j < G; j++)
                req[g * G + j] = (GenRequest){prompt_ids[g], prompt_len[g], first_index + (uint64_t)g, (uint64_t)j};
        }
        sb_free(&q); sb_free(&ref); sb_free(&text);
    }
    free(ids.v);
    double t0 = now_s();
    GenStats gs = {0};
    if (rc == 0) {
        SamplerParams smp = sampler_defaults();
        smp.temperature = sp->temperature;
        smp.top_p = sp->top_p;
        smp.top_k = sp->top_k;
        GenOptions go = gen_options(smp, sp->seed, o->max_completion_length, run->tok);
        go.n_slots = n < 128 ? n : 128;
        rc = generate(&run->m, req, n, &go, out, &gs, e);
    }
    double t1 = now_s();
    st->rollout_seconds += t1 - t0;
    if (rc == 0) {
        st->rollout_tokens_per_s += (double)gs.decode_tokens;   /* summed; divided by time at the end */
        rollout_reserve(r, r->n + n);
        StrBuf text = {0};
        uint32_t *known = xmalloc(sizeof(uint32_t) * (size_t)(o->max_completion_length + 1));
        for (int i = 0; i < n && rc == 0; i++) {
            int g = i / G, k = r->n;
            int nc = out[i].n;
            r->n_prompt[k] = prompt_len[g];
            r->len[k] = prompt_len[g] + nc;
            r->tokens[k] = xmalloc(sizeof(int) * (size_t)(r->len[k] > 0 ? r->len[k] : 1));
            memcpy(r->tokens[k], prompt_ids[g], sizeof(int) * (size_t)prompt_len[g]);
            memcpy(r->tokens[k] + prompt_len[g], out[i].tokens, sizeof(int) * (size_t)nc);
            r->finish[k] = out[i].finish;
            /* the text the rewards read: the completion without its closing EOS, and without ids
             * the tokenizer does not have (the padding rows of a vocab_size rounded up) */
            int n_text = nc - (nc > 0 && out[i].tokens[nc - 1] == run->eos), n_known = 0;
            for (int t = 0; t < n_text; t++) {
                size_t bl;
                if (tokenizer_token_bytes(run->tok, (uint32_t)out[i].tokens[t], &bl)) known[n_known++] = (uint32_t)out[i].tokens[t];
            }
            sb_clear(&text);
            rc = tokenizer_decode(run->tok, known, (size_t)n_known, 0, &text, e);
            if (rc) break;
            RewardInput in = {questions[g], text.s ? text.s : "", text.len, refs[g], n_text};
            r->accuracy[k] = reward_accuracy(&in, &o->reward_params);
            r->think[k] = completion_thinks(in.completion, in.completion_len);
            r->reward[k] = sp->eval ? r->accuracy[k]
                                    : rewards_score(&o->rewards, &in, &o->reward_params, r->terms + (size_t)k * REWARD_MAX_TERMS);
            r->extra[k] = o->extra_reward && !sp->eval ? o->extra_reward(o->extra_reward_ctx, &in) : 0;
            if (!sp->eval && step >= o->extra_reward_from_step) r->reward[k] += o->extra_reward_weight * r->extra[k];
            r->n++;
        }
        sb_free(&text);
        free(known);
    }
    st->score_seconds += now_s() - t1;
    gen_outputs_free(out, rc == 0 || out[0].tokens ? n : 0);
    for (int g = 0; g < n_groups; g++) { free(prompt_ids[g]); free(refs[g]); free(questions[g]); }
    free(prompt_ids); free(prompt_len); free(refs); free(questions); free(req); free(out);
    return rc;
}

/* Keeps the groups whose rewards differ (dynamic sampling), at most `max_groups`. */
static int keep_informative(Rollout *r, int G, int max_groups) {
    int kept = 0, n_groups = r->n / G;
    for (int g = 0; g < n_groups; g++) {
        int equal = 1;
        for (int j = 1; j < G; j++) equal &= r->reward[g * G + j] == r->reward[g * G];
        if (equal || kept == max_groups) {
            for (int j = 0; j < G; j++) free(r->tokens[g * G + j]);
            continue;
        }
        for (int j = 0; j < G; j++) {
            int a = kept * G + j, b = g * G + j;
            r->tokens[a] = r->tokens[b]; r->n_prompt[a] = r->n_prompt[b]; r->len[a] = r->len[b];
            r->finish[a] = r->finish[b]; r->reward[a] = r->reward[b]; r->accuracy[a] = r->accuracy[b];
            r->extra[a] = r->extra[b]; r->think[a] = r->think[b];
            memmove(r->terms + (size_t)a * REWARD_MAX_TERMS, r->terms + (size_t)b * REWARD_MAX_TERMS,
                    sizeof(double) * REWARD_MAX_TERMS);
        }
        kept++;
    }
    r->n = kept * G;
    return kept;
}

static int zero_std_groups(const Rollout *r, int G) {
    int z = 0;
    for (int g = 0; g < r->n / G; g++) {
        int equal = 1;
        for (int j = 1; j < G; j++) equal &= r->reward[g * G + j] == r->reward[g * G];
        z += equal;
    }
    return z;
}

/* Held-out pass@1 of the current policy: the same eval_n problems of the TEST split each time, k
 * samples each at R1's evaluation settings (T 0.6, top-p 0.95), the same sampling streams. */
static int heldout_eval(Run *run, GrpoStepStats *st, Err *e) {
    const GrpoOptions *o = run->o;
    RolloutSpec sp = {o->eval_prompts, o->eval_k, 0.6, 0.95, 0, o->seed + 1000, 1};
    Rollout r = {0};
    GrpoStepStats scratch;
    memset(&scratch, 0, sizeof scratch);
    int rc = rollout_groups(run, &sp, -1, 0, o->eval_n, &r, &scratch, e);
    if (rc == 0) {
        double acc = 0, len = 0, think = 0;
        for (int i = 0; i < r.n; i++) {
            acc += r.accuracy[i];
            len += r.len[i] - r.n_prompt[i];
            think += r.think[i];
        }
        double n = r.n ? r.n : 1;
        st->eval_done = 1;
        st->eval_accuracy = acc / n;
        st->eval_length = len / n;
        st->eval_think = think / n;
        st->eval_seconds = scratch.rollout_seconds + scratch.score_seconds;
    }
    rollout_free(&r);
    return rc;
}

/* ---- the update ---- */

static int is_truncated(int finish) { return finish == GEN_MAX_TOKENS || finish == GEN_LENGTH; }

/* μ passes over the rollout batch, one optimizer step each. */
static int update(Run *run, Rollout *r, int64_t step, GrpoStepStats *st, Err *e) {
    const GrpoOptions *o = run->o;
    const ModelConfig *c = &run->m.cfg;
    const int n = r->n, V = c->vocab_size;
    /* flat per-completion-token arrays: sequence i owns [cs[i], cs[i+1]) */
    int *cs = xmalloc(sizeof(int) * (size_t)(n + 1));
    cs[0] = 0;
    for (int i = 0; i < n; i++) cs[i + 1] = cs[i] + (r->len[i] - r->n_prompt[i]);
    int total = cs[n];
    float *logp = xmalloc(sizeof(float) * (size_t)(total ? total : 1));
    float *old = xmalloc(sizeof(float) * (size_t)(total ? total : 1));
    float *ref = run->has_ref ? xmalloc(sizeof(float) * (size_t)(total ? total : 1)) : NULL;
    float *mask = xmalloc(sizeof(float) * (size_t)(total ? total : 1));
    double *dlogp = xmalloc(sizeof(double) * (size_t)(total ? total : 1));
    long n_tokens = 0;
    for (int i = 0; i < n; i++)
        for (int t = cs[i]; t < cs[i + 1]; t++) {
            mask[t] = o->mask_truncated_completions && is_truncated(r->finish[i]) ? 0.0f : 1.0f;
            n_tokens += mask[t] != 0;
        }
    GrpoLossConfig lc = o->loss;
    lc.n_seq_total = n;
    lc.n_tokens_total = n_tokens;
    lc.max_completion_len = o->max_completion_length;
    const int mb = o->micro_batch;
    int maxT = 0;
    for (int i = 0; i < n; i++) if (r->len[i] > maxT) maxT = r->len[i];
    int *tokens = xmalloc(sizeof(int) * (size_t)mb * (size_t)maxT);
    int *targets = xmalloc(sizeof(int) * (size_t)mb * (size_t)maxT);
    real *lp_full = xmalloc(sizeof(real) * (size_t)mb * (size_t)maxT);
    real *row_w = xmalloc(sizeof(real) * (size_t)mb * (size_t)maxT);
    Schedule sched = {o->schedule, o->lr, o->warmup, o->steps, o->min_lr_ratio, 0.2};
    double lr = schedule_lr(&sched, step);
    double ent_sum = 0, kl_sum = 0, loss_sum = 0;
    long clip_lo = 0, clip_hi = 0, ent_n = 0;
    int rc = 0;
    double t_lp = 0, t_up = 0;
    for (int pass = 0; pass < o->num_iterations && rc == 0; pass++) {
        double loss_pass = 0;
        for (int b0 = 0; b0 < n; b0 += mb) {
            int S = n - b0 < mb ? n - b0 : mb, T = 0;
            for (int s = 0; s < S; s++) if (r->len[b0 + s] > T) T = r->len[b0 + s];
            for (int s = 0; s < S; s++) {
                const int i = b0 + s, np = r->n_prompt[i];
                for (int t = 0; t < T; t++) {
                    tokens[s * T + t] = t < r->len[i] ? r->tokens[i][t] : run->eos;
                    targets[s * T + t] = (t >= np - 1 && t < r->len[i] - 1) ? r->tokens[i][t + 1] : -1;
                }
            }
            double t0 = now_s();
            if (run->has_ref && pass == 0) {
                model_target_logprobs(&run->ref, &run->acts, tokens, targets, S, T, lp_full);
                for (int s = 0; s < S; s++)
                    for (int t = cs[b0 + s]; t < cs[b0 + s + 1]; t++)
                        ref[t] = (float)lp_full[s * T + r->n_prompt[b0 + s] - 1 + (t - cs[b0 + s])];
            }
            model_target_logprobs(&run->m, &run->acts, tokens, targets, S, T, lp_full);
            for (int s = 0; s < S; s++)
                for (int t = cs[b0 + s]; t < cs[b0 + s + 1]; t++) {
                    int pos = s * T + r->n_prompt[b0 + s] - 1 + (t - cs[b0 + s]);
                    logp[t] = (float)lp_full[pos];
                    if (pass == 0) {
                        old[t] = logp[t];
                        /* entropy of the policy at this position: lse − Σ p·z */
                        const real *z = run->acts.logits + (size_t)pos * V;
                        double lse = run->acts.lse[pos], ez = 0;
                        for (int v = 0; v < V; v++) ez += exp((double)z[v] - lse) * (double)z[v];
                        ent_sum += lse - ez;
                        ent_n++;
                    }
                }
            double t1 = now_s();
            t_lp += t1 - t0;
            int start[1024 + 1];
            CHECK(S <= 1024);
            for (int s = 0; s <= S; s++) start[s] = cs[b0 + s] - cs[b0];
            GrpoLossStats ls;
            loss_pass += grpo_loss(&lc, S, start, logp + cs[b0], old + cs[b0], ref ? ref + cs[b0] : NULL,
                                   mask + cs[b0], r->adv + b0, dlogp + cs[b0], &ls);
            if (pass == 0) { kl_sum += ls.kl_sum; clip_lo += ls.clip_low; clip_hi += ls.clip_high; }
            memset(row_w, 0, sizeof(real) * (size_t)S * (size_t)T);
            for (int s = 0; s < S; s++)
                for (int t = cs[b0 + s]; t < cs[b0 + s + 1]; t++)
                    row_w[s * T + r->n_prompt[b0 + s] - 1 + (t - cs[b0 + s])] = (real)(-dlogp[t]);
            model_backward(&run->m, &run->acts, run->grads, row_w);
            t_up += now_s() - t1;
        }
        double t2 = now_s();
        double norm = grad_global_norm(&run->opt.chunks, run->grads, 1.0, run->norm_partial);
        if (!isfinite(norm)) {
            rc = err_set(e, "step %lld: the gradient is not finite (loss %g)", (long long)step, loss_pass);
            break;
        }
        adamw_step_and_zero(&run->opt, run->m.params, run->grads, lr, clip_factor(norm, o->clip));
        t_up += now_s() - t2;
        st->grad_norm = norm;
        loss_sum = loss_pass;
    }
    st->loss = loss_sum;
    st->lr = lr;
    st->entropy = ent_n ? ent_sum / (double)ent_n : 0;
    st->kl = n_tokens ? kl_sum / (double)n_tokens : 0;
    st->clip_low = n_tokens ? (double)clip_lo / (double)n_tokens : 0;
    st->clip_high = n_tokens ? (double)clip_hi / (double)n_tokens : 0;
    st->logprob_seconds = t_lp;
    st->update_seconds = t_up;
    st->train_tokens_per_s = (t_lp + t_up) > 0 ? (double)o->num_iterations * total / (t_lp + t_up) : 0;
    free(cs); free(logp); free(old); free(ref); free(mask); free(dlogp);
    free(tokens); free(targets); free(lp_full); free(row_w);
    return rc;
}

/* ---- bookkeeping ---- */

static void step_stats(const Run *run, const Rollout *r, GrpoStepStats *st) {
    const GrpoOptions *o = run->o;
    double s = 0, s2 = 0, acc = 0, len = 0, lmax = 0, trunc = 0, x = 0, x2 = 0, think = 0;
    for (int i = 0; i < r->n; i++) {
        s += r->reward[i]; s2 += r->reward[i] * r->reward[i]; acc += r->accuracy[i]; think += r->think[i];
        x += r->extra[i]; x2 += r->extra[i] * r->extra[i];
        double l = r->len[i] - r->n_prompt[i];
        len += l; if (l > lmax) lmax = l;
        trunc += is_truncated(r->finish[i]);
    }
    double n = r->n ? r->n : 1;
    st->reward_mean = s / n;
    st->reward_std = sqrt(fmax(0, s2 / n - st->reward_mean * st->reward_mean));
    st->accuracy = acc / n;
    st->extra_mean = x / n;
    st->extra_std = sqrt(fmax(0, x2 / n - st->extra_mean * st->extra_mean));
    st->len_mean = len / n;
    st->think = think / n;
    st->len_max = lmax;
    st->frac_truncated = trunc / n;
    for (int k = 0; k < o->rewards.n; k++) {
        double a = 0, b = 0;
        for (int i = 0; i < r->n; i++) { double v = r->terms[(size_t)i * REWARD_MAX_TERMS + k]; a += v; b += v * v; }
        st->term_mean[k] = a / n;
        st->term_std[k] = sqrt(fmax(0, b / n - (a / n) * (a / n)));
    }
}

static void write_metrics(const Run *run, int64_t step, const GrpoStepStats *st, FILE *f) {
    const GrpoOptions *o = run->o;
    fprintf(f, "{\"step\": %lld, \"reward\": %.6g, \"reward_std\": %.6g, \"accuracy\": %.6g", (long long)step,
            st->reward_mean, st->reward_std, st->accuracy);
    for (int k = 0; k < o->rewards.n; k++)
        fprintf(f, ", \"reward_%s\": %.6g, \"reward_%s_std\": %.6g", reward_name(o->rewards.id[k]),
                st->term_mean[k], reward_name(o->rewards.id[k]), st->term_std[k]);
    if (o->extra_reward)
        fprintf(f, ", \"reward_%s\": %.6g, \"reward_%s_std\": %.6g", o->extra_reward_name ? o->extra_reward_name : "extra",
                st->extra_mean, o->extra_reward_name ? o->extra_reward_name : "extra", st->extra_std);
    fprintf(f, ", \"frac_zero_std\": %.4g, \"groups\": %d, \"refill_rounds\": %d, \"length\": %.4g, "
               "\"length_max\": %.0f, \"think\": %.4g, \"frac_truncated\": %.4g, \"kl\": %.6g, \"clip_low\": %.4g, "
               "\"clip_high\": %.4g, \"entropy\": %.5g, \"loss\": %.6g, \"grad_norm\": %.5g, \"lr\": %.4g, "
               "\"rollout_tokens_per_s\": %.1f, \"train_tokens_per_s\": %.1f, \"rollout_s\": %.3f, "
               "\"score_s\": %.3f, \"logprob_s\": %.3f, \"update_s\": %.3f",
            st->frac_zero_std, st->groups_used, st->refill_rounds, st->len_mean, st->len_max,
            st->think, st->frac_truncated, st->kl, st->clip_low, st->clip_high, st->entropy, st->loss, st->grad_norm,
            st->lr, st->rollout_tokens_per_s, st->train_tokens_per_s, st->rollout_seconds, st->score_seconds,
            st->logprob_seconds, st->update_seconds);
    if (st->eval_done)   /* the held-out evaluation of the policy this step sampled from */
        fprintf(f, ", \"eval_accuracy\": %.6g, \"eval_length\": %.4g, \"eval_think\": %.4g, \"eval_s\": %.3f",
                st->eval_accuracy, st->eval_length, st->eval_think, st->eval_seconds);
    fputs("}\n", f);
    fflush(f);
}

static cJSON *options_json(const GrpoOptions *o) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "command", "grpo");
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "steps", (double)o->steps);
    cJSON_AddNumberToObject(j, "prompts_per_step", o->prompts_per_step);
    cJSON_AddNumberToObject(j, "num_generations", o->num_generations);
    cJSON_AddNumberToObject(j, "lr", o->lr);
    cJSON_AddNumberToObject(j, "beta", o->loss.beta);
    cJSON_AddNumberToObject(j, "num_iterations", o->num_iterations);
    return j;
}

static int save_checkpoint(Run *run, int64_t step, Err *e) {
    TrainerState st = {0};
    st.step = step;
    st.adamw_t = run->opt.t;
    st.options = options_json(run->o);
    char dir[4096];
    CkptModel cm = {&run->m, NULL, NULL, run->extra, run->n_extra};
    int rc = checkpoint_save(run->ckpt_root, &cm, &run->opt, &st, 0, dir, sizeof dir, e);
    cJSON_Delete(st.options);
    if (rc == 0) rc = checkpoint_prune(run->ckpt_root, run->o->keep, e);
    return rc;
}

/* The reference policy at `step`: the starting model until the first reset, then the policy as it
 * was at the last multiple of ref_sync_steps, kept in out/ref/step-K. */
static int ref_folder(const GrpoOptions *o, int64_t step, char *dir, size_t cap) {
    int64_t k = o->ref_sync_steps > 0 ? step / o->ref_sync_steps * o->ref_sync_steps : 0;
    if (k == 0) snprintf(dir, cap, "%s", o->model_dir);
    else snprintf(dir, cap, "%s/ref/step-%lld", o->out_dir, (long long)k);
    return k > 0;
}

static int validate(const GrpoOptions *o, Err *e) {
    if (!o->model_dir || !o->out_dir) return err_set(e, "--model and --out are required");
    if (!o->prompts) return err_set(e, "one of --task or --data is required");
    if (o->num_generations < 2) return err_set(e, "--num-generations: G must be >= 2 (got %d)", o->num_generations);
    if (o->prompts_per_step < 1) return err_set(e, "--prompts-per-step: must be >= 1");
    if (o->rewards.n < 1 && !o->extra_reward) return err_set(e, "--rewards: at least one reward is needed");
    if (o->num_iterations < 1) return err_set(e, "--num-iterations: must be >= 1");
    if (o->micro_batch < 1 || o->micro_batch > 1024) return err_set(e, "--micro-batch: must be in 1..1024");
    if (o->max_completion_length < 1) return err_set(e, "--max-completion-length: must be >= 1");
    if (o->loss.epsilon_low < 0 || o->loss.epsilon_high < 0) return err_set(e, "--epsilon: must be >= 0");
    if (o->loss.beta < 0) return err_set(e, "--beta: must be >= 0");
    if (o->steps < 1) return err_set(e, "--steps: must be >= 1");
    return 0;
}

static void progress(const Run *run, int64_t step, const GrpoStepStats *st, double elapsed, int64_t done) {
    const GrpoOptions *o = run->o;
    double eta = done > 0 ? elapsed / (double)done * (double)(o->steps - step - 1) : 0;
    fprintf(stderr, "\rgrpo %lld/%lld | reward %.3f±%.3f acc %.3f | len %.1f think %.2f trunc %.2f | zero-std %.2f | "
                    "kl %.4f ent %.3f | %.0f tok/s rollout | eta %.0fs   ",
            (long long)step + 1, (long long)o->steps, st->reward_mean, st->reward_std, st->accuracy,
            st->len_mean, st->think, st->frac_truncated, st->frac_zero_std, st->kl, st->entropy,
            st->rollout_tokens_per_s, eta);
    if (step + 1 == o->steps) fputc('\n', stderr);
}

int grpo_run(const GrpoOptions *o, GrpoResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    if (validate(o, e)) return -1;
    Run run;
    memset(&run, 0, sizeof run);
    run.o = o;
    int rc = 0;
    snprintf(run.tok_json, sizeof run.tok_json, "%s/tokenizer.json", o->model_dir);
    snprintf(run.tok_cfg, sizeof run.tok_cfg, "%s/tokenizer_config.json", o->model_dir);
    run.tok = tokenizer_load(run.tok_json, e);
    if (!run.tok) return -1;
    run.extra[run.n_extra++] = (ModelFile){run.tok_json, "tokenizer.json"};
    if (file_exists(run.tok_cfg)) run.extra[run.n_extra++] = (ModelFile){run.tok_cfg, "tokenizer_config.json"};
    int64_t eos = tokenizer_eos_id(run.tok);
    if (eos < 0 || tokenizer_bos_id(run.tok) < 0) {
        tokenizer_free(run.tok);
        return err_set(e, "%s: the tokenizer has no BOS/EOS token", run.tok_json);
    }
    run.eos = (int)eos;
    if (model_load_dir(&run.m, o->model_dir, e) != 0) { tokenizer_free(run.tok); return -1; }
    const ModelConfig *c = &run.m.cfg;
    if (tokenizer_vocab_size(run.tok) > (uint32_t)c->vocab_size) {
        rc = err_set(e, "%s: the tokenizer's %u ids do not fit the model's vocab_size %d", run.tok_json,
                     tokenizer_vocab_size(run.tok), c->vocab_size);
    }
    if (o->prompt_format == PROMPT_CHAT && rc == 0 &&
        (tokenizer_token_id(run.tok, CHAT_USER) < 0 || tokenizer_token_id(run.tok, CHAT_ASSISTANT) < 0))
        rc = err_set(e, "%s: the chat template's role tokens are not in the tokenizer (use --prompt-format r1zero)",
                     run.tok_json);
    int max_ctx = c->max_position_embeddings;
    run.max_prompt = max_ctx - o->max_completion_length;
    if (o->max_prompt_length > 0 && o->max_prompt_length < run.max_prompt) run.max_prompt = o->max_prompt_length;
    if (rc == 0 && run.max_prompt < 8)
        rc = err_set(e, "--max-completion-length %d leaves no room for a prompt in the context of %d",
                     o->max_completion_length, max_ctx);
    snprintf(run.ckpt_root, sizeof run.ckpt_root, "%s/checkpoints", o->out_dir);
    if (rc == 0) rc = file_mkdirs(run.ckpt_root, e);
    int64_t start = 0;
    if (rc == 0) {
        adamw_init(&run.opt, &run.m.table, &o->adamw);
        run.grads = big_calloc(run.m.table.total * sizeof(real), "gradients");
        run.norm_partial = xcalloc((size_t)run.opt.chunks.n + 1, sizeof(double));
        model_acts_init(&run.acts, &run.m, o->micro_batch, run.max_prompt + o->max_completion_length);
    }
    if (rc == 0 && o->resume) {
        char dir[4096];
        int64_t st_step = 0;
        int found = checkpoint_latest(run.ckpt_root, dir, sizeof dir, &st_step, e);
        if (found < 0) rc = -1;
        else if (found) {
            TrainerState ts = {0};
            rc = checkpoint_read_state(dir, &ts, e);
            if (rc == 0) rc = checkpoint_load(dir, &run.m, &run.opt, &ts, e);
            if (rc == 0) start = ts.step;
            trainer_state_free(&ts);
            if (rc == 0 && !o->quiet) fprintf(stderr, "grpo: resuming from %s (step %lld)\n", dir, (long long)start);
        }
    }
    char metrics_path[4096];
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", o->out_dir);
    if (rc == 0) rc = metrics_truncate(metrics_path, start, e);
    if (rc == 0 && o->loss.beta > 0) {
        char dir[4096];
        ref_folder(o, start, dir, sizeof dir);
        rc = model_load_dir(&run.ref, dir, e);
        run.has_ref = rc == 0;
    }
    FILE *mf = rc == 0 ? fopen(metrics_path, "a") : NULL;
    if (rc == 0 && !mf) rc = err_set(e, "%s: cannot open for appending", metrics_path);
    Rollout r = {0};
    double t_begin = now_s();
    const int B = o->prompts_per_step, G = o->num_generations;
    const RolloutSpec train = training_spec(o);
    for (int64_t step = start; step < o->steps && rc == 0; step++) {
        if (o->stop && *o->stop) { res->interrupted = 1; break; }
        GrpoStepStats st;
        memset(&st, 0, sizeof st);
        rollout_clear(&r);
        /* prompts of (step, round) are indexed so that they depend on nothing but the step */
        uint64_t base = (uint64_t)step * (uint64_t)(o->max_refill + 1) * (uint64_t)B;
        if (o->eval_prompts && o->eval_every > 0 && step % o->eval_every == 0) {
            rc = heldout_eval(&run, &st, e);
            if (rc == 0 && !o->quiet)
                fprintf(stderr, "\rgrpo: before step %lld: held-out pass@1 %.3f, think %.2f, length %.1f (%d x %d, %.1f s)%*s\n",
                        (long long)step, st.eval_accuracy, st.eval_think, st.eval_length, o->eval_n, o->eval_k,
                        st.eval_seconds, 30, "");
        }
        if (rc) break;
        rc = rollout_groups(&run, &train, step, base, B, &r, &st, e);
        if (rc) break;
        step_stats(&run, &r, &st);   /* statistics of the first round, as sampled */
        st.frac_zero_std = (double)zero_std_groups(&r, G) / B;
        if (o->dynamic_sampling) {
            int kept = keep_informative(&r, G, B);
            for (int round = 1; round <= o->max_refill && kept < B && rc == 0; round++) {
                Rollout more = {0};
                rc = rollout_groups(&run, &train, step, base + (uint64_t)round * (uint64_t)B, B, &more, &st, e);
                if (rc == 0) {
                    int k2 = keep_informative(&more, G, B - kept);
                    rollout_reserve(&r, r.n + k2 * G);
                    for (int i = 0; i < k2 * G; i++) {
                        int a = r.n + i;
                        r.tokens[a] = more.tokens[i]; r.n_prompt[a] = more.n_prompt[i]; r.len[a] = more.len[i];
                        r.finish[a] = more.finish[i]; r.reward[a] = more.reward[i]; r.accuracy[a] = more.accuracy[i];
                        r.extra[a] = more.extra[i]; r.think[a] = more.think[i];
                        memcpy(r.terms + (size_t)a * REWARD_MAX_TERMS, more.terms + (size_t)i * REWARD_MAX_TERMS,
                               sizeof(double) * REWARD_MAX_TERMS);
                    }
                    r.n += k2 * G;
                    kept += k2;
                    more.n = 0;   /* the tokens moved to r */
                }
                rollout_free(&more);
                st.refill_rounds = round;
            }
        }
        if (rc) break;
        st.groups_used = r.n / G;
        st.rollout_tokens_per_s = st.rollout_seconds > 0 ? st.rollout_tokens_per_s / st.rollout_seconds : 0;
        if (r.n > 0) {
            grpo_advantages(r.adv, r.reward, r.n / G, G, o->scale_rewards, 1e-4);
            rc = update(&run, &r, step, &st, e);
        }
        if (rc) break;
        if (run.has_ref && o->ref_sync_steps > 0 && (step + 1) % o->ref_sync_steps == 0) {
            /* reset the reference to the policy, and keep it for a resume */
            char dir[4096];
            ref_folder(o, step + 1, dir, sizeof dir);
            memcpy(run.ref.params, run.m.params, sizeof(real) * run.m.table.total);
            if (file_mkdirs(dir, e) != 0 || checkpoint_write_model_folder(dir, &(CkptModel){&run.ref, NULL, NULL, NULL, 0}, e) != 0) rc = -1;
        }
        write_metrics(&run, step, &st, mf);
        res->last = st;
        res->steps_done = step + 1;
        if (!o->quiet) progress(&run, step, &st, now_s() - t_begin, step + 1 - start);
        int out_of_time = o->max_seconds > 0 && now_s() - t_begin >= o->max_seconds;
        int last = step + 1 == o->steps || out_of_time;
        int signalled = o->stop && *o->stop;
        if (rc == 0 && (signalled || (o->save_every > 0 && (step + 1) % o->save_every == 0) || last))
            rc = save_checkpoint(&run, step + 1, e);
        if (signalled) { res->interrupted = 1; break; }
        if (out_of_time) break;
    }
    if (rc == 0 && !res->interrupted && o->eval_prompts && o->eval_every > 0 && res->steps_done > start) {
        /* the trained policy's point of the held-out curve, on a line of its own */
        GrpoStepStats st;
        memset(&st, 0, sizeof st);
        rc = heldout_eval(&run, &st, e);
        if (rc == 0) {
            fprintf(mf, "{\"step\": %lld, \"final\": true, \"eval_accuracy\": %.6g, \"eval_length\": %.4g, "
                        "\"eval_think\": %.4g}\n", (long long)res->steps_done, st.eval_accuracy, st.eval_length,
                    st.eval_think);
            fflush(mf);
            res->last.eval_accuracy = st.eval_accuracy;
            res->last.eval_done = 1;
        }
    }
    if (rc == 0 && !res->interrupted) rc = checkpoint_write_model_folder(o->out_dir, &(CkptModel){&run.m, NULL, NULL, run.extra, run.n_extra}, e);
    res->seconds = now_s() - t_begin;
    if (mf) fclose(mf);
    rollout_free(&r);
    if (run.grads) { model_acts_free(&run.acts); adamw_free(&run.opt); }
    free(run.grads);
    free(run.norm_partial);
    if (run.has_ref) model_free(&run.ref);
    model_free(&run.m);
    tokenizer_free(run.tok);
    return rc;
}
