/* The reflection measure (src/rl/reflection.c) on hand-written chains of thought: equation chains,
 * self-check markers, repairs of slips, what does not count as a repair, and hostile text. And the
 * check/repair columns of r1 eval's metrics (src/rl/eval_metrics.c). */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/strbuf.h"
#include "rl/eval_metrics.h"
#include "rl/reflection.h"
#include "test.h"

static Reflection scan(const char *s) {
    Reflection r;
    reflection_scan(s, strlen(s), &r);
    return r;
}

/* chains, false chains, checks, repairs, unrepaired */
static int is(Reflection r, int chains, int false_chains, int checks, int repairs, int unrepaired) {
    return r.chains == chains && r.false_chains == false_chains && r.checks == checks && r.repairs == repairs &&
           r.unrepaired == unrepaired;
}

/* Text and what the scan counts in it: chains, false chains, checks, repairs, unrepaired. */
static const struct ScanCase {
    const char *text;
    int chains, false_chains, checks, repairs, unrepaired;
} SCANS[] = {
    /* equation chains */
    {"7*3=21, so 12+21-5.", 1, 0, 0, 0, 0},
    {"Subtract 5: 3x=26-5=21. Divide: x=21/3=7.", 2, 0, 0, 0, 0},
    {"7*3=22.", 1, 1, 0, 0, 1},
    {"23*17=23*10+23*7=230+161=392", 1, 1, 0, 0, 1},
    {"23*17=23*10+23*7=230+161=391", 1, 0, 0, 0, 0},
    {"check: 2*(-3)+5=-1", 1, 0, 1, 0, 0},
    {"f(3)=2*3+1=7 and 3 + 4 = 7", 2, 0, 0, 0, 0},   /* f(3) touches a letter; spaces inside */
    {"b=3-2=1. x=5.", 1, 0, 0, 0, 0},                 /* "x=5" has one evaluated part */
    {"7/2=3", 0, 0, 0, 0, 0},                         /* inexact division: not evaluated */
    {"99999999999999999999=1", 0, 0, 0, 0, 0},        /* overflow: not evaluated */
    {"-3-(-4)=1, 6/(1-1)=2", 1, 0, 0, 0, 0},
    {"no equations here, wait", 0, 0, 1, 0, 0},
    /* the corpus's slip and catch, English and Chinese */
    {"21-7=13, so 12+13. Wait, check: 21-7=14, not 13. So 12+14.\n12+14=26.", 3, 1, 1, 1, 0},
    {"二十一减七得十三：21-7=13，现在是 12+13。等等，检查：21-7=14，不是13。所以是 12+14。", 2, 1, 1, 1, 0},
    {"3x=26-5=20. Wait, check: 26-5=21, not 20. So 3x=21.", 2, 1, 1, 1, 0},
    {"23*17=392, so 8+392. Wait, check: 23*17=23*10+23*7=230+161=391, not 392.", 2, 1, 1, 1, 0},
    /* a check that confirms a right step repairs nothing */
    {"7*3=21, so 12+21. Wait, check: 21/3=7. Yes.", 2, 0, 1, 0, 0},
    /* "Wait, check:" is one check; two separate checks on a line are two */
    {"7*3=21. Wait, check: 21/3=7. Check again: 21-7-7=7.", 3, 0, 2, 0, 0},
    /* a check that confirms the slip: not repaired */
    {"7*3=22. Wait, check: 7*3=22. Yes.", 2, 2, 1, 0, 2},
    /* the right value without a check is a second computation, not a self-check */
    {"7*3=22. Then 7*3=21.", 2, 1, 0, 0, 1},
    /* a check of another step does not repair this one */
    {"7*3=22. Wait, check: 3*7=21.", 2, 1, 1, 0, 1},
    /* a check on the next line, and a slip inside the check that the same check repairs */
    {"40-13=28.\nWait, let me check: 40-13=27.", 2, 1, 1, 1, 0},
    {"Verify: 9*9=80, no, 9*9=81.", 2, 1, 1, 1, 0},
    /* one check repairs two slips of the same step: one repair */
    {"5+5=11. Again 5+5=12. Wait: 5+5=10.", 3, 2, 1, 1, 0},
    /* markers are words: "checkers" and "awaiting" are not checks, "Checking" is */
    {"awaiting 2+2=5", 1, 1, 0, 0, 1},
    {"Checking 2+2=4", 1, 0, 1, 0, 0},
    {"验算：2+2=4。验证：3+3=6。", 2, 0, 2, 0, 0},
};

