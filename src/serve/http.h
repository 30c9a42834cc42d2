/* r1 serve's HTTP side, on GNU libmicrohttpd (a thread per connection; the library does all the
 * HTTP parsing):
 *   GET  /                      the web chat (serve/page.html, built in)
 *   GET  /health                {"status", "running", "queued", ...}; no key needed
 *   GET  /v1/models             the one model
 *   POST /v1/chat/completions   serve/completions.c
 * With an API key, /v1/ paths need "Authorization: Bearer KEY" (compared in constant time), else
 * 401. Bodies over max_body bytes get 413; an unknown path 404, a wrong method 405; every error is
 * an OpenAI error object (serve/api_json.h). Connections idle for idle_timeout seconds are
 * closed. One line per request on stderr: status, method, path, latency, tokens. */
#ifndef R1_SERVE_HTTP_H
#define R1_SERVE_HTTP_H

#include <stddef.h>

#include "base/error.h"
#include "serve/engine.h"
#include "serve/request.h"

typedef struct ServeHttpOptions {
    const char *host;           /* numeric address or name to bind */
    int port;                   /* 0: any free port (serve_http_port tells which) */
    const char *api_key;        /* NULL or "": none */
    size_t max_body;            /* request body bytes at most */
    unsigned idle_timeout;      /* seconds; 0 = none */
    unsigned max_connections;
    const char *model_name;     /* the id /v1/models lists and responses carry */
    ServeDefaults defaults;
    int quiet;                  /* no request log */
} ServeHttpOptions;

typedef struct ServeHttp ServeHttp;

ServeHttp *serve_http_start(ServeEngine *eng, const ServeHttpOptions *o, Err *e);
int serve_http_port(const ServeHttp *h);
/* Stops accepting connections; those open carry on. */
void serve_http_quiesce(ServeHttp *h);
/* Waits up to seconds for the requests being answered to end (drained streams to send their
 * last events); returns how many are still open. */
int serve_http_wait_idle(ServeHttp *h, double seconds);
/* Closes every connection (waiting for their threads) and frees h. */
void serve_http_stop(ServeHttp *h);

#endif
