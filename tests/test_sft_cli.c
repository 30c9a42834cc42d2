/* `r1 sft` and `r1 distill` through the binary (env R1, default build/r1): a short run writes the
 * model folder (tokenizer copied), metrics and checkpoints; bad records and a student with routed
 * experts are one-line errors with a non-zero exit. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "test.h"
#include "test_util.h"

static char dir[64] = "/tmp/r1_sftcli_XXXXXX";

static int write_cfg(const char *path, int moe) {
    const char *s = moe ? TU_TINY_MOE_CFG : TU_TINY_DENSE_CFG;
    Err e;
    return file_write_atomic(path, s, strlen(s), &e);
}

static int setup(void) {
    if (!mkdtemp(dir)) return -1;
    StrBuf o = {0};
    const char *r = tu_r1_bin();
    int rc = tu_runf(&o, "%s data make --task=arith --level=1 --n=300 --format=pretrain --seed=1 --out=%s/pt.jsonl "
                      "--text-out=%s/pt.txt", r, dir, dir);
    if (rc == 0) rc = tu_runf(&o, "%s data make --task=arith --level=1 --n=40 --format=sft --seed=2 --out=%s/sft.jsonl", r, dir);
    if (rc == 0) rc = tu_runf(&o, "%s tokenizer train --data=%s/pt.txt --vocab-size=300 --out=%s/tok/tokenizer.json --quiet", r, dir, dir);
    char p[256];
    snprintf(p, sizeof p, "%s/dense.json", dir);
    if (rc == 0) rc = write_cfg(p, 0);
    snprintf(p, sizeof p, "%s/moe.json", dir);
    if (rc == 0) rc = write_cfg(p, 1);
    if (rc == 0) rc = tu_runf(&o, "%s init --config=%s/moe.json --seed=1 --out=%s/base && cp %s/tok/* %s/base/", r, dir, dir, dir, dir);
    if (rc) printf("  setup: %s\n", o.s);
    sb_free(&o);
    return rc;
}

static void test_sft_run(void) {
    StrBuf o = {0};
    int rc = tu_runf(&o, "%s sft --model=%s/base --data=%s/sft.jsonl --out=%s/run --steps=4 --batch=2 --seq-len=96 "
                      "--val-frac=0.1 --eval-every=2 --eval-samples=2 --eval-max-new=8 --threads=1", tu_r1_bin(), dir, dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "sft: 40 examples (4 held out"), "%s", o.s);
    char p[256];
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                           "checkpoints/step-4/trainer_state/state.json"};
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/run/%s", dir, files[i]);
        EXPECTF(file_exists(p), "%s", p);
    }
    snprintf(p, sizeof p, "%s/run/metrics.jsonl", dir);
    Err e;
    char *m = file_read_all(p, NULL, &e);
    int lines = 0, evals = 0;
    for (char *s = m; s && (s = strchr(s, '\n')); s++) lines++;
    for (char *s = m; s && (s = strstr(s, "\"val_loss\"")); s++) evals++;
    EXPECTF(lines == 4 && evals == 2 && strstr(m, "\"accuracy\""), "%d lines, %d evals", lines, evals);
    free(m);
    sb_free(&o);
}

static void test_errors(void) {
    StrBuf o = {0};
    const char *p = tu_path(dir, "bad.jsonl");
    tu_put(p, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"text\":\"x\"}\n");
    int rc = tu_runf(&o, "%s sft --model=%s/base --data=%s --out=%s/bad --steps=1 --seq-len=96", tu_r1_bin(), dir, p, dir);
    char want[300];
    snprintf(want, sizeof want, "r1: error: %s:2: record has no \"messages\"", p);
    EXPECTF(rc != 0 && strstr(o.s, want) && strchr(o.s, '\n') == o.s + o.len - 1, "%s", o.s);
    /* a bad option is named alone */
    rc = tu_runf(&o, "%s sft --model=%s/base --data=%s --out=%s/bad --steps=1 --eval-max-new=-1", tu_r1_bin(), dir, p, dir);
    EXPECTF(rc != 0 && !strcmp(o.s, "r1: error: --eval-max-new: must be >= 0 (got -1)\n"), "%s", o.s);
    rc = tu_runf(&o, "%s distill --data=%s/sft.jsonl --student-config=%s/moe.json --tokenizer=%s/tok/tokenizer.json "
                  "--out=%s/st --steps=1 --seq-len=96", tu_r1_bin(), dir, dir, dir, dir);
    EXPECTF(rc != 0 && strstr(o.s, "r1: error: ") && strstr(o.s, "moe.json") && strstr(o.s, "dense") &&
                strchr(o.s, '\n') == o.s + o.len - 1, "%s", o.s);
    rc = tu_runf(&o, "%s distill --data=%s/sft.jsonl --student-config=%s/dense.json --tokenizer=%s/tok/tokenizer.json "
                  "--out=%s/st --steps=2 --batch=2 --seq-len=96 --quiet", tu_r1_bin(), dir, dir, dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "distill: 40 examples"), "%s", o.s);
    sb_free(&o);
}

int main(void) {
    if (setup() != 0) { printf("FAIL setup\n"); return 1; }
    RUN(test_sft_run);
    RUN(test_errors);
    return tu_finish(dir);
}
