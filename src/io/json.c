#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "io/file.h"

cJSON *json_parse_n(const char *buf, size_t n, Err *e) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, n, &end, 0);
    if (!j) {
        size_t off = end && end >= buf ? (size_t)(end - buf) : 0;
        err_set(e, "invalid JSON near byte %zu", off);
        return NULL;
    }
    return j;
}

cJSON *json_load_file(const char *path, Err *e) {
    size_t n;
    char *buf = file_read_all(path, &n, e);
    if (!buf) return NULL;
    cJSON *j = json_parse_n(buf, n, e);
    free(buf);
    if (!j) err_prefix(e, "%s", path);
    return j;
}

static const cJSON *get(const cJSON *obj, const char *key, int required, int *rc, Err *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) *rc = required ? err_set(e, "key '%s': missing", key) : 1;
    else *rc = 0;
    return v;
}

int jsonl_next(JsonlIter *it, const char **s, size_t *len) {
    while (it->p < it->end) {
        const char *line = it->p, *nl = memchr(line, '\n', (size_t)(it->end - line));
        const size_t n = nl ? (size_t)(nl - line) : (size_t)(it->end - line);
        it->p = nl ? nl + 1 : it->end;
        it->line++;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k < n) {
            *s = line;
            *len = n;
            return 1;
        }
    }
    return 0;
}

int json_get_int(const cJSON *obj, const char *key, int required, int64_t *out, Err *e) {
    int rc;
    const cJSON *v = get(obj, key, required, &rc, e);
    if (!v) return rc;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || fabs(d) > 9.0e15)
        return err_set(e, "key '%s': expected an integer", key);
    *out = (int64_t)d;
    return 0;
}

int json_get_double(const cJSON *obj, const char *key, int required, double *out, Err *e) {
    int rc;
    const cJSON *v = get(obj, key, required, &rc, e);
    if (!v) return rc;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return err_set(e, "key '%s': expected a finite number", key);
    *out = v->valuedouble;
    return 0;
}

int json_get_bool(const cJSON *obj, const char *key, int required, int *out, Err *e) {
    int rc;
    const cJSON *v = get(obj, key, required, &rc, e);
    if (!v) return rc;
    if (!cJSON_IsBool(v)) return err_set(e, "key '%s': expected true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int json_get_string(const cJSON *obj, const char *key, int required, const char **out, Err *e) {
    int rc;
    const cJSON *v = get(obj, key, required, &rc, e);
    if (!v) return rc;
    if (!cJSON_IsString(v)) return err_set(e, "key '%s': expected a string", key);
    *out = v->valuestring;
    return 0;
}

/* cJSON's text with ill-formed UTF-8 replaced, plus `tail`. Non-ASCII bytes occur only inside
 * strings (cJSON escapes nothing above 0x7F), so replacing over the whole text is safe. */
static char *valid_text(char *text, const char *tail) {
    StrBuf b = {0};
    sb_append_utf8_valid(&b, text, strlen(text));
    sb_append(&b, tail);
    free(text);
    return sb_take(&b);
}

char *json_print_line(const cJSON *obj) {
    char *text = cJSON_PrintUnformatted(obj);
    CHECK(text != NULL);   /* cJSON fails only on allocation failure */
    return valid_text(text, "");
}

int json_save_file(const cJSON *obj, const char *path, Err *e) {
    char *text = cJSON_Print(obj);
    if (!text) return err_set(e, "%s: cannot serialise JSON", path);
    char *buf = valid_text(text, "\n");
    int rc = file_write_atomic(path, buf, strlen(buf), e);
    free(buf);
    return rc;
}

cJSON *json_exact_number(double v) {
    if (!isfinite(v)) return cJSON_CreateNull();
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return cJSON_CreateRaw(buf);
}
