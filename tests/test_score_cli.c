/* `r1 score` and `r1 data make` end to end, through the binary (env R1, default build/r1):
 *  - GSM8K test set: the answer extracted from each of the 1319 reference solutions equals its
 *    "####" answer (given without thousands separators, so equivalence is exercised too), and the
 *    same with the answer rewritten as \boxed{}, as <answer> after </think>, and as a bare final
 *    number with --fallback-number; a perturbed gold scores 0. The file is looked up by
 *    tu_no_gsm8k ($R1_GSM8K, $R1_SHARED/data, a shared/data folder above the clone); absent: SKIP.
 *  - data make: same seed, same bytes; its sft solutions score 1 on accuracy, format and language
 *    against its rl references in both languages.
 *  - bad data: a line without the named field or with invalid JSON -> an error naming file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "test.h"
#include "test_util.h"

static char tmpdir[256];

static double mean_of(const char *out, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "%s: ", name);
    const char *p = strstr(out, key);
    return p ? atof(p + strlen(key)) : -1.0;
}

/* Writes variant `kind` of every GSM8K record: completion + gold (commas removed). */
static int write_variant(const char *src, const char *dst, int kind, int perturb) {
    Err e = {0};
    size_t n;
    char *buf = file_read_all(src, &n, &e);
    if (!buf) return -1;
    FILE *f = fopen(dst, "w");
    int count = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *r = cJSON_Parse(line);
        if (!r) continue;
        const char *sol = cJSON_GetObjectItem(r, "answer")->valuestring;
        const char *h = strstr(sol, "####");
        CHECK(h);
        /* gold: the text after ####, commas dropped (checked independently of the extractor) */
        char gold[64];
        size_t k = 0;
        for (const char *q = h + 4; *q && k < sizeof gold - 1; q++)
            if (*q != ',' && *q != ' ') gold[k++] = *q;
        gold[k] = 0;
        if (perturb) snprintf(gold, sizeof gold, "%lld", atoll(gold) + 1);
        StrBuf c = {0};
        const char *num = h + 4;
        while (*num == ' ') num++;
        switch (kind) {
        case 0: sb_append(&c, sol); break;
        case 1: sb_append_n(&c, sol, (size_t)(h - sol)); sb_printf(&c, "The answer is $\\boxed{%s}$.", num); break;
        case 2: sb_append_n(&c, sol, (size_t)(h - sol)); sb_printf(&c, "</think>\n\n<answer>%s</answer>", num); break;
        default: sb_append_n(&c, sol, (size_t)(h - sol)); sb_printf(&c, "So the answer is %s.", num); break;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "question", cJSON_GetObjectItem(r, "question")->valuestring);
        cJSON_AddStringToObject(o, "completion", c.s);
        cJSON_AddStringToObject(o, "gold", gold);
        char *text = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", text);
        free(text);
        cJSON_Delete(o);
        cJSON_Delete(r);
        sb_free(&c);
        count++;
    }
    fclose(f);
    free(buf);
    return count;
}

