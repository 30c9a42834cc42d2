/* r1 sample: rejection sampling. N completions per prompt from a model; keep those the verifier
 * accepts and that pass the filters (src/rl/rs_filter.h), at most K per prompt; mix in
 * non-reasoning records (short tasks with an empty think) at a ratio; write chat SFT records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "infer/model_dir.h"
#include "io/file.h"
#include "io/json.h"
#include "rl/rs_filter.h"
#include "rl/sampling.h"
#include "tasks/records.h"

int cmd_sample(int argc, char **argv);

static void write_record(FileOut *f, const char *question, const char *assistant) {
    cJSON *r = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(r, "messages");
    cJSON *u = cJSON_CreateObject(), *a = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "role", "user");
    cJSON_AddStringToObject(u, "content", question);
    cJSON_AddStringToObject(a, "role", "assistant");
    cJSON_AddStringToObject(a, "content", assistant);
    cJSON_AddItemToArray(msgs, u);
    cJSON_AddItemToArray(msgs, a);
    char *s = json_print_line(r);
    file_out_line(f, s);
    free(s);
    cJSON_Delete(r);
}

int cmd_sample(int argc, char **argv) {
    Err e = {0};
    const char *task = NULL, *data = NULL, *level = "1", *lang = "en", *out = NULL;
    const char *format = "chat";
    long n_prompts = 100, n = 8, keep = 2, max_tokens = 256, seed = 1, threads = 0, min_len = 1, max_len = 0;
    double temperature = 0.7, top_p = 0.95, mix = 0.0, max_rep = 0.2;
    const Flag flags[] = {
        {"task", FLAG_STRING, &task, "built-in task(s), comma-separated"},
        {"data", FLAG_STRING, &data, "JSONL {\"prompt\",\"answer\"} instead of --task"},
        {"level", FLAG_STRING, &level, "task difficulty 1..5 or a range"},
        {"lang", FLAG_STRING, &lang, "en, zh or mixed"},
        {"n", FLAG_INT, &n_prompts, "prompts"},
        {"samples", FLAG_INT, &n, "completions per prompt (also -n N)"},
        {"keep", FLAG_INT, &keep, "at most this many kept per prompt"},
        {"temperature", FLAG_DOUBLE, &temperature, "sampling temperature"},
        {"top-p", FLAG_DOUBLE, &top_p, "nucleus sampling"},
        {"max-tokens", FLAG_INT, &max_tokens, "tokens generated per sample at most"},
        {"min-len", FLAG_INT, &min_len, "drop completions shorter than this (tokens)"},
        {"max-len", FLAG_INT, &max_len, "drop completions longer than this (tokens; 0: no bound)"},
        {"max-repetition", FLAG_DOUBLE, &max_rep, "drop when more than this share of word 3-grams repeat"},
        {"mix-non-reasoning", FLAG_DOUBLE, &mix, "share of the output that is non-reasoning records (0..0.9)"},
        {"prompt-format", FLAG_STRING, &format, "chat, plain or r1zero"},
        {"seed", FLAG_INT, &seed, "seed of prompts, sampling and the mix"},
        {"out", FLAG_STRING, &out, "SFT records (chat messages) to write"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
    };
    /* -n N is the spelling of --samples */
    for (int i = 1; i < argc; i++) if (!strcmp(argv[i], "-n")) argv[i] = "--samples";
    ModelFlags mf = {0};
    int rc = flags_parse_model("usage: r1 sample --model DIR --task T|--data FILE.jsonl -n N --out FILE.jsonl [--keep K]",
                               &mf, "model folder to sample from (the RL checkpoint)", flags,
                               (int)(sizeof flags / sizeof flags[0]), argc, argv, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!mf.dir || !out) { err_set(&e, "--model and --out are required"); return cli_fail(&e); }
    if (n < 1 || keep < 1 || n_prompts < 1) { err_set(&e, "-n, --keep and --n: must be >= 1"); return cli_fail(&e); }
    if (max_tokens < 1) { err_set(&e, "--max-tokens: must be >= 1, got %ld", max_tokens); return cli_fail(&e); }
    if (mix < 0 || mix > 0.9) { err_set(&e, "--mix-non-reasoning: must be in [0, 0.9]"); return cli_fail(&e); }
    PromptFormat fmt;
    if (prompt_format_parse(format, &fmt, &e)) return cli_fail(&e);
    threads_set((int)threads);
    PromptSource ps;
    if (prompt_source_open(&ps, task, data, level, lang, (uint64_t)seed, &e)) return cli_fail(&e);
    Model m;
    Tokenizer *tok = NULL;
    if (model_dir_open_as(mf.dir, mf.mode, &m, &tok, &e)) { prompt_source_free(&ps); return cli_fail(&e); }
    SamplerParams sp = sampler_defaults();
    sp.temperature = temperature;
    sp.top_p = top_p;
    GenOptions go = gen_options(sp, (uint64_t)seed, (int)max_tokens, tok);
    Completions c;
    rc = sample_completions(&m, tok, &ps, fmt, 0, (int)n_prompts, (int)n, &go, &c, &e);
    FileOut fo = {0};
    if (rc == 0) rc = file_out_open(&fo, out, &e);
    long counts[RS_N_VERDICTS] = {0}, kept = 0, mixed = 0;
    if (rc == 0) {
        RsFilter flt = {min_len, max_len, max_rep};
        unsigned long long *seen = xmalloc(sizeof *seen * (size_t)n);
        StrBuf content = {0};
        for (int i = 0; i < c.n_prompts; i++) {
            int n_seen = 0;
            for (int j = 0; j < n; j++) {
                size_t s = (size_t)i * n + j;
                RsVerdict v = rs_check(&flt, c.question[i], c.text[s], c.len[s], c.n_tokens[s],
                                       c.finish[s] == GEN_MAX_TOKENS || c.finish[s] == GEN_LENGTH, c.reference[i]);
                if (v == RS_KEEP) {
                    unsigned long long h = rs_text_hash(c.text[s], c.len[s]);
                    for (int q = 0; q < n_seen; q++) if (seen[q] == h) v = RS_DUPLICATE;
                    if (v == RS_KEEP && n_seen >= keep) continue;   /* over the cap: not counted as dropped */
                    if (v == RS_KEEP) seen[n_seen++] = h;
                }
                counts[v]++;
                if (v != RS_KEEP) continue;
                sb_clear(&content);
                if (fmt == PROMPT_CHAT) sb_append(&content, "<think>\n");
                sb_append_n(&content, c.text[s], c.len[s]);
                write_record(&fo, c.question[i], content.s);
                kept++;
            }
        }
        sb_free(&content);
        free(seen);
        /* non-reasoning data: short tasks answered with an empty think (R1's ~200k non-reasoning
         * samples, in proportion) */
        long want = mix > 0 ? (long)(kept * mix / (1 - mix) + 0.5) : 0;
        if (kept == 0 && mix > 0) {
            /* nothing passed: keep the output usable (a weak model early in a pipeline) */
            want = (long)(c.n_prompts * mix + 0.5);
            if (want < 1) want = 1;
            fprintf(stderr, "r1: warning: sample: no completion passed the filters; writing %ld non-reasoning records only\n", want);
        }
        static const char *const short_tasks[] = {"copy", "reverse", "next", "chat"};
        for (long i = 0; i < want && rc == 0; i++) {
            RecordSpec spec = {short_tasks[i % 4], 1, LANG_EN, 0, 0, 0, REC_SFT, SPLIT_TRAIN};
            cJSON *r = record_make(&spec, (uint64_t)seed + 991, (uint64_t)i, &e);
            if (!r) { rc = -1; break; }
            char *s = json_print_line(r);
            file_out_line(&fo, s);
            free(s);
            cJSON_Delete(r);
            mixed++;
        }
        if (rc == 0) rc = file_out_commit(&fo, &e);
        else file_out_abort(&fo);
    }
    if (rc == 0) {
        fprintf(stderr, "sample: %d prompts x %ld samples: kept %ld (cap %ld per prompt)", c.n_prompts, n, kept, keep);
        for (int v = 1; v < RS_N_VERDICTS; v++) fprintf(stderr, ", %s %ld", rs_verdict_name((RsVerdict)v), counts[v]);
        fprintf(stderr, "; + %ld non-reasoning records -> %s\n", mixed, out);
    }
    if (c.text) completions_free(&c);
    model_free(&m);
    tokenizer_free(tok);
    prompt_source_free(&ps);
    return rc ? cli_fail(&e) : 0;
}
