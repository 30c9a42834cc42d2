#include "pipeline/pipeline.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "pipeline/intervals.h"
#include "pipeline/presets.h"
#include "pipeline/report.h"
#include "rl/align.h"
#include "rl/grpo.h"
#include "rl/rm_train.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/pretrain.h"
#include "train/sft.h"

/* ---- running commands ---- */

enum { MAX_ARGS = 96 };

typedef struct Cmd {
    char *argv[MAX_ARGS + 1];
    int n;
} Cmd;

static void cmd_add(Cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmd_add(Cmd *c, const char *fmt, ...) {
    CHECK(c->n < MAX_ARGS);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&c->argv[c->n], fmt, ap) < 0) abort();
    va_end(ap);
    c->argv[++c->n] = NULL;
}

/* --NAME=VALUE (or --NAME for a boolean, fmt NULL) for an option of a trainer's table: spelt as
 * the table spells it; a name the table lacks is a bug (the pipeline test runs every stage). */
static void cmd_opt(Cmd *c, const OptSet *set, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cmd_opt(Cmd *c, const OptSet *set, const char *name, const char *fmt, ...) {
    CHECKF(optset_find(set, name, strlen(name), NULL, NULL), "'%s' is not an option of r1 %s", name, set->name);
    char flag[96];
    opt_flag(name, flag, sizeof flag);
    if (!fmt) { cmd_add(c, "%s", flag); return; }
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&v, fmt, ap) < 0) abort();
    va_end(ap);
    cmd_add(c, "%s=%s", flag, v);
    free(v);
}

static void cmd_free(Cmd *c) {
    for (int i = 0; i < c->n; i++) free(c->argv[i]);
    c->n = 0;
}

typedef struct Compute {
    int64_t train_tokens, steps;
} Compute;

typedef struct Ctx {
    const PipelineOptions *o;
    const Preset *p;
    char out[2048];
    char r1[2048];
    FILE *log;
} Ctx;

/* A new command: `r1 SUB...` with the threads flag appended later by run(). */
static Cmd r1_cmd(const Ctx *x, const char *sub) {
    Cmd c = {{0}, 0};
    cmd_add(&c, "%s", x->r1);
    for (const char *s = sub; *s;) {          /* "tokenizer train" → two words */
        size_t n = strcspn(s, " ");
        cmd_add(&c, "%.*s", (int)n, s);
        s += n + (s[n] == ' ');
    }
    return c;
}

/* The training commands, which run data-parallel under mpirun (cli/main.c's list). */
static int data_parallel(const Cmd *c) {
    static const char *const names[] = {"pretrain", "sft", "distill", "grpo", "zero", "align"};
    for (size_t i = 0; c->n > 1 && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(c->argv[1], names[i])) return 1;
    return c->n > 2 && !strcmp(c->argv[1], "rm") && !strcmp(c->argv[2], "train");
}

/* With --ranks N, a training command becomes `mpirun -np N r1 ...`. */
static void under_mpirun(const Ctx *x, Cmd *c) {
    if (x->o->ranks <= 1 || !data_parallel(c)) return;
    CHECK(c->n + 3 <= MAX_ARGS);
    memmove(c->argv + 3, c->argv, sizeof(char *) * (size_t)(c->n + 1));
    c->n += 3;
    if (asprintf(&c->argv[0], "mpirun") < 0 || asprintf(&c->argv[1], "-np") < 0 ||
        asprintf(&c->argv[2], "%d", x->o->ranks) < 0)
        abort();
}

