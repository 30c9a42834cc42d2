/* One GRPO step on the `tiny` preset's policy, split into its parts, and the rollout's throughput
 * beside the generation engine's on the same batch (issue: rollouts must not lose much to the
 * bookkeeping around the engine).
 *
 *   grpo_step_{rollout,score,logprob,update}_s   seconds of each part of a step (B 16 x G 8,
 *                                                96 new tokens, β 0.04 so the reference runs too)
 *   rollout_vs_engine   GRPO's rollout tokens/s  /  generate() on the same prompts, slots,
 *                       sampler and seed, called directly — target >= 0.8
 *   share_prefill_rows_{plain,r1zero}   prompt rows the engine fed for that batch with shared
 *                       prompts (a group's G samples prefill their prompt once) / without
 *   share_speedup_{plain,r1zero}        its generated tokens per wall second with / without
 *                       shared prompts, on the step's prompts as GRPO renders them plainly and
 *                       in the R1-Zero template (a long prompt: the template's text is not in the
 *                       arith tokenizer's merges)
 *
 * The policy is randomly initialised (it rarely stops early, so every completion runs to 96
 * tokens, the same on both sides); the tokenizer is a 512-token BPE trained on the arith task.
 * The two sides of each ratio alternate, five runs each, and each keeps its best (the machine is
 * shared: the best run is the one least disturbed).
 * Usage: bench_grpo [--threads N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/strbuf.h"
#include "base/threads.h"
#include "bench.h"
#include "infer/generate.h"
#include "io/file.h"
#include "model/config.h"
#include "model/model.h"
#include "model/model_io.h"
#include "model/params.h"
#include "pipeline/presets.h"
#include "rl/grpo.h"
#include "tasks/records.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train.h"
#include "train/checkpoint.h"

enum { B = 16, G = 8, MAX_NEW = 96, RUNS = 5 };

static int die(const Err *e) {
    fprintf(stderr, "bench_grpo: %s\n", e->msg);
    return 1;
}

/* model folder: tiny preset config, random init, a BPE trained on arith documents */
static int make_policy(const char *dir, Err *e) {
    if (file_mkdirs(dir, e)) return -1;
    StrBuf corpus = {0};
    for (uint64_t i = 0; i < 3000; i++) {
        RecordSpec spec = {"arith", 1 + (int)(i % 2), LANG_EN, 0.3, 0.5, 0.0, REC_PRETRAIN, SPLIT_TRAIN};
        cJSON *r = record_make(&spec, 1, i, e);
        if (!r) { sb_free(&corpus); return -1; }
        sb_printf(&corpus, "%s\n\n", cJSON_GetObjectItem(r, "text")->valuestring);
        cJSON_Delete(r);
    }
    const char *texts[1] = {corpus.s};
    size_t lens[1] = {corpus.len};
    TrainOpts to = {0};
    to.vocab_size = 512;
    to.min_frequency = 2;
    char tok_path[4200];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", dir);
    int rc = tokenizer_train_texts(texts, lens, 1, &to, tok_path, NULL, e);
    sb_free(&corpus);
    if (rc) return -1;
    cJSON *j = cJSON_Parse(preset_find("tiny")->base_config);
    cJSON_ReplaceItemInObject(j, "vocab_size", cJSON_CreateNumber(512));
    ModelConfig cfg;
    rc = config_from_json(&cfg, j, "tiny preset", e);
    cJSON_Delete(j);
    if (rc) return -1;
    Model m;
    model_init(&m, &cfg);
    param_init(&m.table, &m.cfg, m.params, 1);
    ModelFile tok_file = {tok_path, "tokenizer.json"};
    rc = checkpoint_write_model_folder(dir, &(CkptModel){&m, NULL, NULL, &tok_file, 1}, e);
    model_free(&m);
    return rc;
}

typedef struct EngineRun {
    double tokens_per_s;    /* tokens generated / wall seconds of generate() */
    double seconds;
    GenStats st;
    int prompt_tokens;      /* the B distinct prompts' tokens */
} EngineRun;

/* The engine alone on the prompts GRPO's first step draws, rendered in `fmt`, with or without
 * shared prompts: one run into *r. */
static int engine_run(const char *dir, PromptSource *ps, const GrpoOptions *o, PromptFormat fmt, int share,
                      EngineRun *r, Err *e) {
    char tok_path[4200];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", dir);
    Tokenizer *tok = tokenizer_load(tok_path, e);
    if (!tok) return -1;
    Model m;
    if (model_load_dir(&m, dir, e)) { tokenizer_free(tok); return -1; }
    memset(r, 0, sizeof *r);
    int *ids[B], lens[B];
    GenRequest req[B * G];
    TokIds t = {0};
    for (int g = 0; g < B; g++) {
        StrBuf q = {0}, ref = {0}, text = {0};
        CHECK(prompt_source_get(ps, (uint64_t)g, &q, &ref, e) == 0);
        prompt_render(fmt, q.s, &text);
        t.n = 0;
        CHECK(tokenizer_encode(tok, text.s, text.len, &t, e) == 0);
        lens[g] = (int)t.n + 1;
        r->prompt_tokens += lens[g];
        ids[g] = xmalloc(sizeof(int) * (size_t)lens[g]);
        ids[g][0] = (int)tokenizer_bos_id(tok);
        for (size_t k = 0; k < t.n; k++) ids[g][k + 1] = (int)t.v[k];
        for (int j = 0; j < G; j++) req[g * G + j] = (GenRequest){ids[g], lens[g], (uint64_t)g, (uint64_t)j};
        sb_free(&q); sb_free(&ref); sb_free(&text);
    }
    free(t.v);
    SamplerParams sp = sampler_defaults();
    sp.temperature = o->temperature;
    sp.top_p = o->top_p;
    GenOptions go = gen_options(sp, o->seed, MAX_NEW, tok);
    go.n_slots = B * G < 128 ? B * G : 128;
    go.share_prompts = share;
    GenOutput out[B * G];
    double t0 = bench_now();
    int rc = generate(&m, req, B * G, &go, out, &r->st, e);
    if (rc == 0) {
        r->seconds = bench_now() - t0;
        r->tokens_per_s = (double)r->st.decode_tokens / r->seconds;
        gen_outputs_free(out, B * G);
    }
    for (int g = 0; g < B; g++) free(ids[g]);
    model_free(&m);
    tokenizer_free(tok);
    return rc;
}

