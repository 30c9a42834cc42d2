/* r1 chat: an interactive conversation with a model folder. Each turn renders the whole
 * conversation with the R1 chat template (earlier answers without their reasoning), generates
 * with streaming, and shows the reasoning (from the template's <think> to </think>) dimmed with
 * ANSI faint when stdout is a terminal, the answer plainly. /reset clears the conversation,
 * /exit (or end of input) quits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "infer/generate.h"
#include "infer/model_dir.h"
#include "infer/prompt.h"

int cmd_chat(int argc, char **argv);

#define FAINT "\033[2m"
#define PLAIN "\033[0m"

typedef struct Stream {
    const Tokenizer *tok;
    int eos;
    int tty;
    int thinking;       /* inside the reasoning block */
    StrBuf tail;        /* recent bytes, to see "</think>" across token boundaries */
} Stream;

static void on_token(void *ctx, int request, int token) {
    Stream *s = ctx;
    (void)request;
    if (token == s->eos) return;
    size_t n = 0;
    const char *b = tokenizer_token_bytes(s->tok, (uint32_t)token, &n);
    if (!b) return;
    fwrite(b, 1, n, stdout);
    if (s->thinking) {
        sb_append_n(&s->tail, b, n);
        if (s->tail.s && strstr(s->tail.s, CHAT_END_THINK)) {
            s->thinking = 0;
            if (s->tty) fputs(PLAIN, stdout);
        } else if (s->tail.len > 64) {          /* keep the last few bytes only */
            memmove(s->tail.s, s->tail.s + s->tail.len - 16, 16);
            s->tail.len = 16;
            s->tail.s[16] = 0;
        }
    }
    fflush(stdout);
}

typedef struct Conv {
    ChatMessage *m;
    char **owned;
    int n, cap;
} Conv;

static void conv_add(Conv *c, const char *role, const char *content) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->m = xrealloc(c->m, (size_t)c->cap * sizeof *c->m);
        c->owned = xrealloc(c->owned, (size_t)c->cap * sizeof *c->owned);
    }
    c->owned[c->n] = xstrdup(content);
    c->m[c->n] = (ChatMessage){role, c->owned[c->n]};
    c->n++;
}

static void conv_clear(Conv *c, const char *system) {
    for (int i = 0; i < c->n; i++) free(c->owned[i]);
    c->n = 0;
    if (system) conv_add(c, "system", system);
}

int cmd_chat(int argc, char **argv) {
    const char *system = NULL;
    long max_tokens = 1024, top_k = 0, seed = 0, threads = 0, context = 0;
    double temperature = 0.6, top_p = 0.95, min_p = 0;
    const Flag flags[] = {
        {"system", FLAG_STRING, &system, "system prompt (R1 recommends none)"},
        {"max-tokens", FLAG_INT, &max_tokens, "new tokens per answer at most"},
        {"temperature", FLAG_DOUBLE, &temperature, "sampling temperature; 0 = greedy"},
        {"top-p", FLAG_DOUBLE, &top_p, "nucleus mass in (0, 1]"},
        {"top-k", FLAG_INT, &top_k, "keep the k most probable tokens; 0 = off"},
        {"min-p", FLAG_DOUBLE, &min_p, "keep tokens with p >= min-p * max p; 0 = off"},
        {"seed", FLAG_INT, &seed, "sampling seed (turn t uses stream (seed, t, 0))"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"context", FLAG_INT, &context, "context length; 0 = max_position_embeddings (older turns are cut from the left)"},
    };
    Err e = {{0}};
    ModelFlags mf = {0};
    int rc = flags_parse_model("usage: r1 chat --model DIR [--temperature T --top-p P --max-tokens N --seed S]   "
                               "(then type; /reset clears the conversation, /exit quits)",
                               &mf, MODEL_DIR_HELP, flags, sizeof flags / sizeof flags[0], argc, argv, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!mf.dir) { err_set(&e, "chat: --model is required"); return cli_fail(&e); }
    if (max_tokens < 1) { err_set(&e, "--max-tokens: must be > 0, got %ld", max_tokens); return cli_fail(&e); }
    if (top_k < 0 || top_k > 1 << 30) { err_set(&e, "--top-k: must be >= 0 (0 = off), got %ld", top_k); return cli_fail(&e); }
    if (context < 0 || context > 1 << 24) { err_set(&e, "--context: must be >= 0, got %ld", context); return cli_fail(&e); }
    SamplerParams sp = {temperature, (int)top_k, top_p, min_p, 1.0, 0.0};
    if (sampler_validate(&sp, &e) < 0) return cli_fail(&e);
    threads_set((int)threads);
    Model m;
    Tokenizer *tok = NULL;
    if (model_dir_open_as(mf.dir, mf.mode, &m, &tok, &e) < 0) return cli_fail(&e);
    GenOptions o = gen_options(sp, (uint64_t)seed, (int)max_tokens, tok);
    if (o.stop_id < 0) o.stop_id = m.cfg.eos_token_id;
    Stream s = {tok, o.stop_id, isatty(1), 0, {0}};
    o.n_slots = 1;
    o.max_len = (int)context;
    o.truncate_left = 1;
    o.on_token = on_token;
    o.on_token_ctx = &s;
    Conv c = {0};
    conv_clear(&c, system);
    int interactive = isatty(0);
    if (interactive) fprintf(stderr, "r1 chat: %s (/reset clears the conversation, /exit quits)\n", mf.dir);
    char *line = NULL;
    size_t cap = 0;
    uint64_t turn = 0;
    StrBuf text = {0};
    for (;;) {
        if (interactive) { fputs("> ", stderr); fflush(stderr); }
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0) break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            conv_clear(&c, system);
            fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        conv_add(&c, "user", line);
        int *ids = NULL, n = 0;
        if (prompt_encode_chat(tok, c.m, c.n, &ids, &n, &e) < 0) { rc = -1; break; }
        GenRequest req = {ids, n, turn++, 0};
        GenOutput out;
        s.thinking = 1;     /* the generation prompt ends inside <think> */
        sb_clear(&s.tail);
        if (s.tty) fputs(FAINT, stdout);
        if (generate(&m, &req, 1, &o, &out, NULL, &e) < 0) { free(ids); rc = -1; break; }
        if (s.tty) fputs(PLAIN, stdout);
        fputs("\n", stdout);
        fflush(stdout);
        sb_clear(&text);
        /* the assistant turn, reasoning included (the template strips it from history) */
        sb_append(&text, "<think>\n");
        if (prompt_completion_text(tok, &out, &text, &e) < 0) { gen_outputs_free(&out, 1); free(ids); rc = -1; break; }
        conv_add(&c, "assistant", text.s);
        if (out.finish == GEN_MAX_TOKENS && interactive)
            fprintf(stderr, "(stopped at --max-tokens %ld)\n", max_tokens);
        gen_outputs_free(&out, 1);
        free(ids);
    }
    free(line);
    sb_free(&text);
    sb_free(&s.tail);
    conv_clear(&c, NULL);
    free(c.m);
    free(c.owned);
    tokenizer_free(tok);
    model_free(&m);
    return rc < 0 ? cli_fail(&e) : 0;
}
