#include "pipeline/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "pipeline/svg.h"

static const char *const CHECKPOINTS[] = {"base", "r1_zero", "cold_start", "rl", "rs_sft", "r1",
                                          "student_distilled", "student_rl"};
enum { N_CHECKPOINTS = sizeof CHECKPOINTS / sizeof CHECKPOINTS[0] };
static const char *const METRICS[] = {"pass@1", "cons@k", "format", "language", "length", "think", "check",
                                      "repair"};
enum { N_METRICS = sizeof METRICS / sizeof METRICS[0] };

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Mean of a metric over the tasks of one checkpoint; NaN when absent. */
static double mean_metric(const cJSON *results, const char *ckpt, const char *metric) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(results, "checkpoints"), ckpt);
    double s = 0;
    int n = 0;
    const cJSON *task;
    cJSON_ArrayForEach(task, c) {
        double v = num(task, metric);
        if (isfinite(v)) { s += v; n++; }
    }
    return n ? s / n : NAN;
}

/* Mean of `key` over the first and the last fifth of the curve's points that have it (held-out
 * points exist only every few steps; training points not after the last step). Returns the
 * number of points with the key, 0 if fewer than `min_points`. */
static int curve_ends(const cJSON *curve, const char *key, int min_points, double *first, double *last) {
    int n = 0;
    const cJSON *pt;
    cJSON_ArrayForEach(pt, curve) n += isfinite(num(pt, key));
    if (n < min_points || n < 1) return 0;
    int k = n >= 5 ? n / 5 : 1, i = 0;
    double a = 0, b = 0;
    cJSON_ArrayForEach(pt, curve) {
        double v = num(pt, key);
        if (!isfinite(v)) continue;
        if (i < k) a += v;
        if (i >= n - k) b += v;
        i++;
    }
    *first = a / k;
    *last = b / k;
    return n;
}

/* A verdict is the paired difference behind a claim: its interval from results.json's
 * "intervals" (pipeline/intervals.h), judged against min_effect, the smallest difference the
 * claim asserts (0 for all of the paper's claims here: a difference in the claimed direction). */
typedef struct Claim {
    const char *text;
    const char *comparison;   /* intervals.comparisons NAME */
    const char *difference;   /* what the interval is of */
    double min_effect;
} Claim;

static const Claim CLAIMS[REPORT_N_FINDINGS] = {
    {"R1-Zero: pure RL from the base model raises accuracy over the RL steps", "r1_zero_rise",
     "held-out pass@1 per problem, the last fifth of R1-Zero's evaluations during its run minus the first fifth", 0},
    {"R1-Zero beats the base model on held-out pass@1", "r1_zero_vs_base",
     "pass@1 per held-out problem, r1_zero minus base", 0},
    {"R1 (the four-stage recipe) beats R1-Zero on pass@1", "r1_vs_r1_zero",
     "pass@1 per held-out problem, r1 minus r1_zero", 0},
    {"Distilling R1's samples into the small student beats RL on the student", "distilled_vs_rl",
     "pass@1 per held-out problem, student_distilled minus student_rl", 0},
    {"The language-consistency reward reduces language mixing in the chain of thought", "language_reward",
     "language consistency per held-out problem, RL with the reward minus RL without it", 0},
};

/* The confidence level of results.json's intervals as a percentage (95 when absent). */
static double level_percent(const cJSON *results) {
    double l = num(cJSON_GetObjectItemCaseSensitive(results, "intervals"), "level");
    return isfinite(l) ? 100 * l : 95;
}

/* Appends to f->evidence the interval of the claim's comparison and sets the verdict from it:
 * reproduced when the interval lies above min_effect, NOT reproduced when below, otherwise not
 * shown (whatever the point estimate); not measured without an interval. */
