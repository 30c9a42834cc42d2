/* Chat completion request parsing and checks (see request.h). */
#include "serve/request.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "io/json.h"

#define BAD(e, param, ...) api_error(e, 400, "invalid_request_error", "invalid_value", param, __VA_ARGS__)

static char *own(ServeRequest *r, char *s) {
    r->owned = xrealloc(r->owned, (size_t)(r->n_owned + 1) * sizeof *r->owned);
    r->owned[r->n_owned++] = s;
    return s;
}

/* A number field: 1 when present, 0 when absent or null, -1 (e set) when not a number or
 * outside [lo, hi]. */
static int get_number(const cJSON *root, const char *key, double lo, double hi, double *v, ApiError *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) return 0;
    if (!cJSON_IsNumber(it)) return BAD(e, key, "%s: must be a number", key);
    if (!(it->valuedouble >= lo && it->valuedouble <= hi))
        return BAD(e, key, "%s: must be in [%g, %g], got %g", key, lo, hi, it->valuedouble);
    *v = it->valuedouble;
    return 1;
}

/* An integer field, as get_number. */
static int get_integer(const cJSON *root, const char *key, double lo, double hi, double *v, ApiError *e) {
    int rc = get_number(root, key, -INFINITY, INFINITY, v, e);
    if (rc == 1 && (*v != floor(*v) || *v < lo || *v > hi))
        return BAD(e, key, "%s: must be an integer in [%.0f, %.0f], got %g", key, lo, hi, *v);
    return rc;
}

static int get_bool(const cJSON *root, const char *key, int *v, ApiError *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) return 0;
    if (!cJSON_IsBool(it)) return BAD(e, key, "%s: must be true or false", key);
    *v = cJSON_IsTrue(it);
    return 1;
}

/* content: a string, null (an assistant turn that only called tools), or text parts; *out is a
 * copy the request owns (the tree goes when parsing ends). */
static int message_content(ServeRequest *r, const cJSON *c, int i, const char **out, ApiError *e) {
    if (!c || cJSON_IsNull(c)) { *out = ""; return 0; }
    if (cJSON_IsString(c)) { *out = own(r, xstrdup(c->valuestring)); return 0; }
    if (!cJSON_IsArray(c))
        return BAD(e, "messages", "messages[%d].content: must be a string or an array of text parts", i);
    StrBuf b = {0};
    int k = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, c) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text)) {
            sb_free(&b);
            return BAD(e, "messages", "messages[%d].content[%d]: only {\"type\": \"text\", \"text\": ...} "
                       "parts are supported", i, k);
        }
        sb_append(&b, text->valuestring);
        k++;
    }
    *out = own(r, sb_take(&b));
    return 0;
}

static int parse_messages(ServeRequest *r, const cJSON *root, ApiError *e) {
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!ms) return BAD(e, "messages", "messages: required (an array of {\"role\", \"content\"})");
    if (!cJSON_IsArray(ms)) return BAD(e, "messages", "messages: must be an array");
    int n = cJSON_GetArraySize(ms);
    if (n == 0) return BAD(e, "messages", "messages: must not be empty");
    if (n > SERVE_MAX_MESSAGES) return BAD(e, "messages", "messages: at most %d, got %d", SERVE_MAX_MESSAGES, n);
    r->msgs = xcalloc((size_t)n, sizeof *r->msgs);
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, ms) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return BAD(e, "messages", "messages[%d]: must be an object with a string \"role\"", i);
        static const char *const roles[5] = {"system", "user", "assistant", "tool", "developer"};
        const char *rs = NULL;      /* a literal: it outlives the tree */
        for (int k = 0; k < 5 && !rs; k++)
            if (!strcmp(role->valuestring, roles[k])) rs = roles[k < 4 ? k : 0];
        if (!rs)
            return BAD(e, "messages", "messages[%d].role: '%.40s' is not one of system, developer, user, "
                       "assistant, tool", i, role->valuestring);
        const char *content = "";
        if (message_content(r, cJSON_GetObjectItemCaseSensitive(m, "content"), i, &content, e) < 0) return -1;
        r->msgs[i++] = (ChatMessage){rs, content};
        r->n_msgs = i;
    }
    return 0;
}

static int parse_stop(ServeRequest *r, const cJSON *root, ApiError *e) {
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (!st || cJSON_IsNull(st)) return 0;
    const cJSON *one[1] = {st};
    int n = cJSON_IsString(st) ? 1 : cJSON_IsArray(st) ? cJSON_GetArraySize(st) : -1;
    if (n < 0) return BAD(e, "stop", "stop: must be a string or an array of strings");
    if (n > SERVE_MAX_STOP) return BAD(e, "stop", "stop: at most %d strings, got %d", SERVE_MAX_STOP, n);
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_IsString(st) ? one[0] : cJSON_GetArrayItem(st, i);
        if (!cJSON_IsString(s)) return BAD(e, "stop", "stop[%d]: must be a string", i);
        size_t len = strlen(s->valuestring);
        if (len == 0) return BAD(e, "stop", "stop[%d]: must not be empty", i);
        if (len > SERVE_MAX_STOP_BYTES)
            return BAD(e, "stop", "stop[%d]: at most %d bytes, got %zu", i, SERVE_MAX_STOP_BYTES, len);
        r->stop[r->n_stop++] = xstrdup(s->valuestring);
    }
    return 0;
}

