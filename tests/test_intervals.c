/* The verdicts' intervals (pipeline/intervals.h): problems paired by id between two evaluations,
 * the rise of a held-out curve problem by problem, and results.json's "intervals" for a run
 * folder — deterministic, keyed by the seed, with a reason wherever an interval cannot be had. */
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "pipeline/bootstrap.h"
#include "pipeline/intervals.h"
#include "test.h"
#include "test_util.h"

static char dir[] = "/tmp/r1_intervals_XXXXXX";

static cJSON *parse(const char *s) {
    Err e;
    cJSON *j = json_parse_n(s, strlen(s), &e);
    CHECKF(j != NULL, "%s", e.msg);
    return j;
}

static void test_paired_by_id(void) {
    cJSON *a = parse("{\"problems\": {\"id\": [\"p1\", \"p2\", \"p3\"], \"pass@1\": [1, 0.5, 0], \"language\": [1, 1, 1]}}");
    cJSON *b = parse("{\"problems\": {\"id\": [\"p1\", \"p2\", \"p3\"], \"pass@1\": [0.5, 0.5, 0.25]}}");
    cJSON *other = parse("{\"problems\": {\"id\": [\"p1\", \"p9\", \"p3\"], \"pass@1\": [0, 0, 0]}}");
    cJSON *shorter = parse("{\"problems\": {\"id\": [\"p1\", \"p2\"], \"pass@1\": [0, 0]}}");
    cJSON *aggregate_only = parse("{\"all\": {\"pass@1\": 0.5}}");
    double *d = NULL;
    char why[128];
    EXPECT(intervals_paired(a, b, "pass@1", &d, why, sizeof why) == 3);
    if (d) EXPECT(d[0] == 0.5 && d[1] == 0 && d[2] == -0.25);
    free(d);
    d = NULL;
    EXPECT(intervals_paired(a, other, "pass@1", &d, why, sizeof why) == -1 && strstr(why, "different problems") && !d);
    EXPECT(intervals_paired(a, shorter, "pass@1", &d, why, sizeof why) == -1 && strstr(why, "3 and 2 problems"));
    EXPECT(intervals_paired(a, aggregate_only, "pass@1", &d, why, sizeof why) == -1 && strstr(why, "no per-problem results"));
    EXPECT(intervals_paired(a, b, "language", &d, why, sizeof why) == -1 && strstr(why, "no per-problem language"));
    cJSON_Delete(a); cJSON_Delete(b); cJSON_Delete(other); cJSON_Delete(shorter); cJSON_Delete(aggregate_only);
}

/* Ten evaluations of two problems (k = 4): the fifths are the first two and the last two. */
static void test_curve_rise(void) {
    StrBuf s = {0};
    sb_append(&s, "[");
    for (int i = 0; i < 10; i++)
        sb_printf(&s, "%s{\"step\": %d, \"accuracy\": 0.5}, {\"step\": %d, \"eval_k\": 4, \"eval_correct\": [%d, %d]}",
                  i ? "," : "", i, i, i < 8 ? i / 2 : 4, i == 0 ? 4 : 2);
    sb_append(&s, "]");
    cJSON *lines = parse(s.s);
    double *d = NULL;
    int points;
    char why[128];
    EXPECT(intervals_curve_rise(lines, &d, &points, why, sizeof why) == 2 && points == 10);
    /* problem 0: (0 + 0)/2/4 -> (4 + 4)/2/4; problem 1: (4 + 2)/2/4 -> (2 + 2)/2/4 */
    if (d) EXPECTF(d[0] == 1.0 && d[1] == -0.25, "%g %g", d[0], d[1]);
    free(d);
    cJSON_Delete(lines);
    /* two evaluations: last minus first */
    lines = parse("[{\"eval_k\": 2, \"eval_correct\": [0, 1, 2]}, {\"eval_k\": 2, \"eval_correct\": [2, 1, 0]}]");
    d = NULL;
    EXPECT(intervals_curve_rise(lines, &d, &points, why, sizeof why) == 3 && points == 2);
    if (d) EXPECT(d[0] == 1 && d[1] == 0 && d[2] == -1);
    free(d);
    cJSON_Delete(lines);
    lines = parse("[{\"eval_k\": 2, \"eval_correct\": [0, 1, 2]}, {\"eval_accuracy\": 0.5}]");
    EXPECT(intervals_curve_rise(lines, &d, &points, why, sizeof why) == -1 && strstr(why, "1 held-out evaluations"));
    cJSON_Delete(lines);
    lines = parse("[{\"eval_k\": 2, \"eval_correct\": [0, 1, 2]}, {\"eval_k\": 2, \"eval_correct\": [0, 1]}]");
    EXPECT(intervals_curve_rise(lines, &d, &points, why, sizeof why) == -1 && strstr(why, "3 and 2 problems"));
    cJSON_Delete(lines);
    sb_free(&s);
}

static void put_eval(const char *run, const char *name, const char *problems) {
    char p[512], doc[1024];
    snprintf(p, sizeof p, "%s/evals/%s.json", run, name);
    snprintf(doc, sizeof doc, "{\"all\": {\"pass@1\": 0}, \"problems\": {%s}}", problems);
    tu_put(p, doc);
}

