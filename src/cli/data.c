/* r1 data make: writes a JSONL corpus of built-in task problems (tasks/records.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "io/file.h"
#include "io/json.h"
#include "tasks/records.h"

int cmd_data(int argc, char **argv);

/* "3" or "1-5" */
static int parse_levels(const char *s, int *lo, int *hi, Err *e) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (*end == '-') b = strtol(end + 1, &end, 10);
    if (*end || a < 1 || b > 5 || a > b) return err_set(e, "--level '%s': expected 1..5 or a range like 1-5", s);
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

static int data_make(int argc, char **argv) {
    const char *task = "arith", *format = "sft", *lang = "en", *out = NULL, *level = "1", *text_out = NULL;
    long n = 1000, seed = 1;
    const char *split = "train";
    double self_check = 0.3, cot = 1.0, mix_cot = 0.0;
    const Flag flags[] = {
        {"task", FLAG_STRING, &task, "task, or a comma-separated list used in turn (arith, countdown, linear, copy, reverse, next, chat)"},
        {"n", FLAG_INT, &n, "number of records"},
        {"level", FLAG_STRING, &level, "difficulty 1..5, or a range like 1-5 drawn per record"},
        {"format", FLAG_STRING, &format, "pretrain | sft | rl | prefs"},
        {"lang", FLAG_STRING, &lang, "en | zh | mixed (drawn per record)"},
        {"seed", FLAG_INT, &seed, "random seed"},
        {"out", FLAG_STRING, &out, "output JSONL file"},
        {"self-check", FLAG_DOUBLE, &self_check, "probability of a 'wait, check' after each step"},
        {"cot", FLAG_DOUBLE, &cot, "pretrain/sft: share of records with the chain of thought (others: empty think)"},
        {"text-out", FLAG_STRING, &text_out, "pretrain: also write the documents as plain text, one blank line apart (tokenizer training input)"},
        {"mix-cot", FLAG_DOUBLE, &mix_cot, "pretrain/sft: share of chains of thought that switch language part way (language mixing)"},
        {"split", FLAG_STRING, &split, "train, or test: the held-out problems `r1 eval` uses (never in training data)"},
    };
    Err e = {0};
    int rc = flags_parse("usage: r1 data make --task T --n N --level L --format F --lang L --seed S --out FILE.jsonl",
                         flags, sizeof flags / sizeof flags[0], argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!out) { err_set(&e, "data make: --out is required"); return cli_fail(&e); }
    if (n < 0) { err_set(&e, "--n: must be >= 0"); return cli_fail(&e); }
    int fmt = record_format_parse(format);
    if (fmt < 0) { err_set(&e, "--format '%s': expected pretrain, sft, rl or prefs", format); return cli_fail(&e); }
    int mixed = !strcmp(lang, "mixed");
    if (!mixed && strcmp(lang, "en") && strcmp(lang, "zh")) {
        err_set(&e, "--lang '%s': expected en, zh or mixed", lang);
        return cli_fail(&e);
    }
    if (self_check < 0 || self_check > 1 || cot < 0 || cot > 1 || mix_cot < 0 || mix_cot > 1) {
        err_set(&e, "--self-check, --cot and --mix-cot: must be in [0, 1]");
        return cli_fail(&e);
    }
    int lo = 1, hi = 1;
    if (parse_levels(level, &lo, &hi, &e)) return cli_fail(&e);
    TaskSplit which;
    if (task_split_parse(split, &which, &e)) return cli_fail(&e);
    /* the task list */
    char *tasks = xstrdup(task), *names[16];
    int n_tasks = 0;
    for (char *s = strtok(tasks, ","); s; s = strtok(NULL, ",")) {
        if (n_tasks == 16) { err_set(&e, "--task: at most 16 tasks"); free(tasks); return cli_fail(&e); }
        if (!task_find(s)) {
            err_set(&e, "--task: unknown task '%s' (known: %s)", s, task_names());
            free(tasks);
            return cli_fail(&e);
        }
        names[n_tasks++] = s;
    }
    if (!n_tasks) { err_set(&e, "--task: empty"); free(tasks); return cli_fail(&e); }

    if (text_out && fmt != REC_PRETRAIN) { free(tasks); err_set(&e, "--text-out: only with --format pretrain"); return cli_fail(&e); }
    FileOut f = {0}, tf = {0};
    if (file_out_open(&f, out, &e) != 0 || (text_out && file_out_open(&tf, text_out, &e) != 0)) {
        file_out_abort(&f);
        free(tasks);
        return cli_fail(&e);
    }
    rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        Rng pick = rng_make((uint64_t)seed, RNG_TASK, (uint64_t)i, 3);
        RecordSpec spec = {names[i % n_tasks], lo + (int)rng_below(&pick, (uint64_t)(hi - lo + 1)),
                           mixed ? (TaskLang)rng_below(&pick, 2) : !strcmp(lang, "zh") ? LANG_ZH : LANG_EN,
                           self_check, cot, mix_cot, (RecordFormat)fmt, which};
        cJSON *rec = record_make(&spec, (uint64_t)seed, (uint64_t)i, &e);
        if (!rec) { rc = -1; break; }
        char *line = json_print_line(rec);
        file_out_line(&f, line);
        free(line);
        if (text_out) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "text");
            if (cJSON_IsString(t)) { file_out_puts(&tf, t->valuestring); file_out_puts(&tf, "\n\n"); }
        }
        cJSON_Delete(rec);
    }
    free(tasks);
    if (rc == 0 && text_out) rc = file_out_commit(&tf, &e);
    if (rc == 0) rc = file_out_commit(&f, &e);
    file_out_abort(&tf);
    file_out_abort(&f);
    if (rc) return cli_fail(&e);
    fprintf(stderr, "wrote %ld records to %s\n", n, out);
    return 0;
}

int cmd_data(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "make")) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            printf("usage: r1 data make [flags]   (r1 data make --help)\n");
            return 0;
        }
        Err e;
        err_set(&e, "data: expected 'make' (usage: r1 data make --task T --n N ...)");
        return cli_fail(&e);
    }
    return data_make(argc - 1, argv + 1);
}
