/* `r1 eval` and `r1 sample` end to end through the binary (env R1, default build/r1), on a model
 * folder made here (a 320-token BPE tokenizer from `r1 tokenizer train` and a random model from
 * `r1 init` with the c_yarn_mtp fixture shape, vocab 320):
 *  - eval: the JSON report has k, one row per (task, level), every rate in [0, 1], prompts = --n,
 *    mean length in [0, --max-tokens]; the same seed gives the same report at --threads 1 and 2;
 *  - sample: every output line is a chat record (user then assistant); kept <= prompts x --keep;
 *    the summary names the drop reasons; with --mix-non-reasoning 0.5 and nothing kept the output
 *    still holds non-reasoning records with an empty think;
 *  - bad input: a --data line without "answer" is an error naming FILE:LINE for both commands.
 * KEEP=1 leaves the temp folder for inspection. */
#include <stdarg.h>
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

static char dir[256];

static int setup(void) {
    snprintf(dir, sizeof dir, "/tmp/r1_test_eval_cli_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    return tu_cli_model(dir, 256);
}

static int in01(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) && x->valuedouble >= 0.0 && x->valuedouble <= 1.0;
}

static void test_eval(void) {
    StrBuf o = {0};
    const char *G = tu_r1_bin();
    int rc = tu_runf(&o, "%s eval --model %s/m --task arith --level 1 --n 3 --k 4 --max-tokens 16 --seed 7 "
                     "--threads 1 --out %s/e1.json", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    EXPECTF(strstr(o.s, "pass@1") != NULL, "table: %s", o.s);
    rc = tu_runf(&o, "%s eval --model %s/m --task arith --level 1 --n 3 --k 4 --max-tokens 16 --seed 7 "
                 "--threads 2 --out %s/e2.json", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    char *a = tu_slurp(tu_path(dir, "e1.json")), *b = tu_slurp(tu_path(dir, "e2.json"));
    EXPECTF(*a && strcmp(a, b) == 0, "reports differ across threads:\n%s\n%s", a, b);
    cJSON *j = cJSON_Parse(a);
    EXPECT(j != NULL);
    if (j) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "k");
        EXPECT(cJSON_IsNumber(k) && k->valueint == 4);
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
        EXPECT(cJSON_IsArray(rows) && cJSON_GetArraySize(rows) == 1);
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "all");
        EXPECT(all != NULL);
        if (all) {
            const cJSON *np = cJSON_GetObjectItemCaseSensitive(all, "prompts");
            EXPECT(cJSON_IsNumber(np) && np->valueint == 3);
            EXPECT(in01(all, "pass@1") && in01(all, "format") && in01(all, "language"));
            const cJSON *len = cJSON_GetObjectItemCaseSensitive(all, "length");
            EXPECT(cJSON_IsNumber(len) && len->valuedouble >= 0 && len->valuedouble <= 16.0 + 1e-9);
            const cJSON *pk = NULL, *ck = NULL;
            for (const cJSON *it = all->child; it; it = it->next) {
                if (!strncmp(it->string, "pass@", 5) && strcmp(it->string, "pass@1")) pk = it;
                if (!strncmp(it->string, "cons@", 5)) ck = it;
            }
            EXPECT(pk && ck && in01(all, pk->string) && in01(all, ck->string));
            /* pass@k >= pass@1 (unbiased estimator, k >= 1) */
            if (pk) EXPECT(pk->valuedouble + 1e-12 >= cJSON_GetObjectItemCaseSensitive(all, "pass@1")->valuedouble);
        }
        /* one entry per problem, whose mean is the "all" row's (the paired bootstrap's input) */
        const cJSON *pp = cJSON_GetObjectItemCaseSensitive(j, "problems");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(pp, "id"), *p1 = cJSON_GetObjectItemCaseSensitive(pp, "pass@1");
        EXPECT(cJSON_GetArraySize(ids) == 3 && cJSON_GetArraySize(p1) == 3);
        double sum = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, p1) sum += v->valuedouble;
        if (all) EXPECT_NEAR(sum / 3, cJSON_GetObjectItemCaseSensitive(all, "pass@1")->valuedouble, 1e-12, 0);
        cJSON_ArrayForEach(v, ids) EXPECT(cJSON_IsString(v) && strlen(v->valuestring) == 16);
        EXPECT(strcmp(cJSON_GetArrayItem(ids, 0)->valuestring, cJSON_GetArrayItem(ids, 1)->valuestring) != 0);
        cJSON_Delete(j);
    }
    free(a);
    free(b);
    /* another seed: a report is still written (and is allowed to differ) */
    rc = tu_runf(&o, "%s eval --model %s/m --task arith --n 2 --k 2 --max-tokens 8 --seed 8 --out %s/e3.json",
                 G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    /* the program task and the reflection columns */
    rc = tu_runf(&o, "%s eval --model %s/m --task program,arith --level 1-5 --n 4 --k 2 --max-tokens 8 --seed 9 "
                 "--out %s/e4.json", G, dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "program") && strstr(o.s, "check") && strstr(o.s, "repair"), "%s", o.s);
    char *e4 = tu_slurp(tu_path(dir, "e4.json"));
    cJSON *j4 = cJSON_Parse(e4);
    free(e4);
    const cJSON *all4 = cJSON_GetObjectItemCaseSensitive(j4, "all"), *rows4 = cJSON_GetObjectItemCaseSensitive(j4, "rows");
    EXPECT(all4 && in01(all4, "self_check") && in01(all4, "check_repairs"));
    int program_rows = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows4) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(row, "task");
        program_rows += cJSON_IsString(t) && !strcmp(t->valuestring, "program");
    }
    EXPECT(program_rows >= 1);
    cJSON_Delete(j4);
    sb_free(&o);
}

