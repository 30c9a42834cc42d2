/* r1 pipeline --preset nano: every stage runs (a wiring check, not a results check) and every
 * artifact exists with sane contents; a re-run skips finished stages; bad presets and foreign
 * run folders are refused. Runs the real binary ($R1, default build/r1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"

static const char *r1_bin(void) { const char *b = getenv("R1"); return b ? b : "build/r1"; }
static char dir[] = "/tmp/r1_pipeline_XXXXXX";

/* User + system seconds of every waited-for child process so far. */
static double children_cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* Runs `R1 pipeline --preset nano --out OUT` quietly. */
static int run_nano(const char *out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s pipeline --preset nano --out %s > /dev/null 2>&1", r1_bin(), out);
    return system(cmd);
}

static void test_nano_runs_every_stage(void) {
    char out[256], p[512];
    snprintf(out, sizeof out, "%s/run", dir);
    EXPECT(run_nano(out) == 0);
    /* A guard on the preset's size (the suite's time), not a speed figure: processor seconds of
     * the pipeline's processes, which a loaded machine does not inflate as it does wall time. */
    double cpu = children_cpu_seconds();
    EXPECTF(cpu < 180, "nano used %.0f s of processor time (bound 180)", cpu);
    const char *stages[] = {"data", "tokenizer", "configs", "base", "r1_zero", "cold_start", "rl", "rl_nolang",
                            "sample", "rs_sft", "rm_helpful", "rm_harmless", "r1", "r1_samples",
                            "student_base", "student_distilled", "student_rl", "eval", "report"};
    for (size_t i = 0; i < sizeof stages / sizeof *stages; i++) {
        snprintf(p, sizeof p, "%s/.stages/%s.done", out, stages[i]);
        EXPECTF(file_exists(p), "stage %s did not finish", stages[i]);
    }
    const char *models[] = {"base", "r1_zero", "cold_start", "rl", "rs_sft", "r1", "student_distilled", "student_rl"};
    Err e = {0};
    snprintf(p, sizeof p, "%s/results.json", out);
    cJSON *res = json_load_file(p, &e);
    EXPECTF(res != NULL, "%s", e.msg);
    snprintf(p, sizeof p, "%s/report.md", out);
    char *md = file_read_all(p, NULL, &e);
    snprintf(p, sizeof p, "%s/report.html", out);
    char *html = file_read_all(p, NULL, &e);
    EXPECT(md && html);
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        snprintf(p, sizeof p, "%s/%s/model.safetensors", out, models[i]);
        EXPECTF(file_exists(p), "%s has no model", models[i]);
        const cJSON *ck = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "checkpoints"), models[i]);
        const cJSON *pass = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ck, "arith"), "pass@1");
        EXPECTF(cJSON_IsNumber(pass) && pass->valuedouble >= 0 && pass->valuedouble <= 1, "%s: no pass@1", models[i]);
        if (md && html) EXPECT(strstr(md, models[i]) && strstr(html, models[i]));
    }
    /* the students are qwen2 models, as DeepSeek-R1-Distill-Qwen is; the policy stays deepseek_v3 */
    const char *types[][2] = {{"r1", "deepseek_v3"}, {"student_base", "qwen2"}, {"student_distilled", "qwen2"},
                              {"student_rl", "qwen2"}};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s/config.json", out, types[i][0]);
        cJSON *c = json_load_file(p, &e);
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
        EXPECTF(cJSON_IsString(mt) && !strcmp(mt->valuestring, types[i][1]), "%s: model_type is not %s",
                types[i][0], types[i][1]);
        cJSON_Delete(c);
    }
    const cJSON *curve = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "curves"), "r1_zero");
    /* nano: 3 RL steps, one metrics line each, and the held-out point after the last step */
    EXPECT(cJSON_GetArraySize(curve) == 4);
    const cJSON *last = cJSON_GetArrayItem(curve, 3);
    EXPECT(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(last, "eval_accuracy")) &&
           cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(curve, 0), "eval_accuracy")));
    EXPECT(html && strstr(html, "<svg") && strstr(html, "Key results"));
    /* every verdict's comparison paired all 16 held-out problems (same ids in every evaluation,
     * per-problem results kept) and has its interval, printed beside the verdict with its rule */
    const char *comparisons[] = {"r1_zero_rise", "r1_zero_vs_base", "r1_vs_r1_zero", "distilled_vs_rl", "language_reward"};
    const cJSON *cmp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "intervals"), "comparisons");
    for (int i = 0; i < 5; i++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(cmp, comparisons[i]);
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(c, "lo"), *hi = cJSON_GetObjectItemCaseSensitive(c, "hi");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "problems");
        EXPECTF(cJSON_IsNumber(lo) && cJSON_IsNumber(hi) && lo->valuedouble <= hi->valuedouble && cJSON_IsNumber(n) &&
                n->valueint == 16, "%s: no interval over the 16 problems", comparisons[i]);
    }
    int verdicts = 0;
    for (const char *q = md; q && (q = strstr(q, " % interval [")); q++) verdicts++;
    EXPECTF(verdicts == 5 && md && strstr(md, "Rule: the 95 % interval"), "%d verdicts with an interval", verdicts);
    free(md);
    free(html);
    cJSON_Delete(res);
    /* a second run skips everything finished */
    char log[512];
    snprintf(log, sizeof log, "%s/rerun.log", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s pipeline --preset nano --out %s 2> %s >/dev/null", r1_bin(), out, log);
    EXPECT(system(cmd) == 0);
    char *rerun = file_read_all(log, NULL, &e);
    EXPECT(rerun && strstr(rerun, "base done") && !strstr(rerun, "stage base"));
    free(rerun);
    /* killed after a stage's process ended and before its done marker: the stage is resumed at its
     * last step, redoes only its final evaluation (R1-Zero's held-out point after the last step),
     * and results.json keeps its bytes */
    snprintf(p, sizeof p, "%s/results.json", out);
    char *before = file_read_all(p, NULL, &e);
    snprintf(p, sizeof p, "%s/.stages/r1_zero.done", out);
    EXPECT(unlink(p) == 0);
    EXPECT(system(cmd) == 0);
    rerun = file_read_all(log, NULL, &e);
    EXPECT(rerun && strstr(rerun, "stage r1_zero") && strstr(rerun, "--resume") && strstr(rerun, "rl done"));
    free(rerun);
    snprintf(p, sizeof p, "%s/results.json", out);
    char *after = file_read_all(p, NULL, &e);
    EXPECTF(before && after && !strcmp(before, after), "results.json changed after resuming a finished stage");
    free(before);
    free(after);
    /* another preset in the same folder is refused, naming it */
    snprintf(cmd, sizeof cmd, "%s pipeline --preset tiny --out %s 2> %s >/dev/null", r1_bin(), out, log);
    EXPECT(system(cmd) != 0);
    char *err = file_read_all(log, NULL, &e);
    EXPECT(err && strstr(err, "another preset"));
    free(err);
}

