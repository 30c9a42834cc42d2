/* Evaluation metrics (src/rl/eval_metrics.c): pass@k against the closed form, majority vote with
 * equivalent spellings, and a whole group by hand. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "rl/eval_metrics.h"
#include "test.h"

static double binom(int n, int k) {
    if (k < 0 || k > n) return 0;
    double r = 1;
    for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
    return r;
}

static void test_pass_at_k(void) {
    for (int n = 1; n <= 20; n++)
        for (int c = 0; c <= n; c++)
            for (int k = 1; k <= n; k++)
                EXPECT_NEAR(pass_at_k(n, c, k), 1.0 - binom(n - c, k) / binom(n, k), 1e-12, 1e-12);
    EXPECT_NEAR(pass_at_k(8, 2, 1), 0.25, 1e-15, 0);   /* pass@1 is the mean */
    EXPECT(pass_at_k(8, 0, 8) == 0.0 && pass_at_k(8, 1, 8) == 1.0);
    /* large n does not overflow */
    double v = pass_at_k(1000, 10, 64);
    EXPECT(v > 0.4 && v < 0.5);
}

static Span s(const char *t) { return (Span){t, t ? strlen(t) : 0}; }

static void test_majority(void) {
    Span a[] = {s("5"), s("6"), s("\\frac{10}{2}"), s(NULL), s("6"), s("5.0")};
    int votes;
    int m = majority_vote(a, 6, &votes);
    EXPECT(m == 0 && votes == 3);   /* 5, 10/2 and 5.0 vote together */
    Span b[] = {s("7"), s("8"), s("8"), s("7")};
    EXPECT(majority_vote(b, 4, &votes) == 0 && votes == 2);   /* tie: first seen */
    Span c[] = {s(NULL), s(NULL)};
    EXPECT(majority_vote(c, 2, &votes) == -1 && votes == 0);
}

static void test_group(void) {
    RewardParams p;
    reward_params_default(&p);
    const char *comps[] = {
        "3+4=7\n</think>\n\n<answer>7</answer>",
        "3+4=8\n</think>\n\n<answer>8</answer>",
        "seven</think><answer>7</answer>",
        "no answer",
    };
    size_t lens[4];
    for (int i = 0; i < 4; i++) lens[i] = strlen(comps[i]);
    EvalGroup g;
    eval_group("Compute 3+4.", "7", comps, lens, NULL, 4, 2, &p, &g);
    EXPECT(g.n_correct == 2);
    EXPECT_NEAR(g.pass1, 0.5, 1e-15, 0);
    EXPECT_NEAR(g.pass_k, 1.0 - binom(2, 2) / binom(4, 2), 1e-12, 0);
    EXPECT(g.cons == 1.0);
    EXPECT_NEAR(g.format, 0.75, 1e-15, 0);
    EXPECT_NEAR(g.length, (double)(lens[0] + lens[1] + lens[2] + lens[3]) / 4, 1e-12, 0);
    /* the majority wrong -> cons 0 even though pass@1 > 0 */
    const char *comps2[] = {"</think><answer>8</answer>", "</think><answer>8</answer>", "</think><answer>7</answer>"};
    size_t lens2[3];
    for (int i = 0; i < 3; i++) lens2[i] = strlen(comps2[i]);
    long toks[3] = {10, 20, 30};
    eval_group("Compute 3+4.", "7", comps2, lens2, toks, 3, 3, &p, &g);
    EXPECT(g.cons == 0.0 && g.n_correct == 1 && g.pass_k == 1.0);
    EXPECT_NEAR(g.length, 20.0, 0, 0);
    EvalTotals t = {0};
    eval_totals_add(&t, &g);
    g.pass1 = 1;
    eval_totals_add(&t, &g);
    EvalGroup m = eval_totals_mean(&t);
    EXPECT_NEAR(m.pass1, (1.0 / 3 + 1) / 2, 1e-12, 0);
}