/* Runs the command in its own process; its output goes to the terminal. */
static int run(Ctx *x, Cmd *c, const char *stage, Err *e) {
    under_mpirun(x, c);
    const int mpi = c->n > 3 && !strcmp(c->argv[0], "mpirun");
    StrBuf line = {0};
    if (x->o->ranks > 1 && !mpi) {   /* data, tokenizer, sampling, evaluation */
        const int two = c->n > 2 && c->argv[2][0] != '-';   /* "data make" */
        sb_printf(&line, "# one process: r1 %s%s%s does not run data-parallel\n", c->argv[1], two ? " " : "",
                  two ? c->argv[2] : "");
    }
    if (mpi) sb_printf(&line, "$ mpirun -np %s r1", c->argv[2]);
    else sb_append(&line, "$ r1");
    for (int i = mpi ? 4 : 1; i < c->n; i++) { sb_append(&line, " "); sb_append(&line, c->argv[i]); }
    fprintf(stderr, "%s\n", line.s);
    if (x->log) { fprintf(x->log, "%s\n", line.s); fflush(x->log); }
    sb_free(&line);
    if (x->o->dry_run) { cmd_free(c); return 0; }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) { cmd_free(c); return err_set(e, "stage %s: fork failed: %s", stage, strerror(errno)); }
    if (pid == 0) {
        /* the stage dies with the pipeline: a killed pipeline leaves no stage running on, to race
         * the run that resumes it */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
        if (mpi) execvp(c->argv[0], c->argv);
        else execv(c->argv[0], c->argv);
        fprintf(stderr, "r1: error: cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    cmd_free(c);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    return err_set(e, "stage %s failed (%s %d); fix the cause and run the pipeline again to resume",
                   stage, WIFEXITED(status) ? "exit status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void path(const Ctx *x, char *buf, size_t cap, const char *rel) {
    snprintf(buf, cap, "%s/%s", x->out, rel);
}

static int stage_done(const Ctx *x, const char *stage) {
    char p[4096];
    snprintf(p, sizeof p, "%s/.stages/%s.done", x->out, stage);
    return file_exists(p);
}

static double stage_seconds(const Ctx *x, const char *stage) {
    char p[4096];
    snprintf(p, sizeof p, "%s/.stages/%s.done", x->out, stage);
    Err e;
    char *s = file_read_all(p, NULL, &e);
    double v = s ? atof(s) : NAN;
    free(s);
    return v;
}

static int mark_done(const Ctx *x, const char *stage, double seconds, Err *e) {
    char p[4096], v[64];
    snprintf(p, sizeof p, "%s/.stages/%s.done", x->out, stage);
    snprintf(v, sizeof v, "%.3f\n", seconds);
    return x->o->dry_run ? 0 : file_write_atomic(p, v, strlen(v), e);
}

/* ---- the stages ---- */

static void threads_flag(const Ctx *x, Cmd *c) {
    if (x->o->threads > 0) cmd_add(c, "--threads=%d", x->o->threads);
}

/* The options every training stage ends with: threads, and --resume when there is a run to continue. */
static void run_flags(const Ctx *x, Cmd *c, const OptSet *set, const char *out) {
    if (x->o->threads > 0) cmd_opt(c, set, "threads", "%d", x->o->threads);
    if (checkpoint_in_run(out)) cmd_opt(c, set, "resume", NULL);
}

static int st_data(Ctx *x, Err *e) {
    const Preset *p = x->p;
    char a[4096], b[4096];
    Cmd c = r1_cmd(x, "data make");
    path(x, a, sizeof a, "data/corpus.jsonl");
    path(x, b, sizeof b, "data/corpus.txt");
    cmd_add(&c, "--task=%s", p->pretrain_tasks);
    cmd_add(&c, "--level=%s", p->levels);
    cmd_add(&c, "--n=%ld", p->pretrain_docs);
    cmd_add(&c, "--format=pretrain");
    cmd_add(&c, "--lang=mixed");
    cmd_add(&c, "--cot=%g", p->cot_share);
    cmd_add(&c, "--seed=%ld", x->o->seed);
    cmd_add(&c, "--out=%s", a);
    cmd_add(&c, "--text-out=%s", b);
    if (run(x, &c, "data", e)) return -1;
    /* cold start: readable long chains of thought (self-checks), both languages, some mixing for
     * the language reward to remove */
    c = r1_cmd(x, "data make");
    path(x, a, sizeof a, "data/cold_start.jsonl");
    cmd_add(&c, "--task=%s", p->rl_task);
    cmd_add(&c, "--level=%s", p->levels);
    cmd_add(&c, "--n=%ld", p->cold_start_n);
    cmd_add(&c, "--format=sft");
    cmd_add(&c, "--lang=mixed");
    cmd_add(&c, "--self-check=0.6");
    cmd_add(&c, "--mix-cot=0.3");
    cmd_add(&c, "--seed=%ld", x->o->seed + 1);
    cmd_add(&c, "--out=%s", a);
    return run(x, &c, "data", e);
}

static int st_tokenizer(Ctx *x, Err *e) {
    char a[4096], b[4096];
    Cmd c = r1_cmd(x, "tokenizer train");
    path(x, a, sizeof a, "data/corpus.txt");
    path(x, b, sizeof b, "tokenizer/tokenizer.json");
    cmd_add(&c, "--data=%s", a);
    cmd_add(&c, "--vocab-size=%d", x->p->vocab_size);
    cmd_add(&c, "--out=%s", b);
    cmd_add(&c, "--quiet");
    return run(x, &c, "tokenizer", e);
}

/* Writes the preset's model configs with vocab_size = the tokenizer's, rounded up to 64. */
static int st_configs(Ctx *x, Err *e) {
    char tp[4096];
    path(x, tp, sizeof tp, "tokenizer/tokenizer.json");
    int vocab = x->p->vocab_size;
    if (!x->o->dry_run) {
        Tokenizer *tok = tokenizer_load(tp, e);
        if (!tok) return -1;
        vocab = (int)tokenizer_vocab_size(tok);
        tokenizer_free(tok);
    }
    vocab = (vocab + 63) / 64 * 64;
    const char *texts[2] = {x->p->base_config, x->p->student_config};
    const char *names[2] = {"configs/base.json", "configs/student.json"};
    for (int i = 0; i < 2; i++) {
        cJSON *j = cJSON_Parse(texts[i]);
        CHECK(j != NULL);
        cJSON_ReplaceItemInObject(j, "vocab_size", cJSON_CreateNumber(vocab));
        char p[4096];
        path(x, p, sizeof p, names[i]);
        int rc = x->o->dry_run ? 0 : json_save_file(j, p, e);
        cJSON_Delete(j);
        if (rc) return -1;
    }
    return 0;
}

static int pretrain(Ctx *x, const char *stage, const char *config, long steps, Err *e) {
    const OptSet *o = &PRETRAIN_OPTIONS;
    char a[4096];
    Cmd c = r1_cmd(x, "pretrain");
    path(x, a, sizeof a, config);
    cmd_opt(&c, o, "config", "%s", a);
    path(x, a, sizeof a, "tokenizer/tokenizer.json");
    cmd_opt(&c, o, "tokenizer", "%s", a);
    path(x, a, sizeof a, "data/corpus.jsonl");
    cmd_opt(&c, o, "data", "%s", a);
    path(x, a, sizeof a, stage);
    cmd_opt(&c, o, "out", "%s", a);
    cmd_opt(&c, o, "steps", "%ld", steps);
    /* the step's sequences as `leaves` micro-batches; the held-out loss over 8 steps' worth */
    cmd_opt(&c, o, "batch", "%ld", x->p->pretrain_batch / x->p->leaves);
    cmd_opt(&c, o, "grad_accum", "%d", x->p->leaves);
    cmd_opt(&c, o, "eval_batches", "%d", 8 * x->p->leaves);
    cmd_opt(&c, o, "seq_len", "%ld", x->p->seq_len);
    cmd_opt(&c, o, "learning_rate", "%g", x->p->pretrain_lr);
    cmd_opt(&c, o, "warmup_steps", "%ld", steps / 20 + 1);
    cmd_opt(&c, o, "seed", "%ld", x->o->seed);
    run_flags(x, &c, o, a);
    return run(x, &c, stage, e);
}

static int st_base(Ctx *x, Err *e) { return pretrain(x, "base", "configs/base.json", x->p->pretrain_steps, e); }
static int st_student_base(Ctx *x, Err *e) {
    return pretrain(x, "student_base", "configs/student.json", x->p->student_pretrain_steps, e);
}

/* A GRPO step's prompt groups in `leaves` rollout batches, which the ranks share (f32 rollouts
 * have the same bits in any batching). Its gradient's micro-batches (--micro-batch, 16 sequences)
 * need not divide: ranks without one add nothing. */
static void rl_leaves(const Ctx *x, Cmd *c, const OptSet *o) { cmd_opt(c, o, "rollout_batches", "%d", x->p->leaves); }

/* GRPO from `from` into `stage`; format plain (R1-Zero on our base) or chat. DAPO's dynamic
 * sampling (one refill round) keeps the batch informative; heldout = 1 logs a held-out pass@1
 * curve (ten points). max_train_tokens > 0: a compute budget (tokens through forward+backward). */
static int grpo(Ctx *x, const char *stage, const char *sub, const char *from, const char *format,
                const char *rewards, const char *lang, long steps, int64_t max_train_tokens, int heldout, Err *e) {
    const Preset *p = x->p;
    const OptSet *o = &GRPO_OPTIONS;
    char a[4096];
    Cmd c = r1_cmd(x, sub);
    path(x, a, sizeof a, from);
    cmd_opt(&c, o, "model", "%s", a);
    path(x, a, sizeof a, stage);
    cmd_opt(&c, o, "out", "%s", a);
    cmd_opt(&c, o, "task", "%s", p->rl_task);
    cmd_opt(&c, o, "level", "%s", p->rl_levels);
    cmd_opt(&c, o, "lang", "%s", lang);
    cmd_opt(&c, o, "prompt_format", "%s", format);
    cmd_opt(&c, o, "rewards", "%s", rewards);
    cmd_opt(&c, o, "steps", "%ld", steps);
    cmd_opt(&c, o, "prompts_per_step", "%ld", p->rl_prompts);
    cmd_opt(&c, o, "num_generations", "%ld", p->rl_generations);
    rl_leaves(x, &c, o);
    cmd_opt(&c, o, "max_completion_length", "%ld", p->max_completion);
    cmd_opt(&c, o, "learning_rate", "%g", p->rl_lr);
    cmd_opt(&c, o, "dynamic_sampling", NULL);
    cmd_opt(&c, o, "max_refill", "1");
    cmd_opt(&c, o, "eval_every", "%ld", heldout ? (steps + 9) / 10 : 0);
    cmd_opt(&c, o, "eval_n", "%ld", p->eval_n / 2 > 16 ? p->eval_n / 2 : 16);
    cmd_opt(&c, o, "eval_k", "%ld", p->eval_k);
    cmd_opt(&c, o, "save_every", "%ld", steps / 4 + 1);
    cmd_opt(&c, o, "seed", "%ld", x->o->seed);
    if (max_train_tokens > 0) cmd_opt(&c, o, "max_train_tokens", "%lld", (long long)max_train_tokens);
    run_flags(x, &c, o, a);
    return run(x, &c, stage, e);
}

static int st_zero(Ctx *x, Err *e) {
    return grpo(x, "r1_zero", "zero", "base", "plain", "accuracy:1,format:0.5", "en", x->p->rl_steps, 0, 1, e);
}

static int sft(Ctx *x, const char *stage, const char *from, const char *data, long steps, Err *e) {
    const OptSet *o = &SFT_OPTIONS;
    char a[4096];
    Cmd c = r1_cmd(x, "sft");
    path(x, a, sizeof a, from);
    cmd_opt(&c, o, "model", "%s", a);
    path(x, a, sizeof a, data);
    cmd_opt(&c, o, "data", "%s", a);
    path(x, a, sizeof a, stage);
    cmd_opt(&c, o, "out", "%s", a);
    cmd_opt(&c, o, "steps", "%ld", steps);
    cmd_opt(&c, o, "batch", "%ld", x->p->sft_batch);
    cmd_opt(&c, o, "micro_batch", "%ld", x->p->sft_batch / x->p->leaves);
    cmd_opt(&c, o, "seq_len", "%ld", x->p->seq_len);
    cmd_opt(&c, o, "learning_rate", "%g", x->p->sft_lr);
    cmd_opt(&c, o, "seed", "%ld", x->o->seed);
    run_flags(x, &c, o, a);
    return run(x, &c, stage, e);
}

static int st_cold_start(Ctx *x, Err *e) { return sft(x, "cold_start", "base", "data/cold_start.jsonl", x->p->sft_steps, e); }

static int st_rl(Ctx *x, Err *e) {
    return grpo(x, "rl", "grpo", "cold_start", "chat", "accuracy:1,format:0.5,language:0.5", "mixed",
                x->p->rl_steps, 0, 1, e);
}

static int st_rl_nolang(Ctx *x, Err *e) {
    return grpo(x, "rl_nolang", "grpo", "cold_start", "chat", "accuracy:1,format:0.5", "mixed",
                x->p->rl_steps, 0, 0, e);
}

static int sample(Ctx *x, const char *stage, const char *from, const char *out_rel, Err *e) {
    const Preset *p = x->p;
    char a[4096];
    Cmd c = r1_cmd(x, "sample");
    path(x, a, sizeof a, from);
    cmd_add(&c, "--model=%s", a);
    cmd_add(&c, "--task=%s", p->rl_task);
    cmd_add(&c, "--level=%s", p->rl_levels);
    cmd_add(&c, "--n=%ld", p->sample_prompts);
    cmd_add(&c, "--samples=%ld", p->sample_n);
    cmd_add(&c, "--keep=%ld", p->sample_keep);
    cmd_add(&c, "--max-tokens=%ld", p->max_completion);
    cmd_add(&c, "--mix-non-reasoning=0.25");
    cmd_add(&c, "--seed=%ld", x->o->seed + 7);
    path(x, a, sizeof a, out_rel);
    cmd_add(&c, "--out=%s", a);
    threads_flag(x, &c);
    return run(x, &c, stage, e);
}

static int st_sample(Ctx *x, Err *e) { return sample(x, "sample", "rl", "data/rs.jsonl", e); }
static int st_rs_sft(Ctx *x, Err *e) { return sft(x, "rs_sft", "base", "data/rs.jsonl", x->p->sft_steps, e); }

static int rm(Ctx *x, const char *stage, const char *kind, Err *e) {
    const OptSet *o = &RM_TRAIN_OPTIONS;
    char a[4096];
    Cmd c = r1_cmd(x, "rm train");
    path(x, a, sizeof a, "base");
    cmd_opt(&c, o, "model", "%s", a);
    cmd_opt(&c, o, "builtin", "%s", kind);
    path(x, a, sizeof a, stage);
    cmd_opt(&c, o, "out", "%s", a);
    cmd_opt(&c, o, "n", "%ld", x->p->rm_pairs);
    cmd_opt(&c, o, "batch", "%ld", x->p->rm_batch);
    cmd_opt(&c, o, "micro_batch", "%ld", x->p->rm_batch / x->p->leaves);
    cmd_opt(&c, o, "epochs", "5");
    cmd_opt(&c, o, "learning_rate", "4e-3");
    cmd_opt(&c, o, "seed", "%ld", x->o->seed);
    run_flags(x, &c, o, a);
    return run(x, &c, stage, e);
}

static int st_rm_helpful(Ctx *x, Err *e) { return rm(x, "rm_helpful", "helpful", e); }
static int st_rm_harmless(Ctx *x, Err *e) { return rm(x, "rm_harmless", "harmless", e); }

static int st_align(Ctx *x, Err *e) {
    const Preset *p = x->p;
    const OptSet *o = &ALIGN_OPTIONS;
    char a[4096];
    Cmd c = r1_cmd(x, "align");
    path(x, a, sizeof a, "rs_sft");
    cmd_opt(&c, o, "model", "%s", a);
    path(x, a, sizeof a, "rm_helpful");
    cmd_opt(&c, o, "rm_helpful", "%s", a);
    path(x, a, sizeof a, "rm_harmless");
    cmd_opt(&c, o, "rm_harmless", "%s", a);
    path(x, a, sizeof a, "r1");
    cmd_opt(&c, o, "out", "%s", a);
    cmd_opt(&c, o, "task", "%s", p->rl_task);
    cmd_opt(&c, o, "level", "%s", p->rl_levels);
    cmd_opt(&c, o, "steps", "%ld", p->align_steps);
    cmd_opt(&c, o, "prompts_per_step", "%ld", p->rl_prompts);
    cmd_opt(&c, o, "num_generations", "%ld", p->rl_generations);
    rl_leaves(x, &c, o);
    cmd_opt(&c, o, "max_completion_length", "%ld", p->max_completion);
    cmd_opt(&c, o, "learning_rate", "%g", p->rl_lr);
    cmd_opt(&c, o, "seed", "%ld", x->o->seed);
    run_flags(x, &c, o, a);
    return run(x, &c, "r1", e);
}

static int st_r1_samples(Ctx *x, Err *e) { return sample(x, "r1_samples", "r1", "data/r1_samples.jsonl", e); }

static int st_distill(Ctx *x, Err *e) {
    const OptSet *o = &DISTILL_OPTIONS;
    char a[4096];
    Cmd c = r1_cmd(x, "distill");
    path(x, a, sizeof a, "data/r1_samples.jsonl");
    cmd_opt(&c, o, "data", "%s", a);
    path(x, a, sizeof a, "configs/student.json");
    cmd_opt(&c, o, "student_config", "%s", a);
    path(x, a, sizeof a, "tokenizer/tokenizer.json");
    cmd_opt(&c, o, "tokenizer", "%s", a);
    path(x, a, sizeof a, "student_base");
    cmd_opt(&c, o, "init", "%s", a);
    path(x, a, sizeof a, "student_distilled");
    cmd_opt(&c, o, "out", "%s", a);
    cmd_opt(&c, o, "steps", "%ld", x->p->sft_steps);
    cmd_opt(&c, o, "batch", "%ld", x->p->sft_batch);
    cmd_opt(&c, o, "micro_batch", "%ld", x->p->sft_batch / x->p->leaves);
    cmd_opt(&c, o, "seq_len", "%ld", x->p->seq_len);
    cmd_opt(&c, o, "learning_rate", "%g", x->p->sft_lr);
    cmd_opt(&c, o, "seed", "%ld", x->o->seed);
    run_flags(x, &c, o, a);
    return run(x, &c, "student_distilled", e);
}

static Compute stage_compute(const Ctx *x, const char *stage);

/* The control: GRPO on the student's own base with the compute distillation took — its tokens
 * through forward+backward, counted by the run engine, so the budget is the same number however
 * loaded the machine and however often either run was interrupted. (Rollouts are forward passes
 * only and are not counted: the control gets them on top.) */
static int st_student_rl(Ctx *x, Err *e) {
    Compute d = stage_compute(x, "student_distilled");
    if (d.train_tokens <= 0 && !x->o->dry_run)
        return err_set(e, "%s/student_distilled/metrics.jsonl: no train_tokens: cannot size the control's budget",
                       x->out);
    return grpo(x, "student_rl", "grpo", "student_base", "plain", "accuracy:1,format:0.5", "en",
                x->p->rl_steps * 10, d.train_tokens > 0 ? d.train_tokens : 1, 0, e);
}

static const char *const EVALUATED[] = {"base", "r1_zero", "cold_start", "rl", "rl_nolang", "rs_sft", "r1",
                                        "student_distilled", "student_rl"};
enum { N_EVALUATED = sizeof EVALUATED / sizeof EVALUATED[0] };

static int st_eval(Ctx *x, Err *e) {
    for (int i = 0; i < N_EVALUATED; i++) {
        char a[4096];
        path(x, a, sizeof a, EVALUATED[i]);
        if (!x->o->dry_run && !file_exists(a)) continue;
        int chat = strcmp(EVALUATED[i], "base") && strcmp(EVALUATED[i], "r1_zero") &&
                   strcmp(EVALUATED[i], "student_rl");
        Cmd c = r1_cmd(x, "eval");
        cmd_add(&c, "--model=%s", a);
        cmd_add(&c, "--task=%s", x->p->rl_task);
        cmd_add(&c, "--level=%s", x->p->rl_levels);
        cmd_add(&c, "--lang=%s", strcmp(EVALUATED[i], "rl_nolang") && strcmp(EVALUATED[i], "rl") ? "en" : "mixed");
        cmd_add(&c, "--prompt-format=%s", chat ? "chat" : "plain");
        cmd_add(&c, "--n=%ld", x->p->eval_n);
        cmd_add(&c, "--k=%ld", x->p->eval_k);
        cmd_add(&c, "--max-tokens=%ld", x->p->max_completion);
        cmd_add(&c, "--seed=%ld", x->o->seed + 1000);
        path(x, a, sizeof a, "evals");
        cmd_add(&c, "--out=%s/%s.json", a, EVALUATED[i]);
        threads_flag(x, &c);
        if (run(x, &c, "eval", e)) return -1;
    }
    return 0;
}

/* ---- results.json and the report ---- */

/* The lines of a stage's metrics.jsonl that parse, as an array (empty when there is none). */
static cJSON *metrics_lines(const Ctx *x, const char *stage) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s/metrics.jsonl", x->out, stage);
    cJSON *arr = cJSON_CreateArray();
    Err e;
    size_t n;
    char *buf = file_exists(p) ? file_read_all(p, &n, &e) : NULL;
    for (char *s = buf; s && s < buf + n;) {
        char *nl = memchr(s, '\n', (size_t)(buf + n - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(buf + n - s);
        cJSON *j = json_parse_n(s, len, &e);
        if (j) cJSON_AddItemToArray(arr, j);
        s += len + 1;
    }
    free(buf);
    return arr;
}

/* The compute a training stage took: its tokens through forward+backward and its steps. */
static Compute stage_compute(const Ctx *x, const char *stage) {
    Compute c = {0, 0};
    cJSON *lines = metrics_lines(x, stage);
    const cJSON *j;
    cJSON_ArrayForEach(j, lines) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "train_tokens");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsNumber(t) && (int64_t)t->valuedouble > c.train_tokens) c.train_tokens = (int64_t)t->valuedouble;
        if (cJSON_IsNumber(s) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "final")) &&
            (int64_t)s->valuedouble + 1 > c.steps)
            c.steps = (int64_t)s->valuedouble + 1;
    }
    cJSON_Delete(lines);
    return c;
}

