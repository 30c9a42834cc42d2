/* r1 align: alignment RL, DeepSeek-R1's stage 4 (rl/align.h): GRPO over reasoning prompts (rule
 * rewards) mixed with general prompts (reward-model scores), plus the language reward, the RM
 * term switched on for the last part of the run (--rm-from-frac). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/file.h"
#include "rl/align.h"
#include "rl/grpo.h"
#include "rl/reward_model.h"

int cmd_align(int argc, char **argv);

static volatile sig_atomic_t align_stop;
static void align_on_signal(int sig) { (void)sig; align_stop = 1; }

int cmd_align(int argc, char **argv) {
    Err e = {0};
    GrpoOptions o = grpo_defaults();
    const char *rm_help = NULL, *rm_harm = NULL, *task = NULL, *level = "1", *view = "summary";
    const char *rewards = "accuracy:1,format:1,language:0.2", *loss_type = "dapo";
    long B = o.prompts_per_step, G = o.num_generations, max_c = o.max_completion_length;
    long max_p = o.max_prompt_length, micro = o.micro_batch, steps = o.steps, seed = (long)o.seed;
    long save_every = o.save_every, keep = o.keep, threads = 0, pool = 2000;
    double temperature = o.temperature, top_p = o.top_p, beta = 0, lr = o.lr, clip = o.clip, max_seconds = 0;
    double rm_weight = 1.0, rm_from_frac = 0.5, general_frac = 0.5;
    int resume = 0, quiet = 0;
    const Flag flags[] = {
        {"model", FLAG_STRING, &o.model_dir, "policy to start from (the rejection-sampled SFT model)"},
        {"rm-helpful", FLAG_STRING, &rm_help, "helpfulness RM folder (r1 rm train): scores the summary after </think>"},
        {"rm-harmless", FLAG_STRING, &rm_harm, "harmlessness RM folder: scores the whole response (optional)"},
        {"helpful-view", FLAG_STRING, &view, "what the helpful RM reads: summary (R1) or full"},
        {"task", FLAG_STRING, &task, "reasoning task(s), comma-separated (rule rewards)"},
        {"level", FLAG_STRING, &level, "task difficulty 1..5 or a range like 1-3"},
        {"general-frac", FLAG_DOUBLE, &general_frac, "share of general prompts (chat requests and safety requests) in the pool"},
        {"pool", FLAG_INT, &pool, "prompts in the mixed pool (written to OUT/align_prompts.jsonl)"},
        {"out", FLAG_STRING, &o.out_dir, "run folder: metrics.jsonl, checkpoints/, the final model"},
        {"rewards", FLAG_STRING, &rewards, "weighted rule rewards (the language reward included by default)"},
        {"rm-weight", FLAG_DOUBLE, &rm_weight, "weight of the reward-model term"},
        {"rm-from-frac", FLAG_DOUBLE, &rm_from_frac, "the RM term counts from step floor(frac*steps) on (R1: last part of the run)"},
        {"prompts-per-step", FLAG_INT, &B, "B: prompts per RL step"},
        {"num-generations", FLAG_INT, &G, "G: completions per prompt (>= 2)"},
        {"temperature", FLAG_DOUBLE, &temperature, "rollout sampling temperature"},
        {"top-p", FLAG_DOUBLE, &top_p, "rollout nucleus sampling"},
        {"max-completion-length", FLAG_INT, &max_c, "tokens generated per completion at most"},
        {"max-prompt-length", FLAG_INT, &max_p, "longest prompt accepted, in tokens"},
        {"loss-type", FLAG_STRING, &loss_type, "grpo, bnpo, dr_grpo or dapo"},
        {"beta", FLAG_DOUBLE, &beta, "KL coefficient to the frozen reference"},
        {"learning-rate", FLAG_DOUBLE, &lr, "learning rate"},
        {"max-grad-norm", FLAG_DOUBLE, &clip, "gradient clipping (0: off)"},
        {"micro-batch", FLAG_INT, &micro, "sequences per forward/backward"},
        {"steps", FLAG_INT, &steps, "RL steps"},
        {"max-seconds", FLAG_DOUBLE, &max_seconds, "stop after the step that passes this wall time (0: no limit)"},
        {"seed", FLAG_INT, &seed, "seed of the pool, prompts and sampling"},
        {"save-every", FLAG_INT, &save_every, "checkpoint every N steps"},
        {"keep", FLAG_INT, &keep, "checkpoints kept"},
        {"resume", FLAG_BOOL, &resume, "continue the run in --out from its latest checkpoint"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"quiet", FLAG_BOOL, &quiet, "no progress line"},
    };
    int rc = flags_parse("usage: r1 align --model DIR --rm-helpful RM_DIR [--rm-harmless RM_DIR] --task T --out DIR [grpo flags] [--rm-from-frac 0.5]",
                         flags, (int)(sizeof flags / sizeof flags[0]), argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!o.model_dir || !o.out_dir || !rm_help || !task) {
        err_set(&e, "align: --model, --rm-helpful, --task and --out are required (see --help)");
        return cli_fail(&e);
    }
    if (!(rm_from_frac >= 0 && rm_from_frac <= 1)) { err_set(&e, "--rm-from-frac: must be in [0, 1]"); return cli_fail(&e); }
    if (strcmp(view, "summary") && strcmp(view, "full")) { err_set(&e, "--helpful-view: summary or full"); return cli_fail(&e); }
    int lo = 1, hi = 1;
    if (sscanf(level, "%d-%d", &lo, &hi) < 2) hi = lo;
    if (lo < 1 || hi > 5 || lo > hi) { err_set(&e, "--level: want 1..5 or a range like 1-3 (got '%s')", level); return cli_fail(&e); }
    if (rewards_parse(rewards, &o.rewards, &e) || grpo_loss_type_parse(loss_type, &o.loss.type, &e)) return cli_fail(&e);
    RewardModel help, harm;
    if (rm_load(&help, rm_help, &e)) return cli_fail(&e);
    if (rm_harm && rm_load(&harm, rm_harm, &e)) { rm_free(&help); return cli_fail(&e); }
    AlignRm ctx = {.helpful = &help, .harmless = rm_harm ? &harm : NULL, .helpful_full = !strcmp(view, "full")};
    char prompts_path[4096];
    snprintf(prompts_path, sizeof prompts_path, "%s/align_prompts.jsonl", o.out_dir);
    AlignMix mix = {.tasks = task, .level_lo = lo, .level_hi = hi, .n = (int)pool, .general_frac = general_frac,
                    .seed = (uint64_t)seed};
    PromptSource ps;
    rc = file_mkdirs(o.out_dir, &e);
    if (rc == 0) rc = align_write_prompts(prompts_path, &mix, &e);
    if (rc == 0) rc = prompt_source_file(&ps, prompts_path, (uint64_t)seed, &e);
    if (rc == 0) {
        o.prompts = &ps;
        o.prompt_format = PROMPT_CHAT;
        o.extra_reward = align_rm_reward;
        o.extra_reward_ctx = &ctx;
        o.extra_reward_weight = rm_weight;
        o.extra_reward_name = "rm";
        o.extra_reward_from_step = (int64_t)(rm_from_frac * (double)steps);
        o.prompts_per_step = (int)B; o.num_generations = (int)G; o.temperature = temperature; o.top_p = top_p;
        o.max_completion_length = (int)max_c; o.max_prompt_length = (int)max_p; o.loss.beta = beta;
        o.lr = lr; o.clip = clip; o.micro_batch = (int)micro; o.steps = steps; o.max_seconds = max_seconds;
        o.seed = (uint64_t)seed; o.save_every = save_every; o.keep = (int)keep; o.resume = resume; o.quiet = quiet;
        threads_set((int)threads);
        signal(SIGINT, align_on_signal);
        signal(SIGTERM, align_on_signal);
        o.stop = &align_stop;
        GrpoResult res;
        rc = grpo_run(&o, &res, &e);
        prompt_source_free(&ps);
        if (rc == 0)
            fprintf(stderr, "align: %lld steps in %.1f s (RM term from step %lld); last step: reward %.3f, rm %.3f, accuracy %.3f, length %.1f; %d general completions scored%s\n",
                    (long long)res.steps_done, res.seconds, (long long)o.extra_reward_from_step, res.last.reward_mean,
                    res.last.extra_mean, res.last.accuracy, res.last.len_mean, ctx.n_calls,
                    res.interrupted ? " (interrupted: checkpoint written)" : "");
    }
    rm_free(&help);
    if (rm_harm) rm_free(&harm);
    return rc ? cli_fail(&e) : 0;
}
