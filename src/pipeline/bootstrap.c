/* The percentile bootstrap of a mean (bootstrap.h). */
#include "pipeline/bootstrap.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/rng.h"

double quantile_sorted(const double *x, int n, double q) {
    CHECK(n >= 1 && q >= 0 && q <= 1);
    double h = (double)(n - 1) * q;
    int j = (int)floor(h);
    if (j >= n - 1) return x[n - 1];
    return x[j] + (h - (double)j) * (x[j + 1] - x[j]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The mean of n values in index order: the same sum, the same bits, every time. */
static double mean(const double *d, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += d[i];
    return s / n;
}

BootInterval bootstrap_mean(const double *d, int n, int resamples, double level, uint64_t seed, uint64_t key) {
    CHECK(n >= 1 && resamples >= 2 && level > 0 && level < 1);
    double *means = xmalloc(sizeof(double) * (size_t)resamples);
    for (int b = 0; b < resamples; b++) {
        Rng r = rng_make(seed, RNG_BOOTSTRAP, key, (uint64_t)b);
        double s = 0;
        for (int i = 0; i < n; i++) s += d[rng_below(&r, (uint64_t)n)];
        means[b] = s / n;
    }
    qsort(means, (size_t)resamples, sizeof *means, cmp_double);
    BootInterval iv = {mean(d, n), quantile_sorted(means, resamples, (1 - level) / 2),
                       quantile_sorted(means, resamples, (1 + level) / 2), n};
    free(means);
    return iv;
}
