/* The GRPO trainer (grpo.h): its options, the rollouts of a step (grpo_rollout.c), the policy
 * update, the reference; the run engine (train/run.h) does the rest. */
#include "rl/grpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "model/model.h"
#include "model/model_io.h"
#include "rl/grpo_rollout.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

_Static_assert(sizeof(PromptFormat) == sizeof(int) && sizeof(GrpoLossType) == sizeof(int) &&
               sizeof(RewardScaling) == sizeof(int), "OPT_ENUM fields are int-sized");

static int parse_rewards(void *field, const char *text, Err *e) { return rewards_parse(text, field, e); }
static void format_rewards(const void *field, StrBuf *out) { rewards_format(field, out); }

#define G_(field) offsetof(GrpoOptions, field)
static const OptSpec PROMPT_SPECS[] = {
    OPT("task", OPT_STR, G_(task), OPT_MATH, "built-in task(s), comma-separated (arith, countdown, linear, ...)"),
    OPT("level", OPT_STR, G_(level), OPT_MATH, "task difficulty 1..5 or a range like 1-3"),
    OPT("lang", OPT_STR, G_(lang), OPT_MATH, "task language: en, zh or mixed"),
    OPT("data", OPT_STR, G_(data), 0, "JSONL prompts instead of --task: {\"prompt\",\"answer\"} or GSM8K"),
    OPT("prompt_format", OPT_ENUM, G_(prompt_format), OPT_MATH,
        "chat (R1 chat template), r1zero (the R1-Zero paper's template) or plain (question + newline, as "
        "pretraining documents)", .choices = PROMPT_FORMAT_NAMES),
    OPT("eval_every", OPT_I64, G_(eval_every), 0,
        "held-out pass@1 before every N-th step and at the end (0: off); --task: the test split"),
    OPT("eval_n", OPT_INT, G_(eval_n), 0, "held-out problems per evaluation"),
    OPT("eval_k", OPT_INT, G_(eval_k), 0, "samples per held-out problem (T 0.6, top-p 0.95)"),
    OPT("eval_data", OPT_STR, G_(eval_data), 0, "with --data: JSONL of held-out prompts for --eval-every"),
};
static const OptSpec GRPO_SPECS[] = {
    OPT("model", OPT_STR, G_(model_dir), 0, "policy to start from: a Hugging Face folder with tokenizer.json"),
    OPT("rewards", OPT_CUSTOM, G_(rewards), OPT_MATH, "weighted rule rewards, e.g. accuracy:1,format:0.5,language:0.2",
        .parse = parse_rewards, .format = format_rewards),
    OPT("prompts_per_step", OPT_INT, G_(prompts_per_step), OPT_MATH, "B: prompts per RL step"),
    OPT("num_generations", OPT_INT, G_(num_generations), OPT_MATH, "G: completions per prompt (>= 2)"),
    OPT("generation_batch_size", OPT_INT, G_(generation_batch_size), OPT_MATH,
        "completions per step instead of --prompts-per-step (TRL's name): B = this / G, must divide by G"),
    OPT("temperature", OPT_DOUBLE, G_(temperature), OPT_MATH, "rollout sampling temperature"),
    OPT("top_p", OPT_DOUBLE, G_(top_p), OPT_MATH, "rollout nucleus sampling"),
    OPT("top_k", OPT_INT, G_(top_k), OPT_MATH, "rollout top-k (0 = off)"),
    OPT("max_completion_length", OPT_INT, G_(max_completion_length), OPT_MATH, "tokens generated per completion at most"),
    OPT("max_prompt_length", OPT_INT, G_(max_prompt_length), OPT_MATH, "longest prompt accepted, in tokens"),
    OPT("dynamic_sampling", OPT_BOOL, G_(dynamic_sampling), OPT_MATH,
        "drop groups with equal rewards and draw more prompts (DAPO)"),
    OPT("max_refill", OPT_INT, G_(max_refill), OPT_MATH, "extra rounds of prompts per step for dynamic sampling"),
    OPT("rollout_precision", OPT_ENUM, G_(rollout_precision), OPT_MATH,
        "products of the rollouts: f32, or bf16 (the policy packed as bf16 for each batch; held-out evaluation stays f32)",
        .choices = MAT_PREC_NAMES),
    OPT("loss_type", OPT_ENUM, G_(loss.type), OPT_MATH, "grpo, bnpo, dr_grpo or dapo", .choices = GRPO_LOSS_TYPE_NAMES),
    OPT("scale_rewards", OPT_ENUM, G_(scale_rewards), OPT_MATH, "group, batch or none (Dr. GRPO)", .choices = REWARD_SCALING_NAMES),
    OPT("epsilon", OPT_DOUBLE, G_(loss.epsilon_low), OPT_MATH, "clip range: ratio clipped to [1-epsilon, 1+epsilon-high]"),
    OPT("epsilon_high", OPT_DOUBLE, G_(loss.epsilon_high), OPT_MATH, "upper clip (< 0: = epsilon; DAPO uses 0.28)"),
    OPT("beta", OPT_DOUBLE, G_(loss.beta), OPT_MATH, "KL coefficient to the frozen reference (0: no reference is loaded)"),
    OPT("num_iterations", OPT_INT, G_(num_iterations), OPT_MATH, "mu: optimizer passes over each rollout batch"),
    OPT("mask_truncated_completions", OPT_BOOL, G_(mask_truncated_completions), OPT_MATH,
        "exclude truncated completions from the loss"),
    OPT("ref_model_sync_steps", OPT_I64, G_(ref_sync_steps), OPT_MATH, "reset the reference to the policy every N steps (0: never)"),
    OPT("micro_batch", OPT_INT, G_(micro_batch), OPT_MATH, "sequences per forward/backward"),
    OPT("rollout_batches", OPT_INT, G_(rollout_batches), OPT_MATH,
        "continuous batches a step's prompt groups are generated in (a divisor of the prompts per step); "
        "under mpirun the ranks share them"),
    OPT("steps", OPT_I64, G_(steps), OPT_LENGTH, "RL steps"),
    OPT("seed", OPT_U64, G_(seed), OPT_MATH, "seed of prompts and sampling"),
};
#undef G_
const OptTable GRPO_PROMPT_TABLE = OPT_TABLE(PROMPT_SPECS);
const OptTable GRPO_TABLE = OPT_TABLE(GRPO_SPECS);
const OptSet GRPO_OPTIONS = {"grpo", {{&GRPO_TABLE, 0}, {&GRPO_PROMPT_TABLE, 0},
                                     {&OPTIM_OPT_TABLE, offsetof(GrpoOptions, optim)},
                                     {&RUN_OPT_TABLE, offsetof(GrpoOptions, run)}}, 4};

