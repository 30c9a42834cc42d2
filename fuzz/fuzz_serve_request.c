/* Fuzz target: the body of a chat completion request (serve/request.h) and the text the server
 * streams back (serve/think_split.h, serve/api_json.h). Checks that nothing crashes or leaks;
 * that a parsed request keeps the limits the parser promises (messages, roles, stop strings,
 * sampler settings a sampler accepts) and a refused one has a 400 with a message; that the input,
 * split into reasoning and content in pieces as a stream is, gives the parts of splitting it at
 * once; and that the JSON made from arbitrary text parses back with the same strings (made valid
 * UTF-8). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/strbuf.h"
#include "serve/api_json.h"
#include "serve/request.h"
#include "serve/think_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *s, size_t n) {
    ServeDefaults d = {sampler_defaults(), 0, -1};
    ServeRequest r;
    ApiError e;
    memset(&e, 0, sizeof e);
    if (serve_request_parse(s, n, &d, &r, &e) < 0) {
        if (e.status != 400 || !e.message[0] || !e.type) abort();
        return;
    }
    Err err = {{0}};
    if (r.n_msgs < 1 || r.n_msgs > SERVE_MAX_MESSAGES || r.n_stop > SERVE_MAX_STOP) abort();
    for (int i = 0; i < r.n_msgs; i++) {
        const char *role = r.msgs[i].role;
        if (!r.msgs[i].content || (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant") &&
                                   strcmp(role, "tool")))
            abort();
    }
    for (int i = 0; i < r.n_stop; i++)
        if (!r.stop[i][0] || strlen(r.stop[i]) > SERVE_MAX_STOP_BYTES) abort();
    if (sampler_validate(&r.sampler, &err) < 0 || r.max_tokens < 0 || r.thinking_budget < -1) abort();
    serve_request_free(&r);
}

static void check_split(const char *s, size_t n) {
    if (n == 0) return;
    const size_t hold = (unsigned char)s[0] % 5, piece = 1 + (unsigned char)s[0] / 5 % 7;
    s++, n--;
    StrBuf r1 = {0}, c1 = {0}, r2 = {0}, c2 = {0};
    ThinkSplit t;
    think_split_init(&t, hold);
    think_split_append(&t, s, n);
    think_split_take(&t, 1, SIZE_MAX, &r1, &c1);
    think_split_free(&t);
    think_split_init(&t, hold);
    for (size_t at = 0; at < n; at += piece) {
        think_split_append(&t, s + at, at + piece <= n ? piece : n - at);
        if (at + piece < n) think_split_take(&t, 0, SIZE_MAX, &r2, &c2);
    }
    think_split_take(&t, 1, SIZE_MAX, &r2, &c2);
    think_split_free(&t);
    if (r1.len != r2.len || c1.len != c2.len || (r1.len && memcmp(r1.s, r2.s, r1.len)) ||
        (c1.len && memcmp(c1.s, c2.s, c1.len)))
        abort();
    /* the JSON of a completion carries the parts, as valid UTF-8 */
    ApiUsage u = {1, 2, 3};
    char *json = api_completion_json("id", 0, "m", r1.s ? r1.s : "", c1.s ? c1.s : "", "stop", &u);
    cJSON *j = cJSON_Parse(json);
    if (!j) abort();
    const cJSON *msg = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    StrBuf want = {0};
    sb_append_utf8_valid(&want, c1.s ? c1.s : "", c1.len);
    const cJSON *content = cJSON_GetObjectItem(msg, "content");
    /* the parts hold no NUL (it is handed out as U+FFFD), so the string survives whole */
    if (!cJSON_IsString(content) || strlen(content->valuestring) != want.len ||
        memcmp(content->valuestring, want.s ? want.s : "", want.len))
        abort();
    sb_free(&want);
    cJSON_Delete(j);
    free(json);
    sb_free(&r1); sb_free(&c1); sb_free(&r2); sb_free(&c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_request((const char *)data, size);
    check_split((const char *)data, size);
    return 0;
}
