/* The readers of outside data files, on the shapes they accept and the inputs the fuzz targets
 * (fuzz/) found mishandled: error messages stay one line whatever they quote; RL prompts in the
 * {prompt, answer}, GSM8K and MATH shapes, malformed typed references refused; the records
 * `r1 score` and `r1 generate --prompts` read; SFT's truncated/dropped counts; a token cache whose
 * count wraps around the file size. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "infer/prompt.h"
#include "io/file.h"
#include "io/json.h"
#include "rl/rl_prompts.h"
#include "rl/score_record.h"
#include "test.h"
#include "test_util.h"
#include "train/sft_data.h"
#include "train/tokcache.h"

#define V3 "tests/fixtures/tokenizer/v3_pruned.tokenizer.json"
static Tokenizer *v3;   /* V3, loaded once by main */
static char dir[64] = "/tmp/r1_test_readers_XXXXXX";

static void test_error_is_one_line(void) {
    Err e = {{0}};
    err_set(&e, "messages[1].role: '%s' is bad", "a\nb\r\x1b");
    EXPECTF(!strcmp(e.msg, "messages[1].role: 'a\\nb\\r\\x1b' is bad"), "%s", e.msg);
    err_prefix(&e, "f.jsonl:%d", 3);
    EXPECTF(!strcmp(e.msg, "f.jsonl:3: messages[1].role: 'a\\nb\\r\\x1b' is bad"), "%s", e.msg);
    char big[3000];
    memset(big, '\n', sizeof big - 1);
    big[sizeof big - 1] = 0;
    err_set(&e, "%s", big);   /* escaping cannot overflow: the end is cut */
    EXPECT(strlen(e.msg) < sizeof e.msg && !strchr(e.msg, '\n') && !strncmp(e.msg, "\\n\\n", 4));
}

/* Reads `text` as a prompt file: 0, or -1 with the message in e. */
static int load_prompts(PromptSource *ps, const char *text, Err *e) {
    const char *p = tu_path(dir, "prompts.jsonl");
    tu_put(p, text);
    return prompt_source_file(ps, p, 1, e);
}

static void test_rl_prompt_shapes(void) {
    PromptSource ps;
    Err e = {{0}};
    int rc = load_prompts(&ps,
        "{\"prompt\": \"Compute 7+6.\", \"answer\": \"13\"}\n"
        "\n"
        "{\"question\": \"Pens?\", \"answer\": \"4 * 2 = <<4*2=8>>8\\n#### 8\"}\n"
        "{\"problem\": \"Add halves.\", \"solution\": \"$\\\\frac12+\\\\frac12=\\\\boxed{1}$ and \\\\boxed{\\\\frac{5}{6}}\"}\n"
        "{\"problem\": \"Interval?\", \"solution\": \"\\\\boxed{x}\", \"answer\": \"(-2,2)\"}\n", &e);
    EXPECTF(rc == 0 && ps.n_records == 4, "%s", e.msg);
    if (rc) return;
    const char *want_q[4] = {"Compute 7+6.", "Pens?", "Add halves.", "Interval?"};
    const char *want_r[4] = {"13", "8", "\\frac{5}{6}", "(-2,2)"};
    for (int i = 0; i < 4; i++)
        EXPECTF(!strcmp(ps.questions[i], want_q[i]) && !strcmp(ps.references[i], want_r[i]), "%d: '%s' '%s'", i,
                ps.questions[i], ps.references[i]);
    prompt_source_free(&ps);
    /* a MATH solution without \boxed{}, and a record without a question: file:line and the fields */
    EXPECT(load_prompts(&ps, "{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"problem\": \"p\", \"solution\": \"no box\"}\n", &e) != 0);
    EXPECTF(strstr(e.msg, "prompts.jsonl:2: record needs") && strstr(e.msg, "\\boxed{}"), "%s", e.msg);
    EXPECT(load_prompts(&ps, "{\"answer\": \"1\"}\n", &e) != 0 && strstr(e.msg, "prompts.jsonl:1: record needs"));
    EXPECT(load_prompts(&ps, "{\"prompt\": \"a\", \"answer\": \"1\"}\n{oops\n", &e) != 0);
    EXPECTF(strstr(e.msg, "prompts.jsonl:2: invalid JSON"), "%s", e.msg);
    EXPECT(load_prompts(&ps, "\n  \n", &e) != 0 && strstr(e.msg, "prompts.jsonl: no records"));
}

/* Typed references: a well-formed one loads as it is; one that does not parse, which no answer
 * could ever match (an unreachable prompt), or a program mapping an x to two values is refused by
 * file:line and key. */
