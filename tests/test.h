/* A small test harness. Each tests/test_*.c is one binary whose main() calls RUN(fn) per test.
 * A test passes when none of its EXPECTs failed. Each test prints "PASS name" or
 * "FAIL name: file:line: why"; tests/run.sh adds them up across binaries and prints the closing
 * "N passed, N failed" line. A binary that crashes counts as a failure too.
 * A test whose outside oracle (Debian's torch, Node.js or an npm package, Chromium, a data file)
 * is missing ends with SKIP(why) (test_skip(why) and a return): it prints "SKIP name: why", which
 * run.sh counts apart and never as passed. A test never returns early without a SKIP or a failed
 * EXPECT.
 *
 * Include this header in exactly one .c file per test binary (it defines the harness state). */
#ifndef R1_TESTS_TEST_H
#define R1_TESTS_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failures_in_current;   /* EXPECT failures in the running test */
static int test_total_failed;          /* tests that failed in this binary */
static const char *test_current_name;
static char test_skip_why[1024];       /* set by test_skip()/SKIP in the running test */

#define EXPECT(cond) \
    do { if (!(cond)) test_fail(__FILE__, __LINE__, "%s", #cond); } while (0)
#define EXPECTF(cond, ...) \
    do { if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
/* |a - b| <= atol + rtol * |b| */
#define EXPECT_NEAR(a, b, atol, rtol) \
    do { double a_ = (a), b_ = (b); \
         if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_))) \
             test_fail(__FILE__, __LINE__, "%s = %.9g, expected %s = %.9g", #a, a_, #b, b_); } while (0)

/* Ends the running test (a return from the test function) as skipped, printf-style reason. */
#define SKIP(...) \
    do { test_skip(__VA_ARGS__); return; } while (0)
/* SKIP(why) when `why` (a reason, or NULL when the oracle is there) is not NULL. */
#define SKIP_IF(why) \
    do { const char *why_ = (why); if (why_) SKIP("%s", why_); } while (0)

static void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
#include <stdarg.h>
static void test_fail(const char *file, int line, const char *fmt, ...) {
    if (test_failures_in_current++ < 5) {   /* the first few reasons are enough */
        va_list ap;
        va_start(ap, fmt);
        fprintf(stdout, "  %s:%d: ", file, line);
        vfprintf(stdout, fmt, ap);
        fputc('\n', stdout);
        va_end(ap);
    }
}

/* Compares two float arrays elementwise with |a-b| <= atol + rtol*|b|; reports the worst index. */
static int expect_close_f32(const char *what, const float *a, const float *b, size_t n,
                            double atol, double rtol) __attribute__((unused));
static int expect_close_f32(const char *what, const float *a, const float *b, size_t n,
                            double atol, double rtol) {
    size_t worst = 0;
    double worst_excess = -1, max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double excess = d - (atol + rtol * fabs((double)b[i]));
        if (d > max_abs || isnan(d)) max_abs = d;
        if (excess > worst_excess || isnan(d)) { worst_excess = isnan(d) ? INFINITY : excess; worst = i; }
    }
    if (n > 0 && worst_excess > 0) {
        test_fail(__FILE__, __LINE__, "%s: [%zu] = %.9g vs %.9g (max |diff| %.3g, atol %.1g, rtol %.1g)",
                  what, worst, (double)a[worst], (double)b[worst], max_abs, atol, rtol);
        return 0;
    }
    return 1;
}

/* Marks the running test as skipped because its outside oracle (node, an npm package, torch...) is
 * missing: it prints "SKIP name: why" instead of PASS, and tests/run.sh counts it apart. Return
 * right after calling it. */
static void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void test_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(test_skip_why, sizeof test_skip_why, fmt, ap);
    va_end(ap);
    if (!test_skip_why[0]) snprintf(test_skip_why, sizeof test_skip_why, "no reason given");
}

#define RUN(fn) test_run(#fn, fn)
static void test_run(const char *name, void (*fn)(void)) __attribute__((unused));
static void test_run(const char *name, void (*fn)(void)) {
    test_current_name = name;
    test_failures_in_current = 0;
    test_skip_why[0] = 0;
    fn();
    if (test_failures_in_current) {   /* a failure before the SKIP still fails */
        printf("FAIL %s\n", name);
        test_total_failed++;
    } else if (test_skip_why[0]) {
        printf("SKIP %s: %s\n", name, test_skip_why);
    } else {
        printf("PASS %s\n", name);
    }
    fflush(stdout);
}

/* Return this from main(). */
#define TEST_EXIT() (test_total_failed ? 1 : 0)

#endif
