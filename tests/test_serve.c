/* The server's parts below HTTP (src/serve): the reasoning/answer split of streamed text, request
 * parsing and its errors, and the engine thread on a tiny model folder made here (a 320-token
 * tokenizer and `r1 init`, tests/test_util.h):
 *   - split: every way of cutting a text into tokens and taking after each gives the parts of the
 *     whole text (tag and its surrounding newlines dropped, UTF-8 never split, stop cut honoured,
 *     NUL as U+FFFD);
 *   - parse: a full request's fields; every kind of bad request gets 400, the field and a reason;
 *   - engine: a served request's text equals generate()'s with the same seed and settings, alone
 *     and with 7 others in the batch; the thinking budget closes the thinking; a full server
 *     answers 429; a released job frees its slot; timeout; drain (503 afterwards); a prompt longer
 *     than the context gets 400. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "infer/generate.h"
#include "infer/model_dir.h"
#include "infer/prompt.h"
#include "serve/engine.h"
#include "serve/request.h"
#include "serve/think_split.h"
#include "test.h"
#include "test_util.h"

/* ---- split ---- */

/* Reasoning and content of a whole text at once. */
static void split_once(const char *text, size_t n, size_t hold, size_t cut, StrBuf *r, StrBuf *c) {
    ThinkSplit t;
    think_split_init(&t, hold);
    think_split_append(&t, text, n);
    think_split_take(&t, 1, cut, r, c);
    think_split_free(&t);
}

static int utf8_complete(const StrBuf *b) {
    StrBuf v = {0};
    sb_append_utf8_valid(&v, b->s ? b->s : "", b->len);
    int same = v.len == b->len && (!b->len || !memcmp(v.s, b->s, b->len));
    sb_free(&v);
    return same;
}

static void test_split_examples(void) {
    StrBuf r = {0}, c = {0};
    const char *t = "Let me add.\n2 + 3 = 5.\n</think>\n\nThe answer is 5.";
    split_once(t, strlen(t), 0, SIZE_MAX, &r, &c);
    EXPECTF(r.s && !strcmp(r.s, "Let me add.\n2 + 3 = 5."), "reasoning '%s'", r.s);
    EXPECTF(c.s && !strcmp(c.s, "The answer is 5."), "content '%s'", c.s);
    sb_clear(&r); sb_clear(&c);
    split_once("no end of thinking", 18, 0, SIZE_MAX, &r, &c);
    EXPECT(r.s && !strcmp(r.s, "no end of thinking") && c.len == 0);
    sb_clear(&r); sb_clear(&c);
    /* a stop string at offset 10 cuts the answer */
    split_once("a</think>\nbcdefgh", 17, 0, 13, &r, &c);
    EXPECTF(r.s && !strcmp(r.s, "a") && c.s && !strcmp(c.s, "bcd"), "'%s' '%s'", r.s, c.s);
    sb_clear(&r); sb_clear(&c);
    /* a NUL byte comes out as U+FFFD: the parts are C strings */
    split_once("a\0b</think>c\0", 13, 0, SIZE_MAX, &r, &c);
    EXPECTF(r.len == 5 && !strcmp(r.s, "a\xef\xbf\xbd" "b") && c.len == 4 && !strcmp(c.s, "c\xef\xbf\xbd"), "'%s' '%s'", r.s, c.s);
    sb_free(&r); sb_free(&c);
}