GrpoOptions grpo_defaults(void) {
    GrpoOptions o;
    memset(&o, 0, sizeof o);
    o.level = "1";
    o.lang = "en";
    o.prompt_format = PROMPT_CHAT;
    CHECK(rewards_parse("accuracy:1,format:1", &o.rewards, NULL) == 0);
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
    o.loss.epsilon_high = -1;
    o.scale_rewards = SCALE_GROUP;
    o.num_iterations = 1;
    o.micro_batch = 16;
    o.rollout_batches = 1;
    o.eval_n = 64;
    o.eval_k = 4;
    o.steps = 100;
    o.seed = 1;
    o.optim = (OptimOptions){.learning_rate = 1e-4, .lr_scheduler = SCHED_CONSTANT, .min_lr_ratio = 1.0,
                             .decay_frac = 0.2, .adamw = adamw_defaults(), .max_grad_norm = 1.0,
                             .bias_update_speed = 0.001};
    o.optim.adamw.weight_decay = 0.0;
    o.run = (RunOptions){.save_every = 50, .keep = 2, .log_every = 1, .zero_stage = 1};
    return o;
}

/* Everything a run holds. */
typedef struct Grpo {
    GrpoOptions o;              /* resolved: B from generation_batch_size, epsilon_high */
    GrpoPolicy pol;
    Model m, ref;
    int have_model, has_ref;
    ModelActs acts;
    PromptSource own_prompts, own_eval;
    const PromptSource *prompts, *eval;
    Rollout r;
    char tok_json[4096], tok_cfg[4096];
    ModelFile files[2];
    int n_files;
    GrpoStepStats last;
    StrBuf heldout_problems;    /* the metrics fields of this step's held-out evaluation, per problem */
} Grpo;

