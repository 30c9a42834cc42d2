/* r1 rm: the reward model of alignment RL (rl/reward_model.h).
 *   r1 rm train --model DIR (--data prefs.jsonl | --builtin helpful|harmless) --out DIR
 *               [--epochs --batch --lr --val-frac --seed --pointwise --n]
 *   r1 rm score --model RM_DIR --data FILE.jsonl [--field response] [--out FILE.jsonl]
 * train initialises the RM from a policy/base folder (trunk copied, small random head), trains it
 * with the Bradley–Terry loss (or BCE on safe/unsafe labels with --pointwise), prints the held-out
 * pair accuracy and saves the RM folder. score prints the mean score and writes every record with
 * "rm_score" added. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/file.h"
#include "io/json.h"
#include "rl/reward_model.h"

int cmd_rm(int argc, char **argv);

static int rm_train_cmd(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *builtin = NULL, *out = NULL;
    RmTrainOptions o = rm_train_defaults();
    long epochs = o.epochs, batch = o.batch, seed = (long)o.seed, n = 400;
    int pointwise = 0;
    Flag flags[] = {
        {"model", FLAG_STRING, &model, "policy/base model folder the RM starts from (trunk copied)"},
        {"data", FLAG_STRING, &data, "JSONL of {\"prompt\",\"chosen\",\"rejected\"} (point-wise: {\"prompt\",\"response\",\"label\"})"},
        {"builtin", FLAG_STRING, &builtin, "built-in data instead of --data: helpful or harmless"},
        {"n", FLAG_INT, &n, "built-in data: number of pairs"},
        {"out", FLAG_STRING, &out, "RM folder to write"},
        {"epochs", FLAG_INT, &epochs, "passes over the training items"},
        {"batch", FLAG_INT, &batch, "pairs (or labelled items) per step, 1..16"},
        {"lr", FLAG_DOUBLE, &o.lr, "AdamW learning rate"},
        {"clip", FLAG_DOUBLE, &o.clip, "gradient norm clip (0 = off)"},
        {"val-frac", FLAG_DOUBLE, &o.val_frac, "share held out for the accuracy"},
        {"seed", FLAG_INT, &seed, "seed of the head init, the split and the shuffles (and of built-in data)"},
        {"pointwise", FLAG_BOOL, &pointwise, "BCE on safe (1) / unsafe (0) labels instead of pairs"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 rm train --model DIR (--data prefs.jsonl | --builtin helpful|harmless) --out DIR [flags]",
                         flags, sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!model || !out) { err_set(&e, "rm train: --model and --out are required"); return cli_fail(&e); }
    if (!data == !builtin) { err_set(&e, "rm train: give exactly one of --data and --builtin"); return cli_fail(&e); }
    o.epochs = (int)epochs;
    o.batch = (int)batch;
    o.seed = (uint64_t)seed;
    RmData d;
    if (data ? rm_data_load(&d, data, pointwise, &e) : rm_data_builtin(&d, builtin, (int)n, (uint64_t)seed, pointwise, &e))
        return cli_fail(&e);
    RewardModel rm;
    if (rm_init_from_policy(&rm, model, (uint64_t)seed, &e)) { rm_data_free(&d); return cli_fail(&e); }
    RmTrainResult res;
    rc = rm_train(&rm, &d, &o, &res, &e);
    if (rc == 0) rc = rm_save(&rm, out, &e);
    rm_free(&rm);
    rm_data_free(&d);
    if (rc) return cli_fail(&e);
    printf("rm: %d train / %d held-out %s, %d steps, loss %.4f -> %.4f, held-out accuracy %.3f (before %.3f), %.1f s -> %s\n",
           res.n_train, res.n_val, pointwise ? "items" : "pairs", res.steps, res.first_loss, res.last_loss,
           res.val_acc, res.val_acc_before, res.seconds, out);
    return 0;
}

static int rm_score_cmd(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *field = "response", *pfield = "prompt", *out = NULL;
    Flag flags[] = {
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
    int n = 0, cap = 0, line = 0;
    for (char *s = buf, *end; s < buf + len && rc == 0; s = end + 1) {
        end = memchr(s, '\n', (size_t)(buf + len - s));
        if (!end) end = buf + len;
        line++;
        size_t l = (size_t)(end - s);
        int blank = 1;
        for (size_t i = 0; i < l && blank; i++) blank = s[i] == ' ' || s[i] == '\t' || s[i] == '\r';
        if (blank) continue;
        cJSON *j = cJSON_ParseWithLength(s, l);
        const char *p = NULL, *r = NULL;
        if (!j || !cJSON_IsObject(j)) rc = err_set(&e, "%s:%d: not a JSON object", data, line);
        else if (json_get_string(j, pfield, 1, &p, &e) || json_get_string(j, field, 1, &r, &e))
            rc = err_prefix(&e, "%s:%d", data, line);
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
