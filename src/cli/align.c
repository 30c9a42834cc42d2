/* r1 align: alignment RL, DeepSeek-R1's stage 4 (rl/align.h): GRPO over reasoning prompts (rule
 * rewards) mixed with general prompts (reward-model scores), plus the language reward, the RM
 * term switched on for the last part of the run (--rm-from-frac). */
#include <stdio.h>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/train_cli.h"
#include "rl/align.h"

int cmd_align(int argc, char **argv);

int cmd_align(int argc, char **argv) {
    Err e = {0};
    AlignOptions o = align_defaults();
    cJSON *saved = NULL;
    int rc = train_cli_parse("usage: r1 align --model DIR --rm-helpful RM_DIR [--rm-harmless RM_DIR] --task T --out DIR "
                             "[grpo flags] [--rm-from-frac 0.5]",
                             &ALIGN_OPTIONS, &o, &o.grpo.run, NULL, 0, argc, argv, NULL, 0, NULL, &saved, &e);
    AlignResult res;
    if (rc == 0) rc = align_run(&o, &res, &e);
    cJSON_Delete(saved);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!cli_reports()) return 0;
    const GrpoResult *g = &res.grpo;
    fprintf(stderr, "align: %lld steps in %.1f s (RM term from step %lld); last step: reward %.3f, rm %.3f, accuracy "
                    "%.3f, length %.1f; %d general completions scored%s\n",
            (long long)g->steps_done, g->seconds, (long long)res.rm_from_step, g->last.reward_mean,
            g->last.extra_mean, g->last.accuracy, g->last.len_mean, res.n_calls,
            g->interrupted ? " (interrupted: checkpoint written)" : "");
    return 0;
}