static void test_gsm8k(void) {
    const char *src;
    SKIP_IF(tu_no_gsm8k(&src));
    static const char *const NAMES[] = {"#### n", "\\boxed{n}", "<answer>n</answer>", "final number (--fallback-number)"};
    for (int kind = 0; kind < 4; kind++) {
        char data[512], out[512];
        snprintf(data, sizeof data, "%s/gsm8k_%d.jsonl", tmpdir, kind);
        snprintf(out, sizeof out, "%s/gsm8k_%d_scored.jsonl", tmpdir, kind);
        int n = write_variant(src, data, kind, 0);
        EXPECTF(n == 1319, "%s: %d records", src, n);
        StrBuf cmd = {0}, o = {0};
        sb_printf(&cmd, "%s score --data %s --completion-field completion --answer-field gold --rewards accuracy --out %s%s",
                  tu_r1_bin(), data, out, kind == 3 ? " --fallback-number" : "");
        int rc = tu_run(cmd.s, &o);
        double acc = mean_of(o.s, "accuracy");
        EXPECTF(rc == 0 && acc == 1.0, "GSM8K %s: rc %d, output: %s", NAMES[kind], rc, o.s);
        printf("  GSM8K reference solutions, answer as %s: %s", NAMES[kind], strstr(o.s, "accuracy") ? strstr(o.s, "accuracy") : o.s);
        /* per-record scores in --out: every record, each 1 */
        Err e = {0};
        size_t len;
        char *scored = file_read_all(out, &len, &e);
        int lines = 0, ones = 0;
        for (char *line = scored ? strtok(scored, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            cJSON *r = cJSON_Parse(line);
            cJSON *rw = r ? cJSON_GetObjectItem(r, "rewards") : NULL;
            cJSON *a = rw ? cJSON_GetObjectItem(rw, "accuracy") : NULL;
            lines++;
            if (a && a->valuedouble == 1.0) ones++;
            else if (lines - ones <= 3) printf("  not matched: %.200s\n", line);
            cJSON_Delete(r);
        }
        free(scored);
        EXPECTF(lines == 1319 && ones == 1319, "GSM8K %s: %d of %d records matched", NAMES[kind], ones, lines);
        sb_free(&cmd);
        sb_free(&o);
    }
    /* negative control: every gold off by one -> accuracy 0 */
    char data[512];
    snprintf(data, sizeof data, "%s/gsm8k_bad.jsonl", tmpdir);
    write_variant(src, data, 0, 1);
    StrBuf cmd = {0}, o = {0};
    sb_printf(&cmd, "%s score --data %s --completion-field completion --answer-field gold --rewards accuracy,format",
              tu_r1_bin(), data);
    EXPECT(tu_run(cmd.s, &o) == 0 && mean_of(o.s, "accuracy") == 0.0 && mean_of(o.s, "format") == 0.0);
    sb_free(&cmd);
    sb_free(&o);
}

static void test_data_make_and_score(void) {
    const char *langs[] = {"en", "zh", "mixed"};
    for (int l = 0; l < 3; l++) {
        char sft[512], sft2[512], rl[512], joined[512];
        snprintf(sft, sizeof sft, "%s/sft.jsonl", tmpdir);
        snprintf(sft2, sizeof sft2, "%s/sft2.jsonl", tmpdir);
        snprintf(rl, sizeof rl, "%s/rl.jsonl", tmpdir);
        snprintf(joined, sizeof joined, "%s/joined.jsonl", tmpdir);
        StrBuf cmd = {0}, o = {0};
        const char *common = "--task arith,countdown,linear,copy,reverse,next,chat --n 700 --level 1-5 --seed 11";
        sb_printf(&cmd, "%s data make %s --format sft --lang %s --out %s && %s data make %s --format sft --lang %s --out %s"
                        " && %s data make %s --format rl --lang %s --out %s",
                  tu_r1_bin(), common, langs[l], sft, tu_r1_bin(), common, langs[l], sft2, tu_r1_bin(), common, langs[l], rl);
        EXPECTF(tu_run(cmd.s, &o) == 0, "data make: %s", o.s);
        Err e = {0};
        size_t na, nb, nr;
        char *a = file_read_all(sft, &na, &e), *b = file_read_all(sft2, &nb, &e), *r = file_read_all(rl, &nr, &e);
        EXPECT(a && b && r && na == nb && !memcmp(a, b, na) && na > 1000);
        /* join: prompt and answer from rl, completion = the sft assistant text after "<think>\n" */
        FILE *f = fopen(joined, "w");
        char *sa = NULL, *sr = NULL;
        char *la = a ? strtok_r(a, "\n", &sa) : NULL, *lr = r ? strtok_r(r, "\n", &sr) : NULL;
        int lines = 0;
        for (; la && lr; la = strtok_r(NULL, "\n", &sa), lr = strtok_r(NULL, "\n", &sr)) {
            cJSON *ja = cJSON_Parse(la), *jr = cJSON_Parse(lr);
            const char *content = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(ja, "messages"), 1), "content")->valuestring;
            cJSON_AddStringToObject(jr, "completion", content + 8);
            char *text = cJSON_PrintUnformatted(jr);
            fprintf(f, "%s\n", text);
            free(text);
            cJSON_Delete(ja);
            cJSON_Delete(jr);
            lines++;
        }
        fclose(f);
        EXPECT(lines == 700);
        free(a); free(b); free(r);
        sb_clear(&cmd);
        sb_clear(&o);
        sb_printf(&cmd, "%s score --data %s --rewards accuracy:1,format:0.5,tag_count,language", tu_r1_bin(), joined);
        EXPECTF(tu_run(cmd.s, &o) == 0 && mean_of(o.s, "accuracy") == 1.0 && mean_of(o.s, "format") == 1.0 &&
                       mean_of(o.s, "tag_count") == 0.75 && mean_of(o.s, "language") == 1.0,
                "lang %s: %s", langs[l], o.s);
        sb_free(&cmd);
        sb_free(&o);
    }
}

static void test_bad_data(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/bad.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"completion\": \"<answer>1</answer>\", \"answer\": \"1\"}\n\n{\"completion\": \"x\"}\n");
    fclose(f);
    StrBuf cmd = {0}, o = {0};
    sb_printf(&cmd, "%s score --data %s", tu_r1_bin(), path);
    EXPECT(tu_run(cmd.s, &o) != 0);
    EXPECTF(strstr(o.s, "r1: error: ") && strstr(o.s, "bad.jsonl:3: key 'answer': missing"), "%s", o.s);
    f = fopen(path, "w");
    fprintf(f, "{\"completion\": \"x\", \"answer\": \"1\"}\n{\"completion\": \n");
    fclose(f);
    sb_clear(&o);
    EXPECT(tu_run(cmd.s, &o) != 0 && strstr(o.s, "bad.jsonl:2:"));
    sb_clear(&o);
    sb_clear(&cmd);
    sb_printf(&cmd, "%s score --data %s --rewards accuracy,nope", tu_r1_bin(), path);
    EXPECTF(tu_run(cmd.s, &o) != 0 && strstr(o.s, "unknown reward 'nope'"), "%s", o.s);
    sb_clear(&o);
    sb_clear(&cmd);
    sb_printf(&cmd, "%s data make --task nope --n 1 --out %s/x.jsonl", tu_r1_bin(), tmpdir);
    EXPECTF(tu_run(cmd.s, &o) != 0 && strstr(o.s, "unknown task 'nope'"), "%s", o.s);
    sb_free(&cmd);
    sb_free(&o);
}

int main(void) {
    if (!file_exists(tu_r1_bin())) {
        printf("FAIL test_score_cli: %s not built\n", tu_r1_bin());
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/r1_test_score_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_gsm8k);
    RUN(test_data_make_and_score);
    RUN(test_bad_data);
    Err e = {0};
    file_remove_tree(tmpdir, &e);
    return TEST_EXIT();
}