static void test_split_streamed(void) {
    static const char *pieces[] = {"a", "bc", " ", "\n", "\n\n", "</think>", "</th", "ink>", "<", "/", "é", "数",
                                   "\xf0\x9f\x98\x80", "x", "STOP", "\xe6", "\x95\xb0"};
    const int np = sizeof pieces / sizeof pieces[0];
    Rng rng = rng_make(11, RNG_TEST, 1, 0);
    int bad = 0, bad_utf8 = 0;
    for (int it = 0; it < 3000 && bad < 3; it++) {
        StrBuf text = {0};
        int k = 1 + (int)rng_below(&rng, 30);
        for (int i = 0; i < k; i++) sb_append(&text, pieces[rng_below(&rng, (uint64_t)np)]);
        /* a stop string ("STOP", so hold 3) ends the text where it first completes, or none */
        const int stop = rng_below(&rng, 3) == 0;
        size_t hold = stop ? 3 : rng_below(&rng, 4), cut = SIZE_MAX, len = text.len;
        const char *at_stop = stop ? strstr(text.s, "STOP") : NULL;
        if (at_stop) {
            cut = (size_t)(at_stop - text.s);
            len = cut + 4;
        }
        StrBuf r1 = {0}, c1 = {0}, r2 = {0}, c2 = {0};
        split_once(text.s, len, hold, cut, &r1, &c1);
        ThinkSplit t;
        think_split_init(&t, hold);
        for (size_t at = 0; at < len;) {
            size_t step = 1 + rng_below(&rng, 5);
            if (step > len - at) step = len - at;
            think_split_append(&t, text.s + at, step);
            at += step;
            if (at == len) break;       /* the end is known with the last token: a final take */
            StrBuf dr = {0}, dc = {0};
            think_split_take(&t, 0, SIZE_MAX, &dr, &dc);
            /* well-formed text: no delta ends inside a character */
            int valid_text = utf8_complete(&text);
            if (valid_text && (!utf8_complete(&dr) || !utf8_complete(&dc))) bad_utf8++;
            if (dr.len) sb_append_n(&r2, dr.s, dr.len);
            if (dc.len) sb_append_n(&c2, dc.s, dc.len);
            sb_free(&dr); sb_free(&dc);
        }
        size_t before = r2.len + c2.len;
        think_split_take(&t, 1, cut, &r2, &c2);
        think_split_free(&t);
        int same = r1.len == r2.len && c1.len == c2.len && (!r1.len || !memcmp(r1.s, r2.s, r1.len)) &&
                   (!c1.len || !memcmp(c1.s, c2.s, c1.len));
        if (!same) {
            bad++;
            printf("  text '%s' hold %zu cut %zu (%zu before end): once '%s'|'%s', streamed '%s'|'%s'\n", text.s, hold,
                   cut, before, r1.s ? r1.s : "", c1.s ? c1.s : "", r2.s ? r2.s : "", c2.s ? c2.s : "");
        }
        sb_free(&text); sb_free(&r1); sb_free(&c1); sb_free(&r2); sb_free(&c2);
    }
    EXPECT(bad == 0);
    EXPECTF(bad_utf8 == 0, "%d deltas split a UTF-8 character", bad_utf8);
}

/* ---- parse ---- */

static ServeDefaults defaults(void) {
    ServeDefaults d = {sampler_defaults(), 0, -1};
    d.sampler.temperature = 0.6;
    d.sampler.top_p = 0.95;
    return d;
}

static void test_parse_good(void) {
    const char *body = "{\"model\": \"x\", \"messages\": [{\"role\": \"developer\", \"content\": \"be brief\"}, "
                       "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"two \"}, "
                       "{\"type\": \"text\", \"text\": \"plus\"}]}, {\"role\": \"assistant\", \"content\": null}], "
                       "\"temperature\": 0, \"top_p\": 0.5, \"max_completion_tokens\": 7, \"max_tokens\": 9, "
                       "\"stop\": [\"a\", \"bb\"], \"seed\": -3, \"stream\": true, \"stream_options\": "
                       "{\"include_usage\": true}, \"thinking_budget\": 12, \"n\": 1, \"top_k\": -1, "
                       "\"ignore_eos\": true, \"user\": \"ignored\"}";
    ServeDefaults d = defaults();
    ServeRequest r;
    ApiError e;
    if (serve_request_parse(body, strlen(body), &d, &r, &e) < 0) {
        test_fail(__FILE__, __LINE__, "%s", e.message);
        return;
    }
    EXPECT(r.n_msgs == 3 && !strcmp(r.msgs[0].role, "system") && !strcmp(r.msgs[1].content, "two plus") &&
           !strcmp(r.msgs[2].role, "assistant") && !strcmp(r.msgs[2].content, ""));
    EXPECT(r.sampler.temperature == 0 && r.sampler.top_p == 0.5 && r.sampler.top_k == 0);
    EXPECT(r.max_tokens == 7 && r.n_stop == 2 && !strcmp(r.stop[1], "bb"));
    EXPECT(r.has_seed && r.seed == (uint64_t)(int64_t)-3 && r.stream && r.include_usage);
    EXPECT(r.thinking_budget == 12 && r.ignore_eos);
    serve_request_free(&r);
    /* defaults */
    const char *small = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": \"x\"}";
    if (serve_request_parse(small, strlen(small), &d, &r, &e) == 0) {
        EXPECT(r.sampler.temperature == 0.6 && r.sampler.top_p == 0.95 && r.max_tokens == 0 && !r.has_seed &&
               r.thinking_budget == -1 && !r.stream && r.n_stop == 1);
        serve_request_free(&r);
    } else test_fail(__FILE__, __LINE__, "%s", e.message);
}