static int parse_sampling(ServeRequest *r, const cJSON *root, ApiError *e) {
    double v;
    SamplerParams *s = &r->sampler;
    if (get_number(root, "temperature", 0, 2, &s->temperature, e) < 0) return -1;
    if (get_number(root, "top_p", 0, 1, &s->top_p, e) < 0) return -1;
    if (s->top_p <= 0) return BAD(e, "top_p", "top_p: must be in (0, 1], got 0");
    if (get_number(root, "min_p", 0, 1, &s->min_p, e) < 0) return -1;
    if (get_number(root, "presence_penalty", -2, 2, &s->presence_penalty, e) < 0) return -1;
    if (get_number(root, "repetition_penalty", 1e-3, 100, &s->repetition_penalty, e) < 0) return -1;
    int rc = get_integer(root, "top_k", -1, 1 << 30, &v, e);
    if (rc < 0) return -1;
    if (rc) s->top_k = v < 0 ? 0 : (int)v;        /* -1: off, as vLLM */
    rc = get_number(root, "frequency_penalty", -2, 2, &v, e);
    if (rc < 0) return -1;
    if (rc && v != 0) return BAD(e, "frequency_penalty", "frequency_penalty: not supported (use presence_penalty "
                                 "or repetition_penalty)");
    return 0;
}

static int parse_limits(ServeRequest *r, const cJSON *root, ApiError *e) {
    double v;
    int rc = get_integer(root, "max_completion_tokens", 1, 1 << 30, &v, e);
    if (rc < 0) return -1;
    if (rc == 0) rc = get_integer(root, "max_tokens", 1, 1 << 30, &v, e);
    if (rc < 0) return -1;
    if (rc) r->max_tokens = (int)v;
    rc = get_integer(root, "seed", -9007199254740992.0, 9007199254740992.0, &v, e);
    if (rc < 0) return -1;
    if (rc) { r->has_seed = 1; r->seed = (uint64_t)(int64_t)v; }
    rc = get_integer(root, "thinking_budget", 0, 1 << 30, &v, e);
    if (rc < 0) return -1;
    if (rc) r->thinking_budget = (int)v;
    rc = get_integer(root, "n", -1e18, 1e18, &v, e);
    if (rc < 0) return -1;
    if (rc && v != 1) return BAD(e, "n", "n: only 1 is supported, got %g", v);
    return 0;
}

static int parse_flags(ServeRequest *r, const cJSON *root, ApiError *e) {
    if (get_bool(root, "stream", &r->stream, e) < 0) return -1;
    if (get_bool(root, "ignore_eos", &r->ignore_eos, e) < 0) return -1;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) return BAD(e, "stream_options", "stream_options: must be an object");
        if (get_bool(so, "include_usage", &r->include_usage, e) < 0) return -1;
    }
    int lp = 0;
    if (get_bool(root, "logprobs", &lp, e) < 0) return -1;
    if (lp) return BAD(e, "logprobs", "logprobs: not supported");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    if (tools && !cJSON_IsNull(tools) && !(cJSON_IsArray(tools) && cJSON_GetArraySize(tools) == 0))
        return BAD(e, "tools", "tools: not supported");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsString(model) && !cJSON_IsNull(model))
        return BAD(e, "model", "model: must be a string");
    return 0;
}

int serve_request_parse(const char *body, size_t n, const ServeDefaults *d, ServeRequest *r, ApiError *e) {
    memset(r, 0, sizeof *r);
    r->sampler = d->sampler;
    r->max_tokens = d->max_tokens;
    r->thinking_budget = d->thinking_budget;
    Err je = {{0}};
    cJSON *root = json_parse_n(body, n, &je);
    if (!root) return api_error(e, 400, "invalid_request_error", "invalid_json", NULL,
                                "request body: not valid JSON (%s)", je.msg);
    int rc = -1;
    if (!cJSON_IsObject(root))
        api_error(e, 400, "invalid_request_error", "invalid_json", NULL, "request body: must be a JSON object");
    else if (parse_messages(r, root, e) == 0 && parse_sampling(r, root, e) == 0 && parse_limits(r, root, e) == 0 &&
             parse_stop(r, root, e) == 0 && parse_flags(r, root, e) == 0)
        rc = 0;
    cJSON_Delete(root);
    if (rc < 0) serve_request_free(r);
    return rc;
}

void serve_request_free(ServeRequest *r) {
    for (int i = 0; i < r->n_owned; i++) free(r->owned[i]);
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    free(r->owned);
    free(r->msgs);
    memset(r, 0, sizeof *r);
}