static void test_typed_references(void) {
    PromptSource ps;
    Err e = {{0}};
    int rc = load_prompts(&ps, "{\"prompt\": \"f?\", \"answer\": \"program:1:3,2:5,-4:-7\"}\n"
                               "{\"prompt\": \"c?\", \"answer\": \"countdown:24:2,3,4\"}\n"
                               "{\"prompt\": \"e?\", \"answer\": \"exact:anything at all\"}\n", &e);
    EXPECTF(rc == 0 && ps.n_records == 3 && !strcmp(ps.references[0], "program:1:3,2:5,-4:-7"), "%s", e.msg);
    if (rc == 0) prompt_source_free(&ps);
    static const struct { const char *answer, *says; } bad[] = {
        {"program:tamps and gives away 250.", "'program:tamps and gives away 250.' is not a program reference"},
        {"program:1:2,x", "is not a program reference"},
        {"program:1:2,1:3", "maps one x to two values"},
        {"countdown:5", "'countdown:5' is not a countdown reference"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, "{\"prompt\": \"a\", \"answer\": \"1\"}\n{\"prompt\": \"b\", \"answer\": \"%s\"}\n",
                 bad[i].answer);
        EXPECTF(load_prompts(&ps, text, &e) != 0 && strstr(e.msg, "prompts.jsonl:2: key 'answer': ") &&
                    strstr(e.msg, bad[i].says), "%s: %s", bad[i].answer, e.msg);
    }
    /* the same answer to score */
    cJSON *j = cJSON_Parse("{\"completion\": \"c\", \"answer\": \"program:zz\"}");
    ScoreRecord r;
    EXPECTF(score_record_read(j, "completion", "answer", "prompt", &r, &e) != 0 &&
                !strcmp(e.msg, "key 'answer': 'program:zz' is not a program reference (program:X:Y,X:Y,...; 1 to 16 "
                               "integer cases)"), "%s", e.msg);
    cJSON_Delete(j);
}