static int validate(const GrpoOptions *o, Err *e) {
    const OptSet *s = &GRPO_OPTIONS;
    char f1[64];
    if (!o->model_dir) return opt_err(s, e, "model", "required");
    if (!o->run.out_dir) return opt_err(s, e, "out", "required");
    if (o->num_generations < 2)
        return opt_err(s, e, "num_generations", "must be >= 2 for group advantages (got %d)", o->num_generations);
    if (o->generation_batch_size != 0 && (o->generation_batch_size < 0 || o->generation_batch_size % o->num_generations))
        return opt_err(s, e, "generation_batch_size", "%d is not a positive multiple of %s %d", o->generation_batch_size,
                       opt_flag("num_generations", f1, sizeof f1), o->num_generations);
    if (o->prompts_per_step < 1) return opt_err(s, e, "prompts_per_step", "must be >= 1");
    if (o->rewards.n < 1 && !o->extra_reward) return opt_err(s, e, "rewards", "at least one reward is needed");
    if (!(o->temperature > 0)) return opt_err(s, e, "temperature", "must be > 0 for GRPO rollouts (got %g)", o->temperature);
    if (!(o->top_p > 0 && o->top_p <= 1)) return opt_err(s, e, "top_p", "must be in (0, 1] (got %g)", o->top_p);
    if (o->top_k < 0) return opt_err(s, e, "top_k", "must be >= 0");
    if (o->num_iterations < 1) return opt_err(s, e, "num_iterations", "must be >= 1");
    if (o->micro_batch < 1 || o->micro_batch > 1024) return opt_err(s, e, "micro_batch", "must be in 1..1024");
    if (o->rollout_batches < 1) return opt_err(s, e, "rollout_batches", "must be >= 1");
    if (o->max_completion_length < 1) return opt_err(s, e, "max_completion_length", "must be >= 1");
    if (o->max_refill < 0) return opt_err(s, e, "max_refill", "must be >= 0");
    if (!(o->loss.epsilon_low >= 0)) return opt_err(s, e, "epsilon", "must be >= 0");
    if (!(o->loss.beta >= 0)) return opt_err(s, e, "beta", "must be >= 0");
    if (o->ref_sync_steps < 0) return opt_err(s, e, "ref_model_sync_steps", "must be >= 0");
    if (o->steps < 1) return opt_err(s, e, "steps", "must be >= 1");
    if (o->eval_every < 0) return opt_err(s, e, "eval_every", "must be >= 0");
    if (o->eval_n < 1 || o->eval_k < 1) return opt_err(s, e, "eval_n", "and %s: must be >= 1", opt_flag("eval_k", f1, sizeof f1));
    return 0;
}

/* The ranks share a step's rollout batches, each of whole prompt groups. */
static int check_shares(const GrpoOptions *o, Err *e) {
    const OptSet *s = &GRPO_OPTIONS;
    char f[64];
    const int K = o->rollout_batches, N = dist_ranks(o->run.dist);
    if (o->prompts_per_step % K != 0)
        return opt_err(s, e, "rollout_batches", "%d does not divide the %d prompts per step", K, o->prompts_per_step);
    if (K % N != 0)
        return opt_err(s, e, "rollout_batches", "%d: the step's rollout batches cannot be shared by %d ranks; give a "
                       "multiple of %d that divides %s %d", K, N, N, opt_flag("prompts_per_step", f, sizeof f),
                       o->prompts_per_step);
    return 0;
}

/* The prompts: the caller's source, or the tasks / file of the options; the held-out prompts
 * likewise (the TEST split of the tasks, or eval_data). */
static int open_prompts(Grpo *g, const GrpoOptions *o, Err *e) {
    g->prompts = o->prompts;
    if (!g->prompts) {
        if (prompt_source_open(&g->own_prompts, o->task, o->data, o->level, o->lang, o->seed, e))
            return -1;
        g->prompts = &g->own_prompts;
    }
    g->eval = o->eval_every > 0 ? o->eval_prompts : NULL;
    if (o->eval_every > 0 && !g->eval && (o->eval_data || o->task)) {
        if (prompt_source_open(&g->own_eval, o->eval_data ? NULL : o->task, o->eval_data, o->level, o->lang, o->seed, e))
            return -1;
        g->own_eval.split = SPLIT_TEST;
        g->eval = &g->own_eval;
    }
    g->o.prompts = (PromptSource *)g->prompts;     /* what the rollouts read */
    g->o.eval_prompts = (PromptSource *)g->eval;
    return 0;
}

/* The reference policy at `step`: the starting model until the first reset, then the policy as it
 * was at the last multiple of ref_sync_steps, kept in out/ref/step-K. */
static void ref_folder(const GrpoOptions *o, int64_t step, char *dir, size_t cap) {
    int64_t k = o->ref_sync_steps > 0 ? step / o->ref_sync_steps * o->ref_sync_steps : 0;
    if (k == 0) snprintf(dir, cap, "%s", o->model_dir);
    else snprintf(dir, cap, "%s/ref/step-%lld", o->run.out_dir, (long long)k);
}

