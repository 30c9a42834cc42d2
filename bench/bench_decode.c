/* Generation speed on the bench config (/work/shared/bench/bench_config.json, else the b_bench
 * fixture's copy), HF-style random init, float32, greedy, no stop ids — the same workload as
 * tools/bench_torch.py --mode decode (random prompts of 16 tokens, then 128 one-token steps):
 *   decode64_tokens_per_s   64 concurrent sequences × 128 new tokens (decode-only steps)
 *   decode1_tokens_per_s    one stream × 128 new tokens
 *   prefill_tokens_per_s    8 prompts × 256 tokens, chunked prefill (chunk 512)
 *   decode1_spec_tokens_per_s, mtp_acceptance: MTP speculative greedy, one stream (untrained
 *                           random weights: the acceptance rate here says nothing about a trained
 *                           model; see PERF.md for that)
 *   kv_bytes_per_token, kv_mha_bytes_per_token: the latent cache vs plain MHA caching
 * Each figure is the median of --reps runs (default 3) after one warm-up run.
 *
 * --weights: the precision the engine's products read the weights in — f32 (the default), or bf16:
 * every matrix packed once as bf16 pairs and multiplied in bf16 with fp32 accumulation
 * (GenOptions.weight_format KN_BF16_DOT: what `r1 generate --weights bf16` runs, and what
 * llama.cpp runs on a bf16 GGUF on a CPU with AVX512-BF16: bf16 weights, activations rounded to
 * bf16, vdpbf16ps). With bf16 the figures' names end in _bf16.
 *
 *   build/bench/bench_decode [--config PATH] [--threads N] [--reps N] [--only 64|1] [--weights f32|bf16]
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/threads.h"
#include "bench.h"
#include "infer/generate.h"
#include "model/model.h"

typedef struct Run { double decode_tps, prefill_tps; GenStats st; } Run;

static KnFormat weight_format = KN_F32;

static Run run_once(const Model *m, int B, int prompt_len, int new_tokens, int spec, int chunk) {
    int *prompts = xmalloc((size_t)B * prompt_len * sizeof *prompts);
    GenRequest *reqs = xmalloc((size_t)B * sizeof *reqs);
    Rng r = rng_make(1, RNG_TEST, 42, 0);
    for (int i = 0; i < B * prompt_len; i++) prompts[i] = (int)rng_below(&r, (uint64_t)m->cfg.vocab_size);
    for (int b = 0; b < B; b++) reqs[b] = (GenRequest){prompts + (size_t)b * prompt_len, prompt_len, (uint64_t)b, 0};
    GenOptions o = gen_options(sampler_defaults(), 0, 128, NULL);
    o.sampler.temperature = 0;
    o.max_new_tokens = new_tokens;
    o.n_slots = B;
    o.prefill_chunk = chunk;
    o.max_len = prompt_len + new_tokens + 1;
    o.speculative = spec;
    o.weight_format = weight_format;
    GenOutput *out = xcalloc((size_t)B, sizeof *out);
    Run res = {0};
    Err e = {{0}};
    if (generate(m, reqs, B, &o, out, &res.st, &e) < 0) {
        fprintf(stderr, "r1: error: %s\n", e.msg);
        exit(1);
    }
    res.decode_tps = res.st.decode_seconds > 0 ? res.st.decode_step_tokens / res.st.decode_seconds : 0;
    res.prefill_tps = res.st.prefill_seconds > 0 ? res.st.prefill_tokens / res.st.prefill_seconds : 0;
    gen_outputs_free(out, B);
    free(out);
    free(reqs);
    free(prompts);
    return res;
}

/* Median over reps runs after one warm-up (as tools/bench_torch.py reports the median step). */
static Run median_of(const Model *m, int reps, int B, int prompt_len, int new_tokens, int spec, int chunk) {
    Run runs[16], res = {0};
    double dec[16], pre[16];
    if (reps > 16) reps = 16;
    if (reps < 1) reps = 1;
    run_once(m, B, prompt_len, new_tokens, spec, chunk);
    for (int i = 0; i < reps; i++) {
        runs[i] = run_once(m, B, prompt_len, new_tokens, spec, chunk);
        dec[i] = runs[i].decode_tps;
        pre[i] = runs[i].prefill_tps;
    }
    res.decode_tps = bench_median(dec, reps);
    res.prefill_tps = bench_median(pre, reps);
    res.st = runs[0].st;
    return res;
}

int main(int argc, char **argv) {
    bench_init(argv);
    const char *config = "/work/shared/bench/bench_config.json";
    int threads = 2, reps = 3, only = 0;
    FILE *probe = fopen(config, "r");
    if (probe) fclose(probe);
    else config = "tests/fixtures/model/b_bench/config.json";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--config")) config = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--only")) only = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--weights") && !strcmp(argv[i + 1], "f32")) weight_format = KN_F32;
        else if (!strcmp(argv[i], "--weights") && !strcmp(argv[i + 1], "bf16")) weight_format = KN_BF16_DOT;
        else if (!strcmp(argv[i], "--weights")) { fprintf(stderr, "bench_decode: --weights: f32 or bf16, got %s\n", argv[i + 1]); return 2; }
        else { fprintf(stderr, "bench_decode: unknown flag %s\n", argv[i]); return 2; }
    }
    ModelConfig cfg;
    Err e = {{0}};
    if (config_load(&cfg, config, &e) != 0) {
        fprintf(stderr, "r1: error: %s\n", e.msg);
        return 1;
    }
    threads_set(threads);
    const int bf16 = weight_format == KN_BF16_DOT;
    Model m;
    model_init(&m, &cfg);
    param_init(&m.table, &m.cfg, m.params, 1);
    if (only == 0 || only == 64) {
        Run r = median_of(&m, reps, 64, 16, 128, 0, 256);
        bench_record(bf16 ? "decode64_tokens_per_s_bf16" : "decode64_tokens_per_s", r.decode_tps, "tokens/s", NULL, 0);
    }
    if (only == 0 || only == 1) {
        Run r = median_of(&m, reps, 1, 16, 128, 0, 256);
        bench_record(bf16 ? "decode1_tokens_per_s_bf16" : "decode1_tokens_per_s", r.decode_tps, "tokens/s", NULL, 0);
    }
    if (only == 0) {
        Run p = median_of(&m, reps, 8, 256, 1, 0, 512);
        bench_record("prefill_tokens_per_s", p.prefill_tps, "tokens/s", NULL, 0);
        if (cfg.num_nextn_predict_layers > 0) {
            Run s = median_of(&m, reps, 1, 16, 128, 1, 256);
            bench_record("decode1_spec_tokens_per_s", s.decode_tps, "tokens/s", NULL, 0);
            bench_record("mtp_acceptance_random_init",
                         s.st.drafted ? (double)s.st.accepted / s.st.drafted : 0, "fraction", NULL, 0);
        }
        bench_record("kv_bytes_per_token", (double)kvcache_bytes_per_token(&cfg), "bytes",
                     "plain MHA cache", (double)kvcache_mha_bytes_per_token(&cfg));
    }
    model_free(&m);
    return 0;
}
