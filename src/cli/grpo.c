/* r1 grpo / r1 zero: GRPO from a model folder (src/rl/grpo.h). Flag names follow TRL's
 * GRPOConfig where the meaning is the same. `r1 zero` is GRPO with the R1-Zero paper's template
 * and rule rewards, meant to start from a base model with no SFT. */
#include <stdio.h>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/train_cli.h"
#include "rl/grpo.h"

int cmd_grpo(int argc, char **argv);
int cmd_zero(int argc, char **argv);

static int run(int argc, char **argv, int zero) {
    Err e = {0};
    GrpoOptions o = grpo_defaults();
    if (zero) {
        o.prompt_format = PROMPT_R1ZERO;
        o.eval_every = 25;
    }
    const char *usage = zero ? "usage: r1 zero --model BASE_DIR --task T --out DIR [flags]\n"
                               "R1-Zero: GRPO from a base model with the paper's template and rule rewards."
                             : "usage: r1 grpo --model DIR --task T|--data FILE.jsonl --out DIR [flags]\n"
                               "GRPO with rule rewards (DeepSeek-R1's reasoning RL).";
    cJSON *saved = NULL;
    int rc = train_cli_parse(usage, &GRPO_OPTIONS, &o, &o.run, NULL, 0, argc, argv, NULL, 0, NULL, &saved, &e);
    GrpoResult res;
    if (rc == 0) rc = grpo_run(&o, &res, &e);
    cJSON_Delete(saved);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!cli_reports()) return 0;
    const char *name = zero ? "zero" : "grpo";
    fprintf(stderr, "%s: %lld steps in %.1f s; last step: reward %.3f, accuracy %.3f, length %.1f%s\n", name,
            (long long)res.steps_done, res.seconds, res.last.reward_mean, res.last.accuracy, res.last.len_mean,
            res.interrupted ? " (interrupted: checkpoint written)" : "");
    if (res.last.eval_done)
        fprintf(stderr, "%s: held-out pass@1 of the final policy %.3f (%d problems x %d samples)\n", name,
                res.last.eval_accuracy, o.eval_n, o.eval_k);
    return 0;
}

int cmd_grpo(int argc, char **argv) { return run(argc, argv, 0); }
int cmd_zero(int argc, char **argv) { return run(argc, argv, 1); }
