/* The percentile bootstrap of a mean, for intervals over problems.
 *
 * Given one value per problem — for a paired comparison of two checkpoints evaluated on the same
 * problems, d[i] = metric_a[i] - metric_b[i] — the estimate is the mean of d. A resample draws n
 * problems with replacement and takes their mean; `resamples` of them, sorted, give the interval
 * between their (1-level)/2 and (1+level)/2 quantiles (linear interpolation between order
 * statistics: numpy.percentile's default, Hyndman-Fan type 7).
 *
 * Resample b draws its n indices with rng_below(n) from the stream (seed, RNG_BOOTSTRAP, key, b),
 * so the interval's bits depend on (d, seed, key, resamples, level) alone: results.json keeps
 * them, and a rerun reproduces them. `key` names the comparison, so two comparisons over the same
 * problems do not share their resamples. */
#ifndef R1_PIPELINE_BOOTSTRAP_H
#define R1_PIPELINE_BOOTSTRAP_H

#include <stdint.h>

enum { BOOTSTRAP_RESAMPLES = 2000 };
#define BOOTSTRAP_LEVEL 0.95

typedef struct BootInterval {
    double estimate;   /* mean of d */
    double lo, hi;     /* percentile interval; lo <= hi */
    int n;             /* problems */
} BootInterval;

/* The interval of the mean of d[0..n), n >= 1, resamples >= 2, 0 < level < 1. */
BootInterval bootstrap_mean(const double *d, int n, int resamples, double level, uint64_t seed, uint64_t key);

/* The q-quantile (0 <= q <= 1) of sorted x[0..n), n >= 1, by type-7 interpolation:
 * h = (n-1)·q, x[floor h] + (h - floor h)·(x[floor h + 1] - x[floor h]). */
double quantile_sorted(const double *x, int n, double q);

#endif
