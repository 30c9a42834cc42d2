/* r1 sft: supervised fine-tuning on chat records (src/train/sft.h); also r1 distill's CLI
 * (src/cli/distill.c): the same trainer with a student config instead of a model folder. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/sft_cli.h"
#include "cli/train_cli.h"
#include "rl/sft_eval.h"
#include "train/sft.h"

int cmd_sft(int argc, char **argv);

int sft_cli_run(int argc, char **argv, int distill) {
    Err e = {0};
    SftOptions o = sft_defaults();
    o.require_dense = distill;
    const char *usage = distill
        ? "usage: r1 distill --data FILE.jsonl --student-config CONFIG.json --tokenizer tokenizer.json --out DIR [flags]\n"
          "Distillation: SFT of a smaller dense student on (filtered) samples of a teacher."
        : "usage: r1 sft --model DIR --data FILE.jsonl|--task T --out DIR [flags]\n"
          "Supervised fine-tuning with the chat template, loss on the assistant tokens only.";
    cJSON *saved = NULL;
    int rc = train_cli_parse(usage, distill ? &DISTILL_OPTIONS : &SFT_OPTIONS, &o, &o.run, NULL, 0, argc, argv,
                             NULL, 0, NULL, &saved, &e);
    if (rc) { cJSON_Delete(saved); return rc > 0 ? 0 : cli_fail(&e); }
    o.accuracy = sft_greedy_accuracy;   /* scored by the answer verifier */
    SftResult res;
    rc = sft_run(&o, &res, &e);
    cJSON_Delete(saved);
    if (rc) return cli_fail(&e);
    if (!cli_reports()) return 0;
    const char *name = distill ? "distill" : "sft";
    fprintf(stderr, "%s: %lld examples (%lld held out, %lld truncated, %lld dropped); %lld steps in %.1f s; "
                    "loss %.4f -> %.4f%s\n",
            name, (long long)(res.n_train + res.n_val), (long long)res.n_val, (long long)res.truncated,
            (long long)res.dropped, (long long)res.steps_done, res.seconds, res.first_loss, res.last_loss,
            res.interrupted ? " (interrupted: checkpoint written)" : "");
    if (!isnan(res.val_loss)) fprintf(stderr, "%s: held-out loss %.4f\n", name, res.val_loss);
    if (!isnan(res.accuracy))
        fprintf(stderr, "%s: held-out task accuracy %.3f (greedy, %d prompts)\n", name, res.accuracy,
                (int)(o.eval_samples < res.n_val ? o.eval_samples : res.n_val));
    return 0;
}

int cmd_sft(int argc, char **argv) { return sft_cli_run(argc, argv, 0); }