/* Shared against unshared prompts on the same batch, alternating, best of RUNS each. */
static int share_pair(const char *dir, PromptSource *ps, const GrpoOptions *o, PromptFormat fmt, const char *what,
                      Err *e) {
    EngineRun best[2] = {{0}}, r;
    for (int run = 0; run < RUNS; run++)
        for (int share = 1; share >= 0; share--) {
            if (engine_run(dir, ps, o, fmt, share, &r, e)) return -1;
            if (r.tokens_per_s > best[share].tokens_per_s) best[share] = r;
        }
    const EngineRun *on = &best[1], *off = &best[0];
    printf("shared prompts, %s (B %d x G %d, %d distinct prompt tokens, %d new tokens): prefill rows %lld vs %lld "
           "unshared; prefill steps %.3f s vs %.3f s; whole batch %.3f s vs %.3f s, %.0f vs %.0f tokens/s (%.2fx)\n",
           what, B, G, on->prompt_tokens, MAX_NEW, (long long)on->st.prefill_tokens, (long long)off->st.prefill_tokens,
           on->st.prefill_seconds, off->st.prefill_seconds, on->seconds, off->seconds, on->tokens_per_s,
           off->tokens_per_s, on->tokens_per_s / off->tokens_per_s);
    char name[64];
    snprintf(name, sizeof name, "share_prefill_rows_%s", what);
    bench_record(name, (double)on->st.prefill_tokens, "rows", "without shared prompts", (double)off->st.prefill_tokens);
    snprintf(name, sizeof name, "share_speedup_%s", what);
    bench_record(name, on->tokens_per_s, "tokens/s", "without shared prompts", off->tokens_per_s);
    return 0;
}

int main(int argc, char **argv) {
    bench_init(argv);
    int threads = 2;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
    threads_set(threads);
    Err e = {0};
    char root[] = "/tmp/r1_bench_grpo_XXXXXX";
    if (!mkdtemp(root)) { fprintf(stderr, "bench_grpo: mkdtemp failed\n"); return 1; }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/policy", root);
    if (make_policy(dir, &e)) return die(&e);

    PromptSource ps;
    if (prompt_source_tasks(&ps, "arith", "2", "en", 1, &e)) return die(&e);
    GrpoOptions o = grpo_defaults();
    o.model_dir = dir;
    o.prompts = &ps;
    o.prompt_format = PROMPT_PLAIN;
    if (rewards_parse("accuracy:1,format:0.5", &o.rewards, &e)) return die(&e);
    o.prompts_per_step = B;
    o.num_generations = G;
    o.temperature = 1.0;
    o.top_p = 1.0;
    o.max_completion_length = MAX_NEW;
    o.loss.beta = 0.04;
    o.steps = 1;
    o.run.save_every = 0;
    o.run.quiet = 1;
    o.seed = 1;
    /* each GRPO run: a fresh output folder, one step (step 0: the same prompts as the engine's) */
    GrpoStepStats best = {0};
    double engine = 0;
    for (int run = 0; run < RUNS; run++) {
        char out[4200];
        snprintf(out, sizeof out, "%s/run%d", root, run);
        o.run.out_dir = out;
        GrpoResult res;
        if (grpo_run(&o, &res, &e)) return die(&e);
        if (res.last.rollout_tokens_per_s > best.rollout_tokens_per_s) best = res.last;
        EngineRun er;
        if (engine_run(dir, &ps, &o, o.prompt_format, 1, &er, &e)) return die(&e);
        if (er.tokens_per_s > engine) engine = er.tokens_per_s;
    }
    const GrpoStepStats *st = &best;
    printf("GRPO step (tiny preset, %d threads, B %d x G %d, %d new tokens, beta 0.04): rollout %.3f s, "
           "scoring %.3f s, reference + old log-probs %.3f s, update %.3f s\n", threads, B, G, MAX_NEW,
           st->rollout_seconds, st->score_seconds, st->logprob_seconds, st->update_seconds);
    bench_record("grpo_step_rollout_s", st->rollout_seconds, "s", NULL, 0);
    bench_record("grpo_step_score_s", st->score_seconds, "s", NULL, 0);
    bench_record("grpo_step_logprob_s", st->logprob_seconds, "s", NULL, 0);
    bench_record("grpo_step_update_s", st->update_seconds, "s", NULL, 0);
    bench_record("rollout_vs_engine", st->rollout_tokens_per_s, "tokens/s", "generate() on the same batch", engine);
    if (share_pair(dir, &ps, &o, PROMPT_PLAIN, "plain", &e)) return die(&e);
    if (share_pair(dir, &ps, &o, PROMPT_R1ZERO, "r1zero", &e)) return die(&e);
    prompt_source_free(&ps);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "bench_grpo: could not remove %s\n", root);
    return 0;
}
