/* The pipeline report: verdicts follow the numbers, and both files carry every checkpoint. */
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
    "\"language_ablation\": {\"with\": {\"language\": 0.97}, \"without\": {\"language\": 0.80}}}"

/* 20 training steps rising by `slope`; with held_out_slope given (not NaN), a held-out point every
 * 5 steps and one after the last, rising by that much per step, and a final line without
 * training keys (as metrics.jsonl has). */
static cJSON *results_with_curves(double slope, double held_out_slope) {
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
    sb_printf(&doc, RESULTS, pts.s);
    Err e;
    cJSON *j = json_parse_n(doc.s, doc.len, &e);
    sb_free(&pts);
    sb_free(&doc);
    return j;
}

static cJSON *results_with_curve(double slope) { return results_with_curves(slope, NAN); }

static void test_verdicts_follow_numbers(void) {
    Finding f[REPORT_N_FINDINGS];
    cJSON *rising = results_with_curve(0.02);
    EXPECT(rising != NULL);
    report_findings(rising, f);
    EXPECT(f[0].verdict == VERDICT_REPRODUCED);       /* 0.30 → ~0.66 */
    EXPECT(f[1].verdict == VERDICT_REPRODUCED);       /* r1_zero 0.52 vs base 0.30 */
    EXPECT(f[2].verdict == VERDICT_NOT_REPRODUCED);   /* r1 0.50 < r1_zero 0.52 */
    EXPECT(f[3].verdict == VERDICT_REPRODUCED);       /* distilled 0.41 vs rl 0.33 */
    EXPECT(f[4].verdict == VERDICT_REPRODUCED);
    EXPECT(strstr(f[0].evidence, "0.3") != NULL);
    cJSON_Delete(rising);
    cJSON *flat = results_with_curve(0.0);
    report_findings(flat, f);
    EXPECT(f[0].verdict == VERDICT_NOT_REPRODUCED);
    cJSON_Delete(flat);
    /* held-out points decide when present, whatever the training accuracy does */
    cJSON *held = results_with_curves(0.0, 0.02);
    report_findings(held, f);
    EXPECTF(f[0].verdict == VERDICT_REPRODUCED && strstr(f[0].evidence, "held-out pass@1 0.200 -> 0.600"), "%s",
            f[0].evidence);
    cJSON_Delete(held);
    held = results_with_curves(0.02, 0.0);
    report_findings(held, f);
    EXPECT(f[0].verdict == VERDICT_NOT_REPRODUCED);
    cJSON_Delete(held);
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
    RUN(test_verdicts_follow_numbers);
    RUN(test_report_files);
    RUN(test_svg_escapes_and_empty);
    RUN(test_svg_flat_curves_and_zero_bars);
    return TEST_EXIT();
}
