/* Rewards scored per second on 100k completions of about 1 kB (built-in task solutions in both
 * languages, with self-checks, padded with more reasoning to ~1 kB; a third wrong). Each reward
 * alone and the full set, on one thread and on all threads. The reference, measured in the same
 * run, is one memchr pass over the same bytes: how far from "reading the text once" we are. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "rl/rewards.h"
#include "tasks/task.h"

#define N_COMPLETIONS 100000
#define TARGET_BYTES 1000

int main(void) {
    static const char *const TASKS[] = {"arith", "countdown", "linear"};
    char **comp = malloc(N_COMPLETIONS * sizeof *comp);
    char **prompt = malloc(N_COMPLETIONS * sizeof *prompt);
    char **ref = malloc(N_COMPLETIONS * sizeof *ref);
    size_t *len = malloc(N_COMPLETIONS * sizeof *len);
    size_t total_bytes = 0;
    for (int i = 0; i < N_COMPLETIONS; i++) {
        TaskOpts o = {.level = 1 + i % 5, .lang = (TaskLang)(i / 3 % 2), .self_check = 0.5, .split = SPLIT_TRAIN};
        Problem p;
        Err e;
        task_make(TASKS[i % 3], 42, (uint64_t)i, &o, &p, &e);
        StrBuf c = {0};
        /* pad the reasoning with further problems' reasoning up to ~1 kB */
        for (int k = 1; c.len + p.cot.len < TARGET_BYTES - 60 && k < 50; k++) {
            Problem q;
            task_make(TASKS[(i + k) % 3], 43, (uint64_t)(i * 50 + k), &o, &q, &e);
            sb_append(&c, q.cot.s);
            sb_append(&c, "\n");
            problem_free(&q);
        }
        problem_completion(&p, i % 3 == 2, &c);
        comp[i] = sb_take(&c);
        len[i] = strlen(comp[i]);
        total_bytes += len[i];
        prompt[i] = xstrdup(p.prompt.s);
        ref[i] = xstrdup(p.reference.s);
        problem_free(&p);
    }
    printf("# %d completions, mean %.0f bytes\n", N_COMPLETIONS, (double)total_bytes / N_COMPLETIONS);

    RewardParams rp;
    reward_params_default(&rp);
    /* reference: one pass over the bytes */
    double t0 = bench_now();
    size_t found = 0;
    for (int rep = 0; rep < 5; rep++)
        for (int i = 0; i < N_COMPLETIONS; i++) found += memchr(comp[i], 0x01, len[i]) != NULL;
    double scan_rate = 5.0 * N_COMPLETIONS / (bench_now() - t0);
    if (found) printf("# (unexpected byte)\n");

    double sink = 0;
    for (int id = 0; id <= REWARD_COUNT; id++) {
        RewardSet set;
        Err e;
        const char *list = id < REWARD_COUNT ? reward_name((RewardId)id)
                                             : "accuracy,format,tag_count,language,cosine,repetition,overlong";
        rewards_parse(list, &set, &e);
        t0 = bench_now();
        double s = 0;
        for (int i = 0; i < N_COMPLETIONS; i++) {
            RewardInput in = {prompt[i], comp[i], len[i], ref[i], 0};
            s += rewards_score(&set, &in, &rp, NULL);
        }
        double dt = bench_now() - t0;
        sink += s;
        char name[64];
        snprintf(name, sizeof name, "reward_%s_1t", id < REWARD_COUNT ? list : "all");
        bench_record(name, N_COMPLETIONS / dt, "compl/s", "memchr_scan_1t", scan_rate);
        if (id == REWARD_COUNT) {
            int threads = omp_get_max_threads();
            t0 = bench_now();
            double s2 = 0;
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : s2)
            for (int i = 0; i < N_COMPLETIONS; i++) {
                RewardInput in = {prompt[i], comp[i], len[i], ref[i], 0};
                s2 += rewards_score(&set, &in, &rp, NULL);
            }
            dt = bench_now() - t0;
            snprintf(name, sizeof name, "reward_all_%dt", threads);
            bench_record(name, N_COMPLETIONS / dt, "compl/s", "memchr_scan_1t", scan_rate);
            if (fabs(s2 - s) > 1e-9 * fabs(s) + 1e-9) printf("# threaded sum differs: %.17g vs %.17g\n", s2, s);
            /* accuracy sanity: two thirds of the completions are right */
            RewardSet acc;
            rewards_parse("accuracy", &acc, &e);
            double right = 0;
            for (int i = 0; i < N_COMPLETIONS; i++) {
                RewardInput in = {prompt[i], comp[i], len[i], ref[i], 0};
                right += rewards_score(&acc, &in, &rp, NULL);
            }
            printf("# accuracy over the set: %.4f (expected 0.6667)\n", right / N_COMPLETIONS);
        }
    }
    printf("# checksum %.6g\n", sink);
    for (int i = 0; i < N_COMPLETIONS; i++) { free(comp[i]); free(prompt[i]); free(ref[i]); }
    free(comp);
    free(prompt);
    free(ref);
    free(len);
    return 0;
}