static void judge(Finding *f, const cJSON *results, const Claim *c) {
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(results, "intervals"), "comparisons"),
        c->comparison);
    const double pct = level_percent(results);
    snprintf(f->rule, sizeof f->rule, "the %g %% interval of the difference in %s: reproduced when it lies above %g, "
             "NOT reproduced when it lies below %g, otherwise not shown", pct, c->difference, c->min_effect, c->min_effect);
    size_t used = strlen(f->evidence);
    char *tail = f->evidence + used;
    size_t room = sizeof f->evidence - used;
    double est = num(iv, "estimate"), lo = num(iv, "lo"), hi = num(iv, "hi"), n = num(iv, "problems");
    if (!isfinite(est) || !isfinite(lo) || !isfinite(hi) || !(lo <= hi)) {
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(iv, "missing");
        f->verdict = VERDICT_NOT_MEASURED;
        snprintf(tail, room, "%sno interval: %s", used ? "; " : "",
                 cJSON_IsString(why) ? why->valuestring : "results.json has none");
        return;
    }
    f->verdict = lo > c->min_effect ? VERDICT_REPRODUCED : hi < c->min_effect ? VERDICT_NOT_REPRODUCED : VERDICT_NOT_SHOWN;
    snprintf(tail, room, "%sdifference %+.3f, %g %% interval [%+.3f, %+.3f] over %.0f problems", used ? "; " : "",
             est, pct, lo, hi, n);
}

/* The point values behind a comparison of two numbers, for the evidence. */
static void point_values(Finding *f, double better, double worse, const char *better_name, const char *worse_name) {
    if (!isfinite(better) || !isfinite(worse))
        snprintf(f->evidence, sizeof f->evidence, "%s or %s was not evaluated", better_name, worse_name);
    else
        snprintf(f->evidence, sizeof f->evidence, "%s %.3f vs %s %.3f", better_name, better, worse_name, worse);
}

void report_findings(const cJSON *results, Finding *f) {
    memset(f, 0, sizeof(Finding) * REPORT_N_FINDINGS);
    for (int i = 0; i < REPORT_N_FINDINGS; i++) f[i].claim = CLAIMS[i].text;
    /* 1. R1-Zero: accuracy rises over RL steps (Figure 2), with response length reported beside it */
    const cJSON *zero = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(results, "curves"), "r1_zero");
    double a0, a1, l0, l1, t0, t1;
    int n_pts;
    if ((n_pts = curve_ends(zero, "eval_accuracy", 2, &a0, &a1)) > 0) {
        /* the held-out curve: the same test problems evaluated during the run */
        int has_len = curve_ends(zero, "eval_length", 2, &l0, &l1) > 0;
        int has_think = curve_ends(zero, "eval_think", 2, &t0, &t1) > 0;
        snprintf(f[0].evidence, sizeof f[0].evidence,
                 "held-out pass@1 %.3f -> %.3f (first vs last fifth of %d evaluations during the run); "
                 "mean length %.1f -> %.1f; share of answers with a chain of thought %.2f -> %.2f",
                 a0, a1, n_pts, has_len ? l0 : NAN, has_len ? l1 : NAN, has_think ? t0 : NAN, has_think ? t1 : NAN);
    } else if ((n_pts = curve_ends(zero, "accuracy", 5, &a0, &a1)) > 0) {
        int has_len = curve_ends(zero, "length", 5, &l0, &l1) > 0;
        snprintf(f[0].evidence, sizeof f[0].evidence,
                 "training accuracy %.3f -> %.3f (first vs last fifth of %d steps, not held out); mean length %.1f -> %.1f",
                 a0, a1, n_pts, has_len ? l0 : NAN, has_len ? l1 : NAN);
    }
    /* 2. RL on the base improves held-out pass@1 */
    point_values(&f[1], mean_metric(results, "r1_zero", "pass@1"), mean_metric(results, "base", "pass@1"), "r1_zero",
                 "base");
    /* 3. The full recipe (cold start, RL, rejection sampling, SFT, alignment RL) beats R1-Zero */
    point_values(&f[2], mean_metric(results, "r1", "pass@1"), mean_metric(results, "r1_zero", "pass@1"), "r1",
                 "r1_zero");
    /* 4. Distillation beats RL on the small model at equal compute */
    point_values(&f[3], mean_metric(results, "student_distilled", "pass@1"), mean_metric(results, "student_rl", "pass@1"),
                 "student_distilled", "student_rl");
    /* 5. The language-consistency reward reduces language mixing */
    const cJSON *abl = cJSON_GetObjectItemCaseSensitive(results, "language_ablation");
    point_values(&f[4], num(cJSON_GetObjectItemCaseSensitive(abl, "with"), "language"),
                 num(cJSON_GetObjectItemCaseSensitive(abl, "without"), "language"), "language consistency with the reward",
                 "without");
    for (int i = 0; i < REPORT_N_FINDINGS; i++) judge(&f[i], results, &CLAIMS[i]);
}

