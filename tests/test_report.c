/* The pipeline report: verdicts follow the intervals of results.json, and both files carry every
 * checkpoint, every verdict's interval and rule. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "pipeline/report.h"
#include "pipeline/svg.h"
#include "test.h"
#include "test_util.h"

#define RESULTS \
    "{\"preset\": \"nano\", \"checkpoints\": {" \
    "\"base\": {\"arith\": {\"pass@1\": 0.30, \"cons@k\": 0.35, \"format\": 0.5, \"language\": 0.9, \"length\": 40}}," \
    "\"r1_zero\": {\"arith\": {\"pass@1\": 0.52, \"cons@k\": 0.6, \"format\": 0.95, \"language\": 0.8, \"length\": 61}}," \
    "\"r1\": {\"arith\": {\"pass@1\": 0.50, \"cons@k\": 0.6, \"format\": 0.99, \"language\": 0.99, \"length\": 55}}," \
    "\"student_distilled\": {\"arith\": {\"pass@1\": 0.41}}, \"student_rl\": {\"arith\": {\"pass@1\": 0.33}}}," \
    "\"curves\": {\"r1_zero\": [%s]}," \
    "\"compute\": {\"student_distilled\": {\"train_tokens\": 10240, \"steps\": 10}," \
    "\"student_rl\": {\"train_tokens\": 10880, \"steps\": 12}}," \
    "\"language_ablation\": {\"with\": {\"language\": 0.97}, \"without\": {\"language\": 0.80}}," \
    "\"intervals\": {\"level\": 0.95, \"resamples\": 2000, \"seed\": 1234, \"comparisons\": {%s}}}"

/* The comparisons behind the five verdicts: each kind of interval once. The point values above
 * are not what decides: the distilled student's interval holds 0 though its point estimate
 * passes, and R1's lies above 0 though its checkpoint's pass@1 is below R1-Zero's. */
#define INTERVALS \
    "\"r1_zero_rise\": {\"estimate\": 0.3, \"lo\": 0.12, \"hi\": 0.48, \"problems\": 16}," \
    "\"r1_zero_vs_base\": {\"estimate\": 0.22, \"lo\": 0.05, \"hi\": 0.4, \"problems\": 16}," \
    "\"r1_vs_r1_zero\": {\"estimate\": -0.02, \"lo\": -0.09, \"hi\": -0.01, \"problems\": 16}," \
    "\"distilled_vs_rl\": {\"estimate\": 0.08, \"lo\": -0.01, \"hi\": 0.17, \"problems\": 16}," \
    "\"language_reward\": {\"a\": \"rl\", \"b\": \"rl_nolang\", \"missing\": \"rl was not evaluated\"}"

/* 20 training steps rising by `slope`; with held_out_slope given (not NaN), a held-out point every
 * 5 steps and one after the last, rising by that much per step, and a final line without
 * training keys (as metrics.jsonl has). `intervals`: the comparisons' JSON members. */
static cJSON *results_with(double slope, double held_out_slope, const char *intervals) {
    StrBuf pts = {0}, doc = {0};
    for (int s = 0; s < 20; s++) {
        sb_printf(&pts, "%s{\"step\": %d, \"accuracy\": %.4f, \"length\": %.1f, \"reward\": %.3f", s ? "," : "",
                  s, 0.3 + slope * s, 40.0 + s, 0.3 + slope * s);
        if (isfinite(held_out_slope) && s % 5 == 0)
            sb_printf(&pts, ", \"eval_accuracy\": %.4f, \"eval_length\": 30, \"eval_think\": 0.5", 0.2 + held_out_slope * s);
        sb_append(&pts, "}");
    }
    if (isfinite(held_out_slope))
        sb_printf(&pts, ",{\"step\": 20, \"eval_accuracy\": %.4f, \"eval_length\": 31, \"eval_think\": 0.9}",
                  0.2 + held_out_slope * 20);
    sb_printf(&doc, RESULTS, pts.s, intervals);
    Err e;
    cJSON *j = json_parse_n(doc.s, doc.len, &e);
    sb_free(&pts);
    sb_free(&doc);
    return j;
}

static cJSON *results_with_curve(double slope) { return results_with(slope, NAN, INTERVALS); }

