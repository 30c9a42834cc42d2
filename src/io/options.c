/* Typed option tables (see options.h). */
#include "io/options.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

/* name (snake_case) equals the first n bytes of s, '-' and '_' being the same letter */
static int same_name(const char *name, const char *s, size_t n) {
    size_t i = 0;
    for (; i < n && name[i]; i++) {
        char a = name[i] == '_' ? '-' : name[i], b = s[i] == '_' ? '-' : s[i];
        if (a != b) return 0;
    }
    return i == n && name[i] == 0;
}

const OptSpec *optset_find(const OptSet *set, const char *name, size_t name_len, const void *opts,
                           void **field) {
    for (int p = 0; p < set->n_parts; p++)
        for (int i = 0; i < set->part[p].table->n; i++) {
            const OptSpec *s = &set->part[p].table->spec[i];
            if (!same_name(s->name, name, name_len)) continue;
            if (field) *field = opts ? (char *)opts + set->part[p].offset + s->offset : NULL;
            return s;
        }
    return NULL;
}

void optset_each(const OptSet *set, const void *opts,
                 void (*fn)(void *ctx, const OptSpec *s, void *field), void *ctx) {
    for (int p = 0; p < set->n_parts; p++)
        for (int i = 0; i < set->part[p].table->n; i++) {
            const OptSpec *s = &set->part[p].table->spec[i];
            fn(ctx, s, opts ? (char *)opts + set->part[p].offset + s->offset : NULL);
        }
}

const char *opt_flag(const char *name, char *buf, size_t cap) {
    size_t n = snprintf(buf, cap, "--%s", name);
    for (size_t i = 2; i < n && i < cap; i++)
        if (buf[i] == '_') buf[i] = '-';
    return buf;
}

static void choices_list(const char *const *c, StrBuf *out) {
    for (int i = 0; c[i]; i++) sb_printf(out, "%s%s", i == 0 ? "" : c[i + 1] ? ", " : " or ", c[i]);
}

int opt_choice(const char *const *choices, const char *what, const char *s, int *out, Err *e) {
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], s)) { *out = i; return 0; }
    StrBuf l = {0};
    choices_list(choices, &l);
    err_set(e, "%s: unknown value '%s' (%s)", what, s, l.s);
    sb_free(&l);
    return -1;
}

static int bad_value(const OptSpec *s, const char *what, const char *text, Err *e) {
    char f[96];
    return err_set(e, "%s: expected %s, got '%s'", opt_flag(s->name, f, sizeof f), what, text);
}

int opt_parse(const OptSpec *s, void *field, const char *text, Err *e) {
    char *end = NULL;
    errno = 0;
    switch (s->type) {
    case OPT_STR: *(const char **)field = text; return 0;
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (!*text || *end || errno || v < -2147483647L || v > 2147483647L)
            return bad_value(s, "an integer", text, e);
        *(int *)field = (int)v;
        return 0;
    }
    case OPT_I64: {
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || errno) return bad_value(s, "an integer", text, e);
        *(int64_t *)field = v;
        return 0;
    }
    case OPT_U64: {
        unsigned long long v = strtoull(text, &end, 10);
        if (!*text || *end || errno || strchr(text, '-')) return bad_value(s, "an integer >= 0", text, e);
        *(uint64_t *)field = v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(v)) return bad_value(s, "a number", text, e);
        *(double *)field = v;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1")) *(int *)field = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0")) *(int *)field = 0;
        else return bad_value(s, "true or false", text, e);
        return 0;
    case OPT_ENUM: {
        char f[96];
        return opt_choice(s->choices, opt_flag(s->name, f, sizeof f), text, (int *)field, e);
    }
    case OPT_CUSTOM: {
        if (s->parse(field, text, e) == 0) return 0;
        char f[96];
        return err_prefix(e, "%s", opt_flag(s->name, f, sizeof f));
    }
    }
    return -1;
}

void opt_format(const OptSpec *s, const void *field, StrBuf *out) {
    switch (s->type) {
    case OPT_STR: sb_append(out, *(const char *const *)field ? *(const char *const *)field : ""); break;
    case OPT_INT: sb_printf(out, "%d", *(const int *)field); break;
    case OPT_I64: sb_printf(out, "%" PRId64, *(const int64_t *)field); break;
    case OPT_U64: sb_printf(out, "%" PRIu64, *(const uint64_t *)field); break;
    case OPT_DOUBLE: sb_printf(out, "%g", *(const double *)field); break;
    case OPT_BOOL: sb_append(out, *(const int *)field ? "true" : "false"); break;
    case OPT_ENUM: sb_append(out, s->choices[*(const int *)field]); break;
    case OPT_CUSTOM: s->format(field, out); break;
    }
}

