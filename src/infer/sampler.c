/* Token sampling (see sampler.h for the rules and the log-probability definition).
 *
 * Truncation without sorting the whole vocabulary: the survivors of min-p are a threshold set;
 * top-k and top-p each keep a prefix of the survivors sorted by probability. The candidate set
 * C(t) = {p >= t} is such a prefix for every t, so t starts at max p and is lowered (÷16) until
 * C(t) holds at least k tokens (top-k) or at least top_p of the survivors' mass (top-p only);
 * only C(t) is sorted. Exact, and usually a few dozen ids are sorted instead of V.
 */
#include "infer/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

SamplerParams sampler_defaults(void) {
    SamplerParams p = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .min_p = 0.0,
                       .repetition_penalty = 1.0, .presence_penalty = 0.0};
    return p;
}

static const OptSpec SAMPLER_SPECS[] = {
    OPT("temperature", OPT_DOUBLE, offsetof(SamplerParams, temperature), OPT_MATH, "sampling temperature; 0 = greedy"),
    OPT("top_k", OPT_INT, offsetof(SamplerParams, top_k), OPT_MATH, "keep the k most probable tokens; 0 = off"),
    OPT("top_p", OPT_DOUBLE, offsetof(SamplerParams, top_p), OPT_MATH, "nucleus mass in (0, 1]; 1 = off"),
    OPT("min_p", OPT_DOUBLE, offsetof(SamplerParams, min_p), OPT_MATH, "keep tokens with p >= min-p * max p; 0 = off"),
    OPT("repetition_penalty", OPT_DOUBLE, offsetof(SamplerParams, repetition_penalty), OPT_MATH,
        "divide positive (multiply negative) logits of tokens seen; 1 = off"),
    OPT("presence_penalty", OPT_DOUBLE, offsetof(SamplerParams, presence_penalty), OPT_MATH,
        "subtract from logits of tokens already generated; 0 = off"),
};
static const OptTable SAMPLER_TABLE = OPT_TABLE(SAMPLER_SPECS);
const OptSet SAMPLER_OPTIONS = {"sampler", {{&SAMPLER_TABLE, 0}}, 1};

int sampler_validate(const SamplerParams *p, Err *e) {
    const OptSet *s = &SAMPLER_OPTIONS;
    if (!(p->temperature >= 0) || !isfinite(p->temperature))
        return opt_err(s, e, "temperature", "must be a finite number >= 0, got %g", p->temperature);
    if (p->top_k < 0) return opt_err(s, e, "top_k", "must be >= 0 (0 = off), got %d", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1)) return opt_err(s, e, "top_p", "must be in (0, 1], got %g", p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1)) return opt_err(s, e, "min_p", "must be in [0, 1], got %g", p->min_p);
    if (!(p->repetition_penalty > 0) || !isfinite(p->repetition_penalty))
        return opt_err(s, e, "repetition_penalty", "must be a finite number > 0, got %g", p->repetition_penalty);
    if (!isfinite(p->presence_penalty))
        return opt_err(s, e, "presence_penalty", "must be finite, got %g", p->presence_penalty);
    return 0;
}

void sampler_scratch_init(SamplerScratch *s, int V) {
    s->V = V;
    s->z = xmalloc((size_t)V * sizeof *s->z);
    s->p = xmalloc((size_t)V * sizeof *s->p);
    s->idx = xmalloc((size_t)V * sizeof *s->idx);
    s->seen = xcalloc((size_t)V, 1);
}

void sampler_scratch_free(SamplerScratch *s) {
    free(s->z);
    free(s->p);
    free(s->idx);
    free(s->seen);
    memset(s, 0, sizeof *s);
}

double sampler_logprob(const float *logits, int V, int token, double temperature) {
    double inv_t = temperature > 0 ? 1.0 / temperature : 1.0;
    double mx = -INFINITY;
    for (int i = 0; i < V; i++) if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp(((double)logits[i] - mx) * inv_t);
    return ((double)logits[token] - mx) * inv_t - log(sum);
}

/* Order: probability descending, then id ascending (a total order: deterministic). */
static inline int cand_before(int i, int j, const double *p) {
    return p[i] > p[j] || (p[i] == p[j] && i < j);
}

static void sift_down(int *idx, int root, int n, const double *p) {
    for (;;) {
        int c = 2 * root + 1;
        if (c >= n) return;
        /* max-heap of the "latest" element: the one that sorts last goes to the end */
        if (c + 1 < n && cand_before(idx[c], idx[c + 1], p)) c++;
        if (!cand_before(idx[root], idx[c], p)) return;
        int t = idx[root]; idx[root] = idx[c]; idx[c] = t;
        root = c;
    }
}

