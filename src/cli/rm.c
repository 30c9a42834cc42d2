/* r1 rm: the reward model of alignment RL (rl/reward_model.h, rl/rm_train.h).
 *   r1 rm train --model DIR (--data prefs.jsonl | --builtin helpful|harmless) --out DIR
 *               [--epochs --batch --learning-rate --val-frac --seed --pointwise --n --resume ...]
 *   r1 rm score --model RM_DIR --data FILE.jsonl [--field response] [--out FILE.jsonl]
 * train initialises the RM from a policy/base folder (trunk copied, small random head), trains it
 * with the Bradley–Terry loss (or BCE on safe/unsafe labels with --pointwise) as a run
 * (checkpoints, metrics.jsonl, --resume), prints the held-out pair accuracy and leaves the RM
 * folder in --out. score prints the mean score and writes every record with "rm_score" added. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/train_cli.h"
#include "io/file.h"
#include "io/json.h"
#include "rl/reward_model.h"
#include "rl/rm_train.h"

int cmd_rm(int argc, char **argv);

static int rm_train_cmd(int argc, char **argv) {
    RmTrainOptions o = rm_train_defaults();
    cJSON *saved = NULL;
    Err e = {0};
    int rc = train_cli_parse("usage: r1 rm train --model DIR (--data prefs.jsonl | --builtin helpful|harmless) --out DIR [flags]",
                             &RM_TRAIN_OPTIONS, &o, &o.run, NULL, 0, argc, argv, NULL, 0, NULL, &saved, &e);
    RmTrainResult res;
    if (rc == 0) rc = rm_train_run(&o, &res, &e);
    cJSON_Delete(saved);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (res.interrupted) {
        printf("rm: stopped after %d steps: checkpoint written; continue with --resume\n", res.steps);
        return 0;
    }
    printf("rm: %d train / %d held-out %s, %d steps, loss %.4f -> %.4f, held-out accuracy %.3f (before %.3f), %.1f s -> %s\n",
           res.n_train, res.n_val, o.pointwise ? "items" : "pairs", res.steps, res.first_loss, res.last_loss,
           res.val_acc, res.val_acc_before, res.seconds, o.run.out_dir);
    return 0;
}

static int rm_score_cmd(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *field = "response", *pfield = "prompt", *out = NULL;
    const Flag flags[] = {
        {"model", FLAG_STRING, &model, "RM folder (r1 rm train --out)"},
        {"data", FLAG_STRING, &data, "JSONL file, one record per line"},
        {"field", FLAG_STRING, &field, "field holding the response to score"},
        {"prompt-field", FLAG_STRING, &pfield, "field holding the prompt"},
        {"out", FLAG_STRING, &out, "write each record with \"rm_score\" added to this JSONL file"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 rm score --model RM_DIR --data FILE.jsonl [--field response] [--out FILE.jsonl]",
                         flags, sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!model || !data) { err_set(&e, "rm score: --model and --data are required"); return cli_fail(&e); }
    size_t len = 0;
    char *buf = file_read_all(data, &len, &e);
    if (!buf) return cli_fail(&e);
    /* parse every record first: a bad line fails before any work */
    cJSON **recs = NULL;
    const char **prompts = NULL, **resp = NULL;
    int n = 0, cap = 0;
    JsonlIter it = jsonl_iter(buf, len);
    const char *s;
    size_t l;
    while (rc == 0 && jsonl_next(&it, &s, &l)) {
        cJSON *j = cJSON_ParseWithLength(s, l);
        const char *p = NULL, *r = NULL;
        if (!j || !cJSON_IsObject(j)) rc = err_set(&e, "%s:%d: not a JSON object", data, it.line);
        else if (json_get_string(j, pfield, 1, &p, &e) || json_get_string(j, field, 1, &r, &e))
            rc = err_prefix(&e, "%s:%d", data, it.line);
        if (rc) { cJSON_Delete(j); break; }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            recs = xrealloc(recs, (size_t)cap * sizeof *recs);
            prompts = xrealloc(prompts, (size_t)cap * sizeof *prompts);
            resp = xrealloc(resp, (size_t)cap * sizeof *resp);
        }
        recs[n] = j;
        prompts[n] = p;
        resp[n] = r;
        n++;
    }
    if (rc == 0 && n == 0) rc = err_set(&e, "%s: no records", data);
    double *scores = xcalloc((size_t)(n ? n : 1), sizeof *scores);
    RewardModel rm;
    if (rc == 0 && rm_load(&rm, model, &e) == 0) {
        rc = rm_score(&rm, n, prompts, resp, scores, &e);
        rm_free(&rm);
    } else if (rc == 0) {
        rc = -1;
    }
    if (rc == 0) {
        double mean = 0;
        for (int i = 0; i < n; i++) mean += scores[i] / n;
        printf("rm_score: %.4f (mean over %d records)\n", mean, n);
        if (out) {
            StrBuf sb = {0};
            for (int i = 0; i < n; i++) {
                cJSON_AddNumberToObject(recs[i], "rm_score", scores[i]);
                char *t = json_print_line(recs[i]);
                sb_append(&sb, t);
                sb_append(&sb, "\n");
                free(t);
            }
            rc = file_write_atomic(out, sb.s, sb.len, &e);
            sb_free(&sb);
        }
    }
    for (int i = 0; i < n; i++) cJSON_Delete(recs[i]);
    free(recs); free(prompts); free(resp); free(scores); free(buf);
    return rc ? cli_fail(&e) : 0;
}

int cmd_rm(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "train")) return rm_train_cmd(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "score")) return rm_score_cmd(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: r1 rm train|score [flags]   (r1 rm train --help, r1 rm score --help)\n");
        return 0;
    }
    Err e = {0};
    err_set(&e, "rm: expected a subcommand: train or score");
    return cli_fail(&e);
}
