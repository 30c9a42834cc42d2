/* Training-loop throughput: tokens/s of the whole pretraining loop (data loading from the mapped
 * token file, forward + backward with gradient accumulation off, NaN guard, grad norm, AdamW,
 * bias update, metrics.jsonl, progress) on /work/shared/bench/bench_config.json at batch 16 × 256,
 * as a ratio to the bare model forward + backward on the same batches in the same process
 * (`loop_vs_model`, target ≥ 0.95). Both skip their first step (first-touch page faults).
 *
 *     build/bench/bench_train [STEPS]     (default 6; R1_THREADS sets the thread count)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rng.h"
#include "base/threads.h"
#include "bench.h"
#include "io/file.h"
#include "io/json.h"
#include "model/model.h"
#include "train/loader.h"
#include "train/pretrain.h"
#include "train/tokcache.h"

#define BENCH_CONFIG "/work/shared/bench/bench_config.json"

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 6;
    if (steps < 2) steps = 2;
    const int B = 16, T = 256;
    int threads = threads_set(0);
    Err e = {{0}};
    ModelConfig cfg;
    if (config_load(&cfg, BENCH_CONFIG, &e) != 0) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/r1_bench_train_%d", (int)getpid());
    if (file_mkdirs(dir, &e) != 0) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    /* a token stream long enough for every step without repeating an epoch */
    uint64_t n = (uint64_t)(steps + 1) * B * T + 1;
    uint32_t *tok = malloc(n * sizeof *tok);
    Rng r = rng_make(1, RNG_TEST, 0, 0);
    for (uint64_t i = 0; i < n; i++) tok[i] = (uint32_t)rng_below(&r, (uint64_t)cfg.vocab_size);
    char tpath[300], out[300];
    snprintf(tpath, sizeof tpath, "%s/tokens.bin", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    if (tokcache_write(tpath, tok, n, 0, (uint32_t)cfg.eos_token_id, &e) != 0) { fprintf(stderr, "%s\n", e.msg); return 1; }

    /* ---- bare model: forward + backward on the same batches ---- */
    double bare_tok_s;
    {
        Model m;
        model_init(&m, &cfg);
        param_init(&m.table, &m.cfg, m.params, 1);
        ModelActs a;
        model_acts_init(&a, &m, B, T);
        real *grads = calloc(m.table.total, sizeof(real));
        Loader ld;
        if (loader_init(&ld, tok, n, T, 0.0, 1, "bench", &e) != 0) { fprintf(stderr, "%s\n", e.msg); return 1; }
        int *x = malloc((size_t)B * T * sizeof(int)), *y = malloc((size_t)B * T * sizeof(int));
        ModelOptions mo = {.mtp_lambda = 0.3};
        double t0 = 0;
        for (int s = 0; s < steps; s++) {
            if (s == 1) t0 = bench_now();
            loader_next_batch(&ld, B, x, y);
            model_forward(&m, &a, x, y, B, T, &mo);
            model_backward(&m, &a, grads, NULL);
        }
        bare_tok_s = (double)(steps - 1) * B * T / (bench_now() - t0);
        free(x); free(y); free(grads);
        loader_free(&ld);
        model_acts_free(&a);
        model_free(&m);
    }

    /* ---- the whole loop ---- */
    PretrainOptions o = pretrain_defaults();
    o.config_path = BENCH_CONFIG;
    o.tokens_path = tpath;
    o.run.out_dir = out;
    o.steps = steps;
    o.batch = B;
    o.seq_len = T;
    o.val_frac = 0;
    o.eval_every = 0;
    o.run.save_every = 0;
    o.optim.warmup_steps = 2;
    o.run.quiet = 1;
    PretrainResult res;
    if (pretrain_run(&o, &res, &e) != 0) { fprintf(stderr, "bench_train: %s\n", e.msg); return 1; }
    /* loop throughput over steps 2..N from the metrics' wall clock (step 1 is the warm-up) */
    char mpath[400];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", out);
    size_t len;
    char *buf = file_read_all(mpath, &len, &e);
    double t_first = NAN, t_last = NAN;
    int lines = 0;
    for (char *line = buf ? strtok(buf, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        cJSON *j = json_parse_n(line, strlen(line), &e);
        double t;
        if (j && json_get_double(j, "time_s", 1, &t, &e) == 0) {
            if (lines == 0) t_first = t;
            t_last = t;
            lines++;
        }
        cJSON_Delete(j);
    }
    free(buf);
    double loop_tok_s = lines == steps ? (double)(steps - 1) * B * T / (t_last - t_first) : 0;
    printf("threads %d, %d steps of %d x %d: loop %.0f tok/s, bare forward+backward %.0f tok/s, "
           "model share of the loop %.3f\n", threads, steps, B, T, loop_tok_s, bare_tok_s,
           res.model_seconds / res.seconds);
    bench_record("train_loop_tokens_per_s", loop_tok_s, "tok/s", "model_fwd_bwd_tokens_per_s", bare_tok_s);
    bench_record("loop_vs_model", loop_tok_s / bare_tok_s, "ratio", NULL, 0);
    /* the same question asked inside the loop (immune to load changes between the two runs):
     * the fraction of the loop's wall time spent in model forward + backward */
    bench_record("train_loop_model_share", res.model_seconds / res.seconds, "ratio", NULL, 0);
    file_remove_tree(dir, &e);
    free(tok);
    return 0;
}