/* The R1-Zero-style curve of a GRPO run from metrics.jsonl: step, accuracy, length, reward,
 * think share of the training batch, and eval_accuracy/eval_length/eval_think at the steps where
 * the held-out evaluation ran (the last point, after the final step, has only those). */
static cJSON *curve(const Ctx *x, const char *stage) {
    cJSON *arr = cJSON_CreateArray(), *lines = metrics_lines(x, stage);
    const cJSON *j;
    cJSON_ArrayForEach(j, lines) {
        cJSON *pt = cJSON_CreateObject();
        static const char *const keys[] = {"step", "accuracy", "length", "reward", "think",
                                           "eval_accuracy", "eval_length", "eval_think"};
        for (int k = 0; k < 8; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k]);
            if (cJSON_IsNumber(v)) cJSON_AddNumberToObject(pt, keys[k], v->valuedouble);
        }
        cJSON_AddItemToArray(arr, pt);
    }
    cJSON_Delete(lines);
    return arr;
}

/* Maps an eval JSON (r1 eval --out) to {TASK: {pass@1, cons@k, format, language, length, think,
 * check, repair}}: its "all" row (every level of the pipeline's task), with "cons@K" renamed
 * "cons@k" and the reflection measure's "self_check" and "check_repairs" "check" and "repair". */
