/* What the HTTP files of src/serve share (internal): one request's state and the ways to answer. */
#ifndef R1_SERVE_HTTP_REQ_H
#define R1_SERVE_HTTP_REQ_H

#include <stdint.h>

#include <microhttpd.h>

#include "base/strbuf.h"
#include "serve/api_json.h"
#include "serve/http.h"

struct ServeHttp {
    struct MHD_Daemon *d;
    ServeEngine *eng;
    ServeHttpOptions o;
    char *model_name, *api_key;
    int port;
    int64_t started;            /* unix seconds */
    uint64_t next_id;           /* completion ids (atomic) */
    int in_flight;              /* requests begun and not completed (atomic) */
};

typedef struct Req {
    ServeHttp *h;
    double t0;                  /* monotonic seconds */
    char method[16], path[80];
    StrBuf body;
    int too_big;
    int status;                 /* sent, for the log */
    const char *note;           /* error code or "stream", for the log */
    ApiUsage usage;
    int has_usage;
} Req;

double http_now(void);
/* Queues a response with the given body (copied) and content type; MHD_YES/MHD_NO. */
enum MHD_Result http_send(struct MHD_Connection *c, Req *r, int status, const char *type, const char *body);
enum MHD_Result http_send_error(struct MHD_Connection *c, Req *r, const ApiError *e);
/* True when the client has closed its side of the connection. */
int http_peer_gone(int fd);

/* POST /v1/chat/completions with the whole body in r->body (completions.c). */
enum MHD_Result completions_handle(struct MHD_Connection *c, Req *r);

#endif