static void write_metrics(const GrpoOptions *o, const GrpoStepStats *st, StrBuf *f) {
    sb_printf(f, ", \"reward\": %.6g, \"reward_std\": %.6g, \"accuracy\": %.6g", st->reward_mean, st->reward_std,
              st->accuracy);
    for (int k = 0; k < o->rewards.n; k++)
        sb_printf(f, ", \"reward_%s\": %.6g, \"reward_%s_std\": %.6g", reward_name(o->rewards.id[k]),
                st->term_mean[k], reward_name(o->rewards.id[k]), st->term_std[k]);
    if (o->extra_reward)
        sb_printf(f, ", \"reward_%s\": %.6g, \"reward_%s_std\": %.6g", o->extra_reward_name ? o->extra_reward_name : "extra",
                st->extra_mean, o->extra_reward_name ? o->extra_reward_name : "extra", st->extra_std);
    sb_printf(f, ", \"frac_zero_std\": %.4g, \"groups\": %d, \"refill_rounds\": %d, \"length\": %.4g, "
               "\"length_max\": %.0f, \"think\": %.4g, \"frac_truncated\": %.4g, \"kl\": %.6g, \"clip_low\": %.4g, "
               "\"clip_high\": %.4g, \"entropy\": %.5g, \"loss\": %.6g, \"grad_norm\": %.5g, \"lr\": %.4g, "
               "\"rollout_tokens_per_s\": %.1f, \"train_tokens_per_s\": %.1f, \"rollout_s\": %.3f, "
               "\"score_s\": %.3f, \"logprob_s\": %.3f, \"update_s\": %.3f",
            st->frac_zero_std, st->groups_used, st->refill_rounds, st->len_mean, st->len_max,
            st->think, st->frac_truncated, st->kl, st->clip_low, st->clip_high, st->entropy, st->loss, st->grad_norm,
            st->lr, st->rollout_tokens_per_s, st->train_tokens_per_s, st->rollout_seconds, st->score_seconds,
            st->logprob_seconds, st->update_seconds);
    if (st->eval_done)   /* the held-out evaluation of the policy this step sampled from */
        sb_printf(f, ", \"eval_accuracy\": %.6g, \"eval_length\": %.4g, \"eval_think\": %.4g, \"eval_s\": %.3f",
                st->eval_accuracy, st->eval_length, st->eval_think, st->eval_seconds);
}

/* ---- the update ---- */

/* The per-completion-token view of a rollout batch: sequence i owns [cs[i], cs[i+1]). */
typedef struct TokenView {
    int n, total;
    int *cs;
    float *logp, *old, *ref, *mask;     /* [total] */
    double *dlogp;                      /* [total] */
    long n_tokens;                      /* tokens that count (mask 1) */
} TokenView;

static void view_init(TokenView *v, const Rollout *r, int with_ref, int mask_truncated) {
    v->n = r->n;
    v->cs = xmalloc(sizeof(int) * (size_t)(r->n + 1));
    v->cs[0] = 0;
    for (int i = 0; i < r->n; i++) v->cs[i + 1] = v->cs[i] + (r->len[i] - r->n_prompt[i]);
    v->total = v->cs[r->n];
    size_t m = (size_t)(v->total ? v->total : 1);
    v->logp = xmalloc(sizeof(float) * m);
    v->old = xmalloc(sizeof(float) * m);
    v->ref = with_ref ? xmalloc(sizeof(float) * m) : NULL;
    v->mask = xmalloc(sizeof(float) * m);
    v->dlogp = xmalloc(sizeof(double) * m);
    v->n_tokens = 0;
    for (int i = 0; i < r->n; i++)
        for (int t = v->cs[i]; t < v->cs[i + 1]; t++) {
            v->mask[t] = mask_truncated && rollout_is_truncated(r->finish[i]) ? 0.0f : 1.0f;
            v->n_tokens += v->mask[t] != 0;
        }
}

static void view_free(TokenView *v) {
    free(v->cs); free(v->logp); free(v->old); free(v->ref); free(v->mask); free(v->dlogp);
}

/* Scratch of one micro-batch of S sequences of up to maxT tokens. */
typedef struct Micro {
    int *tokens, *targets;
    real *lp_full, *row_w;
} Micro;

/* Sums over a pass (the first pass's KL, clipping and entropy are reported). */
typedef struct PassSums {
    double loss, ent_sum, kl_sum, t_lp, t_up;
    long clip_lo, clip_hi, ent_n;
} PassSums;