static cJSON *eval_summary(const Ctx *x, const char *name) {
    char p[4096];
    snprintf(p, sizeof p, "%s/evals/%s.json", x->out, name);
    Err e;
    cJSON *j = file_exists(p) ? json_load_file(p, &e) : NULL;
    if (!j) return NULL;
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "all");
    cJSON *out = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(out, x->p->rl_task);
    const cJSON *v;
    cJSON_ArrayForEach(v, all) {
        if (!cJSON_IsNumber(v)) continue;
        const char *k = v->string;
        if (!strcmp(k, "pass@1") || !strcmp(k, "format") || !strcmp(k, "language") || !strcmp(k, "length") ||
            !strcmp(k, "think"))
            cJSON_AddNumberToObject(m, k, v->valuedouble);
        else if (!strncmp(k, "cons@", 5))
            cJSON_AddNumberToObject(m, "cons@k", v->valuedouble);
        else if (!strcmp(k, "self_check") || !strcmp(k, "check_repairs"))
            cJSON_AddNumberToObject(m, k[0] == 's' ? "check" : "repair", v->valuedouble);
    }
    cJSON_Delete(j);
    return out;
}

static int st_report(Ctx *x, Err *e) {
    if (x->o->dry_run) return 0;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "preset", x->p->name);
    cJSON *ck = cJSON_AddObjectToObject(r, "checkpoints");
    for (int i = 0; i < N_EVALUATED; i++) {
        if (!strcmp(EVALUATED[i], "rl_nolang")) continue;
        cJSON *s = eval_summary(x, EVALUATED[i]);
        if (s) cJSON_AddItemToObject(ck, EVALUATED[i], s);
    }
    cJSON *cv = cJSON_AddObjectToObject(r, "curves");
    static const char *const rl_stages[] = {"r1_zero", "rl", "r1", "student_rl"};
    for (int i = 0; i < 4; i++) cJSON_AddItemToObject(cv, rl_stages[i], curve(x, rl_stages[i]));
    /* the language-consistency ablation: RL with and without the language reward */
    cJSON *with = eval_summary(x, "rl"), *without = eval_summary(x, "rl_nolang");
    const cJSON *wt = with ? cJSON_GetObjectItemCaseSensitive(with, x->p->rl_task) : NULL;
    const cJSON *wo = without ? cJSON_GetObjectItemCaseSensitive(without, x->p->rl_task) : NULL;
    if (wt && wo) {
        cJSON *abl = cJSON_AddObjectToObject(r, "language_ablation");
        cJSON_AddItemToObject(abl, "with", cJSON_Duplicate(wt, 1));
        cJSON_AddItemToObject(abl, "without", cJSON_Duplicate(wo, 1));
    }
    cJSON_Delete(with);
    cJSON_Delete(without);
    /* the verdicts' comparisons problem by problem, with bootstrap intervals (bits fixed by the seed) */
    cJSON_AddItemToObject(r, "intervals", intervals_json(x->out, (uint64_t)x->o->seed));
    /* the distillation comparison's compute (deterministic, unlike wall time) */
    cJSON *cmp = cJSON_AddObjectToObject(r, "compute");
    static const char *const students[] = {"student_distilled", "student_rl"};
    for (int i = 0; i < 2; i++) {
        Compute c = stage_compute(x, students[i]);
        cJSON *o = cJSON_AddObjectToObject(cmp, students[i]);
        cJSON_AddNumberToObject(o, "train_tokens", (double)c.train_tokens);
        cJSON_AddNumberToObject(o, "steps", (double)c.steps);
    }
    /* wall times go to a file of their own: results.json holds only what a rerun reproduces */
    cJSON *t = cJSON_CreateObject(), *wall = cJSON_AddObjectToObject(t, "wall_seconds");
    static const char *const all[] = {"data", "tokenizer", "base", "r1_zero", "cold_start", "rl", "rl_nolang",
                                      "sample", "rs_sft", "rm_helpful", "rm_harmless", "r1", "r1_samples",
                                      "student_base", "student_distilled", "student_rl", "eval"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        double s = stage_seconds(x, all[i]);
        if (isfinite(s)) cJSON_AddNumberToObject(wall, all[i], s);
    }
    char p[4096];
    path(x, p, sizeof p, "timings.json");
    int rc = json_save_file(t, p, e);
    cJSON_Delete(t);
    path(x, p, sizeof p, "results.json");
    if (rc == 0) rc = json_save_file(r, p, e);
    cJSON_Delete(r);
    if (rc == 0) rc = report_write(p, x->out, e);
    if (rc == 0) fprintf(stderr, "pipeline: wrote %s/report.html and report.md\n", x->out);
    return rc;
}