/* Every flag a stage passes is one its command documents in --help: the trainers' flags come
 * from their option tables (a name the table lacks aborts the pipeline), the others are checked
 * here, so a renamed flag fails this test instead of a run. */
static void test_stage_flags_exist(void) {
    char cmd[2048], log[512];
    snprintf(log, sizeof log, "%s/dry.log", dir);
    snprintf(cmd, sizeof cmd, "%s pipeline --preset nano --dry-run --out %s/dry 2> %s >/dev/null", r1_bin(), dir, log);
    EXPECT(system(cmd) == 0);
    Err e;
    char *out = file_read_all(log, NULL, &e);
    EXPECT(out != NULL);
    int commands = 0, flags = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "$ r1 ", 5)) continue;
        commands++;
        /* a wall-time limit would make results depend on the machine's load and on interruptions;
         * the control's budget is in tokens */
        EXPECTF(!strstr(line, "--max-seconds"), "a stage runs on a wall-time budget: %s", line);
        if (!strncmp(line, "$ r1 grpo", 9) && strstr(line, "/student_rl ")) EXPECTF(strstr(line, "--max-train-tokens="), "%s", line);
        /* the subcommand: the words before the first flag */
        char sub[64] = "", *p = line + 5;
        while (*p && *p != '-') {
            size_t n = strcspn(p, " ");
            snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "%.*s ", (int)n, p);
            p += n + (p[n] == ' ');
        }
        char help_path[600];
        snprintf(help_path, sizeof help_path, "%s/help.txt", dir);
        snprintf(cmd, sizeof cmd, "%s %s--help > %s 2>&1", r1_bin(), sub, help_path);
        EXPECTF(system(cmd) == 0, "r1 %s--help failed", sub);
        char *help = file_read_all(help_path, NULL, &e);
        for (char *tok = p; help && *tok;) {
            size_t n = strcspn(tok, " ");
            /* short spellings (-n) would escape the check below: stages spell every flag in full */
            EXPECTF(!(tok[0] == '-' && tok[1] != '-' && !(tok[1] >= '0' && tok[1] <= '9')),
                    "r1 %s: the pipeline passes the short flag %.*s", sub, (int)n, tok);
            if (n > 2 && !strncmp(tok, "--", 2)) {
                char want[96];
                size_t k = strcspn(tok, "= ");
                snprintf(want, sizeof want, "  %.*s ", (int)k, tok);
                EXPECTF(strstr(help, want), "r1 %s: the pipeline passes %.*s, which --help does not list", sub, (int)k, tok);
                flags++;
            }
            tok += n + (tok[n] == ' ');
        }
        free(help);
    }
    free(out);
    EXPECTF(commands >= 20 && flags > 200, "%d commands, %d flags", commands, flags);
}

static void test_bad_input(void) {
    char cmd[2048], log[512], other[512];
    snprintf(log, sizeof log, "%s/bad.log", dir);
    snprintf(cmd, sizeof cmd, "%s pipeline --preset huge --out %s/x 2> %s", r1_bin(), dir, log);
    EXPECT(system(cmd) != 0);
    Err e;
    char *s = file_read_all(log, NULL, &e);
    EXPECT(s && strstr(s, "unknown preset 'huge'"));
    free(s);
    snprintf(other, sizeof other, "%s/other", dir);
    EXPECT(file_mkdirs(other, &e) == 0);
    char f[600];
    snprintf(f, sizeof f, "%s/keep.txt", other);
    EXPECT(file_write_atomic(f, "mine", 4, &e) == 0);
    snprintf(cmd, sizeof cmd, "%s pipeline --preset nano --out %s 2> %s", r1_bin(), other, log);
    EXPECT(system(cmd) != 0);
    s = file_read_all(log, NULL, &e);
    EXPECT(s && strstr(s, "holds other files"));
    free(s);
    EXPECT(file_exists(f));   /* nothing of the user's is touched */
}

int main(void) {
    if (tu_mkdtemp(dir)) return 1;
    RUN(test_stage_flags_exist);
    RUN(test_nano_runs_every_stage);
    RUN(test_bad_input);
    return tu_finish(dir);
}
