/* Evaluation metrics over k sampled completions per prompt, as the R1 protocol reports them:
 *
 *   pass@1   the mean correctness over the k samples (R1: k samples at T 0.6, top-p 0.95)
 *   pass@k   the unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021) for n samples with c
 *            correct, computed as a product so large n does not overflow
 *   cons@k   majority vote: the samples' extracted answers are grouped by equivalence
 *            (verify_equiv either way round, so 5 and \frac{10}{2} vote together); the largest group (ties: the one seen first) is checked against the
 *            reference; samples without an answer do not vote
 *   format   share of samples with reward_format = 1
 *   language mean language-consistency reward
 *   length   mean completion length (tokens when given, else code points)
 *   think    share of samples whose chain of thought is not empty (text before </think>, after an
 *            optional <think>): R1-Zero's policy adopting the reasoning it was not told to use
 *   check    share of samples with a self-check in the chain of thought (rl/reflection.h)
 *   repair   of the samples with a self-check, the share where a check changed a wrong
 *            intermediate result into the right one (pooled: repaired / checked over all groups)
 *
 * `r1 eval` is a loop over prompts: generate k completions, eval_group, eval_totals_add; then
 * eval_totals_mean per task and level; and each prompt's own group (eval_problems_add) for
 * comparisons problem by problem. */
#ifndef R1_RL_EVAL_METRICS_H
#define R1_RL_EVAL_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "rl/rewards.h"
#include "rl/verify.h"

/* Unbiased pass@k for n samples with c correct; k <= n. */
double pass_at_k(int n, int c, int k);

/* Majority vote over answers[0..n) (p == NULL or n == 0: no answer). Returns the index of the
 * first member of the largest equivalence group and its size in *votes, or -1 when no sample
 * has an answer. */
int majority_vote(const Span *answers, int n, int *votes);

typedef struct EvalGroup {
    double pass1;       /* mean correctness */
    double pass_k;      /* unbiased pass@k_pass */
    double cons;        /* 1 if the majority answer is correct */
    double format;
    double language;
    double length;
    double think;
    int n_correct;
    double check;       /* share of samples with a self-check */
    double repair;      /* n_repaired / n_checked, 0 when none checked */
    int n_checked, n_repaired;
} EvalGroup;

/* 1 if the completion has a non-blank chain of thought before its first </think>. */
int completion_thinks(const char *s, size_t n);

/* Scores k completions of one prompt. n_tokens may be NULL. k_pass: the k of pass@k (<= k). */
void eval_group(const char *prompt, const char *reference, const char *const *completions,
                const size_t *lens, const long *n_tokens, int k, int k_pass, const RewardParams *p,
                EvalGroup *out);

typedef struct EvalTotals {
    long groups;
    EvalGroup sum;
} EvalTotals;

void eval_totals_add(EvalTotals *t, const EvalGroup *g);
/* The means over groups (zeros when empty). */
EvalGroup eval_totals_mean(const EvalTotals *t);

/* Results per (task, level), plus an "all" row, for the table and the JSON of `r1 eval`. */
#define EVAL_MAX_ROWS 128
typedef struct EvalRow {
    char task[32];
    int level;          /* 0 when the data has no level */
    EvalTotals totals;
} EvalRow;

typedef struct EvalReport {
    int k, k_pass;      /* samples per prompt; the k of pass@k */
    int n_rows;
    EvalRow rows[EVAL_MAX_ROWS];
    EvalTotals all;
} EvalReport;

/* Adds one prompt's group under (task, level); rows beyond EVAL_MAX_ROWS only count in "all". */
void eval_report_add(EvalReport *r, const char *task, int level, const EvalGroup *g);
/* A fixed-width table: task level prompts pass@1 pass@k cons@k format language length think check
 * repair. */
void eval_report_print(const EvalReport *r, FILE *out);
/* {"k":..,"k_pass":..,"rows":[{"task","level","prompts","pass@1","pass@K","cons@K","format",
 *  "language","length","think","self_check","check_repairs","checked"}...],"all":{...}};
 * caller frees with cJSON_Delete. */
struct cJSON *eval_report_json(const EvalReport *r);

/* One entry per prompt, in the order evaluated, so that two checkpoints evaluated on the same
 * problems (same task, levels, language, n and seed) can be compared problem by problem (a paired
 * bootstrap). A problem's id is the 64-bit FNV-1a hash of its question, a zero byte and its
 * reference, in 16 hex digits: a comparison checks the ids agree before it pairs. */
typedef struct EvalProblems {
    int n, cap;
    char (*id)[17];
    EvalGroup *group;
} EvalProblems;

void eval_problems_add(EvalProblems *p, const char *question, const char *reference, const EvalGroup *g);
void eval_problems_free(EvalProblems *p);
/* Column-wise: {"id": [..], "pass@1": [..], "cons@K": [..], "format": [..], "language": [..],
 * "length": [..], "think": [..]}, entry i of each column for problem i. */
struct cJSON *eval_problems_json(const EvalProblems *p, int k);

#endif
