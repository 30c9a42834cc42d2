/* Paired bootstrap intervals of the verdicts' comparisons (intervals.h). */
#include "pipeline/intervals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "pipeline/bootstrap.h"

typedef struct Comparison {
    const char *name;
    const char *a, *b;     /* evaluations (evals/NAME.json); for the rise, a = b = the GRPO stage */
    const char *metric;
    int curve;             /* 1: the rise of a's held-out curve during its run */
} Comparison;

static const Comparison COMPARISONS[] = {
    {"r1_zero_rise", "r1_zero", "r1_zero", "pass@1", 1},
    {"r1_zero_vs_base", "r1_zero", "base", "pass@1", 0},
    {"r1_vs_r1_zero", "r1", "r1_zero", "pass@1", 0},
    {"distilled_vs_rl", "student_distilled", "student_rl", "pass@1", 0},
    {"language_reward", "rl", "rl_nolang", "language", 0},
};
enum { N_COMPARISONS = sizeof COMPARISONS / sizeof COMPARISONS[0] };

static const cJSON *get(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

/* n numbers of a JSON array into a malloc'd array; -1 unless every item is a number. */
static int numbers(const cJSON *arr, double **out) {
    int n = cJSON_GetArraySize(arr), i = 0;
    if (!cJSON_IsArray(arr)) return -1;
    *out = xmalloc(sizeof(double) * (size_t)(n ? n : 1));
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (!cJSON_IsNumber(v)) { free(*out); *out = NULL; return -1; }
        (*out)[i++] = v->valuedouble;
    }
    return n;
}

int intervals_paired(const cJSON *eval_a, const cJSON *eval_b, const char *metric, double **d, char *why,
                     size_t why_n) {
    const cJSON *pa = get(eval_a, "problems"), *pb = get(eval_b, "problems");
    if (!pa || !pb) { snprintf(why, why_n, "no per-problem results"); return -1; }
    const cJSON *ia = get(pa, "id"), *ib = get(pb, "id");
    int n = cJSON_GetArraySize(ia);
    if (n < 1 || n != cJSON_GetArraySize(ib)) {
        snprintf(why, why_n, "evaluated on %d and %d problems", n, cJSON_GetArraySize(ib));
        return -1;
    }
    for (const cJSON *x = ia->child, *y = ib->child; x && y; x = x->next, y = y->next)
        if (!cJSON_IsString(x) || !cJSON_IsString(y) || strcmp(x->valuestring, y->valuestring)) {
            snprintf(why, why_n, "evaluated on different problems");
            return -1;
        }
    double *a = NULL, *b = NULL;
    int na = numbers(get(pa, metric), &a), nb = numbers(get(pb, metric), &b);
    if (na != n || nb != n) {
        free(a);
        free(b);
        snprintf(why, why_n, "no per-problem %s", metric);
        return -1;
    }
    for (int i = 0; i < n; i++) a[i] -= b[i];
    free(b);
    *d = a;
    return n;
}

int intervals_curve_rise(const cJSON *lines, double **d, int *points, char *why, size_t why_n) {
    int n_pts = 0, n = -1;
    const cJSON *line;
    cJSON_ArrayForEach(line, lines) {
        const cJSON *c = get(line, "eval_correct");
        if (!c) continue;
        if (n >= 0 && cJSON_GetArraySize(c) != n) {
            snprintf(why, why_n, "held-out evaluations of %d and %d problems", n, cJSON_GetArraySize(c));
            return -1;
        }
        n = cJSON_GetArraySize(c);
        n_pts++;
    }
    *points = n_pts;
    if (n_pts < 2 || n < 1) {
        snprintf(why, why_n, "%d held-out evaluations with per-problem results during the run (2 needed)", n_pts);
        return -1;
    }
    const int k = n_pts >= 5 ? n_pts / 5 : 1;   /* the report's fifths of the curve */
    double *first = xcalloc((size_t)n, sizeof(double)), *last = xcalloc((size_t)n, sizeof(double));
    int i = 0, rc = n;
    cJSON_ArrayForEach(line, lines) {
        const cJSON *c = get(line, "eval_correct"), *kk = get(line, "eval_k");
        if (!c) continue;
        double *v = NULL;
        if (!cJSON_IsNumber(kk) || kk->valuedouble < 1 || numbers(c, &v) != n) {
            snprintf(why, why_n, "a held-out evaluation without eval_k or numbers");
            rc = -1;
            free(v);
            break;
        }
        for (int p = 0; p < n; p++) {
            if (i < k) first[p] += v[p] / kk->valuedouble;
            if (i >= n_pts - k) last[p] += v[p] / kk->valuedouble;
        }
        free(v);
        i++;
    }
    for (int p = 0; p < n; p++) last[p] = last[p] / k - first[p] / k;
    free(first);
    if (rc < 0) { free(last); return -1; }
    *d = last;
    return n;
}

