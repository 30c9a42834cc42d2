/* Training speed of the model: forward + backward tokens/s on the bench config
 * (/work/shared/bench/bench_config.json, else the b_bench fixture's copy), batch 16 × 256,
 * MTP λ = 0.3 (as tools/bench_torch.py), at 1 and 2 threads; model GFLOP/s; peak memory.
 *
 *   build/bench/bench_model [--config PATH] [--batch B] [--seq T] [--steps N] [--threads 1|2]
 *                           [--precision f32|bf16] [--lockstep]
 *   --precision: the big products' operands (model_set_precision; default f32)
 *   --lockstep: one step per line read on stdin (see bench.h)
 *
 * Figures: train_tokens_per_s_1t, train_tokens_per_s_2t, train_gflops_2t (model FLOPs from
 * model_train_flops / step time), train_peak_rss_mb, train_activation_mb; with --precision bf16
 * each name ends in _bf16. Step time is the
 * median of --steps timed steps after one warm-up step — the statistic tools/bench_torch.py
 * reports, so the two sides of train_vs_torch are measured alike (best is printed too). The PyTorch
 * side-by-side (train_vs_torch) is measured by tools/bench_torch.py in the same `make bench`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/bigmem.h"
#include "base/blas_env.h"
#include "base/error.h"
#include "base/rng.h"
#include "base/threads.h"
#include "bench.h"
#include "model/model.h"

/* name + "_bf16" under bf16, so both precisions' figures can sit in one bench log */
static void record(MatPrec prec, const char *name, double value, const char *unit) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s%s", name, prec == MAT_BF16 ? "_bf16" : "");
    bench_record(nm, value, unit, NULL, 0);
}

static double min_of(const double *x, int n) {
    double m = x[0];
    for (int i = 1; i < n; i++) m = x[i] < m ? x[i] : m;
    return m;
}

int main(int argc, char **argv) {
    bench_init(argv);
    const char *config = "/work/shared/bench/bench_config.json";
    int B = 16, T = 256, steps = 3, only = 0, lockstep = 0;
    MatPrec prec = MAT_F32;
    FILE *probe = fopen(config, "r");
    if (probe) fclose(probe);
    else config = "tests/fixtures/model/b_bench/config.json";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lockstep")) { lockstep = 1; continue; }
        if (i + 1 == argc) { fprintf(stderr, "bench_model: %s needs a value\n", argv[i]); return 2; }
        if (!strcmp(argv[i], "--config")) config = argv[++i];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seq")) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads")) only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision")) {
            const char *v = argv[++i];
            int k = 0;
            while (MAT_PREC_NAMES[k] && strcmp(MAT_PREC_NAMES[k], v)) k++;
            if (!MAT_PREC_NAMES[k]) { fprintf(stderr, "bench_model: --precision must be f32 or bf16, not %s\n", v); return 2; }
            prec = (MatPrec)k;
        }
        else { fprintf(stderr, "bench_model: unknown flag %s\n", argv[i]); return 2; }
    }
    if (steps < 1 || steps > 64) { fprintf(stderr, "bench_model: --steps must be 1..64\n"); return 2; }
    if (lockstep && only == 0) { fprintf(stderr, "bench_model: --lockstep needs --threads\n"); return 2; }
    ModelConfig cfg;
    Err e = {{0}};
    if (config_load(&cfg, config, &e) != 0) {
        fprintf(stderr, "r1: error: %s\n", e.msg);
        return 1;
    }
    Model m;
    model_init(&m, &cfg);
    param_init(&m.table, &m.cfg, m.params, 1);
    model_set_precision(&m, prec);
    fprintf(stderr, "  precision %s\n", MAT_PREC_NAMES[prec]);
    ModelActs a;
    model_acts_init(&a, &m, B, T);
    real *grads = big_calloc(m.table.total * sizeof(real), "gradients");
    int *tokens = xmalloc((size_t)B * T * sizeof *tokens);
    int *targets = xmalloc((size_t)B * T * sizeof *targets);
    Rng r = rng_make(1, RNG_TEST, 99, 0);
    for (int i = 0; i < B * T; i++) tokens[i] = (int)rng_below(&r, (uint64_t)cfg.vocab_size);
    for (int i = 0; i < B * T; i++) targets[i] = (i % T) + 1 < T ? tokens[i + 1] : -1;
    ModelOptions opt = {.mtp_lambda = 0.3, .seq_aux_alpha = 0, .head_grad_in_forward = 1};
    const double flops = model_train_flops(&cfg, B, T, cfg.num_nextn_predict_layers > 0);
    double tps[3] = {0};
    for (int threads = 1; threads <= 2; threads++) {
        if (only && threads != only) continue;
        threads_set(threads);
        double dts[64], cpu = 0;   /* cpu: process CPU seconds of the timed steps */
        for (int s = 0; s < steps + 1; s++) {
            bench_lockstep_wait(lockstep);
            const double c0 = bench_cpu_now(), t0 = bench_now();
            ModelLosses l = model_forward(&m, &a, tokens, targets, B, T, &opt);
            model_backward(&m, &a, grads, NULL);
            double dt = bench_now() - t0;
            if (s > 0) cpu += bench_cpu_now() - c0;
            bench_lockstep_done(lockstep, dt);
            if (s == 0) fprintf(stderr, "  %d threads: loss %.4f (warm-up %.3f s)\n", threads, l.total, dt);
            else dts[s - 1] = dt;
        }
        fprintf(stderr, "  %d threads: step seconds", threads);
        for (int s = 0; s < steps; s++) fprintf(stderr, " %.3f", dts[s]);
        fprintf(stderr, "\n");
        const double best = min_of(dts, steps), med = bench_median(dts, steps);
        tps[threads] = B * T / med;
        cpu /= steps;
        fprintf(stderr, "  %d threads: %.3f s/step (median of %d; best %.3f), %.1f tokens/s, %.1f GFLOP/s, "
                "process CPU %.3f s/step\n", threads, med, steps, best, tps[threads], flops / med * 1e-9, cpu);
        if (threads == 2) record(prec, "train_gflops_2t", flops / med * 1e-9, "GFLOP/s");
    }
    if (tps[1] > 0) record(prec, "train_tokens_per_s_1t", tps[1], "tokens/s");
    if (tps[2] > 0) record(prec, "train_tokens_per_s_2t", tps[2], "tokens/s");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    record(prec, "train_peak_rss_mb", ru.ru_maxrss / 1024.0, "MB");
    record(prec, "train_activation_mb", (a.bytes + a.arena.peak) / 1048576.0, "MB");
    free(tokens);
    free(targets);
    free(grads);
    model_acts_free(&a);
    model_free(&m);
    return 0;
}
