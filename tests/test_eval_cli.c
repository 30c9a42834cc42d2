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

static const char *r1_bin(void) {
    const char *r = getenv("R1");
    return r && *r ? r : "build/r1";
}

static char dir[256];

static int runf(StrBuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int runf(StrBuf *out, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    StrBuf full = {0};
    sb_printf(&full, "(%s) 2>&1", cmd);
    FILE *p = popen(full.s, "r");
    sb_free(&full);
    if (!p) return -1;
    char buf[4096];
    size_t n;
    sb_clear(out);
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) sb_append_n(out, buf, n);
    if (!out->s) sb_append(out, "");
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
    size_t n;
    Err e = {{0}};
    char *s = file_read_all(path, &n, &e);
    return s ? s : xstrdup("");
}

static int setup(void) {
    snprintf(dir, sizeof dir, "/tmp/r1_test_eval_cli_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    StrBuf o = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/c.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const char *words[] = {"the", "water", "of", "day", "number", "sound", "people", "know",
                           "think", "answer", "two", "plus", "three", "is", "five", "what"};
    unsigned x = 1;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        fprintf(f, "%s%s", words[(x >> 16) % 16], i % 13 == 12 ? "\n" : " ");
    }
    fclose(f);
    int rc = runf(&o, "%s tokenizer train --data %s/c.txt --vocab-size 320 --out %s/tok/tokenizer.json --quiet",
                  r1_bin(), dir, dir);
    EXPECTF(rc == 0, "tokenizer train: %s", o.s);
    char *cfg = slurp("tests/fixtures/model/c_yarn_mtp/config.json");
    char *v = strstr(cfg, "\"vocab_size\": 64");
    if (v) memcpy(v, "\"vocab_size\":320", 16);
    char *mp = strstr(cfg, "\"max_position_embeddings\": 64");
    if (mp) memcpy(mp, "\"max_position_embeddings\":256", 29);
    snprintf(path, sizeof path, "%s/cfg.json", dir);
    Err e = {{0}};
    EXPECT(v && mp && file_write_atomic(path, cfg, strlen(cfg), &e) == 0);
    free(cfg);
    if (rc == 0) rc = runf(&o, "%s init --config %s/cfg.json --seed 5 --out %s/m && cp %s/tok/* %s/m/",
                           r1_bin(), dir, dir, dir, dir);
    EXPECTF(rc == 0, "init: %s", o.s);
    sb_free(&o);
    return rc;
}

static int in01(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) && x->valuedouble >= 0.0 && x->valuedouble <= 1.0;
}

static void test_eval(void) {
    StrBuf o = {0};
    const char *G = r1_bin();
    int rc = runf(&o, "%s eval --model %s/m --task arith --level 1 --n 3 --k 4 --max-tokens 16 --seed 7 "
                  "--threads 1 --out %s/e1.json", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    EXPECTF(strstr(o.s, "pass@1") != NULL, "table: %s", o.s);
    rc = runf(&o, "%s eval --model %s/m --task arith --level 1 --n 3 --k 4 --max-tokens 16 --seed 7 "
              "--threads 2 --out %s/e2.json", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/e1.json", dir);
    snprintf(p2, sizeof p2, "%s/e2.json", dir);
    char *a = slurp(p1), *b = slurp(p2);
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
        cJSON_Delete(j);
    }
    free(a);
    free(b);
    /* another seed: a report is still written (and is allowed to differ) */
    rc = runf(&o, "%s eval --model %s/m --task arith --n 2 --k 2 --max-tokens 8 --seed 8 --out %s/e3.json",
              G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    sb_free(&o);
}

static void test_sample(void) {
    StrBuf o = {0};
    const char *G = r1_bin();
    int rc = runf(&o, "%s sample --model %s/m --task arith --level 1 --n 3 -n 4 --keep 1 --max-tokens 16 "
                  "--seed 3 --mix-non-reasoning 0.5 --out %s/s.jsonl", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    EXPECTF(strstr(o.s, "kept") && strstr(o.s, "wrong") && strstr(o.s, "non-reasoning"), "summary: %s", o.s);
    char p[512];
    snprintf(p, sizeof p, "%s/s.jsonl", dir);
    char *s = slurp(p);
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
    char p[512];
    snprintf(p, sizeof p, "%s/bad.jsonl", dir);
    FILE *f = fopen(p, "w");
    EXPECT(f != NULL);
    if (!f) return;
    fprintf(f, "{\"prompt\": \"1+1?\", \"answer\": \"2\"}\n{\"prompt\": \"2+2?\"}\n");
    fclose(f);
    int rc = runf(&o, "%s eval --model %s/m --data %s --k 2 --max-tokens 4", r1_bin(), dir, p);
    EXPECTF(rc != 0 && strstr(o.s, "bad.jsonl:2") && strstr(o.s, "answer"), "eval: %s", o.s);
    rc = runf(&o, "%s sample --model %s/m --data %s -n 2 --max-tokens 4 --out %s/x.jsonl", r1_bin(), dir, p, dir);
    EXPECTF(rc != 0 && strstr(o.s, "bad.jsonl:2"), "sample: %s", o.s);
    sb_free(&o);
}

int main(void) {
    if (setup() != 0) return TEST_EXIT();
    RUN(test_eval);
    RUN(test_sample);
    RUN(test_bad_data);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (getenv("KEEP")) return TEST_EXIT();
    if (system(cmd)) {}
    return TEST_EXIT();
}