/* The parsed lines of a metrics.jsonl (those that parse); an empty array without the file. */
static cJSON *metrics_lines(const char *path) {
    cJSON *arr = cJSON_CreateArray();
    Err e;
    size_t n = 0;
    char *buf = file_exists(path) ? file_read_all(path, &n, &e) : NULL;
    JsonlIter it = jsonl_iter(buf ? buf : "", buf ? n : 0);
    const char *s;
    size_t len;
    while (jsonl_next(&it, &s, &len)) {
        cJSON *j = json_parse_n(s, len, &e);
        if (j) cJSON_AddItemToArray(arr, j);
    }
    free(buf);
    return arr;
}

static cJSON *load_eval(const char *run_dir, const char *name, char *why, size_t why_n) {
    char p[4096];
    snprintf(p, sizeof p, "%s/evals/%s.json", run_dir, name);
    Err e;
    cJSON *j = file_exists(p) ? json_load_file(p, &e) : NULL;
    if (!j) snprintf(why, why_n, "%s was not evaluated", name);
    return j;
}

/* The differences of one comparison, or -1 with why. */
static int differences(const char *run_dir, const Comparison *c, double **d, char *why, size_t why_n) {
    if (c->curve) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s/metrics.jsonl", run_dir, c->a);
        cJSON *lines = metrics_lines(p);
        int points;
        int n = intervals_curve_rise(lines, d, &points, why, why_n);
        cJSON_Delete(lines);
        return n;
    }
    cJSON *a = load_eval(run_dir, c->a, why, why_n);
    cJSON *b = a ? load_eval(run_dir, c->b, why, why_n) : NULL;
    int n = a && b ? intervals_paired(a, b, c->metric, d, why, why_n) : -1;
    if (n < 0 && a && b) {   /* name the evaluations in the reason */
        char inner[200];
        snprintf(inner, sizeof inner, "%.199s", why);
        snprintf(why, why_n, "%s and %s: %s", c->a, c->b, inner);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return n;
}

cJSON *intervals_json(const char *run_dir, uint64_t seed) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", "paired bootstrap over held-out problems (problems resampled with "
                                         "replacement), percentile interval");
    cJSON_AddNumberToObject(o, "level", BOOTSTRAP_LEVEL);
    cJSON_AddNumberToObject(o, "resamples", BOOTSTRAP_RESAMPLES);
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    cJSON *all = cJSON_AddObjectToObject(o, "comparisons");
    for (int i = 0; i < N_COMPARISONS; i++) {
        const Comparison *c = &COMPARISONS[i];
        cJSON *cj = cJSON_AddObjectToObject(all, c->name);
        char a[96], b[96];
        snprintf(a, sizeof a, c->curve ? "%s, last fifth of its held-out evaluations" : "%s", c->a);
        snprintf(b, sizeof b, c->curve ? "%s, first fifth" : "%s", c->b);
        cJSON_AddStringToObject(cj, "a", a);
        cJSON_AddStringToObject(cj, "b", b);
        cJSON_AddStringToObject(cj, "metric", c->metric);
        double *d = NULL;
        char why[256] = "";
        int n = differences(run_dir, c, &d, why, sizeof why);
        if (n < 0) {
            cJSON_AddStringToObject(cj, "missing", why);
            continue;
        }
        BootInterval iv = bootstrap_mean(d, n, BOOTSTRAP_RESAMPLES, BOOTSTRAP_LEVEL, seed, (uint64_t)i + 1);
        free(d);
        cJSON_AddItemToObject(cj, "estimate", json_exact_number(iv.estimate));
        cJSON_AddItemToObject(cj, "lo", json_exact_number(iv.lo));
        cJSON_AddItemToObject(cj, "hi", json_exact_number(iv.hi));
        cJSON_AddNumberToObject(cj, "problems", n);
    }
    return o;
}
