/* `r1 generate` and `r1 chat` end to end, through the binary (env R1, default build/r1), on a
 * model folder made here: a 320-token byte-level BPE tokenizer trained by `r1 tokenizer train`
 * and a random model from `r1 init` (the c_yarn_mtp shape: q-LoRA, YaRN, grouped routing, MTP)
 * with vocab_size 320.
 *  - greedy output is reproducible; -n 3 gives three records (samples 0, 1, 2) with the fields;
 *  - seeded sampling gives the same JSONL at --threads 1 and 2, and another seed other text;
 *  - --speculative gives the greedy completions;
 *  - --prompts JSONL with "prompt" and "messages" lines; a bad line is reported as FILE:LINE;
 *  - bad input: invalid sampler flags, a prompt longer than --context (and --truncate-left),
 *    a folder without tokenizer.json, a tokenizer larger than the config's vocabulary;
 *  - chat: two turns, /reset and /exit from a pipe. */
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

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int setup(void) {
    snprintf(dir, sizeof dir, "/tmp/r1_test_infer_cli_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    return tu_cli_model(dir, 128);
}

static void test_generate(void) {
    StrBuf o = {0};
    char *a, *b;
    const char *G = tu_r1_bin();
    /* greedy, reproducible, three samples */
    int rc = tu_runf(&o, "%s generate --model %s/m --prompt 'what is two plus three' --temperature 0 -n 3 "
                     "--max-tokens 20 --out %s/g1.jsonl --logprobs", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    rc = tu_runf(&o, "%s generate --model %s/m --prompt 'what is two plus three' --temperature 0 -n 3 "
                 "--max-tokens 20 --out %s/g2.jsonl --logprobs --batch 1", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    a = tu_slurp(tu_path(dir, "g1.jsonl")); b = tu_slurp(tu_path(dir, "g2.jsonl"));
    EXPECT(count_lines(a) == 3 && strcmp(a, b) == 0);
    EXPECT(strstr(a, "\"sample\":2") && strstr(a, "\"completion\":") && strstr(a, "\"finish\":") &&
           strstr(a, "\"logprobs\":["));
    /* the three greedy samples are identical */
    {
        char *first = NULL;
        int same = 1, lines = 0;
        for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n"), lines++) {
            cJSON *rec = cJSON_Parse(line);
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(rec, "completion");
            if (!cJSON_IsString(c)) same = 0;
            else if (!first) first = xstrdup(c->valuestring);
            else same &= !strcmp(first, c->valuestring);
            cJSON_Delete(rec);
        }
        EXPECT(lines == 3 && same && first && *first);
        free(first);
    }
    free(b);
    /* speculative greedy = greedy */
    rc = tu_runf(&o, "%s generate --model %s/m --prompt 'what is two plus three' --temperature 0 -n 3 "
                 "--max-tokens 20 --out %s/g3.jsonl --logprobs --speculative", G, dir, dir);
    EXPECTF(rc == 0 && strstr(o.s, "MTP drafts accepted"), "%s", o.s);
    b = tu_slurp(tu_path(dir, "g3.jsonl"));
    EXPECT(strcmp(a, b) == 0);
    free(a); free(b);
    /* seeded sampling: threads 1 == threads 2; another seed differs */
    rc = tu_runf(&o, "%s generate --model %s/m --prompt 'the water' -n 4 --max-tokens 24 --seed 3 "
                 "--temperature 1 --top-p 0.9 --threads 1 --out %s/s1.jsonl", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    rc = tu_runf(&o, "%s generate --model %s/m --prompt 'the water' -n 4 --max-tokens 24 --seed 3 "
                 "--temperature 1 --top-p 0.9 --threads 2 --out %s/s2.jsonl", G, dir, dir);
    rc |= tu_runf(&o, "%s generate --model %s/m --prompt 'the water' -n 4 --max-tokens 24 --seed 4 "
                  "--temperature 1 --top-p 0.9 --threads 2 --out %s/s3.jsonl", G, dir, dir);
    EXPECTF(rc == 0, "%s", o.s);
    a = tu_slurp(tu_path(dir, "s1.jsonl")); b = tu_slurp(tu_path(dir, "s2.jsonl"));
    EXPECT(count_lines(a) == 4 && strcmp(a, b) == 0);
    free(b);
    b = tu_slurp(tu_path(dir, "s3.jsonl"));
    EXPECT(strcmp(a, b) != 0);
    free(a); free(b);
    sb_free(&o);
}

static void test_prompts_file(void) {
    StrBuf o = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/p.jsonl", dir);
    const char *good = "{\"prompt\": \"the day\"}\n\n{\"messages\": [{\"role\": \"system\", \"content\": \"be brief\"}, "
                       "{\"role\": \"user\", \"content\": \"what number\"}]}\n";
    Err e = {{0}};
    file_write_atomic(path, good, strlen(good), &e);
    int rc = tu_runf(&o, "%s generate --model %s/m --prompts %s --temperature 0 --max-tokens 8 --out %s/pp.jsonl",
                     tu_r1_bin(), dir, path, dir);
    EXPECTF(rc == 0, "%s", o.s);
    snprintf(path, sizeof path, "%s/pp.jsonl", dir);
    char *a = tu_slurp(path);
    EXPECT(count_lines(a) == 2 && strstr(a, "\"index\":1") && strstr(a, "be brief"));
    free(a);
    snprintf(path, sizeof path, "%s/bad.jsonl", dir);
    const char *bad = "{\"prompt\": \"ok\"}\n{\"text\": \"no prompt\"}\n";
    file_write_atomic(path, bad, strlen(bad), &e);
    rc = tu_runf(&o, "%s generate --model %s/m --prompts %s", tu_r1_bin(), dir, path);
    EXPECTF(rc != 0 && strstr(o.s, "bad.jsonl:2") && count_lines(o.s) == 1, "%s", o.s);
    sb_free(&o);
}

static void test_bad_input(void) {
    StrBuf o = {0};
    const char *G = tu_r1_bin();
    struct { const char *flags, *want; } cases[] = {
        {"--temperature -1", "--temperature"},
        {"--top-p 0", "--top-p"},
        {"--top-p 1.5", "--top-p"},
        {"--min-p 2", "--min-p"},
        {"--top-k -3", "--top-k"},
        {"--max-tokens 0", "--max-tokens"},
        {"-n 0", "-n"},
        {"--context 4", "--truncate-left"},
        {"--temperature 0.7 --speculative", "--speculative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tu_runf(&o, "%s generate --model %s/m --prompt 'the water of the day is five' %s", G, dir,
                         cases[i].flags);
        EXPECTF(rc != 0 && strstr(o.s, "r1: error: ") && strstr(o.s, cases[i].want) && count_lines(o.s) == 1,
                "%s -> %s", cases[i].flags, o.s);
    }
    int rc = tu_runf(&o, "%s generate --model %s/m --prompt 'the water of the day is five' --context 12 "
                     "--max-tokens 4 --truncate-left --temperature 0 --quiet", G, dir);
    EXPECTF(rc == 0, "%s", o.s);
    /* a folder without tokenizer.json; a tokenizer too big for the config */
    rc = tu_runf(&o, "mkdir -p %s/m2 && cp %s/m/config.json %s/m/model.safetensors %s/m2/ && "
                 "%s generate --model %s/m2 --prompt x", dir, dir, dir, dir, G, dir);
    EXPECTF(rc != 0 && strstr(o.s, "tokenizer.json") && count_lines(o.s) == 1, "%s", o.s);
    rc = tu_runf(&o, "%s tokenizer train --data %s/c.txt --vocab-size 400 --out %s/m2/tokenizer.json --quiet && "
                 "%s generate --model %s/m2 --prompt x", G, dir, dir, G, dir);
    EXPECTF(rc != 0 && strstr(o.s, "vocab_size") && count_lines(o.s) == 1, "%s", o.s);
    rc = tu_runf(&o, "mkdir -p %s/m3 && cp %s/m/config.json %s/m/tokenizer.json %s/m3/ && "
                 "%s generate --model %s/m3 --prompt x", dir, dir, dir, dir, G, dir);
    EXPECTF(rc != 0 && strstr(o.s, "m3") && strstr(o.s, "safetensors") && count_lines(o.s) == 1, "%s", o.s);
    rc = tu_runf(&o, "%s generate --model %s/nope --prompt x", G, dir);
    EXPECTF(rc != 0 && strstr(o.s, "nope") && count_lines(o.s) == 1, "%s", o.s);
    sb_free(&o);
}

static void test_chat(void) {
    StrBuf o = {0};
    int rc = tu_runf(&o, "printf 'what is two plus three\\nand five\\n/reset\\nthe day\\n/exit\\nnot read\\n' | "
                     "%s chat --model %s/m --max-tokens 12 --temperature 0", tu_r1_bin(), dir);
    EXPECTF(rc == 0 && strstr(o.s, "(conversation cleared)"), "%s", o.s);
    EXPECT(count_lines(o.s) >= 4);
    EXPECT(strstr(o.s, "\033[2m") == NULL);     /* not a terminal: no ANSI codes */
    sb_free(&o);
}

int main(void) {
    if (setup() != 0) { printf("FAIL setup\n"); return 1; }
    RUN(test_generate);
    RUN(test_prompts_file);
    RUN(test_bad_input);
    RUN(test_chat);
    return tu_finish(dir);
}