/* ---- checkpoints: the recorded options ---- */

static cJSON *value_json(const OptSpec *s, const void *field) {
    switch (s->type) {
    case OPT_INT: return cJSON_CreateNumber(*(const int *)field);
    case OPT_I64: return cJSON_CreateNumber((double)*(const int64_t *)field);
    case OPT_DOUBLE: return json_exact_number(*(const double *)field);
    case OPT_BOOL: return cJSON_CreateBool(*(const int *)field);
    case OPT_STR:
        if (!*(const char *const *)field) return cJSON_CreateNull();
        /* fallthrough */
    default: {
        StrBuf b = {0};
        opt_format(s, field, &b);
        cJSON *j = cJSON_CreateString(b.s ? b.s : "");
        sb_free(&b);
        return j;
    }
    }
}

typedef struct JsonCtx { cJSON *obj; unsigned mask; } JsonCtx;

static void add_json(void *ctx, const OptSpec *s, void *field) {
    JsonCtx *c = ctx;
    if (s->flags & c->mask) cJSON_AddItemToObject(c->obj, s->name, value_json(s, field));
}

cJSON *optset_to_json(const OptSet *set, const void *opts, unsigned mask) {
    JsonCtx c = {cJSON_CreateObject(), mask};
    optset_each(set, opts, add_json, &c);
    return c.obj;
}

int opt_from_json(const OptSpec *s, void *field, const cJSON *v, Err *e) {
    char f[96];
    switch (s->type) {
    case OPT_INT: case OPT_I64: case OPT_DOUBLE:
        if (!cJSON_IsNumber(v)) break;
        if (s->type == OPT_INT) *(int *)field = (int)v->valuedouble;
        else if (s->type == OPT_I64) *(int64_t *)field = (int64_t)v->valuedouble;
        else *(double *)field = v->valuedouble;
        return 0;
    case OPT_BOOL:
        if (!cJSON_IsBool(v)) break;
        *(int *)field = cJSON_IsTrue(v);
        return 0;
    case OPT_STR:
        if (cJSON_IsNull(v)) { *(const char **)field = NULL; return 0; }
        /* fallthrough */
    default:
        if (!cJSON_IsString(v)) break;
        return opt_parse(s, field, v->valuestring, e);
    }
    return err_set(e, "recorded option %s: wrong type", opt_flag(s->name, f, sizeof f));
}

/* a number, or an exact number written raw (json_exact_number) */
static int as_number(const cJSON *j, double *out) {
    if (cJSON_IsNumber(j)) { *out = j->valuedouble; return 1; }
    if (cJSON_IsRaw(j)) { *out = strtod(j->valuestring, NULL); return 1; }
    return 0;
}

typedef struct SameCtx { const cJSON *saved; const char *where; Err *e; int rc; } SameCtx;

static void check_same(void *ctx, const OptSpec *s, void *field) {
    SameCtx *c = ctx;
    if (c->rc || !(s->flags & OPT_MATH)) return;
    char f[96];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->saved, s->name);
    cJSON *now = value_json(s, field);
    double x, y;
    int same = v && ((as_number(v, &x) && as_number(now, &y) && x == y) ||
                     (cJSON_IsBool(v) && cJSON_IsBool(now) && cJSON_IsTrue(v) == cJSON_IsTrue(now)) ||
                     (cJSON_IsNull(v) && cJSON_IsNull(now)) ||
                     (cJSON_IsString(v) && cJSON_IsString(now) && !strcmp(v->valuestring, now->valuestring)));
    if (!same) {
        char *was = v ? cJSON_PrintUnformatted(v) : NULL, *is = cJSON_PrintUnformatted(now);
        c->rc = err_set(c->e, "%s: %s is %s, but the run being resumed used %s: it changes the maths, so "
                              "resume with the same value or start a new run in another folder",
                        c->where, opt_flag(s->name, f, sizeof f), is, was ? was : "no such option");
        free(was);
        free(is);
    }
    cJSON_Delete(now);
}

int optset_check_same(const OptSet *set, const void *opts, const cJSON *saved, const char *where, Err *e) {
    SameCtx c = {saved, where, e, 0};
    optset_each(set, opts, check_same, &c);
    return c.rc;
}

int opt_err(const OptSet *set, Err *e, const char *name, const char *fmt, ...) {
    CHECKF(optset_find(set, name, strlen(name), NULL, NULL) != NULL, "option '%s' is not in the %s table", name,
          set->name);
    char f[96], msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, "%s: %s", opt_flag(name, f, sizeof f), msg);
}
