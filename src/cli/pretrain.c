/* r1 pretrain: train a base model from text (src/train/pretrain.h does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "cli/commands.h"
#include "cli/train_cli.h"
#include "train/pretrain.h"

int cmd_pretrain(int argc, char **argv);

#define MAX_FILES 256

int cmd_pretrain(int argc, char **argv) {
    PretrainOptions o = pretrain_defaults();
    const char *pos[MAX_FILES];
    int n_pos = 0;
    cJSON *saved = NULL;
    Err e = {{0}};
    int rc = train_cli_parse("usage: r1 pretrain --config CONFIG.json --tokenizer tokenizer.json --data FILES --out DIR\n"
                             "                   [--steps N | --tokens N] [--resume] [flags]\n"
                             "Trains a base model on text; DIR ends up holding it as a Hugging Face folder.",
                             &PRETRAIN_OPTIONS, &o, &o.run, NULL, 0, argc, argv, pos, MAX_FILES, &n_pos, &saved, &e);
    if (rc) { cJSON_Delete(saved); return rc > 0 ? 0 : cli_fail(&e); }
    /* data files: --data a,b,c and positionals */
    StrBuf files = {0};
    if (o.data) sb_append(&files, o.data);
    for (int i = 0; i < n_pos; i++) sb_printf(&files, "%s%s", files.len ? "," : "", pos[i]);
    o.data = files.s;
    PretrainResult res;
    rc = pretrain_run(&o, &res, &e);
    sb_free(&files);
    cJSON_Delete(saved);
    if (rc != 0) return cli_fail(&e);
    if (!cli_reports()) return 0;
    if (res.interrupted)
        fprintf(stderr, "stopped at step %lld: checkpoint written; continue with --resume\n", (long long)res.steps_done);
    else
        fprintf(stderr, "done: %lld steps, loss %.4f, val loss %.4f, %.0f tokens/s%s; model in %s\n",
                (long long)res.steps_done, res.last_loss, res.val_loss, res.tokens_per_s,
                res.skipped ? " (some steps skipped: NaN/Inf)" : "", o.run.out_dir);
    return 0;
}