/* The verdict of the one claim whose interval is [lo, hi] (the others' are missing). */
static Verdict verdict_of(int claim, double est, double lo, double hi) {
    static const char *const names[REPORT_N_FINDINGS] = {"r1_zero_rise", "r1_zero_vs_base", "r1_vs_r1_zero",
                                                         "distilled_vs_rl", "language_reward"};
    char iv[256];
    snprintf(iv, sizeof iv, "\"%s\": {\"estimate\": %.17g, \"lo\": %.17g, \"hi\": %.17g, \"problems\": 8}", names[claim],
             est, lo, hi);
    cJSON *j = results_with(0.02, 0.02, iv);
    Finding f[REPORT_N_FINDINGS];
    report_findings(j, f);
    cJSON_Delete(j);
    for (int i = 0; i < REPORT_N_FINDINGS; i++) if (i != claim) EXPECT(f[i].verdict == VERDICT_NOT_MEASURED);
    return f[claim].verdict;
}

static void test_verdicts_follow_intervals(void) {
    Finding f[REPORT_N_FINDINGS];
    cJSON *j = results_with_curve(0.02);
    EXPECT(j != NULL);
    report_findings(j, f);
    EXPECT(f[0].verdict == VERDICT_REPRODUCED);       /* [0.12, 0.48] */
    EXPECT(f[1].verdict == VERDICT_REPRODUCED);       /* [0.05, 0.40] */
    EXPECT(f[2].verdict == VERDICT_NOT_REPRODUCED);   /* [-0.09, -0.01]: below 0 */
    EXPECT(f[3].verdict == VERDICT_NOT_SHOWN);        /* [-0.01, 0.17]: holds 0, though 0.41 > 0.33 */
    EXPECT(f[4].verdict == VERDICT_NOT_MEASURED);     /* missing, though 0.97 > 0.80 */
    EXPECTF(strstr(f[1].evidence, "r1_zero 0.520 vs base 0.300") &&
            strstr(f[1].evidence, "difference +0.220, 95 % interval [+0.050, +0.400] over 16 problems"), "%s",
            f[1].evidence);
    EXPECTF(strstr(f[4].evidence, "no interval: rl was not evaluated"), "%s", f[4].evidence);
    EXPECTF(strstr(f[3].rule, "95 % interval of the difference in pass@1 per held-out problem, student_distilled minus "
                              "student_rl: reproduced when it lies above 0"), "%s", f[3].rule);
    EXPECT(strstr(f[0].evidence, "0.3") != NULL);
    cJSON_Delete(j);
    /* every rule, one claim at a time: the bound 0 itself is inside the interval */
    for (int c = 0; c < REPORT_N_FINDINGS; c++) {
        EXPECT(verdict_of(c, 0.1, 0.01, 0.2) == VERDICT_REPRODUCED);
        EXPECT(verdict_of(c, 0.1, 0, 0.2) == VERDICT_NOT_SHOWN);
        EXPECT(verdict_of(c, 0.1, -0.001, 0.2) == VERDICT_NOT_SHOWN);
        EXPECT(verdict_of(c, 0, 0, 0) == VERDICT_NOT_SHOWN);           /* equal on every problem */
        EXPECT(verdict_of(c, -0.1, -0.2, -0.01) == VERDICT_NOT_REPRODUCED);
        EXPECT(verdict_of(c, -0.1, -0.2, 0) == VERDICT_NOT_SHOWN);
        EXPECT(verdict_of(c, 0.1, 0.2, 0.05) == VERDICT_NOT_MEASURED); /* lo > hi: not an interval */
    }
    /* the held-out curve is the evidence when present */
    j = results_with(0.0, 0.02, INTERVALS);
    report_findings(j, f);
    EXPECTF(strstr(f[0].evidence, "held-out pass@1 0.200 -> 0.600"), "%s", f[0].evidence);
    cJSON_Delete(j);
    Err e;
    cJSON *empty = json_parse_n("{}", 2, &e);
    report_findings(empty, f);
    for (int i = 0; i < REPORT_N_FINDINGS; i++) EXPECT(f[i].verdict == VERDICT_NOT_MEASURED);
    cJSON_Delete(empty);
}