static const char *verdict_text(Verdict v) {
    return v == VERDICT_REPRODUCED       ? "reproduced"
           : v == VERDICT_NOT_REPRODUCED ? "NOT reproduced"
           : v == VERDICT_NOT_SHOWN      ? "not shown"
                                         : "not measured";
}

static const char *verdict_class(Verdict v) {
    return v == VERDICT_REPRODUCED ? "ok" : v == VERDICT_NOT_REPRODUCED ? "no" : v == VERDICT_NOT_SHOWN ? "ns" : "na";
}

/* How the verdicts are reached, once above them. */
static void write_method(StrBuf *md, StrBuf *html, const cJSON *results) {
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(results, "intervals");
    double resamples = num(iv, "resamples"), seed = num(iv, "seed");
    char text[768];
    snprintf(text, sizeof text,
             "Each verdict is judged on a %g %% interval, not on the point estimate: the difference between two "
             "evaluations of the same held-out problems, problem by problem, its mean, and a paired bootstrap over "
             "the problems (%.0f resamples of the problems with replacement, percentile interval, seed %.0f; the "
             "bits are in results.json). Reproduced: the interval lies above the claim's bound (0: an effect in the "
             "claimed direction). NOT reproduced: it lies below. Not shown: it holds the bound, even when the point "
             "estimate passes. Not measured: no interval.",
             level_percent(results), resamples, seed);
    sb_printf(md, "%s\n\n", text);
    sb_append(html, "<p>");
    sb_append_html(html, text);
    sb_append(html, "</p>\n");
}

/* Task names in first-seen order across checkpoints. */
static int collect_tasks(const cJSON *ckpts, const char **tasks, int max) {
    int n = 0;
    const cJSON *c, *t;
    cJSON_ArrayForEach(c, ckpts) cJSON_ArrayForEach(t, c) {
        int seen = 0;
        for (int i = 0; i < n; i++) seen |= !strcmp(tasks[i], t->string);
        if (!seen && n < max) tasks[n++] = t->string;
    }
    return n;
}

static void fmt_cell(char *buf, size_t n, double v, const char *metric) {
    if (!isfinite(v)) snprintf(buf, n, "–");
    else if (!strcmp(metric, "length")) snprintf(buf, n, "%.1f", v);
    else snprintf(buf, n, "%.3f", v);
}

static void write_tables(StrBuf *md, StrBuf *html, const cJSON *results) {
    const cJSON *ckpts = cJSON_GetObjectItemCaseSensitive(results, "checkpoints");
    const char *tasks[32];
    int n_tasks = collect_tasks(ckpts, tasks, 32);
    sb_append(md, "## Benchmark table\n\nOne row per checkpoint; per task: pass@1 (mean over k samples), "
                  "cons@k, format compliance, language consistency, mean response length (tokens), share of answers with a chain of thought, "
                  "share with a self-check, and of those the share where a check repaired a wrong step (check, repair).\n\n| checkpoint |");
    sb_append(html, "<h2>Benchmark table</h2>\n<table>\n<tr><th rowspan=\"2\">checkpoint</th>");
    for (int t = 0; t < n_tasks; t++) {
        for (int m = 0; m < N_METRICS; m++) sb_printf(md, " %s %s |", tasks[t], METRICS[m]);
        sb_printf(html, "<th colspan=\"%d\">", N_METRICS);
        sb_append_html(html, tasks[t]);
        sb_append(html, "</th>");
    }
    sb_append(md, "\n|---|");
    sb_append(html, "</tr>\n<tr>");
    for (int t = 0; t < n_tasks; t++)
        for (int m = 0; m < N_METRICS; m++) { sb_append(md, "---|"); sb_printf(html, "<th>%s</th>", METRICS[m]); }
    sb_append(md, "\n");
    sb_append(html, "</tr>\n");
    for (int c = 0; c < N_CHECKPOINTS; c++) {
        const cJSON *ck = cJSON_GetObjectItemCaseSensitive(ckpts, CHECKPOINTS[c]);
        sb_printf(md, "| %s |", CHECKPOINTS[c]);
        sb_printf(html, "<tr><td>%s</td>", CHECKPOINTS[c]);
        for (int t = 0; t < n_tasks; t++) {
            const cJSON *tk = cJSON_GetObjectItemCaseSensitive(ck, tasks[t]);
            for (int m = 0; m < N_METRICS; m++) {
                char cell[32];
                fmt_cell(cell, sizeof cell, num(tk, METRICS[m]), METRICS[m]);
                sb_printf(md, " %s |", cell);
                sb_printf(html, "<td>%s</td>", cell);
            }
        }
        sb_append(md, "\n");
        sb_append(html, "</tr>\n");
    }
    sb_append(html, "</table>\n");
    /* pass@1 bars: checkpoints × tasks */
    double vals[N_CHECKPOINTS * 32];
    for (int c = 0; c < N_CHECKPOINTS; c++)
        for (int t = 0; t < n_tasks; t++)
            vals[c * n_tasks + t] = num(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(ckpts, CHECKPOINTS[c]), tasks[t]), "pass@1");
    svg_bar_chart(html, "pass@1 by checkpoint and task", "pass@1", CHECKPOINTS, N_CHECKPOINTS, tasks,
                  n_tasks, vals, 1.0, 760, 320);
}