static void test_thinks(void) {
    static const struct { const char *s; int want; } CASES[] = {
        {"12+7=19.\n</think>\n\n<answer>19</answer>", 1},     /* prompt opened the think block */
        {"<think>\n12+7=19.\n</think><answer>19</answer>", 1}, /* opened by the policy */
        {"\n</think>\n\n<answer>19</answer>", 0},               /* empty: the direct answer */
        {"<think>\n \n</think>\n\n<answer>19</answer>", 0},
        {"<answer>19</answer>", 1},                               /* no think block: text counts */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        EXPECTF(completion_thinks(CASES[i].s, strlen(CASES[i].s)) == CASES[i].want, "case %zu", i);
}

static void test_report(void) {
    EvalReport *r = xcalloc(1, sizeof *r);
    r->k = 4;
    r->k_pass = 2;
    EvalGroup a = {1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0, 4, 0, 0, 0, 0}, b = {0.5, 0.8, 0.0, 0.5, 1.0, 30.0, 0.0, 2, 0, 0, 0, 0};
    eval_report_add(r, "arith", 2, &a);
    eval_report_add(r, "arith", 2, &b);
    eval_report_add(r, "countdown", 1, &b);
    EXPECT(r->n_rows == 2 && r->all.groups == 3 && r->rows[0].totals.groups == 2);
    cJSON *j = eval_report_json(r);
    cJSON *row0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rows"), 0);
    EXPECT_NEAR(cJSON_GetObjectItem(row0, "pass@1")->valuedouble, 0.75, 1e-12, 0);
    EXPECT_NEAR(cJSON_GetObjectItem(row0, "pass@2")->valuedouble, 0.9, 1e-12, 0);
    EXPECT_NEAR(cJSON_GetObjectItem(row0, "length")->valuedouble, 20.0, 1e-12, 0);
    EXPECT_NEAR(cJSON_GetObjectItem(row0, "think")->valuedouble, 0.5, 1e-12, 0);
    EXPECT_NEAR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "all"), "cons@4")->valuedouble, 1.0 / 3, 1e-12, 0);
    cJSON_Delete(j);
    char buf[2048] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    eval_report_print(r, f);
    fclose(f);
    EXPECTF(strstr(buf, "pass@2") && strstr(buf, "cons@4") && strstr(buf, "countdown") && strstr(buf, "\nall "), "%s", buf);
    free(r);
}

/* Per-problem entries: ids are FNV-1a 64 of question, zero byte, reference (values from Python's
 * own FNV-1a over those bytes), columns in the order added. */
static void test_problems(void) {
    EvalProblems p = {0};
    EvalGroup a = {1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0, 4, 0, 0, 0, 0}, b = {0.5, 0.8, 0.0, 0.5, 0.25, 30.0, 0.0, 2, 0, 0, 0, 0};
    for (int i = 0; i < 70; i++) eval_problems_add(&p, i == 0 ? "What is 2+3?" : i == 1 ? "a" : "", i < 2 ? (i ? "" : "5") : NULL,
                                                   i % 2 ? &b : &a);
    EXPECT(p.n == 70);
    EXPECTF(!strcmp(p.id[0], "6e23d517310d3615") && !strcmp(p.id[1], "089be207b544f1e4") &&
            !strcmp(p.id[2], "af63bd4c8601b7df"), "%s %s %s", p.id[0], p.id[1], p.id[2]);
    cJSON *made = eval_problems_json(&p, 4);   /* exact numbers: raw text until read back */
    char *text = cJSON_PrintUnformatted(made);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON_Delete(made);
    EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "id")) == 70 && cJSON_GetArraySize(cJSON_GetObjectItem(j, "pass@1")) == 70);
    EXPECT(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "pass@1"), 69)->valuedouble == 0.5);
    EXPECT(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "cons@4"), 68)->valuedouble == 1.0);
    EXPECT(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "language"), 1)->valuedouble == 0.25);
    EXPECT(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "length"), 1)->valuedouble == 30.0);
    EXPECT(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "think"), 0)->valuedouble == 1.0 &&
           cJSON_GetArrayItem(cJSON_GetObjectItem(j, "format"), 1)->valuedouble == 0.5);
    cJSON_Delete(j);
    eval_problems_free(&p);
}

int main(void) {
    RUN(test_pass_at_k);
    RUN(test_majority);
    RUN(test_group);
    RUN(test_thinks);
    RUN(test_report);
    RUN(test_problems);
    return TEST_EXIT();
}