static void test_parse_bad(void) {
    static const struct { const char *body, *param, *says; } cases[] = {
        {"", NULL, "not valid JSON"},
        {"{\"messages\": [", NULL, "not valid JSON"},
        {"[1, 2]", NULL, "JSON object"},
        {"{}", "messages", "required"},
        {"{\"messages\": {}}", "messages", "array"},
        {"{\"messages\": []}", "messages", "empty"},
        {"{\"messages\": [3]}", "messages", "role"},
        {"{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "messages", "robot"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "messages", "content"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", "messages", "text"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": \"hot\"}", "temperature", "number"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": 3}", "temperature", "[0, 2]"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_p\": 0}", "top_p", "(0, 1]"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 0}", "max_tokens", "integer in [1,"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2.5}", "max_tokens", "integer"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": 5}", "stop", "string"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": [\"\"]}", "stop", "empty"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop", "at most 4"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"seed\": 1e300}", "seed", "seed"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"n\": 2}", "n", "only 1"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stream\": 1}", "stream", "true or false"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"thinking_budget\": -2}", "thinking_budget", "thinking_budget"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"frequency_penalty\": 0.5}", "frequency_penalty", "not supported"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"logprobs\": true}", "logprobs", "not supported"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{}]}", "tools", "not supported"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stream_options\": 3}", "stream_options", "object"},
    };
    ServeDefaults d = defaults();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ServeRequest r;
        ApiError e;
        memset(&e, 0, sizeof e);
        int rc = serve_request_parse(cases[i].body, strlen(cases[i].body), &d, &r, &e);
        int param_ok = cases[i].param ? e.param && !strcmp(e.param, cases[i].param) : !e.param;
        EXPECTF(rc < 0 && e.status == 400 && param_ok && strstr(e.message, cases[i].says) && e.type,
                "case %zu %s: rc %d status %d param %s message '%s'", i, cases[i].body, rc, e.status,
                e.param ? e.param : "-", e.message);
        if (rc == 0) serve_request_free(&r);
    }
}

/* ---- engine ---- */

static char dir[256];
static Model g_model;
static Tokenizer *g_tok;
static int g_ready;

/* The engine tests' model, made once; every test that needs it fails when it could not be made. */
static int setup_model(void) {
    if (g_ready) {
        EXPECTF(g_ready > 0, "the test model could not be made (see the first engine test)");
        return g_ready > 0;
    }
    g_ready = -1;
    snprintf(dir, sizeof dir, "/tmp/r1_test_serve_XXXXXX");
    if (!mkdtemp(dir)) { EXPECTF(0, "mkdtemp %s", dir); return 0; }
    if (tu_cli_model(dir, 256) != 0) return 0;
    Err e = {{0}};
    if (model_dir_open(tu_path(dir, "m"), &g_model, &g_tok, &e) < 0) {
        test_fail(__FILE__, __LINE__, "%s", e.msg);
        return 0;
    }
    g_ready = 1;
    return 1;
}

static ServeEngine *start(int batch, int queue, double timeout) {
    ServeEngineOptions o = {batch, queue, 64, 0, 0, timeout, 0};
    Err e = {{0}};
    ServeEngine *s = serve_engine_start(&g_model, g_tok, &o, &e);
    if (!s) test_fail(__FILE__, __LINE__, "%s", e.msg);
    return s;
}