static void test_chains_checks_and_repairs(void) {
    for (size_t i = 0; i < sizeof SCANS / sizeof SCANS[0]; i++) {
        const struct ScanCase *c = &SCANS[i];
        Reflection r = scan(c->text);
        EXPECTF(is(r, c->chains, c->false_chains, c->checks, c->repairs, c->unrepaired),
                "'%s': chains %d false %d checks %d repairs %d unrepaired %d", c->text, r.chains, r.false_chains,
                r.checks, r.repairs, r.unrepaired);
    }
}

static void test_completion_scan(void) {
    /* a completion: only the chain of thought counts */
    const char *comp = "<think>\n6*7=41. Wait, check: 6*7=42, not 41.\n</think>\n\n<answer>7*3=22 wait</answer>";
    Reflection r;
    reflection_scan_completion(comp, strlen(comp), &r);
    EXPECT(is(r, 2, 1, 1, 1, 0));
    reflection_scan_completion("", 0, &r);
    EXPECT(is(r, 0, 0, 0, 0, 0));
}

static void test_hostile(void) {
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    /* deep parentheses, long runs, markers everywhere, invalid UTF-8 */
    for (size_t i = 0; i < n; i++) s[i] = "((((1=2)))) wait \xe6\xa3\x80 9*9=81 \xff-"[i % 40];
    s[n] = 0;
    Reflection r;
    reflection_scan(s, n, &r);
    EXPECT(r.checks > 0 && r.chains > 0 && r.unrepaired >= 0 && r.unrepaired <= r.false_chains);
    memset(s, '(', n / 2);
    memset(s + n / 2, ')', n / 2);
    s[n / 2 - 1] = '1';
    s[n / 2] = '=';
    reflection_scan(s, n, &r);
    EXPECT(r.chains == 0);
    for (size_t i = 0; i < n; i++) s[i] = i % 2 ? '=' : '-';
    reflection_scan(s, n, &r);
    EXPECT(r.chains == 0);
    /* more pending slips than remembered: counts stay consistent */
    StrBuf b = {0};
    for (int i = 0; i < 200; i++) sb_printf(&b, "%d+1=%d. ", i, i + 2);
    sb_append(&b, "Wait, check: 0+1=1.");
    reflection_scan(b.s, b.len, &r);
    EXPECT(r.false_chains == 200 && r.repairs == 1 && r.unrepaired == 199);
    sb_free(&b);
    free(s);
}

/* r1 eval's columns: the share of samples that check, and of those the share that repair. */
static void test_eval_columns(void) {
    const char *comps[] = {
        "7*3=22, so 22+1. Wait, check: 7*3=21, not 22. So 21+1.\n21+1=22.\n</think>\n\n<answer>22</answer>",
        "7*3=21. Wait, check: 21/3=7. Yes.\n21+1=22.\n</think>\n\n<answer>22</answer>",
        "7*3=21.\n21+1=22.\n</think>\n\n<answer>22</answer>",
        "7*3=22.\n22+1=23.\n</think>\n\n<answer>23</answer>",
    };
    size_t lens[4];
    for (int i = 0; i < 4; i++) lens[i] = strlen(comps[i]);
    RewardParams rp;
    reward_params_default(&rp);
    EvalGroup g;
    eval_group("Compute 7*3+1.", "22", comps, lens, NULL, 4, 4, &rp, &g);
    EXPECT(g.n_checked == 2 && g.n_repaired == 1);
    EXPECT_NEAR(g.check, 0.5, 1e-12, 0);
    EXPECT_NEAR(g.repair, 0.5, 1e-12, 0);
    EvalGroup h;
    eval_group("Compute 7*3+1.", "22", comps + 2, lens + 2, NULL, 2, 2, &rp, &h);
    EXPECT(h.n_checked == 0 && h.repair == 0 && h.check == 0);
    /* pooled over groups: 1 repaired of 2 checked, not the mean of per-group shares */
    EvalReport rep;
    memset(&rep, 0, sizeof rep);
    rep.k = rep.k_pass = 4;
    eval_report_add(&rep, "arith", 1, &g);
    eval_report_add(&rep, "arith", 1, &h);
    EvalGroup m = eval_totals_mean(&rep.all);
    EXPECT_NEAR(m.repair, 0.5, 1e-12, 0);
    EXPECT_NEAR(m.check, 0.25, 1e-12, 0);
    cJSON *j = eval_report_json(&rep);
    const cJSON *all = cJSON_GetObjectItem(j, "all");
    EXPECT(cJSON_GetObjectItem(all, "self_check") && cJSON_GetObjectItem(all, "check_repairs") &&
           cJSON_GetObjectItem(all, "checked")->valuedouble == 2);
    cJSON_Delete(j);
}

int main(void) {
    RUN(test_chains_checks_and_repairs);
    RUN(test_completion_scan);
    RUN(test_hostile);
    RUN(test_eval_columns);
    return TEST_EXIT();
}