/* Forward (reference on pass 0, policy), the loss and its backward for sequences b0..b0+S. */
static void micro_batch(Grpo *g, Run *run, const Rollout *r, TokenView *v, const GrpoLossConfig *lc, Micro *mb,
                        int b0, int S, int pass, PassSums *ps, real *grads) {
    const int V = g->m.cfg.vocab_size;
    int T = 0;
    for (int s = 0; s < S; s++) if (r->len[b0 + s] > T) T = r->len[b0 + s];
    for (int s = 0; s < S; s++) {
        const int i = b0 + s, np = r->n_prompt[i];
        for (int t = 0; t < T; t++) {
            mb->tokens[s * T + t] = t < r->len[i] ? r->tokens[i][t] : g->pol.eos;
            mb->targets[s * T + t] = (t >= np - 1 && t < r->len[i] - 1) ? r->tokens[i][t + 1] : -1;
        }
    }
    const int *cs = v->cs;
    double t0 = clock_now();
    if (g->has_ref && pass == 0) {
        model_target_logprobs(&g->ref, &g->acts, mb->tokens, mb->targets, S, T, mb->lp_full);
        for (int s = 0; s < S; s++)
            for (int t = cs[b0 + s]; t < cs[b0 + s + 1]; t++)
                v->ref[t] = (float)mb->lp_full[s * T + r->n_prompt[b0 + s] - 1 + (t - cs[b0 + s])];
    }
    model_target_logprobs(&g->m, &g->acts, mb->tokens, mb->targets, S, T, mb->lp_full);
    run_count_forward(run, &g->acts);
    for (int s = 0; s < S; s++)
        for (int t = cs[b0 + s]; t < cs[b0 + s + 1]; t++) {
            int pos = s * T + r->n_prompt[b0 + s] - 1 + (t - cs[b0 + s]);
            v->logp[t] = (float)mb->lp_full[pos];
            if (pass == 0) {
                v->old[t] = v->logp[t];
                /* entropy of the policy at this position: lse − Σ p·z */
                const real *z = g->acts.logits + (size_t)pos * V;
                double lse = g->acts.lse[pos], ez = 0;
                for (int k = 0; k < V; k++) ez += exp((double)z[k] - lse) * (double)z[k];
                ps->ent_sum += lse - ez;
                ps->ent_n++;
            }
        }
    double t1 = clock_now();
    ps->t_lp += t1 - t0;
    int start[1024 + 1];
    CHECK(S <= 1024);
    for (int s = 0; s <= S; s++) start[s] = cs[b0 + s] - cs[b0];
    GrpoLossStats ls;
    ps->loss += grpo_loss(lc, S, start, v->logp + cs[b0], v->old + cs[b0], v->ref ? v->ref + cs[b0] : NULL,
                          v->mask + cs[b0], r->adv + b0, v->dlogp + cs[b0], &ls);
    if (pass == 0) { ps->kl_sum += ls.kl_sum; ps->clip_lo += ls.clip_low; ps->clip_hi += ls.clip_high; }
    memset(mb->row_w, 0, sizeof(real) * (size_t)S * (size_t)T);
    for (int s = 0; s < S; s++)
        for (int t = cs[b0 + s]; t < cs[b0 + s + 1]; t++)
            mb->row_w[s * T + r->n_prompt[b0 + s] - 1 + (t - cs[b0 + s])] = (real)(-v->dlogp[t]);
    model_backward(&g->m, &g->acts, grads, mb->row_w);
    ps->t_up += clock_now() - t1;
}

/* One pass's micro-batches are the leaves of its gradient (train/run.h). */
typedef struct Pass {
    Grpo *g;
    const Rollout *r;
    TokenView *v;
    const GrpoLossConfig *lc;
    Micro *mb;
    int pass;
    double t_lp, t_up;
} Pass;

enum { LEAF_STATS = 6 };   /* loss, entropy sum and count, KL sum, clipped low and high */

static int pass_leaf(void *ctx, Run *run, int64_t leaf, real *grads, double *stats, Err *e) {
    (void)e;
    Pass *p = ctx;
    const int mbs = p->g->o.micro_batch, b0 = (int)leaf * mbs;
    PassSums ps = {0};
    micro_batch(p->g, run, p->r, p->v, p->lc, p->mb, b0, p->r->n - b0 < mbs ? p->r->n - b0 : mbs, p->pass, &ps,
                grads);
    double st[LEAF_STATS] = {ps.loss, ps.ent_sum, (double)ps.ent_n, ps.kl_sum, (double)ps.clip_lo, (double)ps.clip_hi};
    memcpy(stats, st, sizeof st);
    p->t_lp += ps.t_lp;
    p->t_up += ps.t_up;
    return 0;
}