static void test_sample(void) {
    StrBuf o = {0};
    const char *G = tu_r1_bin();
    int rc = tu_runf(&o, "%s sample --model %s/m --task arith --level 1 --n 3 -n 4 --keep 1 --max-tokens 16 "
                     "--seed 3 --mix-non-reasoning 0.5 --out %s/s.jsonl", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    EXPECTF(strstr(o.s, "kept") && strstr(o.s, "wrong") && strstr(o.s, "non-reasoning"), "summary: %s", o.s);
    char p[512];
    snprintf(p, sizeof p, "%s/s.jsonl", dir);
    char *s = tu_slurp(p);
    int lines = 0, ok = 1, empty_think = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        cJSON *r = cJSON_Parse(line);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "messages");
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2) { ok = 0; cJSON_Delete(r); continue; }
        const cJSON *u = cJSON_GetArrayItem(m, 0), *as = cJSON_GetArrayItem(m, 1);
        const cJSON *ur = cJSON_GetObjectItemCaseSensitive(u, "role");
        const cJSON *ar = cJSON_GetObjectItemCaseSensitive(as, "role");
        const cJSON *ac = cJSON_GetObjectItemCaseSensitive(as, "content");
        if (!cJSON_IsString(ur) || strcmp(ur->valuestring, "user") || !cJSON_IsString(ar) ||
            strcmp(ar->valuestring, "assistant") || !cJSON_IsString(ac) || !strstr(ac->valuestring, "</think>"))
            ok = 0;
        else if (!strncmp(ac->valuestring, "<think>\n\n</think>", 17) || !strncmp(ac->valuestring, "<think>\n</think>", 16))
            empty_think++;
        cJSON_Delete(r);
    }
    EXPECTF(ok && lines >= 1, "records: %d ok %d", lines, ok);
    /* a random model keeps (almost) nothing, so the output is mostly the non-reasoning mix; the
     * reasoning part is capped at 3 prompts x keep 1 */
    EXPECTF(empty_think >= 1 && lines - empty_think <= 3, "lines %d empty-think %d", lines, empty_think);
    free(s);
    sb_free(&o);
}

static void test_bad_data(void) {
    StrBuf o = {0};
    const char *p = tu_path(dir, "bad.jsonl");
    tu_put(p, "{\"prompt\": \"1+1?\", \"answer\": \"2\"}\n{\"prompt\": \"2+2?\"}\n");
    int rc = tu_runf(&o, "%s eval --model %s/m --data %s --k 2 --max-tokens 4", tu_r1_bin(), dir, p);
    EXPECTF(rc != 0 && strstr(o.s, "bad.jsonl:2") && strstr(o.s, "answer"), "eval: %s", o.s);
    rc = tu_runf(&o, "%s sample --model %s/m --data %s -n 2 --max-tokens 4 --out %s/x.jsonl", tu_r1_bin(), dir, p, dir);
    EXPECTF(rc != 0 && strstr(o.s, "bad.jsonl:2"), "sample: %s", o.s);
    sb_free(&o);
}

int main(void) {
    if (setup() != 0) return TEST_EXIT();
    RUN(test_eval);
    RUN(test_sample);
    RUN(test_bad_data);
    return tu_finish(dir);
}