static void write_curves(StrBuf *html, const cJSON *results) {
    const cJSON *curves = cJSON_GetObjectItemCaseSensitive(results, "curves");
    /* held-out pass@1 exists only for the stages that evaluate during the run, every few steps */
    const char *keys[5] = {"eval_accuracy", "accuracy", "length", "think", "reward"};
    const char *titles[5] = {"Held-out pass@1 over RL steps (test problems, T 0.6)",
                             "Training accuracy over RL steps", "Mean response length over RL steps",
                             "Share of answers with a chain of thought over RL steps", "Mean reward over RL steps"};
    const char *y_labels[5] = {"held-out pass@1", "training accuracy", "length (tokens)", "share with <think>",
                               "mean reward"};
    sb_append(html, "<h2>RL curves</h2>\n");
    for (int k = 0; k < 5; k++) {
        SvgSeries series[16];
        double *buf[16] = {0};
        int ns = 0;
        const cJSON *stage;
        cJSON_ArrayForEach(stage, curves) {
            if (ns == 16) break;
            int n = cJSON_GetArraySize(stage);
            buf[ns] = xmalloc(sizeof(double) * 2 * (size_t)(n ? n : 1));
            for (int i = 0; i < n; i++) {
                const cJSON *pt = cJSON_GetArrayItem(stage, i);
                buf[ns][i] = num(pt, "step");
                buf[ns][n + i] = num(pt, keys[k]);
            }
            series[ns] = (SvgSeries){stage->string, buf[ns], buf[ns] + n, n};
            ns++;
        }
        svg_line_chart(html, titles[k], "RL step", y_labels[k], series, ns, 760, 300);
        for (int i = 0; i < ns; i++) free(buf[i]);
    }
}

/* The distillation comparison's compute: tokens through forward+backward and steps per arm. */
static void write_compute(StrBuf *md, StrBuf *html, const cJSON *results) {
    const cJSON *cmp = cJSON_GetObjectItemCaseSensitive(results, "compute");
    if (!cmp) return;
    sb_append(md, "\n## Compute of the distillation comparison\n\nTokens through forward+backward (the control's "
                  "budget is the distillation's; its rollouts, forward passes only, come on top).\n\n"
                  "| student | train tokens | steps |\n|---|---|---|\n");
    sb_append(html, "<h2>Compute of the distillation comparison</h2>\n<p>Tokens through forward+backward (the "
                    "control's budget is the distillation's; its rollouts, forward passes only, come on top).</p>\n"
                    "<table><tr><th>student</th><th>train tokens</th><th>steps</th></tr>\n");
    const cJSON *arm;
    cJSON_ArrayForEach(arm, cmp) {
        double t = num(arm, "train_tokens"), st = num(arm, "steps");
        sb_printf(md, "| %s | %.0f | %.0f |\n", arm->string, t, st);
        sb_append(html, "<tr><td>");
        sb_append_html(html, arm->string);
        sb_printf(html, "</td><td>%.0f</td><td>%.0f</td></tr>\n", t, st);
    }
    sb_append(html, "</table>\n");
}

