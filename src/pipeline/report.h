/* The pipeline's report: reads runs/NAME/results.json (and the wall times of timings.json) and
 * writes report.md and report.html (self-contained: inline SVG, no scripts, no network).
 *
 * results.json:
 *   {"preset": "tiny",
 *    "checkpoints": {NAME: {TASK: {"pass@1", "cons@k", "format", "language", "length"}}},
 *    "curves": {STAGE: [{"step", "accuracy", "length", "reward"}, ...]},
 *    "compute": {"student_distilled"|"student_rl": {"train_tokens", "steps"}},
 *    "language_ablation": {"with": {"language", "pass@1"}, "without": {...}}   (optional),
 *    "intervals": {"level", "resamples", "seed", "comparisons": {NAME: {"estimate", "lo", "hi",
 *                  "problems"} | {"missing"}}}   (pipeline/intervals.h)}
 * results.json holds only what a rerun reproduces, bit for bit; timings.json holds
 *   {"wall_seconds": {STAGE: seconds}}.
 * Checkpoint names: base, r1_zero, cold_start, rl, rs_sft, r1, student_distilled, student_rl.
 *
 * The report states, for each of the paper's key findings, whether this run reproduces it, from
 * the numbers (rules in report.c), never from a fixed text: each verdict from the 95 % interval
 * of a paired difference over held-out problems, which the report prints beside it with its rule. */
#ifndef R1_PIPELINE_REPORT_H
#define R1_PIPELINE_REPORT_H

#include "base/error.h"

/* From the claim's interval (see report.c): reproduced when it lies above the claim's bound, NOT
 * reproduced when below, not shown when it holds the bound, not measured without one. */
typedef enum Verdict { VERDICT_NOT_MEASURED, VERDICT_REPRODUCED, VERDICT_NOT_REPRODUCED, VERDICT_NOT_SHOWN } Verdict;

typedef struct Finding {
    const char *claim;      /* the paper's finding, one sentence */
    Verdict verdict;
    char evidence[640];     /* the numbers behind the verdict: point values, the interval */
    char rule[384];         /* how the verdict follows from the interval */
} Finding;

enum { REPORT_N_FINDINGS = 5 };

/* Fills findings[REPORT_N_FINDINGS] from a parsed results.json (cJSON *). */
struct cJSON;
void report_findings(const struct cJSON *results, Finding *findings);

/* Reads results_path (and out_dir/timings.json if there is one), writes out_dir/report.md and
 * out_dir/report.html atomically. */
int report_write(const char *results_path, const char *out_dir, Err *e);

#endif