typedef struct StageDef {
    const char *name;
    int (*fn)(Ctx *, Err *);
} StageDef;

static const StageDef STAGES[] = {
    {"data", st_data}, {"tokenizer", st_tokenizer}, {"configs", st_configs}, {"base", st_base},
    {"r1_zero", st_zero}, {"cold_start", st_cold_start}, {"rl", st_rl}, {"rl_nolang", st_rl_nolang},
    {"sample", st_sample}, {"rs_sft", st_rs_sft}, {"rm_helpful", st_rm_helpful},
    {"rm_harmless", st_rm_harmless}, {"r1", st_align}, {"r1_samples", st_r1_samples},
    {"student_base", st_student_base}, {"student_distilled", st_distill}, {"student_rl", st_student_rl},
    {"eval", st_eval}, {"report", st_report},
};

/* The run folder must be new, or hold an earlier run of the same preset. */
static int claim_folder(Ctx *x, Err *e) {
    char p[4096];
    path(x, p, sizeof p, "pipeline.json");
    if (file_exists(p)) {
        cJSON *j = json_load_file(p, e);
        if (!j) return -1;
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "preset");
        int same = cJSON_IsString(ps) && !strcmp(ps->valuestring, x->p->name);
        cJSON_Delete(j);
        if (!same) return err_set(e, "%s holds a run of another preset; choose another run folder", x->out);
        return 0;
    }
    if (file_exists(x->out)) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "%s/.stages", x->out);
        if (!file_exists(cmd)) {
            /* an existing folder that is not one of our runs: refuse unless empty */
            if (rmdir(x->out) != 0)
                return err_set(e, "%s exists and holds other files; choose another run folder", x->out);
        }
    }
    if (x->o->dry_run) return 0;
    path(x, p, sizeof p, ".stages");
    if (file_mkdirs(p, e)) return -1;
    path(x, p, sizeof p, "data");
    if (file_mkdirs(p, e)) return -1;
    path(x, p, sizeof p, "configs");
    if (file_mkdirs(p, e)) return -1;
    path(x, p, sizeof p, "evals");
    if (file_mkdirs(p, e)) return -1;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "preset", x->p->name);
    cJSON_AddNumberToObject(j, "seed", (double)x->o->seed);
    cJSON_AddStringToObject(j, "version", R1_VERSION);
    path(x, p, sizeof p, "pipeline.json");
    int rc = json_save_file(j, p, e);
    cJSON_Delete(j);
    return rc;
}