/* One user message (*m, the caller's, holds it) and the sampler's defaults. */
static ServeRequest user_request(ChatMessage *m, const char *text, int max_tokens) {
    ServeRequest r;
    memset(&r, 0, sizeof r);
    *m = (ChatMessage){"user", text};
    r.msgs = m;
    r.n_msgs = 1;
    r.sampler = sampler_defaults();
    r.max_tokens = max_tokens;
    r.thinking_budget = -1;
    return r;
}

static void wait_all(ServeJob *j, ServeUpdate *u) {
    for (int k = 0; k < 2000 && !serve_job_wait(j, 0.05, u); k++) {}
}

/* generate() of the same conversation and settings, split as the server splits it. */
static void reference(const ServeRequest *r, StrBuf *reasoning, StrBuf *content, int *n_tokens) {
    Err e = {{0}};
    int *ids = NULL, n = 0;
    CHECK(prompt_encode_chat(g_tok, r->msgs, r->n_msgs, &ids, &n, &e) == 0);
    GenRequest q = {ids, n, 0, 0};
    GenOptions o = gen_options(r->sampler, r->seed, r->max_tokens, g_tok);
    GenOutput out;
    CHECK(generate(&g_model, &q, 1, &o, &out, NULL, &e) == 0);
    StrBuf text = {0};
    CHECK(prompt_completion_text(g_tok, &out, &text, &e) == 0);
    split_once(text.s ? text.s : "", text.len, 0, SIZE_MAX, reasoning, content);
    *n_tokens = out.n;
    sb_free(&text);
    gen_outputs_free(&out, 1);
    free(ids);
}

static int same_sb(const StrBuf *a, const StrBuf *b) {
    return a->len == b->len && (!a->len || !memcmp(a->s, b->s, a->len));
}

static void test_engine_equals_generate(void) {
    if (!setup_model()) return;
    ServeEngine *s = start(8, 8, 0);
    if (!s) return;
    static const char *texts[8] = {"what is two plus three", "the water", "know the answer", "two",
                                   "people think", "what number is five", "sound of day", "three plus two"};
    ServeRequest r[8];
    ServeJob *jobs[8];
    ChatMessage m[8];
    for (int pass = 0; pass < 2; pass++) {
        const int n = pass ? 8 : 1;      /* alone, then eight in one batch */
        for (int i = 0; i < n; i++) {
            r[i] = user_request(&m[i], texts[i], 12 + 3 * i);
            r[i].sampler.temperature = i % 3 ? 1.0 : 0;
            r[i].sampler.top_p = 0.9;
            r[i].has_seed = 1;
            r[i].seed = 3 + (uint64_t)i;
            ApiError e;
            jobs[i] = serve_submit(s, &r[i], &e);
            if (!jobs[i]) test_fail(__FILE__, __LINE__, "submit: %s", e.message);
        }
        for (int i = 0; i < n; i++) {
            if (!jobs[i]) continue;
            ServeUpdate u = {0};
            wait_all(jobs[i], &u);
            serve_job_release(jobs[i]);
            StrBuf rr = {0}, rc = {0};
            int nt = 0;
            reference(&r[i], &rr, &rc, &nt);
            EXPECTF(u.finished && same_sb(&u.reasoning, &rr) && same_sb(&u.content, &rc) && u.usage.completion_tokens == nt,
                    "request %d of %d: served '%s'|'%s' (%d tokens), generate '%s'|'%s' (%d)", i, n,
                    u.reasoning.s ? u.reasoning.s : "", u.content.s ? u.content.s : "", u.usage.completion_tokens,
                    rr.s ? rr.s : "", rc.s ? rc.s : "", nt);
            sb_free(&rr); sb_free(&rc);
            serve_update_free(&u);
        }
    }
    serve_engine_drain(s, 5);
    serve_engine_free(s);
}

