/* The HTTP daemon: routes, API key, body limit, static answers and the request log (see http.h). */
#include "serve/http_req.h"

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/json.h"
#include "serve/page.h"

double http_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum MHD_Result http_send(struct MHD_Connection *c, Req *r, int status, const char *type, const char *body) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return rc;
}

enum MHD_Result http_send_error(struct MHD_Connection *c, Req *r, const ApiError *e) {
    char *body = api_error_json(e);
    enum MHD_Result rc = http_send(c, r, e->status, "application/json", body);
    free(body);
    r->note = e->code ? e->code : e->type;
    return rc;
}

int http_peer_gone(int fd) {
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Constant-time in the given key: every byte of the longer of the two is looked at. */
static int key_matches(const char *given, const char *want) {
    size_t ng = strlen(given), nw = strlen(want), n = ng > nw ? ng : nw;
    unsigned d = ng != nw;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned)(unsigned char)(i < ng ? given[i] : 0) ^ (unsigned)(unsigned char)(i < nw ? want[i] : 0);
    return d == 0;
}

static int authorized(ServeHttp *h, struct MHD_Connection *c) {
    if (!h->api_key) return 1;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!a || strncmp(a, "Bearer ", 7)) return 0;
    return key_matches(a + 7, h->api_key);
}

static enum MHD_Result send_health(struct MHD_Connection *c, Req *r) {
    ServeStatus st = serve_engine_status(r->h->eng);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", st.draining ? "draining" : "ok");
    cJSON_AddStringToObject(o, "model", r->h->model_name);
    cJSON_AddNumberToObject(o, "running", st.running);
    cJSON_AddNumberToObject(o, "queued", st.queued);
    cJSON_AddNumberToObject(o, "requests", (double)st.submitted);
    cJSON_AddNumberToObject(o, "finished", (double)st.finished);
    cJSON_AddNumberToObject(o, "cancelled", (double)st.cancelled);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)st.tokens);
    cJSON_AddNumberToObject(o, "max_batch", st.max_batch);
    cJSON_AddNumberToObject(o, "context", serve_engine_max_len(r->h->eng));
    char *body = json_print_line(o);
    cJSON_Delete(o);
    enum MHD_Result rc = http_send(c, r, st.draining ? 503 : 200, "application/json", body);
    free(body);
    return rc;
}

/* The first call for a request (headers only): answers what needs no body. Returns 1 when it
 * answered (*rc set), 0 to go on reading the body. */
static int route_headers(struct MHD_Connection *c, Req *r, enum MHD_Result *rc) {
    ServeHttp *h = r->h;
    ApiError e;
    const int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
    const int post = !strcmp(r->method, "POST");
    const int api = !strncmp(r->path, "/v1/", 4);
    const int chat = !strcmp(r->path, "/v1/chat/completions");
    const int known = chat || !strcmp(r->path, "/v1/models") || !strcmp(r->path, "/") ||
                      !strcmp(r->path, "/health");
    if (!known) {
        api_error(&e, 404, "invalid_request_error", "not_found", NULL, "no such path: %s %.60s", r->method, r->path);
        *rc = http_send_error(c, r, &e);
        return 1;
    }
    if (chat ? !post : !get) {
        api_error(&e, 405, "invalid_request_error", "method_not_allowed", NULL, "%s needs %s, got %s", r->path,
                  chat ? "POST" : "GET", r->method);
        *rc = http_send_error(c, r, &e);
        return 1;
    }
    if (api && !authorized(h, c)) {
        api_error(&e, 401, "invalid_request_error", "invalid_api_key", NULL,
                  "missing or wrong API key: send the header \"Authorization: Bearer KEY\"");
        *rc = http_send_error(c, r, &e);
        return 1;
    }
    if (chat) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > h->o.max_body) {
            api_error(&e, 413, "invalid_request_error", "body_too_large", NULL,
                      "request body of %s bytes; at most %zu", cl, h->o.max_body);
            *rc = http_send_error(c, r, &e);
            return 1;
        }
        return 0;
    }
    if (!strcmp(r->path, "/")) *rc = http_send(c, r, 200, "text/html; charset=utf-8", serve_page_html);
    else if (!strcmp(r->path, "/health")) *rc = send_health(c, r);
    else {
        char *body = api_models_json(h->model_name, h->started);
        *rc = http_send(c, r, 200, "application/json", body);
        free(body);
    }
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    ServeHttp *h = cls;
    Req *r = *con_cls;
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->h = h;
        r->t0 = http_now();
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        *con_cls = r;
        __atomic_add_fetch(&h->in_flight, 1, __ATOMIC_RELAXED);
        enum MHD_Result rc = MHD_YES;
        if (route_headers(c, r, &rc)) r->status = r->status ? r->status : 500;
        else r->status = 0;
        return rc;
    }
    if (r->status) {            /* answered already: drop what still comes */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->body.len + *upload_size > h->o.max_body) r->too_big = 1;
        else sb_append_n(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big) {
        ApiError e;
        api_error(&e, 413, "invalid_request_error", "body_too_large", NULL, "request body over %zu bytes",
                  h->o.max_body);
        return http_send_error(c, r, &e);
    }
    return completions_handle(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    ServeHttp *h = cls;
    Req *r = *con_cls;
    if (!r) return;
    if (!h->o.quiet) {
        char tokens[128] = "";
        if (r->has_usage)
            snprintf(tokens, sizeof tokens, " tokens prompt %d completion %d reasoning %d", r->usage.prompt_tokens,
                     r->usage.completion_tokens, r->usage.reasoning_tokens);
        fprintf(stderr, "r1 serve: %d %s %s %.3f s%s%s%s%s\n", r->status, r->method, r->path, http_now() - r->t0,
                tokens, r->note ? " " : "", r->note ? r->note : "",
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
    }
    sb_free(&r->body);
    free(r);
    *con_cls = NULL;
    __atomic_sub_fetch(&h->in_flight, 1, __ATOMIC_RELAXED);
}

ServeHttp *serve_http_start(ServeEngine *eng, const ServeHttpOptions *o, Err *e) {
    if (o->port < 0 || o->port > 65535) { err_set(e, "listen port must be in [0, 65535], got %d", o->port); return NULL; }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    int gai = getaddrinfo(o->host, port, &hints, &ai);
    if (gai != 0 || !ai) { err_set(e, "listen address %s: %s", o->host, gai_strerror(gai)); return NULL; }
    ServeHttp *h = xcalloc(1, sizeof *h);
    h->eng = eng;
    h->o = *o;
    h->model_name = xstrdup(o->model_name);
    h->api_key = o->api_key && *o->api_key ? xstrdup(o->api_key) : NULL;
    h->started = (int64_t)time(NULL);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    h->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, h,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout,
                            MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) {
        err_set(e, "serve: cannot listen on %s port %d (in use, or not an address of this machine)", o->host, o->port);
        free(h->model_name);
        free(h->api_key);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : o->port;
    return h;
}

int serve_http_port(const ServeHttp *h) { return h->port; }

void serve_http_quiesce(ServeHttp *h) {
    MHD_socket s = MHD_quiesce_daemon(h->d);
    if (s != MHD_INVALID_SOCKET) close(s);
}

int serve_http_wait_idle(ServeHttp *h, double seconds) {
    const double until = http_now() + seconds;
    int n;
    while ((n = __atomic_load_n(&h->in_flight, __ATOMIC_RELAXED)) > 0 && http_now() < until) {
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    return n;
}

void serve_http_stop(ServeHttp *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h->model_name);
    free(h->api_key);
    free(h);
}