/* Sorts candidate ids by the order above: insertion sort for small sets, heapsort beyond. */
static void sort_cands(int *idx, int n, const double *p) {
    if (n <= 32) {
        for (int a = 1; a < n; a++) {
            int x = idx[a], b = a - 1;
            while (b >= 0 && cand_before(x, idx[b], p)) { idx[b + 1] = idx[b]; b--; }
            idx[b + 1] = x;
        }
        return;
    }
    for (int r = n / 2 - 1; r >= 0; r--) sift_down(idx, r, n, p);
    for (int end = n - 1; end > 0; end--) {
        int t = idx[0]; idx[0] = idx[end]; idx[end] = t;
        sift_down(idx, 0, end, p);
    }
}

int sampler_sample(const SamplerParams *sp, const float *logits, int V, const int *ctx, int n_ctx,
                   int n_prompt, Rng *rng, SamplerScratch *s, double *logprob) {
    CHECK(s->V >= V && V > 0);
    const int penalise = sp->repetition_penalty != 1.0 || sp->presence_penalty != 0.0;
    const float *z = logits;
    if (penalise && n_ctx > 0) {
        memcpy(s->z, logits, (size_t)V * sizeof *s->z);
        for (int i = 0; i < n_ctx; i++) {
            int t = ctx[i];
            if (t < 0 || t >= V) continue;
            unsigned char mark = i < n_prompt ? 1 : 2;
            if (s->seen[t] < mark) s->seen[t] = mark;
        }
        const float r = (float)sp->repetition_penalty, a = (float)sp->presence_penalty;
        for (int i = 0; i < n_ctx; i++) {
            int t = ctx[i];
            if (t < 0 || t >= V || !s->seen[t]) continue;
            if (r != 1.0f) s->z[t] = s->z[t] > 0 ? s->z[t] / r : s->z[t] * r;
            if (s->seen[t] == 2) s->z[t] -= a;
            s->seen[t] = 0;     /* once per distinct token; also clears the marks */
        }
        z = s->z;
    }
    int tok;
    if (sp->temperature == 0) {
        tok = 0;
        for (int i = 1; i < V; i++) if (z[i] > z[tok]) tok = i;
    } else {
        const double inv_t = 1.0 / sp->temperature;
        double mx = -INFINITY;
        for (int i = 0; i < V; i++) if (z[i] > mx) mx = z[i];
        double sum = 0;
        for (int i = 0; i < V; i++) sum += (s->p[i] = exp(((double)z[i] - mx) * inv_t));
        /* s->p are unnormalised (max = 1); thresholds below are relative to the max */
        const double floor_p = sp->min_p > 0 ? sp->min_p : 0;
        double mass_s1 = sum;
        if (floor_p > 0) {
            mass_s1 = 0;
            for (int i = 0; i < V; i++) if (s->p[i] >= floor_p) mass_s1 += s->p[i];
        }
        int n = 0;
        const int need_sort = sp->top_k > 0 || sp->top_p < 1.0;
        if (!need_sort) {
            for (int i = 0; i < V; i++) if (s->p[i] >= floor_p && s->p[i] > 0) s->idx[n++] = i;
        } else {
            double t = 1.0;
            for (;;) {
                double th = t > floor_p ? t : floor_p, mass = 0;
                n = 0;
                for (int i = 0; i < V; i++)
                    if (s->p[i] >= th && s->p[i] > 0) { s->idx[n++] = i; mass += s->p[i]; }
                int enough = sp->top_k > 0 ? n >= sp->top_k
                                           : mass >= sp->top_p * mass_s1 * (1 - 1e-12);
                if (enough || th <= floor_p || t < 1e-300) break;
                t /= 16;
            }
            sort_cands(s->idx, n, s->p);
            if (sp->top_k > 0 && n > sp->top_k) n = sp->top_k;
            if (sp->top_p < 1.0) {
                double m2 = 0, acc = 0;
                for (int j = 0; j < n; j++) m2 += s->p[s->idx[j]];
                int keep = n;
                for (int j = 0; j < n; j++) {
                    acc += s->p[s->idx[j]];
                    if (acc >= sp->top_p * m2) { keep = j + 1; break; }
                }
                n = keep;
            }
        }
        CHECK(n > 0);
        double total = 0;
        for (int j = 0; j < n; j++) total += s->p[s->idx[j]];
        double u = rng_uniform(rng) * total, acc = 0;
        tok = s->idx[n - 1];
        for (int j = 0; j < n; j++) {
            acc += s->p[s->idx[j]];
            if (u < acc) { tok = s->idx[j]; break; }
        }
    }
    if (logprob) *logprob = sampler_logprob(logits, V, tok, sp->temperature);
    return tok;
}
