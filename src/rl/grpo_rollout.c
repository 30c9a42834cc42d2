/* GRPO's rollout batch (grpo_rollout.h). */
#include "rl/grpo_rollout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/strbuf.h"
#include "infer/generate.h"
#include "rl/eval_metrics.h"
#include "tokenizer/chat.h"

void rollout_reserve(Rollout *r, int n) {
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

void rollout_clear(Rollout *r) {
    for (int i = 0; i < r->n; i++) free(r->tokens[i]);
    r->n = 0;
}

void rollout_free(Rollout *r) {
    rollout_clear(r);
    free(r->tokens); free(r->n_prompt); free(r->len); free(r->finish);
    free(r->reward); free(r->terms); free(r->accuracy); free(r->extra); free(r->think); free(r->adv);
    memset(r, 0, sizeof *r);
}

int rollout_groups(const GrpoPolicy *run, const RolloutSpec *sp, int64_t step, uint64_t first_index, int n_groups,
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
    double t0 = clock_now();
    GenStats gs = {0};
    if (rc == 0) {
        SamplerParams smp = sampler_defaults();
        smp.temperature = sp->temperature;
        smp.top_p = sp->top_p;
        smp.top_k = sp->top_k;
        GenOptions go = gen_options(smp, sp->seed, o->max_completion_length, run->tok);
        go.n_slots = n < 128 ? n : 128;
        if (!sp->eval && o->rollout_precision == MAT_BF16) go.weight_format = KN_BF16_DOT;
        rc = generate(run->m, req, n, &go, out, &gs, e);
    }
    double t1 = clock_now();
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
    st->score_seconds += clock_now() - t1;
    gen_outputs_free(out, rc == 0 || out[0].tokens ? n : 0);
    for (int g = 0; g < n_groups; g++) { free(prompt_ids[g]); free(refs[g]); free(questions[g]); }
    free(prompt_ids); free(prompt_len); free(refs); free(questions); free(req); free(out);
    return rc;
}

/* ---- the rollouts of several ranks ---- */

enum { SEQ_INTS = 3, SEQ_DOUBLES = 4 + REWARD_MAX_TERMS };

/* Sequences [from, r->n) as bytes: per sequence n_prompt, len, finish, reward, accuracy, extra,
 * think, terms, then the tokens. */
static void pack(const Rollout *r, int from, StrBuf *out) {
    for (int i = from; i < r->n; i++) {
        int h[SEQ_INTS] = {r->n_prompt[i], r->len[i], r->finish[i]};
        double d[SEQ_DOUBLES] = {r->reward[i], r->accuracy[i], r->extra[i], r->think[i]};
        memcpy(d + 4, r->terms + (size_t)i * REWARD_MAX_TERMS, sizeof(double) * REWARD_MAX_TERMS);
        sb_append_n(out, (const char *)h, sizeof h);
        sb_append_n(out, (const char *)d, sizeof d);
        sb_append_n(out, (const char *)r->tokens[i], sizeof(int) * (size_t)r->len[i]);
    }
}

static void unpack(Rollout *r, const char *p, size_t n) {
    const char *end = p + n;
    while (p < end) {
        int h[SEQ_INTS];
        double d[SEQ_DOUBLES];
        memcpy(h, p, sizeof h);
        memcpy(d, p + sizeof h, sizeof d);
        p += sizeof h + sizeof d;
        rollout_reserve(r, r->n + 1);
        const int k = r->n++;
        r->n_prompt[k] = h[0];
        r->len[k] = h[1];
        r->finish[k] = h[2];
        r->reward[k] = d[0];
        r->accuracy[k] = d[1];
        r->extra[k] = d[2];
        r->think[k] = d[3];
        memcpy(r->terms + (size_t)k * REWARD_MAX_TERMS, d + 4, sizeof(double) * REWARD_MAX_TERMS);
        r->tokens[k] = xmalloc(sizeof(int) * (size_t)(h[1] > 0 ? h[1] : 1));
        memcpy(r->tokens[k], p, sizeof(int) * (size_t)h[1]);
        p += sizeof(int) * (size_t)h[1];
    }
}

int rollout_batches(const GrpoPolicy *p, const RolloutSpec *sp, Run *run, int batches, int64_t step,
                    uint64_t first_index, int n_groups, Rollout *r, GrpoStepStats *st, Err *e) {
    if (dist_ranks(run->dist) == 1 && batches == 1)
        return rollout_groups(p, sp, step, first_index, n_groups, r, st, e);
    int64_t lo, hi;
    run_share(run, batches, &lo, &hi);
    const int from = r->n;
    const double tokens0 = st->rollout_tokens_per_s;
    int rc = 0;
    for (int64_t c = lo; c < hi && rc == 0; c++) {
        const int g0 = (int)(c * n_groups / batches), g1 = (int)((c + 1) * n_groups / batches);
        if (g1 > g0) rc = rollout_groups(p, sp, step, first_index + (uint64_t)g0, g1 - g0, r, st, e);
    }
    if (dist_agree(run->dist, rc, e) != 0 || dist_ranks(run->dist) == 1) return rc ? -1 : 0;
    /* every rank's batches, in rank order: the batches in order */
    StrBuf mine = {0};
    pack(r, from, &mine);
    size_t total;
    char *all = dist_allgather(run->dist, mine.s ? mine.s : "", mine.len, &total, NULL);
    sb_free(&mine);
    for (int i = from; i < r->n; i++) free(r->tokens[i]);
    r->n = from;
    unpack(r, all, total);
    free(all);
    int64_t decoded = (int64_t)(st->rollout_tokens_per_s - tokens0);   /* summed; made a rate later */
    dist_sum_i64(run->dist, &decoded, 1);
    st->rollout_tokens_per_s = tokens0 + (double)decoded;
    return 0;
}

int rollout_keep_informative(Rollout *r, int G, int max_groups) {
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

int rollout_zero_std_groups(const Rollout *r, int G) {
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
int grpo_heldout_eval(const GrpoPolicy *pol, Run *run, int batches, GrpoStepStats *st, StrBuf *per_problem, Err *e) {
    const GrpoOptions *o = pol->o;
    RolloutSpec sp = {o->eval_prompts, o->eval_k, 0.6, 0.95, 0, o->seed + 1000, 1};
    Rollout r = {0};
    GrpoStepStats scratch;
    memset(&scratch, 0, sizeof scratch);
    int rc = rollout_batches(pol, &sp, run, batches, -1, 0, o->eval_n, &r, &scratch, e);
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
        /* the groups are the problems, in order, k samples each */
        sb_printf(per_problem, ", \"eval_k\": %d, \"eval_correct\": [", o->eval_k);
        for (int g = 0; g < r.n / o->eval_k; g++) {
            double c = 0;
            for (int j = 0; j < o->eval_k; j++) c += r.accuracy[g * o->eval_k + j];
            sb_printf(per_problem, "%s%.6g", g ? ", " : "", c);
        }
        sb_append(per_problem, "]");
    }
    rollout_free(&r);
    return rc;
}

void rollout_stats(const GrpoOptions *o, const Rollout *r, GrpoStepStats *st) {
    double s = 0, s2 = 0, acc = 0, len = 0, lmax = 0, trunc = 0, x = 0, x2 = 0, think = 0;
    for (int i = 0; i < r->n; i++) {
        s += r->reward[i]; s2 += r->reward[i] * r->reward[i]; acc += r->accuracy[i]; think += r->think[i];
        x += r->extra[i]; x2 += r->extra[i] * r->extra[i];
        double l = r->len[i] - r->n_prompt[i];
        len += l; if (l > lmax) lmax = l;
        trunc += rollout_is_truncated(r->finish[i]);
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

void rollout_take(Rollout *r, Rollout *from, int n_seq) {
    rollout_reserve(r, r->n + n_seq);
    for (int i = 0; i < n_seq; i++) {
        int a = r->n + i;
        r->tokens[a] = from->tokens[i]; r->n_prompt[a] = from->n_prompt[i]; r->len[a] = from->len[i];
        r->finish[a] = from->finish[i]; r->reward[a] = from->reward[i]; r->accuracy[a] = from->accuracy[i];
        r->extra[a] = from->extra[i]; r->think[a] = from->think[i];
        memcpy(r->terms + (size_t)a * REWARD_MAX_TERMS, from->terms + (size_t)i * REWARD_MAX_TERMS,
               sizeof(double) * REWARD_MAX_TERMS);
    }
    r->n += n_seq;
    for (int i = n_seq; i < from->n; i++) free(from->tokens[i]);
    from->n = 0;   /* the tokens moved to r */
}

int rollout_is_truncated(int finish) { return finish == GEN_MAX_TOKENS || finish == GEN_LENGTH; }

