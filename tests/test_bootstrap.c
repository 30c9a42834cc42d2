/* The percentile bootstrap of pipeline/bootstrap.h: exact cases (quantiles of known data, the
 * exact resampling distribution of integer-valued data, degenerate data), coverage of the point
 * estimate, determinism, and the same bits as a plain-Python reference (tools/ref_bootstrap.py). */
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/strbuf.h"
#include "io/json.h"
#include "pipeline/bootstrap.h"
#include "test.h"
#include "test_util.h"

static void test_quantiles_of_known_data(void) {
    const double x[5] = {1, 2, 3, 4, 5};
    EXPECT(quantile_sorted(x, 5, 0) == 1 && quantile_sorted(x, 5, 1) == 5 && quantile_sorted(x, 5, 0.5) == 3);
    EXPECT_NEAR(quantile_sorted(x, 5, 0.025), 1.1, 1e-12, 0);   /* h = 0.1 */
    EXPECT_NEAR(quantile_sorted(x, 5, 0.975), 4.9, 1e-12, 0);   /* h = 3.9 */
    const double one = 7;
    EXPECT(quantile_sorted(&one, 1, 0.025) == 7 && quantile_sorted(&one, 1, 0.975) == 7);
}

/* Equal values (every resample is the data), and a single problem: a zero-width interval at the
 * estimate, to the bit (0.1 is not a binary fraction: the sums must run the same way). */
static void test_degenerate_data(void) {
    double d[37];
    for (int i = 0; i < 37; i++) d[i] = 0.1;
    BootInterval iv = bootstrap_mean(d, 37, 500, 0.95, 1, 1);
    EXPECTF(iv.lo == iv.estimate && iv.hi == iv.estimate && iv.n == 37, "[%.17g, %.17g] around %.17g", iv.lo, iv.hi,
            iv.estimate);
    for (int i = 0; i < 37; i++) d[i] = 0;
    iv = bootstrap_mean(d, 37, 500, 0.95, 1, 1);
    EXPECT(iv.lo == 0 && iv.hi == 0 && iv.estimate == 0);
    double single = -0.5;
    iv = bootstrap_mean(&single, 1, 500, 0.95, 1, 1);
    EXPECT(iv.lo == -0.5 && iv.hi == -0.5 && iv.estimate == -0.5);
    /* {0, 1}: resample means 0, 1/2, 1 with chances 1/4, 1/2, 1/4, so both 2.5 % tails sit on the
     * extremes (500 of 2000 expected there, 51 needed) */
    const double two[2] = {0, 1};
    iv = bootstrap_mean(two, 2, 2000, 0.95, 1, 1);
    EXPECT(iv.lo == 0 && iv.hi == 1 && iv.estimate == 0.5);
}

/* The q-quantile of the mean of n draws from data whose values are integers in [-R, R], count[v+R]
 * of each among m: the exact bootstrap distribution of the resampled mean, by convolution. */
static double exact_mean_quantile(const int *count, int R, int n, double q) {
    const int span = 2 * R * n + 1, off = R * n;
    int m = 0;
    for (int v = 0; v <= 2 * R; v++) m += count[v];
    double *p = calloc((size_t)span, sizeof *p), *next = calloc((size_t)span, sizeof *next);
    p[off] = 1;
    for (int draw = 0; draw < n; draw++) {
        memset(next, 0, sizeof(double) * (size_t)span);
        for (int s = 0; s < span; s++)
            if (p[s] > 0)
                for (int v = -R; v <= R; v++)
                    if (count[v + R] && s + v >= 0 && s + v < span) next[s + v] += p[s] * count[v + R] / m;
        double *t = p; p = next; next = t;
    }
    double cdf = 0;
    int s = 0;
    for (; s < span - 1; s++) if ((cdf += p[s]) >= q) break;
    free(p);
    free(next);
    return (double)(s - off) / n;
}

/* The interval's ends of 20000 resamples of integer data (counts of -1, 0, 1) must sit between
 * the exact distribution's 1.5 % and 3.5 % quantiles (low end) and 96.5 % and 98.5 % (high end).
 * The empirical 2.5 % quantile of 20000 resamples strays from the exact one by about 0.1 % in
 * probability: the band is ten of those, and narrow enough that a 5 % tail falls outside it. */
static void expect_exact_interval(const int count[3], uint64_t key) {
    int n = count[0] + count[1] + count[2];
    double *d = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) d[i] = i < count[0] ? -1 : i < count[0] + count[1] ? 0 : 1;
    BootInterval iv = bootstrap_mean(d, n, 20000, 0.95, 7, key);
    EXPECT_NEAR(iv.estimate, (double)(count[2] - count[0]) / n, 1e-15, 0);
    double lo_min = exact_mean_quantile(count, 1, n, 0.015), lo_max = exact_mean_quantile(count, 1, n, 0.035);
    double hi_min = exact_mean_quantile(count, 1, n, 0.965), hi_max = exact_mean_quantile(count, 1, n, 0.985);
    EXPECTF(iv.lo >= lo_min && iv.lo <= lo_max, "lo %.4f outside the exact [%.4f, %.4f]", iv.lo, lo_min, lo_max);
    EXPECTF(iv.hi >= hi_min && iv.hi <= hi_max, "hi %.4f outside the exact [%.4f, %.4f]", iv.hi, hi_min, hi_max);
    double lo_5 = exact_mean_quantile(count, 1, n, 0.05);
    EXPECTF(lo_5 > lo_max, "the band [%.4f, %.4f] does not exclude the 5 %% quantile %.4f", lo_min, lo_max, lo_5);
    free(d);
}