static void test_report_files(void) {
    char dir[] = "/tmp/r1_report_XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/results.json", dir);
    cJSON *j = results_with_curve(0.02);
    Err e = {0};
    EXPECT(json_save_file(j, path, &e) == 0);
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/timings.json", dir);
    tu_put(path, "{\"wall_seconds\": {\"pretrain\": 12.5, \"r1_zero\": 30}}");
    snprintf(path, sizeof path, "%s/results.json", dir);
    EXPECTF(report_write(path, dir, &e) == 0, "%s", e.msg);
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = file_read_all(path, NULL, &e);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = file_read_all(path, NULL, &e);
    EXPECT(html && md);
    if (html && md) {
        const char *names[] = {"base", "r1_zero", "cold_start", "rl", "rs_sft", "r1", "student_distilled", "student_rl"};
        for (int i = 0; i < 8; i++) EXPECT(strstr(html, names[i]) && strstr(md, names[i]));
        EXPECT(strstr(html, "<svg") && strstr(html, "polyline"));
        EXPECT(strstr(html, "http://") == strstr(html, "http://www.w3.org"));   /* no external loads */
        EXPECT(strstr(md, "NOT reproduced") && strstr(md, "| pretrain | 12.5 |"));   /* from timings.json */
        /* each verdict with its interval and its rule, in both files; the method once */
        EXPECT(strstr(md, "- **not shown** — Distilling") && strstr(md, "[-0.010, +0.170] over 16 problems. Rule: the 95 %"));
        EXPECT(strstr(html, "<span class=\"ns\">not shown</span>") && strstr(html, "[+0.050, +0.400]") &&
               strstr(html, "<span class=\"rule\">Rule: the 95 %"));
        EXPECT(strstr(md, "2000 resamples") && strstr(md, "seed 1234") && strstr(html, "paired bootstrap"));
        EXPECT(strstr(md, "| student_rl | 10880 | 12 |") && strstr(html, "<td>10240</td><td>10</td>"));
    }
    free(html);
    free(md);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    EXPECT(report_write(path, dir, &e) == -1 && strstr(e.msg, "missing.json"));
    file_remove_tree(dir, &e);
}

static void test_svg_escapes_and_empty(void) {
    StrBuf b = {0};
    double x[2] = {0, 1}, y[2] = {NAN, NAN};
    SvgSeries s = {"a<b>&\"", x, y, 2};
    svg_line_chart(&b, "t<", "x", "y", &s, 1, 400, 200);
    EXPECT(strstr(b.s, "no data") != NULL);
    EXPECT(strstr(b.s, "t&lt;") != NULL);
    sb_free(&b);
}

/* Rendering defects seen in a Chromium screenshot of a nano report: an all-zero accuracy curve
 * got an axis from -0.6 to 0.6, integer RL steps got 0.5 ticks, short series were invisible,
 * and zero-valued bars drew nothing (indistinguishable from a missing value). */
static void test_svg_flat_curves_and_zero_bars(void) {
    StrBuf b = {0};
    double x[4] = {0, 1, 2, 3}, y[4] = {0, 0, 0, 0};
    SvgSeries s = {"r1_zero", x, y, 4};
    svg_line_chart(&b, "acc", "RL step", "held-out pass@1", &s, 1, 760, 300);
    EXPECT(strstr(b.s, ">-0.") == NULL && strstr(b.s, ">-1<") == NULL);   /* no negative ticks */
    EXPECT(strstr(b.s, ">1</text>") != NULL);                              /* axis reaches 1 */
    EXPECT(strstr(b.s, ">0.5</text>") == NULL && strstr(b.s, ">1.5</text>") == NULL);   /* x ticks whole steps */
    int circles = 0;
    for (const char *p = b.s; (p = strstr(p, "<circle")); p++) circles++;
    EXPECT(circles == 4);                                                  /* one marker per point */
    sb_clear(&b);
    double nan4[4] = {NAN, NAN, NAN, NAN};
    SvgSeries two[2] = {{"no_evals", x, nan4, 4}, {"r1_zero", x, y, 4}};
    svg_line_chart(&b, "acc", "RL step", "held-out pass@1", two, 2, 760, 300);
    EXPECT(strstr(b.s, "no_evals") == NULL && strstr(b.s, ">r1_zero</text>") != NULL);   /* legend: data only */
    EXPECT(strstr(b.s, "stroke=\"#d62728\"") != NULL);   /* r1_zero keeps its second-series colour */
    sb_clear(&b);
    const char *groups[2] = {"base", "r1"}, *bars[1] = {"arith"};
    double v[2] = {0, NAN};
    svg_bar_chart(&b, "pass@1", "pass@1", groups, 2, bars, 1, v, 1.0, 760, 320);
    EXPECT(strstr(b.s, "height=\"2.0\" fill=\"#1f77b4\"") != NULL);      /* a 0 still shows a stub */
    EXPECT(strstr(b.s, ">0.00</text>") != NULL && strstr(b.s, ">n/a</text>") != NULL);
    sb_free(&b);
}

int main(void) {
    RUN(test_verdicts_follow_intervals);
    RUN(test_report_files);
    RUN(test_svg_escapes_and_empty);
    RUN(test_svg_flat_curves_and_zero_bars);
    return TEST_EXIT();
}