static void test_engine_thinking_budget(void) {
    if (!setup_model()) return;
    ServeEngine *s = start(4, 4, 0);
    if (!s) return;
    TokIds close = {0};
    Err e = {{0}};
    CHECK(tokenizer_encode(g_tok, "\n</think>", 9, &close, &e) == 0);
    for (int budget = 0; budget <= 5; budget += 5) {
        ChatMessage m;
        ServeRequest r = user_request(&m, "what is two plus three", 30);
        r.thinking_budget = budget;
        r.ignore_eos = 1;
        r.sampler.temperature = 0;
        ApiError ae;
        ServeJob *j = serve_submit(s, &r, &ae);
        if (!j) { test_fail(__FILE__, __LINE__, "%s", ae.message); break; }
        ServeUpdate u = {0};
        wait_all(j, &u);
        serve_job_release(j);
        /* unless the model closed its thinking by itself first */
        EXPECTF(u.usage.reasoning_tokens <= budget + (int)close.n, "budget %d: %d reasoning tokens", budget,
                u.usage.reasoning_tokens);
        EXPECTF(u.finished && u.usage.completion_tokens == 30 && u.content.len > 0 && u.end == SERVE_END_LENGTH,
                "budget %d: %d tokens, content '%s'", budget, u.usage.completion_tokens, u.content.s ? u.content.s : "");
        if (budget == 0) EXPECT(u.reasoning.len == 0 && u.usage.reasoning_tokens == (int)close.n);
        serve_update_free(&u);
    }
    tokids_free(&close);
    serve_engine_drain(s, 5);
    serve_engine_free(s);
}

static void test_engine_limits(void) {
    if (!setup_model()) return;
    ApiError e;
    /* full: one running, no queue */
    ServeEngine *s = start(1, 0, 0);
    if (!s) return;
    ChatMessage m, lm;
    ServeRequest r = user_request(&m, "the water", 240);
    r.ignore_eos = 1;
    ServeJob *a = serve_submit(s, &r, &e);
    ServeJob *b = serve_submit(s, &r, &e);
    EXPECTF(a && !b && e.status == 429 && !strcmp(e.code, "queue_full"), "status %d", b ? 0 : e.status);
    /* a released job frees its slot before it is done */
    ServeUpdate u = {0};
    for (int k = 0; k < 200 && u.reasoning.len == 0 && a; k++) serve_job_wait(a, 0.05, &u);
    if (a) serve_job_release(a);
    serve_update_free(&u);
    ServeStatus st = serve_engine_status(s);
    for (int k = 0; k < 200 && (st.running || st.finished < 1); k++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
        st = serve_engine_status(s);
    }
    EXPECTF(st.running == 0 && st.cancelled == 1 && st.tokens < 240, "running %d cancelled %lld tokens %lld",
            st.running, (long long)st.cancelled, (long long)st.tokens);
    /* longer than the context (256) */
    StrBuf big = {0};
    for (int i = 0; i < 300; i++) sb_append(&big, "water ");
    ServeRequest lr = user_request(&lm, big.s, 0);
    b = serve_submit(s, &lr, &e);
    EXPECT(!b && e.status == 400 && !strcmp(e.code, "context_length_exceeded") && strstr(e.message, "256"));
    sb_free(&big);
    /* drain: a running job ends, new ones get 503 */
    a = serve_submit(s, &r, &e);
    serve_engine_drain(s, 0);
    b = serve_submit(s, &r, &e);
    EXPECT(!b && e.status == 503);
    if (a) {
        ServeUpdate v = {0};
        wait_all(a, &v);
        EXPECT(v.finished && (v.end == SERVE_END_SHUTDOWN || v.end == SERVE_END_LENGTH));
        serve_job_release(a);
        serve_update_free(&v);
    }
    serve_engine_free(s);
    /* timeout */
    s = start(1, 1, 1e-3);
    if (!s) return;
    a = serve_submit(s, &r, &e);
    if (a) {
        ServeUpdate v = {0};
        wait_all(a, &v);
        EXPECT(v.finished && v.end == SERVE_END_TIMEOUT && v.usage.completion_tokens < 240);
        serve_job_release(a);
        serve_update_free(&v);
    }
    serve_engine_drain(s, 1);
    serve_engine_free(s);
}

int main(void) {
    RUN(test_split_examples);
    RUN(test_split_streamed);
    RUN(test_parse_good);
    RUN(test_parse_bad);
    RUN(test_engine_equals_generate);
    RUN(test_engine_thinking_budget);
    RUN(test_engine_limits);
    if (g_ready > 0) {
        tokenizer_free(g_tok);
        model_free(&g_model);
    }
    if (dir[0]) tu_rm_tree(dir);
    return TEST_EXIT();
}