/* Paired differences in {-1, 0, 1} (one checkpoint right where the other is wrong, and the
 * reverse), whose interval holds 0, and pass/fail data of one checkpoint (the binomial). */
static void test_matches_exact_resampling_distribution(void) {
    const int paired[3] = {50, 93, 57}, binary[3] = {0, 140, 60};
    expect_exact_interval(paired, 3);
    expect_exact_interval(binary, 4);
    EXPECT(exact_mean_quantile(paired, 1, 200, 0.015) < 0 && exact_mean_quantile(paired, 1, 200, 0.985) > 0);
}

/* Intervals of random data hold their estimate; the same inputs give the same bits; another key
 * (another comparison) draws other resamples. */
static void test_covers_estimate_and_is_deterministic(void) {
    double d[25];
    for (int t = 0; t < 20; t++) {
        Rng r = rng_make(99, RNG_TEST, (uint64_t)t, 0);
        for (int i = 0; i < 25; i++) d[i] = (double)rng_below(&r, 3) - 1 + 0.25 * rng_uniform(&r);
        BootInterval iv = bootstrap_mean(d, 25, 2000, 0.95, 5, (uint64_t)t);
        EXPECTF(iv.lo <= iv.estimate && iv.estimate <= iv.hi && iv.lo < iv.hi, "data %d: %.4f not in [%.4f, %.4f]", t,
                iv.estimate, iv.lo, iv.hi);
        BootInterval again = bootstrap_mean(d, 25, 2000, 0.95, 5, (uint64_t)t);
        EXPECT(again.estimate == iv.estimate && again.lo == iv.lo && again.hi == iv.hi && again.n == iv.n);
        BootInterval other = bootstrap_mean(d, 25, 2000, 0.95, 5, (uint64_t)t + 100);
        EXPECT(other.estimate == iv.estimate && (other.lo != iv.lo || other.hi != iv.hi));
    }
}

/* The C interval equals, to the bit, tools/ref_bootstrap.py's on the same data, seed and key. */
static void test_matches_python_reference(void) {
    SKIP_IF(tu_no_python("python", "json", "python3"));
    char dir[] = "/tmp/r1_bootstrap_XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    const int n = 40, B = 2000;
    double d[40];
    Rng r = rng_make(3, RNG_TEST, 77, 0);
    for (int i = 0; i < n; i++) d[i] = (double)((int)rng_below(&r, 5) - 2) / 4;   /* paired pass@1 differences, k = 4 */
    StrBuf in = {0};
    sb_append(&in, "{\"d\": [");
    for (int i = 0; i < n; i++) sb_printf(&in, "%s%.17g", i ? ", " : "", d[i]);
    sb_printf(&in, "], \"resamples\": %d, \"level\": 0.95, \"seed\": 1234, \"key\": 3}", B);
    char inp[256], outp[256], cmd[700];
    snprintf(inp, sizeof inp, "%s/in.json", dir);
    snprintf(outp, sizeof outp, "%s/out.json", dir);
    tu_put(inp, in.s);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/ref_bootstrap.py < %s > %s", inp, outp);
    EXPECT(system(cmd) == 0);
    Err e = {0};
    cJSON *ref = json_load_file(outp, &e);
    EXPECTF(ref != NULL, "%s", e.msg);
    BootInterval iv = bootstrap_mean(d, n, B, 0.95, 1234, 3);
    if (ref) {
        double est = cJSON_GetObjectItem(ref, "estimate")->valuedouble, lo = cJSON_GetObjectItem(ref, "lo")->valuedouble,
               hi = cJSON_GetObjectItem(ref, "hi")->valuedouble;
        EXPECTF(iv.estimate == est && iv.lo == lo && iv.hi == hi, "C %.17g [%.17g, %.17g] vs Python %.17g [%.17g, %.17g]",
                iv.estimate, iv.lo, iv.hi, est, lo, hi);
        EXPECT(iv.lo < iv.hi);
    }
    cJSON_Delete(ref);
    sb_free(&in);
    tu_rm_tree(dir);
}

int main(void) {
    RUN(test_quantiles_of_known_data);
    RUN(test_degenerate_data);
    RUN(test_matches_exact_resampling_distribution);
    RUN(test_covers_estimate_and_is_deterministic);
    RUN(test_matches_python_reference);
    return TEST_EXIT();
}
