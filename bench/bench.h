/* Benchmarks print one line per figure:
 *   BENCH {"name": ..., "value": ..., "unit": ..., "reference": ..., "reference_value": ..., "ratio": ...}
 * bench/run.sh collects them into build/bench.json and prints a table. The reference is measured
 * in the same run (our PyTorch reference, the npm tokenizer, the machine's SGEMM peak, ...), never
 * taken from a file, so a ratio compares two things the same noisy machine did at the same time. */
#ifndef R1_BENCH_BENCH_H
#define R1_BENCH_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/blas_env.h"

/* Call first in a benchmark's main(): makes OpenBLAS use its best kernels on this CPU (see
 * base/blas_env.h), as the PyTorch reference is run with, so ratios compare like with like. */
static inline void bench_init(char **argv) { blas_env_fix(argv); }

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The fastest of `reps` runs of the statements fwd and then bwd, each timed on its own, into the
 * doubles tf and tb (seconds). */
#define BENCH_BEST_FWD_BWD(reps, tf, tb, fwd, bwd)                     \
    do {                                                                \
        (tf) = (tb) = 1e9;                                              \
        for (int rep_ = 0; rep_ < (reps); rep_++) {                     \
            const double t0_ = bench_now();                             \
            fwd;                                                        \
            const double t1_ = bench_now();                             \
            bwd;                                                        \
            const double t2_ = bench_now();                             \
            (tf) = t1_ - t0_ < (tf) ? t1_ - t0_ : (tf);                 \
            (tb) = t2_ - t1_ < (tb) ? t2_ - t1_ : (tb);                 \
        }                                                               \
    } while (0)

/* CPU seconds used by the whole process so far (all threads): with passive OpenMP waiting, a
 * figure that other load on the machine moves far less than wall time. */
static inline double bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of x[0..n), n >= 1 (sorts x; the mean of the middle two for even n): the statistic
 * tools/bench_torch.py reports, so both sides of a ratio are summarised alike. */
static inline double bench_median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, bench_cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Lockstep mode (--lockstep): a controller (bench/train_vs_torch.py) runs this benchmark and our
 * PyTorch reference in turn, one step each, so the two are timed under the same machine
 * conditions (this machine's speed drifts by 15-40 % within minutes). Before each step the
 * benchmark prints "READY" and waits for a line on stdin; after it, it prints "STEP <seconds>". */
static inline void bench_lockstep_wait(int on) {
    char line[64];
    if (!on) return;
    printf("READY\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "bench: --lockstep: the controller closed stdin\n");
        exit(2);
    }
}
static inline void bench_lockstep_done(int on, double seconds) {
    if (!on) return;
    printf("STEP %.6f\n", seconds);
    fflush(stdout);
}

/* reference may be NULL (a figure without a reference: ratio is printed as null). */
static inline void bench_record(const char *name, double value, const char *unit,
                                const char *reference, double reference_value) {
    printf("BENCH {\"name\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", ", name, value, unit);
    if (reference && reference_value > 0)
        printf("\"reference\": \"%s\", \"reference_value\": %.6g, \"ratio\": %.4f}\n", reference,
               reference_value, value / reference_value);
    else
        printf("\"reference\": null, \"reference_value\": null, \"ratio\": null}\n");
    fflush(stdout);
}

/* NAME_fwd_Nt and NAME_bwd_Nt in microseconds (no reference). */
static inline void bench_record_fwd_bwd_us(const char *name, int threads, double tf, double tb) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s_fwd_%dt", name, threads);
    bench_record(nm, tf * 1e6, "us", NULL, 0);
    snprintf(nm, sizeof nm, "%s_bwd_%dt", name, threads);
    bench_record(nm, tb * 1e6, "us", NULL, 0);
}

#endif