/* μ passes over the rollout batch, one optimizer update each. */
static int update(Grpo *g, Run *run, GrpoStepStats *st, Err *e) {
    const GrpoOptions *o = &g->o;
    const Rollout *r = &g->r;
    TokenView v;
    view_init(&v, r, g->has_ref, o->mask_truncated_completions);
    GrpoLossConfig lc = o->loss;
    lc.n_seq_total = r->n;
    lc.n_tokens_total = v.n_tokens;
    lc.max_completion_len = o->max_completion_length;
    const int mbs = o->micro_batch;
    int maxT = 0;
    for (int i = 0; i < r->n; i++) if (r->len[i] > maxT) maxT = r->len[i];
    size_t cells = (size_t)mbs * (size_t)maxT;
    Micro mb = {xmalloc(sizeof(int) * cells), xmalloc(sizeof(int) * cells), xmalloc(sizeof(real) * cells),
                xmalloc(sizeof(real) * cells)};
    PassSums first = {0};
    double t_lp = 0, t_up = 0;
    int rc = 0;
    const int n_leaves = (r->n + mbs - 1) / mbs;
    double *stats = xmalloc(sizeof(double) * LEAF_STATS * (size_t)n_leaves);
    for (int pass = 0; pass < o->num_iterations && rc == 0; pass++) {
        PassSums ps = {0};
        Pass p = {g, r, &v, &lc, &mb, pass, 0, 0};
        rc = run_leaves(run, n_leaves, pass_leaf, &p, stats, LEAF_STATS, e);
        for (int k = 0; k < n_leaves && rc == 0; k++) {   /* in leaf order, as one process adds them */
            const double *x = stats + (size_t)k * LEAF_STATS;
            ps.loss += x[0];
            ps.ent_sum += x[1];
            ps.ent_n += (long)x[2];
            ps.kl_sum += x[3];
            ps.clip_lo += (long)x[4];
            ps.clip_hi += (long)x[5];
        }
        ps.t_lp = p.t_lp;
        ps.t_up = p.t_up;
        double t2 = clock_now();
        RunUpdate u = {.grad_scale = 1.0, .loss = ps.loss};
        if (rc == 0 && run_update(run, &u, NULL, e) < 0) rc = -1;
        ps.t_up += clock_now() - t2;
        t_lp += ps.t_lp;
        t_up += ps.t_up;
        if (pass == 0) first = ps;
        st->grad_norm = run->grad_norm;
        st->loss = ps.loss;
    }
    st->lr = run->lr;
    st->entropy = first.ent_n ? first.ent_sum / (double)first.ent_n : 0;
    st->kl = v.n_tokens ? first.kl_sum / (double)v.n_tokens : 0;
    st->clip_low = v.n_tokens ? (double)first.clip_lo / (double)v.n_tokens : 0;
    st->clip_high = v.n_tokens ? (double)first.clip_hi / (double)v.n_tokens : 0;
    st->logprob_seconds = t_lp;
    st->update_seconds = t_up;
    st->train_tokens_per_s = (t_lp + t_up) > 0 ? (double)o->num_iterations * v.total / (t_lp + t_up) : 0;
    view_free(&v);
    free(stats);
    free(mb.tokens); free(mb.targets); free(mb.lp_full); free(mb.row_w);
    return rc;
}

/* ---- the step ---- */

static RolloutSpec training_spec(const Grpo *g) {
    const GrpoOptions *o = &g->o;
    return (RolloutSpec){g->prompts, o->num_generations, o->temperature, o->top_p, o->top_k, o->seed, 0};
}

/* G completions for B prompts, and with dynamic sampling more rounds until B informative groups
 * are in hand; the statistics are those of the first round, as sampled. */
static int rollouts(Grpo *g, Run *run, int64_t step, GrpoStepStats *st, Err *e) {
    const GrpoOptions *o = &g->o;
    const int B = o->prompts_per_step, G = o->num_generations;
    const RolloutSpec train = training_spec(g);
    /* prompts of (step, round) are indexed so that they depend on nothing but the step */
    uint64_t base = (uint64_t)step * (uint64_t)(o->max_refill + 1) * (uint64_t)B;
    rollout_clear(&g->r);
    const int K = o->rollout_batches;
    if (rollout_batches(&g->pol, &train, run, K, step, base, B, &g->r, st, e) != 0) return -1;
    rollout_stats(o, &g->r, st);
    st->frac_zero_std = (double)rollout_zero_std_groups(&g->r, G) / B;
    if (o->dynamic_sampling) {
        int kept = rollout_keep_informative(&g->r, G, B);
        for (int round = 1; round <= o->max_refill && kept < B; round++) {
            Rollout more = {0};
            int rc = rollout_batches(&g->pol, &train, run, K, step, base + (uint64_t)round * (uint64_t)B, B, &more,
                                     st, e);
            if (rc == 0) {
                int k2 = rollout_keep_informative(&more, G, B - kept);
                rollout_take(&g->r, &more, k2 * G);
                kept += k2;
            }
            rollout_free(&more);
            st->refill_rounds = round;
            if (rc) return -1;
        }
    }
    st->groups_used = g->r.n / G;
    st->rollout_tokens_per_s = st->rollout_seconds > 0 ? st->rollout_tokens_per_s / st->rollout_seconds : 0;
    return 0;
}

