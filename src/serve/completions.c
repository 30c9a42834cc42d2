/* POST /v1/chat/completions: a request parsed, handed to the engine, and answered whole or as
 * server-sent events (see http.h, engine.h).
 *
 * Streaming: "data: {chunk}\n\n" events — the role, then delta.reasoning_content chunks, then
 * delta.content chunks, a last chunk with finish_reason, the usage chunk when
 * stream_options.include_usage, then "data: [DONE]". A job that times out or is cut by shutdown
 * ends its stream with an error event instead (the status line went out with the first byte). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/http_req.h"

#define WAIT_S 0.05      /* a consumer looks at its client this often while waiting */

static void make_id(ServeHttp *h, char *id, size_t n) {
    uint64_t k = __atomic_add_fetch(&h->next_id, 1, __ATOMIC_RELAXED);
    snprintf(id, n, "chatcmpl-%llx%08llx", (unsigned long long)h->started, (unsigned long long)k);
}

static const char *finish_reason(ServeEnd end) { return end == SERVE_END_STOP ? "stop" : "length"; }

/* The error of a job that did not end normally. */
static int end_error(ServeEnd end, ApiError *e) {
    if (end == SERVE_END_TIMEOUT)
        return api_error(e, 504, "server_error", "timeout", NULL, "the request ran out of time (the server's request timeout)");
    if (end == SERVE_END_SHUTDOWN)
        return api_error(e, 503, "server_error", "shutting_down", NULL, "the server shut down before the request ended");
    if (end == SERVE_END_CANCELLED)
        return api_error(e, 499, "server_error", "cancelled", NULL, "the request was cancelled");
    return 0;
}

typedef struct Stream {
    ServeJob *job;
    Req *req;
    int fd;
    char id[64];
    int64_t created;
    const char *model;
    int include_usage;
    int sent_role, done;
    ServeUpdate u;
    StrBuf out;                 /* events not yet handed to MHD */
    size_t out_at;
} Stream;

static void event(Stream *s, char *json) {
    sb_append(&s->out, "data: ");
    sb_append(&s->out, json);
    sb_append(&s->out, "\n\n");
    free(json);
}

/* Turns what the job has made since the last call into events. */
static void stream_fill(Stream *s) {
    serve_job_wait(s->job, WAIT_S, &s->u);
    if (!s->sent_role) {
        event(s, api_chunk_json(s->id, s->created, s->model, "assistant", NULL, NULL, NULL, NULL));
        s->sent_role = 1;
    }
    if (s->u.reasoning.len) {
        event(s, api_chunk_json(s->id, s->created, s->model, NULL, s->u.reasoning.s, NULL, NULL, NULL));
        sb_clear(&s->u.reasoning);
    }
    if (s->u.content.len) {
        event(s, api_chunk_json(s->id, s->created, s->model, NULL, NULL, s->u.content.s, NULL, NULL));
        sb_clear(&s->u.content);
    }
    if (!s->u.finished) return;
    ApiError e;
    if (end_error(s->u.end, &e) < 0) {
        event(s, api_error_json(&e));
        s->req->note = e.code;
    } else {
        event(s, api_chunk_json(s->id, s->created, s->model, NULL, NULL, NULL, finish_reason(s->u.end), NULL));
        if (s->include_usage)
            event(s, api_chunk_json(s->id, s->created, s->model, NULL, NULL, NULL, NULL, &s->u.usage));
    }
    sb_append(&s->out, "data: [DONE]\n\n");
    s->req->usage = s->u.usage;
    s->req->has_usage = 1;
    s->done = 1;
}

/* MHD's content reader (this connection's thread): blocks until there is something to send. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    Stream *s = cls;
    (void)pos;
    while (s->out_at == s->out.len) {
        sb_clear(&s->out);
        s->out_at = 0;
        if (s->done) return MHD_CONTENT_READER_END_OF_STREAM;
        stream_fill(s);
        if (s->out.len == 0 && http_peer_gone(s->fd)) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->out.len - s->out_at;
    if (n > max) n = max;
    memcpy(buf, s->out.s + s->out_at, n);
    s->out_at += n;
    return (ssize_t)n;
}

/* The response is gone (sent, or the client left): a job still running is cancelled. */
static void stream_free(void *cls) {
    Stream *s = cls;
    serve_job_release(s->job);
    serve_update_free(&s->u);
    sb_free(&s->out);
    free(s);
}

static int connection_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

static enum MHD_Result respond_stream(struct MHD_Connection *c, Req *r, ServeJob *job, const ServeRequest *q) {
    Stream *s = xcalloc(1, sizeof *s);
    s->job = job;
    s->req = r;
    s->fd = connection_fd(c);
    make_id(r->h, s->id, sizeof s->id);
    s->created = (int64_t)time(NULL);
    s->model = r->h->model_name;
    s->include_usage = q->include_usage;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
    if (!resp) { stream_free(s); return MHD_NO; }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->status = 200;
    r->note = "stream";
    return rc;
}

static enum MHD_Result respond_whole(struct MHD_Connection *c, Req *r, ServeJob *job) {
    ServeUpdate u = {0};
    const int fd = connection_fd(c);
    while (!serve_job_wait(job, WAIT_S, &u))
        if (http_peer_gone(fd)) {           /* the client left: free the slot, drop the connection */
            serve_job_release(job);
            serve_update_free(&u);
            r->status = 499;
            r->note = "client gone";
            return MHD_NO;
        }
    serve_job_release(job);
    r->usage = u.usage;
    r->has_usage = 1;
    ApiError e;
    enum MHD_Result rc;
    if (end_error(u.end, &e) < 0) {
        rc = http_send_error(c, r, &e);
    } else {
        char id[64];
        make_id(r->h, id, sizeof id);
        char *body = api_completion_json(id, (int64_t)time(NULL), r->h->model_name, u.reasoning.s ? u.reasoning.s : "",
                                         u.content.s ? u.content.s : "", finish_reason(u.end), &u.usage);
        rc = http_send(c, r, 200, "application/json", body);
        free(body);
    }
    serve_update_free(&u);
    return rc;
}

enum MHD_Result completions_handle(struct MHD_Connection *c, Req *r) {
    ServeRequest q;
    ApiError e;
    if (serve_request_parse(r->body.s ? r->body.s : "", r->body.len, &r->h->o.defaults, &q, &e) < 0)
        return http_send_error(c, r, &e);
    ServeJob *job = serve_submit(r->h->eng, &q, &e);
    enum MHD_Result rc;
    if (!job) rc = http_send_error(c, r, &e);
    else if (q.stream) rc = respond_stream(c, r, job, &q);
    else rc = respond_whole(c, r, job);
    serve_request_free(&q);
    return rc;
}
