/* r1 grpo / r1 zero: GRPO from a model folder (src/rl/grpo.h). Flag names follow TRL's
 * GRPOConfig where the meaning is the same. `r1 zero` is GRPO with the R1-Zero paper's template
 * and rule rewards, meant to start from a base model with no SFT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "rl/grpo.h"

int cmd_grpo(int argc, char **argv);
int cmd_zero(int argc, char **argv);

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int run(int argc, char **argv, int zero) {
    Err e = {0};
    GrpoOptions o = grpo_defaults();
    const char *task = NULL, *level = "1", *lang = "en", *data = NULL, *eval_data = NULL;
    long eval_every = zero ? 25 : 0, eval_n = 64, eval_k = 4;
    const char *rewards = "accuracy:1,format:1", *format = zero ? "r1zero" : "chat";
    const char *loss_type = "dapo", *scale = "group", *sched = "constant";
    long B = o.prompts_per_step, G = o.num_generations, max_c = o.max_completion_length;
    long max_p = o.max_prompt_length, top_k = 0, refill = o.max_refill, mu = o.num_iterations;
    long micro = o.micro_batch, steps = o.steps, seed = (long)o.seed, save_every = o.save_every;
    long keep = o.keep, warmup = 0, ref_sync = 0, threads = 0, gen_batch = 0;
    double max_seconds = 0;
    double temperature = o.temperature, top_p = o.top_p, eps = 0.2, eps_high = -1, beta = 0;
    double lr = o.lr, wd = o.adamw.weight_decay, clip = o.clip;
    int dynamic = 0, mask_trunc = 0, resume = 0, quiet = 0;
    const Flag flags[] = {
        {"model", FLAG_STRING, &o.model_dir, "policy to start from: a Hugging Face folder with tokenizer.json"},
        {"out", FLAG_STRING, &o.out_dir, "run folder: metrics.jsonl, checkpoints/, the final model"},
        {"task", FLAG_STRING, &task, "built-in task(s), comma-separated (arith, countdown, linear, ...)"},
        {"level", FLAG_STRING, &level, "task difficulty 1..5 or a range like 1-3"},
        {"lang", FLAG_STRING, &lang, "task language: en, zh or mixed"},
        {"data", FLAG_STRING, &data, "JSONL prompts instead of --task: {\"prompt\",\"answer\"} or GSM8K"},
        {"rewards", FLAG_STRING, &rewards, "weighted rule rewards, e.g. accuracy:1,format:0.5,language:0.2"},
        {"prompt-format", FLAG_STRING, &format, "chat (R1 chat template), r1zero (the R1-Zero paper's template) or plain (question + newline, as pretraining documents)"},
        {"prompts-per-step", FLAG_INT, &B, "B: prompts per RL step"},
        {"num-generations", FLAG_INT, &G, "G: completions per prompt (>= 2)"},
        {"generation-batch-size", FLAG_INT, &gen_batch, "completions per step instead of --prompts-per-step (TRL's name): B = this / G, must divide by G"},
        {"temperature", FLAG_DOUBLE, &temperature, "rollout sampling temperature"},
        {"top-p", FLAG_DOUBLE, &top_p, "rollout nucleus sampling"},
        {"top-k", FLAG_INT, &top_k, "rollout top-k (0 = off)"},
        {"max-completion-length", FLAG_INT, &max_c, "tokens generated per completion at most"},
        {"max-prompt-length", FLAG_INT, &max_p, "longest prompt accepted, in tokens"},
        {"dynamic-sampling", FLAG_BOOL, &dynamic, "drop groups with equal rewards and draw more prompts (DAPO)"},
        {"max-refill", FLAG_INT, &refill, "extra rounds of prompts per step for dynamic sampling"},
        {"loss-type", FLAG_STRING, &loss_type, "grpo, bnpo, dr_grpo or dapo"},
        {"scale-rewards", FLAG_STRING, &scale, "group, batch or none (Dr. GRPO)"},
        {"epsilon", FLAG_DOUBLE, &eps, "clip range: ratio clipped to [1-epsilon, 1+epsilon-high]"},
        {"epsilon-high", FLAG_DOUBLE, &eps_high, "upper clip (default: = epsilon; DAPO uses 0.28)"},
        {"beta", FLAG_DOUBLE, &beta, "KL coefficient to the frozen reference (0: no reference is loaded)"},
        {"num-iterations", FLAG_INT, &mu, "mu: optimizer passes over each rollout batch"},
        {"mask-truncated-completions", FLAG_BOOL, &mask_trunc, "exclude truncated completions from the loss"},
        {"ref-model-sync-steps", FLAG_INT, &ref_sync, "reset the reference to the policy every N steps (0: never)"},
        {"learning-rate", FLAG_DOUBLE, &lr, "peak learning rate"},
        {"lr-scheduler", FLAG_STRING, &sched, "constant, cosine or wsd"},
        {"warmup", FLAG_INT, &warmup, "warm-up steps"},
        {"weight-decay", FLAG_DOUBLE, &wd, "AdamW weight decay"},
        {"max-grad-norm", FLAG_DOUBLE, &clip, "gradient clipping (0: off)"},
        {"micro-batch", FLAG_INT, &micro, "sequences per forward/backward"},
        {"steps", FLAG_INT, &steps, "RL steps"},
        {"max-seconds", FLAG_DOUBLE, &max_seconds, "stop after the step that passes this wall time (0: no limit)"},
        {"eval-every", FLAG_INT, &eval_every, "held-out pass@1 before every N-th step and at the end (0: off); --task: the test split"},
        {"eval-n", FLAG_INT, &eval_n, "held-out problems per evaluation"},
        {"eval-k", FLAG_INT, &eval_k, "samples per held-out problem (T 0.6, top-p 0.95)"},
        {"eval-data", FLAG_STRING, &eval_data, "with --data: JSONL of held-out prompts for --eval-every"},
        {"seed", FLAG_INT, &seed, "seed of prompts and sampling"},
        {"save-every", FLAG_INT, &save_every, "checkpoint every N steps (and at the end, and on SIGINT/SIGTERM)"},
        {"keep", FLAG_INT, &keep, "checkpoints kept"},
        {"resume", FLAG_BOOL, &resume, "continue the run in --out from its latest checkpoint"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"quiet", FLAG_BOOL, &quiet, "no progress line"},
    };
    const char *usage = zero ? "usage: r1 zero --model BASE_DIR --task T --out DIR [flags]\n"
                               "R1-Zero: GRPO from a base model with the paper's template and rule rewards."
                             : "usage: r1 grpo --model DIR --task T|--data FILE.jsonl --out DIR [flags]\n"
                               "GRPO with rule rewards (DeepSeek-R1's reasoning RL).";
    int rc = flags_parse(usage, flags, (int)(sizeof flags / sizeof flags[0]), argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!o.model_dir || !o.out_dir) { err_set(&e, "--model and --out are required (see --help)"); return cli_fail(&e); }
    if (G < 2) { err_set(&e, "--num-generations: must be >= 2 for group advantages (got %ld)", G); return cli_fail(&e); }
    if (gen_batch != 0) {
        if (gen_batch < 0 || gen_batch % G) {
            err_set(&e, "--generation-batch-size %ld is not a positive multiple of --num-generations %ld", gen_batch, G);
            return cli_fail(&e);
        }
        B = gen_batch / G;
    }
    PromptSource ps;
    if (prompt_source_open(&ps, task, data, level, lang, (uint64_t)seed, &e)) return cli_fail(&e);
    o.prompts = &ps;
    PromptSource eval_ps;
    memset(&eval_ps, 0, sizeof eval_ps);
    if (eval_every < 0 || eval_n < 1 || eval_k < 1) {
        prompt_source_free(&ps);
        err_set(&e, "--eval-every must be >= 0, --eval-n and --eval-k >= 1");
        return cli_fail(&e);
    }
    if (eval_every > 0 && (task || eval_data)) {
        if (prompt_source_open(&eval_ps, eval_data ? NULL : task, eval_data, level, lang, (uint64_t)seed, &e)) {
            prompt_source_free(&ps);
            return cli_fail(&e);
        }
        eval_ps.split = SPLIT_TEST;
        o.eval_prompts = &eval_ps;
        o.eval_every = eval_every;
        o.eval_n = (int)eval_n;
        o.eval_k = (int)eval_k;
    }
    if (prompt_format_parse(format, &o.prompt_format, &e) || rewards_parse(rewards, &o.rewards, &e) ||
        grpo_loss_type_parse(loss_type, &o.loss.type, &e) || reward_scaling_parse(scale, &o.scale_rewards, &e) ||
        schedule_parse_kind(sched, &o.schedule, &e)) {
        prompt_source_free(&ps);
        prompt_source_free(&eval_ps);
        return cli_fail(&e);
    }
    if (!(temperature > 0)) { err_set(&e, "--temperature: must be > 0 for GRPO rollouts (got %g)", temperature); return cli_fail(&e); }
    if (!(top_p > 0 && top_p <= 1)) { err_set(&e, "--top-p: must be in (0, 1] (got %g)", top_p); return cli_fail(&e); }
    o.prompts_per_step = (int)B; o.num_generations = (int)G; o.temperature = temperature; o.top_p = top_p;
    o.top_k = (int)top_k; o.max_completion_length = (int)max_c; o.max_prompt_length = (int)max_p;
    o.dynamic_sampling = dynamic; o.max_refill = (int)refill;
    o.loss.epsilon_low = eps; o.loss.epsilon_high = eps_high >= 0 ? eps_high : eps; o.loss.beta = beta;
    o.num_iterations = (int)mu; o.mask_truncated_completions = mask_trunc;
    o.ref_sync_steps = ref_sync; o.lr = lr; o.warmup = warmup; o.adamw.weight_decay = wd; o.clip = clip;
    o.micro_batch = (int)micro; o.steps = steps; o.max_seconds = max_seconds; o.seed = (uint64_t)seed; o.save_every = save_every;
    o.keep = (int)keep; o.resume = resume; o.quiet = quiet;
    threads_set((int)threads);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    o.stop = &stop_flag;
    GrpoResult res;
    rc = grpo_run(&o, &res, &e);
    prompt_source_free(&ps);
    prompt_source_free(&eval_ps);
    if (rc) return cli_fail(&e);
    fprintf(stderr, "%s: %lld steps in %.1f s; last step: reward %.3f, accuracy %.3f, length %.1f%s\n",
            zero ? "zero" : "grpo", (long long)res.steps_done, res.seconds, res.last.reward_mean,
            res.last.accuracy, res.last.len_mean, res.interrupted ? " (interrupted: checkpoint written)" : "");
    if (res.last.eval_done)
        fprintf(stderr, "%s: held-out pass@1 of the final policy %.3f (%ld problems x %ld samples)\n",
                zero ? "zero" : "grpo", res.last.eval_accuracy, eval_n, eval_k);
    return 0;
}

int cmd_grpo(int argc, char **argv) { return run(argc, argv, 0); }
int cmd_zero(int argc, char **argv) { return run(argc, argv, 1); }