static int grpo_step(void *ctx, Run *run, Err *e) {
    Grpo *g = ctx;
    const GrpoOptions *o = &g->o;
    const int64_t step = run->step;
    GrpoStepStats st;
    memset(&st, 0, sizeof st);
    sb_clear(&g->heldout_problems);
    if (g->eval && step % o->eval_every == 0) {
        if (grpo_heldout_eval(&g->pol, run, o->rollout_batches, &st, &g->heldout_problems, e) != 0) return -1;
        run_note(run, "grpo: before step %lld: held-out pass@1 %.3f, think %.2f, length %.1f (%d x %d, %.1f s)",
                 (long long)step, st.eval_accuracy, st.eval_think, st.eval_length, o->eval_n, o->eval_k, st.eval_seconds);
    }
    if (rollouts(g, run, step, &st, e) != 0) return -1;
    if (g->r.n > 0) {
        grpo_advantages(g->r.adv, g->r.reward, g->r.n / o->num_generations, o->num_generations, o->scale_rewards, 1e-4);
        if (update(g, run, &st, e) != 0) return -1;
    }
    if (g->has_ref && o->ref_sync_steps > 0 && (step + 1) % o->ref_sync_steps == 0) {
        /* reset the reference to the policy, and keep it for a resume */
        char dir[4096];
        ref_folder(o, step + 1, dir, sizeof dir);
        memcpy(g->ref.params, g->m.params, sizeof(real) * g->m.table.total);
        CkptModel cm = {&g->ref, NULL, NULL, NULL, 0};
        int rc = run_is_root(run) && (file_mkdirs(dir, e) != 0 || checkpoint_write_model_folder(dir, &cm, e) != 0);
        if (dist_agree(run->dist, rc, e) != 0) return -1;
    }
    write_metrics(o, &st, &run->line);
    if (g->heldout_problems.len) sb_append(&run->line, g->heldout_problems.s);
    sb_printf(&run->summary, "reward %.3f±%.3f acc %.3f | len %.1f think %.2f trunc %.2f | zero-std %.2f | "
                             "kl %.4f ent %.3f | %.0f tok/s rollout", st.reward_mean, st.reward_std, st.accuracy,
              st.len_mean, st.think, st.frac_truncated, st.frac_zero_std, st.kl, st.entropy, st.rollout_tokens_per_s);
    g->last = st;
    return 0;
}

/* The trained policy's point of the held-out curve, on a line of its own. */
static int grpo_finish(void *ctx, Run *run, Err *e) {
    Grpo *g = ctx;
    if (!g->eval) return 0;
    GrpoStepStats st;
    memset(&st, 0, sizeof st);
    sb_clear(&g->heldout_problems);
    if (grpo_heldout_eval(&g->pol, run, g->o.rollout_batches, &st, &g->heldout_problems, e) != 0) return -1;
    StrBuf line = {0};
    sb_printf(&line, ", \"final\": true, \"eval_accuracy\": %.6g, \"eval_length\": %.4g, \"eval_think\": %.4g%s",
              st.eval_accuracy, st.eval_length, st.eval_think, g->heldout_problems.s);
    run_metrics_write(run, line.s);
    sb_free(&line);
    g->last.eval_accuracy = st.eval_accuracy;
    g->last.eval_done = 1;
    return 0;
}

/* ---- the run ---- */

