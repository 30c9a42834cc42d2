/* r1 eval: pass@1 over k samples (the R1 protocol: T 0.6, top-p 0.95), unbiased pass@k, cons@k,
 * format, language consistency and mean length, per task and level (src/rl/eval_metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "infer/model_dir.h"
#include "io/json.h"
#include "rl/eval_metrics.h"
#include "rl/sampling.h"

int cmd_eval(int argc, char **argv);

int cmd_eval(int argc, char **argv) {
    Err e = {0};
    const char *task = NULL, *data = NULL, *level = "1", *lang = "en", *out = NULL;
    const char *format = "chat", *split = "test";
    long n = 100, k = 8, max_tokens = 256, seed = 1234, threads = 0, slots = 64;
    double temperature = 0.6, top_p = 0.95;
    const Flag flags[] = {
        {"task", FLAG_STRING, &task, "built-in task(s), comma-separated"},
        {"data", FLAG_STRING, &data, "JSONL {\"prompt\",\"answer\"} (or GSM8K) instead of --task"},
        {"level", FLAG_STRING, &level, "task difficulty 1..5 or a range"},
        {"lang", FLAG_STRING, &lang, "en, zh or mixed"},
        {"n", FLAG_INT, &n, "prompts (with --data: drawn from the file)"},
        {"k", FLAG_INT, &k, "samples per prompt"},
        {"temperature", FLAG_DOUBLE, &temperature, "sampling temperature (R1: 0.6)"},
        {"top-p", FLAG_DOUBLE, &top_p, "nucleus sampling (R1: 0.95)"},
        {"max-tokens", FLAG_INT, &max_tokens, "tokens generated per sample at most"},
        {"prompt-format", FLAG_STRING, &format, "chat, plain or r1zero (as in r1 grpo)"},
        {"split", FLAG_STRING, &split, "built-in tasks: test (held out from every training generator) or train"},
        {"seed", FLAG_INT, &seed, "seed of the prompts and the sampling"},
        {"slots", FLAG_INT, &slots, "concurrent sequences"},
        {"out", FLAG_STRING, &out, "write the report as JSON here"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
    };
    ModelFlags mf = {0};
    int rc = flags_parse_model("usage: r1 eval --model DIR --task T|--data FILE.jsonl [--k 8] [--temperature 0.6] [--top-p 0.95] [--max-tokens N]",
                               &mf, "model folder (with tokenizer.json)", flags, (int)(sizeof flags / sizeof flags[0]),
                               argc, argv, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!mf.dir) { err_set(&e, "--model is required"); return cli_fail(&e); }
    if (n < 1 || k < 1) { err_set(&e, "--n and --k: must be >= 1"); return cli_fail(&e); }
    if (slots < 1) { err_set(&e, "--slots: must be >= 1, got %ld", slots); return cli_fail(&e); }
    if (max_tokens < 1) { err_set(&e, "--max-tokens: must be >= 1, got %ld", max_tokens); return cli_fail(&e); }
    PromptFormat fmt;
    if (prompt_format_parse(format, &fmt, &e)) return cli_fail(&e);
    threads_set((int)threads);
    PromptSource ps;
    TaskSplit which;
    if (task_split_parse(split, &which, &e)) return cli_fail(&e);
    if (prompt_source_open(&ps, task, data, level, lang, (uint64_t)seed, &e)) return cli_fail(&e);
    ps.split = which;
    Model m;
    Tokenizer *tok = NULL;
    if (model_dir_open_as(mf.dir, mf.mode, &m, &tok, &e)) { prompt_source_free(&ps); return cli_fail(&e); }
    SamplerParams sp = sampler_defaults();
    sp.temperature = temperature;
    sp.top_p = top_p;
    GenOptions go = gen_options(sp, (uint64_t)seed, (int)max_tokens, tok);
    go.n_slots = (int)slots;
    Completions c;
    rc = sample_completions(&m, tok, &ps, fmt, 0, (int)n, (int)k, &go, &c, &e);
    if (rc == 0) {
        EvalReport rep;
        memset(&rep, 0, sizeof rep);
        EvalProblems problems = {0};
        rep.k = (int)k;
        rep.k_pass = (int)k;
        RewardParams rp;
        reward_params_default(&rp);
        for (int i = 0; i < c.n_prompts; i++) {
            EvalGroup g;
            eval_group(c.question[i], c.reference[i], (const char *const *)c.text + (size_t)i * k,
                       c.len + (size_t)i * k, c.n_tokens + (size_t)i * k, (int)k, (int)k, &rp, &g);
            eval_report_add(&rep, c.task[i], c.level[i], &g);
            eval_problems_add(&problems, c.question[i], c.reference[i], &g);
        }
        eval_report_print(&rep, stdout);
        if (out) {
            cJSON *j = eval_report_json(&rep);
            cJSON_AddStringToObject(j, "model", mf.dir);
            cJSON_AddNumberToObject(j, "temperature", temperature);
            cJSON_AddNumberToObject(j, "top_p", top_p);
            cJSON_AddItemToObject(j, "problems", eval_problems_json(&problems, (int)k));
            rc = json_save_file(j, out, &e);
            cJSON_Delete(j);
        }
        eval_problems_free(&problems);
        completions_free(&c);
    }
    model_free(&m);
    tokenizer_free(tok);
    prompt_source_free(&ps);
    return rc ? cli_fail(&e) : 0;
}