int report_write(const char *results_path, const char *out_dir, Err *e) {
    cJSON *results = json_load_file(results_path, e);
    if (!results) return -1;
    Finding f[REPORT_N_FINDINGS];
    report_findings(results, f);
    StrBuf md = {0}, html = {0};
    const cJSON *preset = cJSON_GetObjectItemCaseSensitive(results, "preset");
    const char *preset_name = cJSON_IsString(preset) ? preset->valuestring : "?";
    sb_printf(&md, "# r1.c pipeline report (preset %s)\n\nThe DeepSeek-R1 recipe at small scale: base -> R1-Zero; "
                   "cold start -> RL -> rejection sampling + SFT -> alignment RL = R1; distillation into a dense "
                   "student vs RL on it.\n\n## Key results\n\n", preset_name);
    sb_append(&html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>r1.c pipeline report</title>\n"
                     "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
                     "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;"
                     "padding:3px 6px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
                     ".ok{color:#1a7f37;font-weight:bold}.no{color:#b42318;font-weight:bold}.na{color:#777}"
                     ".ns{color:#9a6700;font-weight:bold}.rule{color:#555;font-size:90%}li{margin:0.4em 0}"
                     "svg{display:block;margin:1em 0}</style></head><body>\n");
    sb_printf(&html, "<h1>r1.c pipeline report (preset ");
    sb_append_html(&html, preset_name);
    sb_append(&html, ")</h1>\n<h2>Key results</h2>\n");
    write_method(&md, &html, results);
    sb_append(&html, "<ul>\n");
    for (int i = 0; i < REPORT_N_FINDINGS; i++) {
        sb_printf(&md, "- **%s** — %s. %s. Rule: %s.\n", verdict_text(f[i].verdict), f[i].claim, f[i].evidence,
                  f[i].rule);
        sb_printf(&html, "<li><span class=\"%s\">%s</span> — ", verdict_class(f[i].verdict), verdict_text(f[i].verdict));
        sb_append_html(&html, f[i].claim);
        sb_append(&html, ". ");
        sb_append_html(&html, f[i].evidence);
        sb_append(&html, ". <span class=\"rule\">Rule: ");
        sb_append_html(&html, f[i].rule);
        sb_append(&html, ".</span></li>\n");
    }
    sb_append(&md, "\n");
    sb_append(&html, "</ul>\n");
    write_tables(&md, &html, results);
    write_curves(&html, results);
    write_compute(&md, &html, results);
    sb_append(&md, "\n## Wall time per stage\n\n| stage | seconds |\n|---|---|\n");
    sb_append(&html, "<h2>Wall time per stage</h2>\n<table><tr><th>stage</th><th>seconds</th></tr>\n");
    char tp[4096];
    snprintf(tp, sizeof tp, "%s/timings.json", out_dir);
    Err te;
    cJSON *timings = file_exists(tp) ? json_load_file(tp, &te) : NULL;
    const cJSON *wall;
    cJSON_ArrayForEach(wall, cJSON_GetObjectItemCaseSensitive(timings, "wall_seconds")) {
        sb_printf(&md, "| %s | %.1f |\n", wall->string, wall->valuedouble);
        sb_append(&html, "<tr><td>");
        sb_append_html(&html, wall->string);
        sb_printf(&html, "</td><td>%.1f</td></tr>\n", wall->valuedouble);
    }
    sb_append(&html, "</table>\n</body></html>\n");
    cJSON_Delete(timings);
    cJSON_Delete(results);
    char path[4096];
    snprintf(path, sizeof path, "%s/report.md", out_dir);
    int rc = file_write_atomic(path, md.s, md.len, e);
    snprintf(path, sizeof path, "%s/report.html", out_dir);
    if (rc == 0) rc = file_write_atomic(path, html.s, html.len, e);
    sb_free(&md);
    sb_free(&html);
    return rc;
}