/* Tokenizer, policy, limits and buffers: everything before the first step. */
static int setup(Grpo *g, Err *e) {
    const GrpoOptions *o = &g->o;
    char f[64];
    snprintf(g->tok_json, sizeof g->tok_json, "%s/tokenizer.json", o->model_dir);
    snprintf(g->tok_cfg, sizeof g->tok_cfg, "%s/tokenizer_config.json", o->model_dir);
    g->pol.o = o;
    g->pol.tok = tokenizer_load(g->tok_json, e);
    if (!g->pol.tok) return -1;
    g->files[g->n_files++] = (ModelFile){g->tok_json, "tokenizer.json"};
    if (file_exists(g->tok_cfg)) g->files[g->n_files++] = (ModelFile){g->tok_cfg, "tokenizer_config.json"};
    Tokenizer *tok = g->pol.tok;
    int64_t eos = tokenizer_eos_id(tok);
    if (eos < 0 || tokenizer_bos_id(tok) < 0) return err_set(e, "%s: the tokenizer has no BOS/EOS token", g->tok_json);
    g->pol.eos = (int)eos;
    if (model_load_dir(&g->m, o->model_dir, e) != 0) return -1;
    g->have_model = 1;
    g->pol.m = &g->m;
    const ModelConfig *c = &g->m.cfg;
    if (tokenizer_vocab_size(tok) > (uint32_t)c->vocab_size)
        return err_set(e, "%s: the tokenizer's %u ids do not fit the model's vocab_size %d", g->tok_json,
                       tokenizer_vocab_size(tok), c->vocab_size);
    if (o->prompt_format == PROMPT_CHAT &&
        (tokenizer_token_id(tok, CHAT_USER) < 0 || tokenizer_token_id(tok, CHAT_ASSISTANT) < 0))
        return err_set(e, "%s: the chat template's role tokens are not in the tokenizer (use %s r1zero)", g->tok_json,
                       opt_flag("prompt_format", f, sizeof f));
    int max_ctx = c->max_position_embeddings;
    g->pol.max_prompt = max_ctx - o->max_completion_length;
    if (o->max_prompt_length > 0 && o->max_prompt_length < g->pol.max_prompt) g->pol.max_prompt = o->max_prompt_length;
    if (g->pol.max_prompt < 8)
        return opt_err(&GRPO_OPTIONS, e, "max_completion_length", "%d leaves no room for a prompt in the context of %d",
                       o->max_completion_length, max_ctx);
    model_acts_init(&g->acts, &g->m, o->micro_batch, g->pol.max_prompt + o->max_completion_length);
    return 0;
}

/* The reference policy of the step the run starts at (when β > 0): the starting model (every rank
 * reads it), or a reset kept in the run folder (rank 0 reads it for every rank). */
static int load_ref(Grpo *g, Run *run, int64_t step, Err *e) {
    if (!(g->o.loss.beta > 0)) return 0;
    char dir[4096];
    ref_folder(&g->o, step, dir, sizeof dir);
    const int in_run = strcmp(dir, g->o.model_dir) != 0;
    int rc = 0;
    if (!in_run || run_is_root(run)) rc = model_load_dir(&g->ref, dir, e);
    else model_init(&g->ref, &g->m.cfg);
    if (in_run) {
        if (dist_bcast_status(run->dist, rc, e) != 0) return -1;
        dist_bcast(run->dist, g->ref.params, sizeof(real) * g->ref.table.total, 0);
    }
    if (rc != 0) return -1;
    g->has_ref = 1;
    return 0;
}

static void grpo_free(Grpo *g) {
    rollout_free(&g->r);
    sb_free(&g->heldout_problems);
    if (g->acts.mem) model_acts_free(&g->acts);
    if (g->has_ref) model_free(&g->ref);
    if (g->have_model) model_free(&g->m);
    tokenizer_free(g->pol.tok);
    prompt_source_free(&g->own_prompts);
    prompt_source_free(&g->own_eval);
}

int grpo_run(const GrpoOptions *o, GrpoResult *res, Err *e) {
    memset(res, 0, sizeof *res);
    Grpo *g = xcalloc(1, sizeof *g);
    g->o = *o;
    if (g->o.generation_batch_size > 0) g->o.prompts_per_step = g->o.generation_batch_size / g->o.num_generations;
    if (g->o.loss.epsilon_high < 0) g->o.loss.epsilon_high = g->o.loss.epsilon_low;
    Trainer t = {.name = o->command ? o->command : "grpo",
                 .options = o->command_options ? o->command_options : &GRPO_OPTIONS,
                 .opts = o->command_options ? o->command_opts : o, .ctx = g, .step = grpo_step, .finish = grpo_finish};
    Run r;
    memset(&r, 0, sizeof r);
    Dist *d = o->run.dist;
    int rc = validate(o, e);
    if (rc == 0) rc = check_shares(&g->o, e);
    if (rc == 0) rc = open_prompts(g, o, e);
    rc = dist_agree(d, rc, e);
    if (rc == 0) rc = run_begin(&r, &o->run, &o->optim, &t, e);
    if (rc == 0) rc = dist_agree(d, setup(g, e), e);
    if (rc == 0) rc = run_attach(&r, &g->m, o->steps, g->files, g->n_files, e);
    if (rc == 0) rc = dist_agree(d, load_ref(g, &r, r.step, e), e);
    if (rc == 0) {
        rc = run_loop(&r, e);
        res->seconds = run_elapsed(&r);
    }
    res->steps_done = r.step;
    res->interrupted = r.interrupted;
    res->last = g->last;
    run_free(&r);
    grpo_free(g);
    free(g);
    return rc;
}
