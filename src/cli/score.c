/* r1 score: scores completions someone already has (from any model) with the rule rewards
 * (rl/rewards.h); prints "NAME: MEAN" per reward and, with --out, every record with its scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/file.h"
#include "io/json.h"
#include "rl/rewards.h"
#include "rl/score_record.h"
#include "rl/verify.h"

int cmd_score(int argc, char **argv);

int cmd_score(int argc, char **argv) {
    const char *data = NULL, *cfield = "completion", *afield = "answer", *pfield = "prompt";
    const char *list = "accuracy,format,tag_count", *out = NULL;
    int fallback = 0;
    RewardParams rp;
    reward_params_default(&rp);
    long cos_len = rp.cos_max_len, ol_max = rp.overlong_max, ol_cache = rp.overlong_cache, ngram = rp.rep_ngram;
    const Flag flags[] = {
        {"data", FLAG_STRING, &data, "JSONL file with one completion per line"},
        {"completion-field", FLAG_STRING, &cfield, "field holding the completion (a string, or a chat array: last content)"},
        {"answer-field", FLAG_STRING, &afield, "field holding the reference answer (a number, \"#### n\", \\boxed{}, countdown:..., exact:...)"},
        {"prompt-field", FLAG_STRING, &pfield, "field holding the prompt (optional in the data; used by language and tag_count)"},
        {"rewards", FLAG_STRING, &list, "rewards with weights: accuracy, format, tag_count, language, cosine, repetition, overlong"},
        {"out", FLAG_STRING, &out, "write each record with its scores to this JSONL file"},
        {"fallback-number", FLAG_BOOL, &fallback, "accuracy: use the last number when no answer tag, \\boxed or #### is found"},
        {"cosine-max-len", FLAG_INT, &cos_len, "cosine: length (code points) where the scale ends"},
        {"overlong-max", FLAG_INT, &ol_max, "overlong: maximum length (code points)"},
        {"overlong-cache", FLAG_INT, &ol_cache, "overlong: soft punishment interval"},
        {"ngram", FLAG_INT, &ngram, "repetition: n-gram size"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 score --data FILE.jsonl [--completion-field F] [--answer-field A] [--rewards LIST] [--out FILE.jsonl]",
                         flags, sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!data) { err_set(&e, "score: --data is required"); return cli_fail(&e); }
    RewardSet set;
    if (rewards_parse(list, &set, &e)) return cli_fail(&e);
    if (fallback) rp.extract_flags |= VERIFY_LAST_NUMBER;
    rp.cos_max_len = cos_len;
    rp.overlong_max = ol_max;
    rp.overlong_cache = ol_cache;
    rp.rep_ngram = (int)ngram;
    if (ngram < 1 || cos_len < 1 || ol_cache < 0 || ol_cache > ol_max) {
        err_set(&e, "score: --ngram, --cosine-max-len must be >= 1 and 0 <= --overlong-cache <= --overlong-max");
        return cli_fail(&e);
    }

    size_t size;
    char *buf = file_read_all(data, &size, &e);
    if (!buf) return cli_fail(&e);
    FileOut fo = {0};
    if (out && file_out_open(&fo, out, &e) != 0) { free(buf); return cli_fail(&e); }
    double sum[REWARD_MAX_TERMS] = {0}, each[REWARD_MAX_TERMS];
    long n = 0;
    int status = 0;
    JsonlIter it = jsonl_iter(buf, size);
    const char *line;
    size_t len;
    while (jsonl_next(&it, &line, &len)) {
        cJSON *rec = json_parse_n(line, len, &e);
        if (!rec) { err_prefix(&e, "%s:%d", data, it.line); status = -1; break; }
        ScoreRecord sr;
        if (score_record_read(rec, cfield, afield, pfield, &sr, &e)) {
            err_prefix(&e, "%s:%d", data, it.line);
            cJSON_Delete(rec);
            status = -1;
            break;
        }
        RewardInput in = {sr.prompt, sr.completion, strlen(sr.completion), sr.answer, 0};
        double total = rewards_score(&set, &in, &rp, each);
        for (int i = 0; i < set.n; i++) sum[i] += each[i];
        n++;
        if (out) {
            cJSON *r = cJSON_AddObjectToObject(rec, "rewards");
            for (int i = 0; i < set.n; i++) cJSON_AddNumberToObject(r, reward_name(set.id[i]), each[i]);
            cJSON_AddNumberToObject(rec, "reward", total);
            char *text = json_print_line(rec);
            file_out_line(&fo, text);
            free(text);
        }
        cJSON_Delete(rec);
    }
    free(buf);
    if (out && status == 0) status = file_out_commit(&fo, &e);
    file_out_abort(&fo);
    if (status) return cli_fail(&e);
    for (int i = 0; i < set.n; i++) printf("%s: %.4f\n", reward_name(set.id[i]), n ? sum[i] / (double)n : 0.0);
    fprintf(stderr, "scored %ld records from %s\n", n, data);
    return 0;
}
