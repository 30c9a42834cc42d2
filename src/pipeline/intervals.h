/* The uncertainty of the report's verdicts: for each comparison behind a verdict, the paired
 * difference of a per-problem metric between two evaluations of the same held-out problems, and
 * its 95 % percentile-bootstrap interval over the problems (pipeline/bootstrap.h).
 *
 * results.json's "intervals":
 *   {"method": "...", "level": 0.95, "resamples": 2000, "seed": S,
 *    "comparisons": {NAME: {"a", "b", "metric", "estimate", "lo", "hi", "problems"}
 *                        | {"a", "b", "metric", "missing": "why there is no interval"}}}
 * estimate = mean over problems of (a's metric - b's); lo, hi its interval.
 *
 * Comparisons (key = position in this list, from 1, which keys the resample streams):
 *   r1_zero_rise      R1-Zero's held-out pass@1 during its run, last fifth of the evaluations
 *                     minus first fifth (r1_zero/metrics.jsonl: eval_correct, the same problems
 *                     at every evaluation)
 *   r1_zero_vs_base   pass@1, r1_zero - base                (evals/NAME.json: "problems")
 *   r1_vs_r1_zero     pass@1, r1 - r1_zero
 *   distilled_vs_rl   pass@1, student_distilled - student_rl
 *   language_reward   language consistency, rl - rl_nolang
 * Two evaluations pair only when their problem ids agree one by one. */
#ifndef R1_PIPELINE_INTERVALS_H
#define R1_PIPELINE_INTERVALS_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* The "intervals" object for the run folder run_dir (its evals/ and r1_zero/metrics.jsonl). */
struct cJSON *intervals_json(const char *run_dir, uint64_t seed);

/* d[i] = a's metric - b's on problem i, from two `r1 eval --out` documents. Returns the count
 * (a malloc'd *d) or -1 with the reason in why. */
int intervals_paired(const struct cJSON *eval_a, const struct cJSON *eval_b, const char *metric, double **d,
                     char *why, size_t why_n);

/* d[i] = problem i's held-out pass@1 over the last fifth of a GRPO run's held-out evaluations
 * minus over the first fifth (one evaluation each when fewer than five), from its metrics lines
 * (an array of parsed metrics.jsonl lines). *points: the evaluations found. Returns the count or
 * -1 with the reason in why. */
int intervals_curve_rise(const struct cJSON *lines, double **d, int *points, char *why, size_t why_n);

#endif
