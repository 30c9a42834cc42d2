/* The program task's language (src/tasks/program_lang.c) against hand-written programs, its
 * bounds on hostile text, and the task's references: hidden cases catch a program that only
 * fits the shown pairs. */
#include <stdlib.h>
#include <string.h>

#include "rl/verify.h"
#include "tasks/program_lang.h"
#include "tasks/task.h"
#include "test.h"

/* 1 when src compiles and gives want at x. */
static int runs_to(const char *src, long long x, long long want) {
    Program p;
    long long y;
    return !prog_compile(src, strlen(src), &p) && !prog_run(&p, x, &y) && y == want;
}

static int compiles(const char *src) {
    Program p;
    return prog_compile(src, strlen(src), &p) == 0;
}

static void test_language(void) {
    static const struct { const char *src; long long x, y; } OK[] = {
        {"2x+1", 3, 7},          {"2*x+1", 3, 7},        {"f(x)=2x+1", 3, 7},     {"f (x) = 2x + 1", 3, 7},
        {"y = 2x + 1", 3, 7},    {"$2x+1$", 3, 7},       {"2x+1.", 3, 7},         {"x^2+3x-2", 2, 8},
        {"x**2", -4, 16},        {"-x^2", 3, -9},        {"(-x)^2", 3, 9},        {"(x+1)(x-1)", 5, 24},
        {"3(x+1)", 2, 9},        {"x(x+1)", 4, 20},      {"2 \xc3\x97 x", 6, 12}, {"2\\cdot x", 6, 12},
        {"\xe2\x88\x92x", 4, -4}, {"--x", 4, 4},         {"x^0", 9, 1},           {"0", 5, 0},
        {"7", -3, 7},            {"x-3-2", 10, 5},       {"2-x*3", 4, -10},       {"10^12", 0, 1000000000000LL},
        {"x^2-5x+13", -1, 19},   {"-3x^2+x-(4-x)", 2, -12},
    };
    for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++)
        EXPECTF(runs_to(OK[i].src, OK[i].x, OK[i].y), "'%s' at %lld should be %lld", OK[i].src, OK[i].x, OK[i].y);
    static const char *const BAD[] = {
        "",        " ",        "x/2",     "2x+",      "x^",      "x^17",    "x^-1",     "(x",
        "x)",      "2 3",      "a+1",     "1e3",      "x=2",     "sin(x)",  "x%2",      "2x+1 and more",
        "x^2^3",   "f(x)=",    "1000000000000x", "2,5", "x;x",   "$",       "f(y)=y",   "x!",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) EXPECTF(!compiles(BAD[i]), "'%s' compiled", BAD[i]);
}

static void test_bounds(void) {
    Program p;
    long long y;
    /* values past ±10^12 fail on that input only */
    EXPECT(prog_compile("x^16", 4, &p) == 0 && prog_run(&p, 5, &y) == 0 && y == 152587890625LL);
    EXPECT(prog_run(&p, 6, &y) == -1);
    EXPECT(prog_compile("999999999999*999999999999", 25, &p) == 0 && prog_run(&p, 0, &y) == -1);
    EXPECT(!runs_to("x*x*x*x", 1000000, 0));
    EXPECT(prog_compile("10^12+1", 7, &p) == 0 && prog_run(&p, 0, &y) == -1);
    EXPECT(prog_compile("-(10^12)-1", 10, &p) == 0 && prog_run(&p, 0, &y) == -1);
    /* length, nesting and operation count */
    char buf[1200];
    memset(buf, 'x', PROG_MAX_LEN);
    buf[PROG_MAX_LEN] = 0;
    EXPECT(!compiles(buf));                 /* 256 x's: 511 operations */
    buf[PROG_MAX_LEN - 1] = 0;
    EXPECT(!compiles(buf));
    memset(buf, 'x', 100);
    buf[100] = 0;
    EXPECT(compiles(buf));                  /* 100 x's: x^100, which overflows when run */
    EXPECT(!runs_to(buf, 2, 0) && runs_to(buf, 1, 1));
    memset(buf, ' ', 300);
    buf[0] = 'x';
    buf[300] = 0;
    EXPECT(!compiles(buf));                 /* longer than PROG_MAX_LEN */
    int k = 0;
    for (int i = 0; i < 33; i++) buf[k++] = '(';
    buf[k++] = 'x';
    for (int i = 0; i < 33; i++) buf[k++] = ')';
    buf[k] = 0;
    EXPECT(!compiles(buf));
    k = 0;
    for (int i = 0; i < 32; i++) buf[k++] = '(';
    buf[k++] = 'x';
    for (int i = 0; i < 32; i++) buf[k++] = ')';
    buf[k] = 0;
    EXPECT(runs_to(buf, 3, 3));
    memset(buf, '-', 250);
    memcpy(buf + 250, "x", 2);
    EXPECT(runs_to(buf, 3, 3));             /* 250 signs: no recursion */
}