/* A run folder with every evaluation but rl_nolang: four intervals and one reason; the same bits
 * twice; another seed, other bits; each interval the one bootstrap_mean gives its differences. */
static void test_run_folder(void) {
    char run[256], p[512];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(p, sizeof p, "%s/evals", run);
    Err e = {0};
    EXPECT(file_mkdirs(p, &e) == 0);
    snprintf(p, sizeof p, "%s/r1_zero", run);
    EXPECT(file_mkdirs(p, &e) == 0);
    const char *ids = "\"id\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"], ";
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"pass@1\": [0, 0.25, 0.5, 0, 0.75, 0], \"language\": [1, 1, 1, 1, 1, 1]", ids);
    put_eval(run, "base", buf);
    snprintf(buf, sizeof buf, "%s\"pass@1\": [1, 0.5, 1, 1, 0.5, 1], \"language\": [1, 1, 1, 1, 1, 1]", ids);
    put_eval(run, "r1_zero", buf);
    put_eval(run, "r1", buf);
    put_eval(run, "student_distilled", buf);
    put_eval(run, "student_rl", buf);
    put_eval(run, "rl", buf);
    snprintf(p, sizeof p, "%s/r1_zero/metrics.jsonl", run);
    tu_put(p, "{\"step\": 0, \"eval_k\": 2, \"eval_correct\": [0, 0, 1, 0]}\n{\"step\": 1, \"accuracy\": 1}\n"
              "{\"step\": 2, \"final\": true, \"eval_k\": 2, \"eval_correct\": [2, 1, 2, 2]}\n");
    /* as results.json holds them: printed (numbers exact to the bit) and read back */
    cJSON *made = intervals_json(run, 1234), *made_again = intervals_json(run, 1234), *made_other = intervals_json(run, 99);
    char *s1 = cJSON_PrintUnformatted(made), *s2 = cJSON_PrintUnformatted(made_again), *s3 = cJSON_PrintUnformatted(made_other);
    EXPECT(!strcmp(s1, s2));
    cJSON *j = parse(s1), *other = parse(s3);
    const cJSON *c = cJSON_GetObjectItem(j, "comparisons");
    EXPECT(cJSON_GetObjectItem(j, "resamples")->valueint == BOOTSTRAP_RESAMPLES &&
           cJSON_GetObjectItem(j, "seed")->valueint == 1234 && cJSON_GetObjectItem(j, "level")->valuedouble == 0.95);
    const cJSON *zb = cJSON_GetObjectItem(c, "r1_zero_vs_base"), *rise = cJSON_GetObjectItem(c, "r1_zero_rise");
    double d[6] = {1, 0.25, 0.5, 1, -0.25, 1};
    BootInterval want = bootstrap_mean(d, 6, BOOTSTRAP_RESAMPLES, BOOTSTRAP_LEVEL, 1234, 2);
    EXPECTF(cJSON_GetObjectItem(zb, "estimate")->valuedouble == want.estimate &&
            cJSON_GetObjectItem(zb, "lo")->valuedouble == want.lo && cJSON_GetObjectItem(zb, "hi")->valuedouble == want.hi &&
            cJSON_GetObjectItem(zb, "problems")->valueint == 6, "%s", s1);
    EXPECT(want.lo > 0 && want.lo < want.hi);
    double r[4] = {1, 0.5, 0.5, 1};
    want = bootstrap_mean(r, 4, BOOTSTRAP_RESAMPLES, BOOTSTRAP_LEVEL, 1234, 1);
    EXPECTF(cJSON_GetObjectItem(rise, "lo")->valuedouble == want.lo && cJSON_GetObjectItem(rise, "problems")->valueint == 4,
            "%s", s1);
    /* equal evaluations: zero-width at 0 */
    const cJSON *eq = cJSON_GetObjectItem(c, "distilled_vs_rl");
    EXPECT(cJSON_GetObjectItem(eq, "lo")->valuedouble == 0 && cJSON_GetObjectItem(eq, "hi")->valuedouble == 0);
    const cJSON *lang = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "language_reward"), "missing");
    EXPECTF(cJSON_IsString(lang) && strstr(lang->valuestring, "rl_nolang was not evaluated"), "%s", s1);
    const cJSON *zb99 = cJSON_GetObjectItem(cJSON_GetObjectItem(other, "comparisons"), "r1_zero_vs_base");
    EXPECT(cJSON_GetObjectItem(zb99, "estimate")->valuedouble == cJSON_GetObjectItem(zb, "estimate")->valuedouble);
    EXPECT(cJSON_GetObjectItem(zb99, "lo")->valuedouble != cJSON_GetObjectItem(zb, "lo")->valuedouble ||
           cJSON_GetObjectItem(zb99, "hi")->valuedouble != cJSON_GetObjectItem(zb, "hi")->valuedouble);
    free(s1);
    free(s2);
    free(s3);
    cJSON_Delete(made);
    cJSON_Delete(made_again);
    cJSON_Delete(made_other);
    cJSON_Delete(j);
    cJSON_Delete(other);
}

int main(void) {
    if (tu_mkdtemp(dir)) return 1;
    RUN(test_paired_by_id);
    RUN(test_curve_rise);
    RUN(test_run_folder);
    return tu_finish(dir);
}