static void test_score_records(void) {
    struct { const char *json, *completion, *answer, *prompt, *error; } cases[] = {
        {"{\"completion\": \"c\", \"answer\": \"13\", \"prompt\": \"p\"}", "c", "13", "p", NULL},
        {"{\"completion\": [{\"role\": \"assistant\", \"content\": \"x\"}], \"answer\": 42.0}", "x", "42", "", NULL},
        {"{\"completion\": \"c\", \"answer\": 0.5}", "c", "0.5", "", NULL},
        /* cJSON reads 1e400 as infinity: printed, not converted to an integer (undefined) */
        {"{\"completion\": \"c\", \"answer\": 1e400}", "c", "inf", "", NULL},
        {"{\"completion\": \"c\", \"answer\": 1e300}", "c", "1.0000000000000001e+300", "", NULL},
        {"{\"answer\": \"1\"}", NULL, NULL, NULL, "key 'completion': missing"},
        {"{\"completion\": 5, \"answer\": \"1\"}", NULL, NULL, NULL, "key 'completion': not a string"},
        {"{\"completion\": \"c\", \"answer\": [1]}", NULL, NULL, NULL, "key 'answer': not a string"},
        {"[1, 2]", NULL, NULL, NULL, "key 'completion': missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        ScoreRecord r;
        Err e = {{0}};
        int rc = score_record_read(j, "completion", "answer", "prompt", &r, &e);
        if (cases[i].error) {
            EXPECTF(rc != 0 && !strcmp(e.msg, cases[i].error), "%s: '%s'", cases[i].json, e.msg);
        } else {
            EXPECTF(rc == 0 && !strcmp(r.completion, cases[i].completion) && !strcmp(r.answer, cases[i].answer) &&
                    !strcmp(r.prompt, cases[i].prompt), "%s: %s", cases[i].json, rc ? e.msg : r.answer);
        }
        cJSON_Delete(j);
    }
}

static void test_generate_prompts(void) {
    Err e = {{0}};
    Tokenizer *tok = v3;
    const char *p = tu_path(dir, "gen.jsonl");
    tu_put(p, "{\"prompt\": \"Hi\"}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n");
    PromptRec *ps = NULL;
    int n = 0;
    EXPECTF(prompt_read_jsonl(p, tok, 0, &ps, &n, &e) == 0 && n == 2, "%s", e.msg);
    if (n == 2) {   /* the same conversation either way */
        EXPECT(ps[0].n == ps[1].n && !memcmp(ps[0].ids, ps[1].ids, sizeof(int) * (size_t)ps[0].n));
        EXPECT(!strcmp(ps[0].text, "Hi") && ps[1].text[0] == '[');
    }
    prompt_recs_free(ps, n);
    static const char *const BAD[][2] = {
        {"{\"prompt\": \"a\"}\n{\"messages\": []}\n", "gen.jsonl:2: \"messages\" is empty"},
        {"{\"messages\": [{\"role\": \"user\"}]}\n", "gen.jsonl:1: messages[0] needs string \"role\" and \"content\""},
        {"{\"messages\": [{\"role\": \"x\\ny\", \"content\": \"c\"}]}\n", "gen.jsonl:1: messages[0].role: 'x\\ny' is not"},
        {"{\"text\": \"a\"}\n", "gen.jsonl:1: needs a string \"prompt\" or a \"messages\" array"},
        {"\n\n", "gen.jsonl: no prompts"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        tu_put(p, BAD[i][0]);
        ps = NULL;
        n = 0;
        EXPECT(prompt_read_jsonl(p, tok, 0, &ps, &n, &e) != 0);
        EXPECTF(strstr(e.msg, BAD[i][1]) && !strchr(e.msg, '\n'), "want '%s': '%s'", BAD[i][1], e.msg);
    }
}

/* An example cut to the row length and then dropped (its prompt fills the row) counts as dropped
 * only; a role quoted in an error stays on one line. */
static void test_sft_counts(void) {
    Err e = {{0}};
    Tokenizer *tok = v3;
    const char *p = tu_path(dir, "sft.jsonl");
    StrBuf long_prompt = {0};
    for (int i = 0; i < 40; i++) sb_append(&long_prompt, "word ");
    StrBuf text = {0};
    sb_printf(&text, "{\"prompt\": \"%s\", \"completion\": \"ok\"}\n{\"prompt\": \"Hi\", \"completion\": \"%s\"}\n"
                     "{\"prompt\": \"Hi\", \"completion\": \"ok\"}\n", long_prompt.s, long_prompt.s);
    tu_put(p, text.s);
    SftSet s = {0};
    SftDataOptions o = {.seq_len = 24, .drop_long = 0};
    EXPECTF(sft_load_jsonl(&s, tok, p, &o, &e) == 0, "%s", e.msg);
    EXPECTF(s.n == 2 && s.dropped == 1 && s.truncated == 1, "%d kept, %lld dropped, %lld truncated", s.n,
            (long long)s.dropped, (long long)s.truncated);
    sft_set_free(&s);
    tu_put(p, "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"a\\nb\", \"content\": \"c\"}]}\n");
    EXPECT(sft_load_jsonl(&s, tok, p, &o, &e) != 0);
    EXPECTF(strstr(e.msg, "sft.jsonl:1: the last message must be the assistant's (got role \"a\\nb\")"), "%s", e.msg);
    sft_set_free(&s);
    sb_free(&text);
    sb_free(&long_prompt);
}

/* A token cache header whose count times 4 wraps around to the file size is refused. */
static void test_token_cache_count_wraps(void) {
    unsigned char buf[64 + 12] = "R1TOKS01";
    uint32_t version = 1, eos = 1;
    uint64_t header = 64, hash = 0x1234, sources = 0, n_tokens = (1ull << 62) + 3, docs = 1, bad = 0;
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 12, &eos, 4);
    memcpy(buf + 16, &header, 8);
    memcpy(buf + 24, &hash, 8);
    memcpy(buf + 32, &sources, 8);
    memcpy(buf + 40, &n_tokens, 8);
    memcpy(buf + 48, &docs, 8);
    memcpy(buf + 56, &bad, 8);
    const char *p = tu_path(dir, "tokens.bin");
    Err e = {{0}};
    CHECK(file_write_atomic(p, buf, sizeof buf, &e) == 0);
    TokFile f;
    EXPECT(tokfile_open(&f, p, &e) != 0);
    EXPECTF(strstr(e.msg, "not a token cache of this version, or truncated"), "%s", e.msg);
    n_tokens = 3;   /* the same file with the right count opens */
    memcpy(buf + 40, &n_tokens, 8);
    CHECK(file_write_atomic(p, buf, sizeof buf, &e) == 0);
    EXPECTF(tokfile_open(&f, p, &e) == 0 && f.n_tokens == 3, "%s", e.msg);
    tokfile_close(&f);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    Err e = {{0}};
    v3 = tokenizer_load(V3, &e);
    CHECKF(v3 != NULL, "%s", e.msg);
    RUN(test_error_is_one_line);
    RUN(test_rl_prompt_shapes);
    RUN(test_typed_references);
    RUN(test_score_records);
    RUN(test_generate_prompts);
    RUN(test_sft_counts);
    RUN(test_token_cache_count_wraps);
    tokenizer_free(v3);
    return tu_finish(dir);
}
