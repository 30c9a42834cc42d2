/* r1 sft: supervised fine-tuning on chat records (src/train/sft.h); also the flag parsing shared
 * with r1 distill (src/cli/distill.c). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/sft_cli.h"
#include "rl/verify.h"
#include "train/sft.h"

int cmd_sft(int argc, char **argv);

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* Task accuracy: the answer of the model's completion against the reference completion's. */
static double verify_score(void *ctx, const char *c, size_t n, const char *ref, size_t ref_n) {
    (void)ctx;
    return verify_completion(c, n, ref, ref_n, VERIFY_DEFAULT) ? 1.0 : 0.0;
}

int sft_cli_run(int argc, char **argv, int distill) {
    Err e = {0};
    SftOptions o = sft_defaults();
    const char *sched = "cosine";
    long n = (long)o.task_n, level = o.task_level, epochs = (long)o.epochs, steps = 0, batch = o.batch;
    long seq_len = o.seq_len, warmup = 0, seed = (long)o.seed, eval_every = 0, save_every = 0;
    long keep = o.keep, threads = 0, stop_after = 0, eval_samples = o.eval_samples, eval_max_new = 0;
    double lr = o.lr, wd = o.adamw.weight_decay, clip = o.clip, val_frac = o.val_frac, min_lr = o.min_lr_ratio;
    int resume = 0, quiet = 0, drop_long = 0;
    Flag flags[40];
    int nf = 0;
    if (distill) {
        flags[nf++] = (Flag){"student-config", FLAG_STRING, &o.config_path, "config.json of the student: qwen2 or llama (R1-Distill shapes), or a dense deepseek_v3"};
        flags[nf++] = (Flag){"tokenizer", FLAG_STRING, &o.tokenizer_path, "tokenizer.json (tokenizer_config.json beside it is copied too)"};
        flags[nf++] = (Flag){"init", FLAG_STRING, &o.init_dir, "start from this student folder (default: random init from --seed)"};
    } else {
        flags[nf++] = (Flag){"model", FLAG_STRING, &o.model_dir, "model folder to fine-tune (with tokenizer.json)"};
    }
    const Flag common[] = {
        {"data", FLAG_STRING, &o.data_path, "JSONL records: {\"messages\":[...]} or {\"prompt\",\"completion\"}"},
        {"task", FLAG_STRING, &o.tasks, "built-in task(s) instead of --data, comma-separated"},
        {"n", FLAG_INT, &n, "records generated from --task"},
        {"level", FLAG_INT, &level, "--task difficulty 1..5"},
        {"out", FLAG_STRING, &o.out_dir, "run folder: metrics.jsonl, checkpoints/, the final model"},
        {"epochs", FLAG_INT, &epochs, "passes over the training examples (when --steps is 0)"},
        {"steps", FLAG_INT, &steps, "optimizer steps (0: from --epochs)"},
        {"batch", FLAG_INT, &batch, "packed rows per step"},
        {"seq-len", FLAG_INT, &seq_len, "tokens per row; longer examples are truncated"},
        {"drop-long", FLAG_BOOL, &drop_long, "drop examples longer than --seq-len instead of truncating"},
        {"lr", FLAG_DOUBLE, &lr, "peak learning rate"},
        {"lr-scheduler", FLAG_STRING, &sched, "cosine, wsd or constant"},
        {"min-lr-ratio", FLAG_DOUBLE, &min_lr, "final lr / peak lr"},
        {"warmup", FLAG_INT, &warmup, "warm-up steps"},
        {"weight-decay", FLAG_DOUBLE, &wd, "AdamW weight decay"},
        {"clip", FLAG_DOUBLE, &clip, "max global gradient norm (0: off)"},
        {"seed", FLAG_INT, &seed, "seed of the shuffles, the split, task records and random init"},
        {"val-frac", FLAG_DOUBLE, &val_frac, "held-out share of the examples"},
        {"eval-every", FLAG_INT, &eval_every, "held-out loss every N steps (0: at the end)"},
        {"eval-samples", FLAG_INT, &eval_samples, "held-out prompts completed greedily for task accuracy on eval steps (0: off)"},
        {"eval-max-new", FLAG_INT, &eval_max_new, "tokens generated per accuracy prompt at most (0: up to --seq-len)"},
        {"save-every", FLAG_INT, &save_every, "checkpoint every N steps (and at the end, and on SIGINT/SIGTERM)"},
        {"keep", FLAG_INT, &keep, "checkpoints kept"},
        {"resume", FLAG_BOOL, &resume, "continue the run in --out from its latest checkpoint"},
        {"stop-after", FLAG_INT, &stop_after, "stop (with a checkpoint) after this step, as a signal would (tests)"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"quiet", FLAG_BOOL, &quiet, "no progress line"},
    };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) flags[nf++] = common[i];
    const char *usage = distill
        ? "usage: r1 distill --data FILE.jsonl --student-config CONFIG.json --tokenizer tokenizer.json --out DIR [flags]\n"
          "Distillation: SFT of a smaller dense student on (filtered) samples of a teacher."
        : "usage: r1 sft --model DIR --data FILE.jsonl|--task T --out DIR [flags]\n"
          "Supervised fine-tuning with the chat template, loss on the assistant tokens only.";
    int rc = flags_parse(usage, flags, nf, argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (distill && (!o.config_path || !o.tokenizer_path)) {
        err_set(&e, "--student-config and --tokenizer are required (see --help)");
        return cli_fail(&e);
    }
    if (!distill && !o.model_dir) { err_set(&e, "--model is required (see --help)"); return cli_fail(&e); }
    if (level < 1 || level > 5) { err_set(&e, "--level: must be in 1..5 (got %ld)", level); return cli_fail(&e); }
    if (batch < 1 || batch > 4096 || seq_len < 2 || seq_len > 1 << 20) {
        err_set(&e, "--batch/--seq-len out of range (%ld, %ld)", batch, seq_len);
        return cli_fail(&e);
    }
    if (schedule_parse_kind(sched, &o.schedule, &e)) return cli_fail(&e);
    o.require_dense = distill;
    o.task_n = n; o.task_level = (int)level; o.epochs = epochs; o.steps = steps; o.batch = (int)batch;
    o.seq_len = (int)seq_len; o.drop_long = drop_long; o.lr = lr; o.min_lr_ratio = min_lr; o.warmup = warmup;
    o.adamw.weight_decay = wd; o.clip = clip; o.seed = (uint64_t)seed; o.val_frac = val_frac;
    o.eval_every = eval_every; o.save_every = save_every; o.keep = (int)keep; o.resume = resume;
    o.quiet = quiet; o.stop_after = stop_after;
    o.eval_samples = (int)eval_samples; o.eval_max_new = (int)eval_max_new;
    o.score = verify_score;
    threads_set((int)threads);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    o.stop = &stop_flag;
    SftResult res;
    if (sft_run(&o, &res, &e)) return cli_fail(&e);
    fprintf(stderr, "%s: %lld examples (%lld held out, %lld truncated, %lld dropped); %lld steps in %.1f s; "
                    "loss %.4f -> %.4f%s\n",
            distill ? "distill" : "sft", (long long)(res.n_train + res.n_val), (long long)res.n_val,
            (long long)res.truncated, (long long)res.dropped, (long long)res.steps_done, res.seconds,
            res.first_loss, res.last_loss,
            res.interrupted ? " (interrupted: checkpoint written)" : "");
    if (!isnan(res.val_loss)) fprintf(stderr, "%s: held-out loss %.4f\n", distill ? "distill" : "sft", res.val_loss);
    if (!isnan(res.accuracy))
        fprintf(stderr, "%s: held-out task accuracy %.3f (greedy, %d prompts)\n", distill ? "distill" : "sft",
                res.accuracy, (int)(eval_samples < res.n_val ? eval_samples : res.n_val));
    return 0;
}

int cmd_sft(int argc, char **argv) { return sft_cli_run(argc, argv, 0); }
