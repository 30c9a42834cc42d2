/* JSON bodies of the API (see api_json.h). */
#include "serve/api_json.h"

#include <stdarg.h>
#include <stdio.h>

#include "io/json.h"

int api_error(ApiError *e, int status, const char *type, const char *code, const char *param,
              const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->code = code;
    e->param = param;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

static void add_string_or_null(cJSON *o, const char *key, const char *v) {
    if (v) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static char *print_and_free(cJSON *root) {
    char *s = json_print_line(root);
    cJSON_Delete(root);
    return s;
}

char *api_error_json(const ApiError *e) {
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "message", e->message);
    cJSON_AddStringToObject(err, "type", e->type ? e->type : "server_error");
    add_string_or_null(err, "param", e->param);
    add_string_or_null(err, "code", e->code);
    return print_and_free(root);
}

static cJSON *header(const char *id, const char *object, int64_t created, const char *model) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "object", object);
    cJSON_AddNumberToObject(root, "created", (double)created);
    cJSON_AddStringToObject(root, "model", model);
    return root;
}

static void add_usage(cJSON *root, const ApiUsage *u) {
    cJSON *us = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(us, "prompt_tokens", u->prompt_tokens);
    cJSON_AddNumberToObject(us, "completion_tokens", u->completion_tokens);
    cJSON_AddNumberToObject(us, "total_tokens", u->prompt_tokens + u->completion_tokens);
    cJSON *d = cJSON_AddObjectToObject(us, "completion_tokens_details");
    cJSON_AddNumberToObject(d, "reasoning_tokens", u->reasoning_tokens);
}

char *api_completion_json(const char *id, int64_t created, const char *model, const char *reasoning,
                          const char *content, const char *finish_reason, const ApiUsage *u) {
    cJSON *root = header(id, "chat.completion", created, model);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *msg = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "content", content);
    cJSON_AddStringToObject(msg, "reasoning_content", reasoning);
    cJSON_AddNullToObject(c, "logprobs");
    cJSON_AddStringToObject(c, "finish_reason", finish_reason);
    add_usage(root, u);
    return print_and_free(root);
}

char *api_chunk_json(const char *id, int64_t created, const char *model, const char *role,
                     const char *reasoning, const char *content, const char *finish_reason,
                     const ApiUsage *usage) {
    cJSON *root = header(id, "chat.completion.chunk", created, model);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    if (usage) {
        add_usage(root, usage);
        return print_and_free(root);
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *d = cJSON_AddObjectToObject(c, "delta");
    if (role) cJSON_AddStringToObject(d, "role", role);
    if (reasoning) cJSON_AddStringToObject(d, "reasoning_content", reasoning);
    if (content) cJSON_AddStringToObject(d, "content", content);
    cJSON_AddNullToObject(c, "logprobs");
    add_string_or_null(c, "finish_reason", finish_reason);
    return print_and_free(root);
}

char *api_models_json(const char *model, int64_t created) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddItemToArray(data, m);
    cJSON_AddStringToObject(m, "id", model);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)created);
    cJSON_AddStringToObject(m, "owned_by", "r1.c");
    return print_and_free(root);
}
