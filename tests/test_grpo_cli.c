/* `r1 grpo` / `r1 zero` through the binary (env R1, default build/r1): bad options are one-line
 * errors before any work starts (no run folder is created), a model whose tokenizer lacks the
 * chat template's role tokens is refused for --prompt-format chat and accepted for plain, and a
 * random model's garbage completions (which break every answer parser) score 0 while training
 * goes on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "test.h"
#include "test_util.h"

static char dir[64] = "/tmp/r1_grpocli_XXXXXX";

static int setup(void) {
    if (!mkdtemp(dir)) return -1;
    return tu_cli_model(dir, 256);
}

/* Exactly one line of output, an "r1: error:" naming `want`. */
static int one_line_error(const char *out, const char *want) {
    const char *nl = strchr(out, '\n');
    return !strncmp(out, "r1: error: ", 11) && strstr(out, want) && (!nl || nl[1] == 0);
}

static void test_bad_options(void) {
    static const struct { const char *args, *want; } CASES[] = {
        {"--rewards accuracy:1,bogus:2", "unknown reward 'bogus'"},
        {"--rewards accuracy:x", "bad weight 'x'"},
        {"--num-generations 1", "--num-generations"},
        {"--num-generations 8 --generation-batch-size 30", "--generation-batch-size: 30"},
        {"--temperature 0", "--temperature"},
        {"--top-p 1.5", "--top-p"},
        {"--loss-type nosuch", "nosuch"},
        {"--level 7", "level: expected 1..5"},
        {"--eval-every -1", "--eval-every"},
    };
    StrBuf o = {0};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        int rc = tu_runf(&o, "%s grpo --model %s/m --out %s/bad%zu --task arith %s", tu_r1_bin(), dir, dir, i,
                         CASES[i].args);
        EXPECTF(rc != 0 && one_line_error(o.s, CASES[i].want), "%s: rc %d, output: %s", CASES[i].args, rc, o.s);
        char p[256];
        snprintf(p, sizeof p, "%s/bad%zu", dir, i);
        EXPECTF(!file_exists(p), "%s: the run folder was created", CASES[i].args);
    }
    sb_free(&o);
}

/* A copy of the model whose tokenizer.json has no <｜User｜>/<｜Assistant｜> tokens. */
static int model_without_role_tokens(const char *to) {
    StrBuf o = {0};
    int rc = tu_runf(&o, "rm -rf %s && cp -r %s/m %s", to, dir, to);
    sb_free(&o);
    if (rc) return -1;
    char p[256];
    snprintf(p, sizeof p, "%s/tokenizer.json", to);
    Err e = {{0}};
    cJSON *j = json_load_file(p, &e);
    if (!j) return -1;
    static const char *const ROLES[] = {"<｜User｜>", "<｜Assistant｜>"};
    cJSON *added = cJSON_GetObjectItem(j, "added_tokens");
    cJSON *vocab = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "vocab");
    int removed = 0;
    for (int r = 0; r < 2; r++) {
        for (int i = cJSON_GetArraySize(added) - 1; i >= 0; i--) {
            const cJSON *c = cJSON_GetObjectItem(cJSON_GetArrayItem(added, i), "content");
            if (cJSON_IsString(c) && !strcmp(c->valuestring, ROLES[r])) { cJSON_DeleteItemFromArray(added, i); removed++; }
        }
        cJSON_DeleteItemFromObjectCaseSensitive(vocab, ROLES[r]);
    }
    rc = removed == 2 ? json_save_file(j, p, &e) : -1;
    cJSON_Delete(j);
    return rc;
}

static void test_chat_tokens_and_garbage(void) {
    char nochat[128];
    snprintf(nochat, sizeof nochat, "%s/nochat", dir);
    EXPECT(model_without_role_tokens(nochat) == 0);
    StrBuf o = {0};
    int rc = tu_runf(&o, "%s grpo --model %s --out %s/o_chat --task arith --prompt-format chat --steps 1 "
                     "--prompts-per-step 2 --num-generations 2 --max-completion-length 8 --threads 1",
                     tu_r1_bin(), nochat, dir);
    EXPECTF(rc != 0 && one_line_error(o.s, "role tokens"), "rc %d: %s", rc, o.s);
    /* plain prompts need no role tokens; the untrained model's completions parse as nothing */
    rc = tu_runf(&o, "%s zero --model %s --out %s/o_plain --task arith --prompt-format plain --steps 2 "
                 "--prompts-per-step 2 --num-generations 2 --max-completion-length 8 --eval-every 0 --quiet --threads 1",
                 tu_r1_bin(), nochat, dir);
    EXPECTF(rc == 0, "rc %d: %s", rc, o.s);
    double acc[4];
    char run[128];
    snprintf(run, sizeof run, "%s/o_plain", dir);
    int n = tu_read_metric(run, "accuracy", acc, 4);
    EXPECTF(n == 2 && acc[0] == 0 && acc[1] == 0, "%d steps, accuracy %g %g", n, n > 0 ? acc[0] : -1, n > 1 ? acc[1] : -1);
    sb_free(&o);
}

int main(void) {
    if (setup() != 0) { printf("FAIL setup\n"); return 1; }
    RUN(test_bad_options);
    RUN(test_chat_tokens_and_garbage);
    return tu_finish(dir);
}
