/* r1 serve: an OpenAI-compatible HTTP server for a model folder, with the thinking apart from
 * the answer (reasoning_content), streaming, a per-request thinking budget, and a web chat at /.
 * One engine thread runs every request in one continuously batched session (serve/engine.h);
 * HTTP is GNU libmicrohttpd (serve/http.h).
 *
 * SIGTERM or SIGINT: stop accepting connections, let the requests in flight finish for up to
 * --shutdown-timeout seconds, cancel the rest (their clients get an error), exit 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "infer/model_dir.h"
#include "serve/engine.h"
#include "serve/http.h"

int cmd_serve(int argc, char **argv);

/* The folder's last path component, for the model id. */
static const char *base_name(const char *dir, char *buf, size_t n) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/') start--;
    snprintf(buf, n, "%.*s", (int)(len - start), dir + start);
    return buf;
}

static int check_range(const char *flag, long v, long lo, long hi, Err *e) {
    if (v < lo || v > hi) return err_set(e, "--%s: must be in [%ld, %ld], got %ld", flag, lo, hi, v);
    return 0;
}

int cmd_serve(int argc, char **argv) {
    const char *host = "127.0.0.1", *api_key = NULL, *model_name = NULL;
    long port = 8000, max_batch = 64, queue = 64, context = 0, chunk = 256, max_tokens = 0, budget = -1;
    long seed = 0, threads = 0, max_body = 1 << 20, idle = 30, max_conn = 256;
    double temperature = 0.6, top_p = 0.95, req_timeout = 600, shutdown = 10;
    int quiet = 0;
    const Flag flags[] = {
        {"host", FLAG_STRING, &host, "address to listen on (0.0.0.0 or :: for every interface)"},
        {"port", FLAG_INT, &port, "TCP port; 0 = any free one (printed)"},
        {"api-key", FLAG_STRING, &api_key, "require \"Authorization: Bearer KEY\" on /v1/ (default: $R1_API_KEY, else none)"},
        {"model-name", FLAG_STRING, &model_name, "model id in /v1/models and responses (default: the folder's name)"},
        {"max-batch", FLAG_INT, &max_batch, "sequences decoded together"},
        {"queue", FLAG_INT, &queue, "requests waiting for a free sequence at most; more get 429"},
        {"context", FLAG_INT, &context, "context per request (prompt + generated); 0 = max_position_embeddings"},
        {"prefill-chunk", FLAG_INT, &chunk, "prompt tokens per forward step"},
        {"max-tokens", FLAG_INT, &max_tokens, "default max_tokens of a request; 0 = until the context is full"},
        {"thinking-budget", FLAG_INT, &budget, "default thinking_budget of a request; -1 = none"},
        {"temperature", FLAG_DOUBLE, &temperature, "default temperature of a request (R1 recommends 0.6)"},
        {"top-p", FLAG_DOUBLE, &top_p, "default top_p of a request"},
        {"seed", FLAG_INT, &seed, "sampling seed of requests without one (the k-th uses stream (seed, k, 0))"},
        {"threads", FLAG_INT, &threads, "threads (0: $R1_THREADS or all cores)"},
        {"max-body", FLAG_INT, &max_body, "request body bytes at most (413 beyond)"},
        {"idle-timeout", FLAG_INT, &idle, "seconds before an idle connection is closed"},
        {"request-timeout", FLAG_DOUBLE, &req_timeout, "seconds a request may take in all (504 beyond); 0 = no limit"},
        {"shutdown-timeout", FLAG_DOUBLE, &shutdown, "on SIGTERM, seconds to let requests finish before cancelling them"},
        {"max-connections", FLAG_INT, &max_conn, "open connections at most"},
        {"quiet", FLAG_BOOL, &quiet, "no request log on stderr"},
    };
    Err e = {{0}};
    ModelFlags mf = {0};
    int rc = flags_parse_model("usage: r1 serve --model DIR [--host 127.0.0.1] [--port 8000] [--api-key KEY] [--max-batch 64] "
                               "[--queue 64] [--context N] [--thinking-budget N]",
                               &mf, MODEL_DIR_HELP, flags, sizeof flags / sizeof flags[0], argc, argv, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (!mf.dir) { err_set(&e, "serve: --model is required"); return cli_fail(&e); }
    if (check_range("port", port, 0, 65535, &e) || check_range("max-batch", max_batch, 1, 4096, &e) ||
        check_range("queue", queue, 0, 1 << 20, &e) || check_range("context", context, 0, 1 << 24, &e) ||
        check_range("prefill-chunk", chunk, 1, 1 << 16, &e) || check_range("max-tokens", max_tokens, 0, 1 << 24, &e) ||
        check_range("thinking-budget", budget, -1, 1 << 24, &e) || check_range("threads", threads, 0, 4096, &e) ||
        check_range("max-body", max_body, 1024, 1L << 30, &e) || check_range("idle-timeout", idle, 0, 86400, &e) ||
        check_range("max-connections", max_conn, 1, 1 << 16, &e))
        return cli_fail(&e);
    if (!(req_timeout >= 0) || !(shutdown >= 0)) {
        err_set(&e, "--request-timeout, --shutdown-timeout: must be >= 0");
        return cli_fail(&e);
    }
    ServeDefaults defaults = {sampler_defaults(), (int)max_tokens, (int)budget};
    defaults.sampler.temperature = temperature;
    defaults.sampler.top_p = top_p;
    if (sampler_validate(&defaults.sampler, &e) < 0) return cli_fail(&e);
    if (!api_key) api_key = getenv("R1_API_KEY");

    /* signals: SIGTERM/SIGINT are taken by sigwait below (blocked in every thread, which inherit
     * the mask); a client that leaves must not kill the process with SIGPIPE */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    threads_set((int)threads);

    Model m;
    Tokenizer *tok = NULL;
    if (model_dir_open_as(mf.dir, mf.mode, &m, &tok, &e) < 0) return cli_fail(&e);
    ServeEngineOptions eo = {(int)max_batch, (int)queue, (int)chunk, (int)context, (uint64_t)seed, req_timeout,
                             (int)threads};
    ServeEngine *eng = serve_engine_start(&m, tok, &eo, &e);
    if (!eng) { tokenizer_free(tok); model_free(&m); return cli_fail(&e); }
    char name[256];
    ServeHttpOptions ho = {host, (int)port, api_key, (size_t)max_body, (unsigned)idle, (unsigned)max_conn,
                           model_name ? model_name : base_name(mf.dir, name, sizeof name), defaults, quiet};
    ServeHttp *http = serve_http_start(eng, &ho, &e);
    if (!http) {
        serve_engine_drain(eng, 0);
        serve_engine_free(eng);
        tokenizer_free(tok);
        model_free(&m);
        return cli_fail(&e);
    }
    fprintf(stderr, "r1 serve: listening on http://%s%s%s:%d/ (model %s, batch %ld, context %d%s)\n",
            strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", serve_http_port(http), ho.model_name,
            max_batch, serve_engine_max_len(eng), ho.api_key && *ho.api_key ? ", API key required" : "");
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "r1 serve: %s: no new connections; finishing requests in flight (at most %.0f s)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", shutdown);
    serve_http_quiesce(http);
    serve_engine_drain(eng, shutdown);
    int open = serve_http_wait_idle(http, 2.0);
    serve_http_stop(http);
    serve_engine_free(eng);
    tokenizer_free(tok);
    model_free(&m);
    fprintf(stderr, "r1 serve: stopped%s\n", open ? " (some connections cut)" : "");
    return 0;
}