int pipeline_run(const PipelineOptions *o, Err *e) {
    Ctx x;
    memset(&x, 0, sizeof x);
    x.o = o;
    x.p = preset_find(o->preset);
    if (!x.p) return err_set(e, "unknown preset '%s' (%s)", o->preset, preset_names());
    const Preset *p = x.p;
    CHECKF(p->pretrain_batch % p->leaves == 0 && p->sft_batch % p->leaves == 0 && p->rm_batch % p->leaves == 0 &&
           p->rl_prompts % p->leaves == 0, "preset %s: its batches are not %d units", p->name, p->leaves);
    if (o->ranks < 1 || p->leaves % o->ranks != 0)
        return err_set(e, "--ranks %d: the %s preset's training steps are %d units of work (micro-batches, rollout "
                       "batches), which %d ranks cannot share; give a power of two dividing %d", o->ranks, p->name,
                       p->leaves, o->ranks, p->leaves);
    snprintf(x.out, sizeof x.out, "%s", o->out ? o->out : "");
    if (!x.out[0]) snprintf(x.out, sizeof x.out, "runs/%s", x.p->name);
    if (o->r1) snprintf(x.r1, sizeof x.r1, "%s", o->r1);
    else {
        ssize_t n = readlink("/proc/self/exe", x.r1, sizeof x.r1 - 1);
        if (n <= 0) return err_set(e, "cannot find the r1 binary (give its path)");
        x.r1[n] = 0;
    }
    if (claim_folder(&x, e)) return -1;
    char lp[4096];
    path(&x, lp, sizeof lp, "pipeline.log");
    x.log = o->dry_run ? NULL : fopen(lp, "a");
    if (o->ranks > 1 && o->threads <= 0) {
        const char *note = "# the ranks of a machine share its cores: the results are --ranks 1's at the same "
                           "--threads (the kernels' bits depend on the thread count)";
        fprintf(stderr, "%s\n", note);
        if (x.log) fprintf(x.log, "%s\n", note);
    }
    double t0 = clock_now();
    int rc = 0;
    for (size_t i = 0; i < sizeof STAGES / sizeof STAGES[0] && rc == 0; i++) {
        const StageDef *s = &STAGES[i];
        if (stage_done(&x, s->name) && strcmp(s->name, "report") != 0) {
            fprintf(stderr, "pipeline: %s done (%.0f s), skipped\n", s->name, stage_seconds(&x, s->name));
            continue;
        }
        fprintf(stderr, "pipeline: stage %s (preset %s, %.0f s so far)\n", s->name, x.p->name, clock_now() - t0);
        double ts = clock_now();
        rc = s->fn(&x, e);
        if (rc == 0) rc = mark_done(&x, s->name, clock_now() - ts, e);
    }
    if (x.log) fclose(x.log);
    if (rc == 0) fprintf(stderr, "pipeline: finished in %.0f s: %s\n", clock_now() - t0, x.out);
    return rc;
}