static void test_cases_and_reference(void) {
    long long xs[PROG_MAX_CASES], ys[PROG_MAX_CASES];
    EXPECT(prog_parse_cases("1:3,2:5", 7, xs, ys) == 2 && xs[1] == 2 && ys[1] == 5);
    EXPECT(prog_parse_cases("-4:-7", 5, xs, ys) == 1 && xs[0] == -4 && ys[0] == -7);
    static const char *const BAD[] = {"", "1:3,", "1:3;2:5", "1", "1:", ":3", "1:99999999999999", "1:3,,2:5",
                                      "1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2,1:2", "a:b"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        EXPECTF(prog_parse_cases(BAD[i], strlen(BAD[i]), xs, ys) == -1, "'%s' parsed", BAD[i]);
    const char *ref = "program:1:3,2:5,3:7,10:21,-4:-7";
    size_t rn = strlen(ref);
    EXPECT(verify_reference("2x+1", 4, ref, rn));
    EXPECT(verify_reference(" f(x) = 1 + 2*x ", 16, ref, rn));
    EXPECT(verify_reference("x+x+1", 5, ref, rn));
    EXPECT(!verify_reference("2x+2", 4, ref, rn));
    EXPECT(!verify_reference("21", 2, ref, rn));
    /* fits the shown pairs (1, 2, 3), fails the hidden ones */
    const char *overfit = "2x+1+(x-1)(x-2)(x-3)";
    EXPECT(!verify_reference(overfit, strlen(overfit), ref, rn));
    EXPECT(verify_reference(overfit, strlen(overfit), "program:1:3,2:5,3:7", 19));
    EXPECT(!verify_reference("2x+1", 4, "program:", 8));
    EXPECT(!verify_reference("2x+1", 4, "program:1:3,", 12));
    const char *done = "Differences: 2.\n</think>\n\n<answer>2x+1</answer>";
    EXPECT(verify_completion(done, strlen(done), ref, rn, VERIFY_DEFAULT));
    const char *boxed = "so \\boxed{2x+1}";
    EXPECT(verify_completion(boxed, strlen(boxed), ref, rn, VERIFY_DEFAULT));
}

/* Generated problems: the answer passes the hidden cases too, which the prompt does not show,
 * and the program that only interpolates the shown pairs with an extra product fails. */
static void test_generated(void) {
    for (int level = 1; level <= 5; level++)
        for (int i = 0; i < 300; i++) {
            TaskOpts o = {level, (TaskLang)(i % 2), 0.5, (TaskSplit)(i % 3 == 0)};
            Problem p;
            Err e = {0};
            EXPECT(task_make("program", 77, (uint64_t)i, &o, &p, &e) == 0);
            long long xs[PROG_MAX_CASES], ys[PROG_MAX_CASES];
            int n = prog_parse_cases(p.reference.s + 8, p.reference.len - 8, xs, ys);
            int shown = level >= 4 ? 4 : 3;
            EXPECTF(n == shown + 4, "%s", p.reference.s);
            EXPECT(prog_check(p.final.s, p.final.len, p.reference.s + 8, p.reference.len - 8));
            StrBuf over = {0}, probe = {0};
            sb_printf(&over, "%s", p.final.s);
            for (int k = 0; k < shown; k++) sb_printf(&over, "%s(x-(%lld))", k ? "" : "+", xs[k]);
            EXPECTF(!verify_reference(over.s, over.len, p.reference.s, p.reference.len), "%s passes %s", over.s,
                    p.reference.s);
            for (int k = 0; k < shown; k++) {
                sb_clear(&probe);
                sb_printf(&probe, "f(%lld)=%lld", xs[k], ys[k]);
                EXPECTF(strstr(p.prompt.s, probe.s) != NULL, "'%s' not in '%s'", probe.s, p.prompt.s);
            }
            for (int k = shown; k < n; k++) {
                sb_clear(&probe);
                sb_printf(&probe, "f(%lld)=", xs[k]);
                EXPECTF(strstr(p.prompt.s, probe.s) == NULL, "hidden case %lld shown in '%s'", xs[k], p.prompt.s);
            }
            sb_free(&over);
            sb_free(&probe);
            problem_free(&p);
            if (test_failures_in_current > 5) return;
        }
}

int main(void) {
    RUN(test_language);
    RUN(test_bounds);
    RUN(test_cases_and_reference);
    RUN(test_generated);
    return TEST_EXIT();
}
