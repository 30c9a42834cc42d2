/* r1 generate: text from a model folder, for one prompt or a JSONL file of prompts, N samples
 * each, batched with continuous batching (infer/generate.h). Prompts are rendered with the R1
 * chat template (a user message; --raw feeds the text as is after BOS). JSONL lines hold
 * {"prompt": "..."} or {"messages": [{"role": ..., "content": ...}, ...]}. Output: the
 * completions on stdout, or JSONL records with --out; speed on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "infer/generate.h"
#include "infer/model_dir.h"
#include "infer/prompt.h"
#include "io/file.h"
#include "io/json.h"

int cmd_generate(int argc, char **argv);

int cmd_generate(int argc, char **argv) {
    const char *prompt = NULL, *prompts = NULL, *out = NULL, *stop = NULL;
    long n = 1, max_tokens = 256, top_k = 0, seed = 0, threads = 0, batch = 64, context = 0;
    long chunk = 256;
    double temperature = 0.6, top_p = 0.95, min_p = 0, rep = 1, pres = 0;
    int raw = 0, truncate = 0, spec = 0, logprobs = 0, quiet = 0;
    const Flag flags[] = {
        {"prompt", FLAG_STRING, &prompt, "one prompt (a user message, unless --raw)"},
        {"prompts", FLAG_STRING, &prompts, "JSONL file: {\"prompt\": ...} or {\"messages\": [...]} per line"},
        {"n", FLAG_INT, &n, "samples per prompt (-n works too)"},
        {"max-tokens", FLAG_INT, &max_tokens, "new tokens per sample at most"},
        {"temperature", FLAG_DOUBLE, &temperature, "sampling temperature; 0 = greedy (R1 recommends 0.6)"},
        {"top-p", FLAG_DOUBLE, &top_p, "nucleus mass in (0, 1]; 1 = off"},
        {"top-k", FLAG_INT, &top_k, "keep the k most probable tokens; 0 = off"},
        {"min-p", FLAG_DOUBLE, &min_p, "keep tokens with p >= min-p * max p; 0 = off"},
        {"repetition-penalty", FLAG_DOUBLE, &rep, "divide positive (multiply negative) logits of tokens seen; 1 = off"},
        {"presence-penalty", FLAG_DOUBLE, &pres, "subtract from logits of tokens already generated; 0 = off"},
        {"seed", FLAG_INT, &seed, "sampling seed: sample j of prompt i uses stream (seed, i, j)"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"batch", FLAG_INT, &batch, "sequences decoded concurrently"},
        {"prefill-chunk", FLAG_INT, &chunk, "prompt tokens per forward step"},
        {"context", FLAG_INT, &context, "context length (prompt + generated); 0 = max_position_embeddings"},
        {"truncate-left", FLAG_BOOL, &truncate, "cut over-long prompts from the left instead of failing"},
        {"stop", FLAG_STRING, &stop, "also stop at this string (cut from the text)"},
        {"raw", FLAG_BOOL, &raw, "feed the prompt text as is (after BOS), without the chat template"},
        {"speculative", FLAG_BOOL, &spec, "MTP speculative decoding (greedy only)"},
        {"logprobs", FLAG_BOOL, &logprobs, "write per-token log-probs (at the temperature, untruncated) in --out"},
        {"out", FLAG_STRING, &out, "write JSONL records here instead of printing the texts"},
        {"quiet", FLAG_BOOL, &quiet, "no speed report on stderr"},
    };
    /* accept -n N as --n N */
    char **args = xmalloc((size_t)(argc + 1) * sizeof *args);
    for (int i = 0; i < argc; i++) args[i] = strcmp(argv[i], "-n") ? argv[i] : "--n";
    args[argc] = NULL;
    Err e = {{0}};
    ModelFlags mf = {0};
    int rc = flags_parse_model("usage: r1 generate --model DIR --prompt TEXT|--prompts FILE.jsonl [-n N] [--max-tokens N] "
                               "[--temperature T --top-p P --top-k K --min-p M --seed S] [--threads N] [--out FILE.jsonl]",
                               &mf, MODEL_DIR_HELP, flags, sizeof flags / sizeof flags[0], argc, args, &e);
    free(args);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!mf.dir) { err_set(&e, "generate: --model is required"); return cli_fail(&e); }
    if (!prompt == !prompts) { err_set(&e, "generate: give exactly one of --prompt and --prompts"); return cli_fail(&e); }
    if (n < 1 || n > 1000000) { err_set(&e, "-n: must be in [1, 1000000], got %ld", n); return cli_fail(&e); }
    if (max_tokens < 1 || max_tokens > 1 << 24) { err_set(&e, "--max-tokens: must be > 0, got %ld", max_tokens); return cli_fail(&e); }
    if (batch < 1 || batch > 1 << 16) { err_set(&e, "--batch: must be in [1, 65536], got %ld", batch); return cli_fail(&e); }
    if (chunk < 1 || chunk > 1 << 16) { err_set(&e, "--prefill-chunk: must be in [1, 65536], got %ld", chunk); return cli_fail(&e); }
    if (context < 0 || context > 1 << 24) { err_set(&e, "--context: must be >= 0, got %ld", context); return cli_fail(&e); }
    if (threads < 0) { err_set(&e, "--threads: must be >= 0, got %ld", threads); return cli_fail(&e); }
    if (top_k < 0 || top_k > 1 << 30) { err_set(&e, "--top-k: must be >= 0 (0 = off), got %ld", top_k); return cli_fail(&e); }
    SamplerParams sp = {temperature, (int)top_k, top_p, min_p, rep, pres};
    if (sampler_validate(&sp, &e) < 0) return cli_fail(&e);
    if (stop && !*stop) { err_set(&e, "--stop: empty string"); return cli_fail(&e); }
    if (spec && temperature != 0) {
        err_set(&e, "--speculative: needs greedy decoding (--temperature 0), got %g", temperature);
        return cli_fail(&e);
    }
    threads_set((int)threads);

    Model m;
    Tokenizer *tok = NULL;
    if (model_dir_open_as(mf.dir, mf.mode, &m, &tok, &e) < 0) return cli_fail(&e);
    GenOptions o = gen_options(sp, (uint64_t)seed, (int)max_tokens, tok);
    if (o.stop_id < 0) o.stop_id = m.cfg.eos_token_id;
    PromptRec *ps = NULL;
    int np = 0;
    if (prompt) {
        ps = xcalloc(1, sizeof *ps);
        np = 1;
        ps[0].text = xstrdup(prompt);
        ChatMessage msg = {"user", prompt};
        rc = raw ? prompt_encode_raw(tok, prompt, &ps[0].ids, &ps[0].n, &e)
                 : prompt_encode_chat(tok, &msg, 1, &ps[0].ids, &ps[0].n, &e);
        if (rc < 0) { err_prefix(&e, "--prompt"); goto done_err; }
    } else if (prompt_read_jsonl(prompts, tok, raw, &ps, &np, &e) < 0) {
        goto done_err;
    }
    if (spec && m.cfg.num_nextn_predict_layers < 1) {
        err_set(&e, "--speculative: the model has no MTP module (num_nextn_predict_layers = 0)");
        goto done_err;
    }
    for (int i = 0; i < np && !truncate; i++) {
        int ctx_len = context > 0 ? (int)context : m.cfg.max_position_embeddings;
        if (ps[i].n >= ctx_len) {
            err_set(&e, "prompt %d: %d tokens, longer than the context allows (%d tokens, prompt + at least one "
                        "generated); shorten it, raise --context, or pass --truncate-left", i, ps[i].n, ctx_len);
            goto done_err;
        }
    }
    {
        const int total = np * (int)n;
        GenRequest *reqs = xmalloc((size_t)total * sizeof *reqs);
        for (int i = 0; i < np; i++)
            for (int j = 0; j < n; j++)
                reqs[i * n + j] = (GenRequest){ps[i].ids, ps[i].n, (uint64_t)i, (uint64_t)j};
        const char *stops[1] = {stop};
        o.n_slots = (int)batch;
        o.prefill_chunk = (int)chunk;
        o.max_len = (int)context;
        o.truncate_left = truncate;
        o.stop_strings = stops;
        o.n_stop_strings = stop ? 1 : 0;
        o.want_logprobs = logprobs;
        o.speculative = spec;
        GenOutput *outs = xcalloc((size_t)total, sizeof *outs);
        GenStats st;
        if (generate(&m, reqs, total, &o, outs, &st, &e) < 0) {
            free(outs);
            free(reqs);
            goto done_err;
        }
        StrBuf all = {0}, text = {0};
        for (int r = 0; r < total && rc == 0; r++) {
            sb_clear(&text);
            if (prompt_completion_text(tok, &outs[r], &text, &e) < 0) { rc = -1; break; }
            if (out) {
                cJSON *rec = cJSON_CreateObject();
                cJSON_AddNumberToObject(rec, "index", r / (int)n);
                cJSON_AddNumberToObject(rec, "sample", r % (int)n);
                cJSON_AddStringToObject(rec, "prompt", ps[r / n].text);
                cJSON_AddStringToObject(rec, "completion", text.s ? text.s : "");
                cJSON_AddStringToObject(rec, "finish", gen_finish_name(outs[r].finish));
                cJSON_AddNumberToObject(rec, "prompt_tokens", outs[r].n_prompt);
                cJSON_AddNumberToObject(rec, "completion_tokens", outs[r].n);
                if (logprobs) {
                    cJSON *lp = cJSON_AddArrayToObject(rec, "logprobs");
                    for (int k = 0; k < outs[r].n; k++)
                        cJSON_AddItemToArray(lp, cJSON_CreateNumber(outs[r].logprobs[k]));
                }
                char *line = json_print_line(rec);
                sb_append(&all, line);
                sb_append(&all, "\n");
                free(line);
                cJSON_Delete(rec);
            } else {
                if (total > 1) printf("=== prompt %d, sample %d (%s) ===\n", r / (int)n, r % (int)n,
                                      gen_finish_name(outs[r].finish));
                fwrite(text.s ? text.s : "", 1, text.len, stdout);
                printf("\n");
            }
        }
        if (rc == 0 && out && file_write_atomic(out, all.s ? all.s : "", all.len, &e) < 0) rc = -1;
        if (!quiet && rc == 0) {
            double dec = st.decode_seconds > 0 ? st.decode_step_tokens / st.decode_seconds : 0;
            double pre = st.prefill_seconds > 0 ? st.prefill_tokens / st.prefill_seconds : 0;
            fprintf(stderr, "generated %lld tokens for %d sequences: prefill %.0f tokens/s, decode %.1f tokens/s, "
                    "KV cache %.1f MB (%zu bytes/token; plain MHA would need %zu)",
                    (long long)st.decode_tokens, total, pre, dec, st.cache_bytes / 1e6,
                    kvcache_bytes_per_token(&m.cfg), kvcache_mha_bytes_per_token(&m.cfg));
            if (st.shared_prompt_tokens > 0)
                fprintf(stderr, "; %lld prompt tokens prefilled, %lld copied from a sample of the same prompt",
                        (long long)st.prefill_tokens, (long long)st.shared_prompt_tokens);
            if (spec) fprintf(stderr, "; MTP drafts accepted %lld/%lld (%.1f%%)", (long long)st.accepted,
                              (long long)st.drafted, st.drafted ? 100.0 * st.accepted / st.drafted : 0.0);
            fprintf(stderr, "\n");
            const size_t wb = model_weight_bytes(&m);
            fprintf(stderr, "weights (--weights %s): %.2f bytes/parameter, %.1f MB; peak RSS %.1f MB\n",
                    weight_mode_name(mf.mode), (double)wb / (double)m.table.count, wb / 1e6, mem_peak_rss() / 1e6);
            if (out) fprintf(stderr, "wrote %d records to %s\n", total, out);
        }
        sb_free(&all);
        sb_free(&text);
        gen_outputs_free(outs, total);
        free(outs);
        free(reqs);
    }
    prompt_recs_free(ps, np);
    tokenizer_free(tok);
    model_free(&m);
    return rc < 0 ? cli_fail(&e) : 0;
done_err:
    prompt_recs_free(ps, np);
    tokenizer_free(tok);
    model_free(&m);
    return cli_fail(&e);
}
