#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Keeps a message on one line whatever it quotes (a role, a key, a line of a data file): control
 * bytes become \n, \r or \xNN; the end is cut if it no longer fits. */
static void one_line(char *msg, size_t cap) {
    char out[sizeof ((Err *)0)->msg];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && k + 1 < cap; p++) {
        char esc[8];
        size_t n = 1;
        if (*p == '\n') memcpy(esc, "\\n", n = 2);
        else if (*p == '\r') memcpy(esc, "\\r", n = 2);
        else if (*p < 0x20 || *p == 0x7f) n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        else esc[0] = (char)*p;
        if (k + n + 1 > cap) break;
        memcpy(out + k, esc, n);
        k += n;
    }
    memcpy(msg, out, k);
    msg[k] = 0;
}

int err_set(Err *e, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    one_line(e->msg, sizeof e->msg);
    return -1;
}

int err_prefix(Err *e, const char *fmt, ...) {
    if (!e) return -1;
    char joined[2 * sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof e->msg) n = sizeof e->msg - 1;
    size_t old = strnlen(e->msg, sizeof e->msg - 1);
    memcpy(joined + n, ": ", 2);
    memcpy(joined + n + 2, e->msg, old);
    size_t total = (size_t)n + 2 + old;
    if (total >= sizeof e->msg) total = sizeof e->msg - 1;
    memcpy(e->msg, joined, total);
    e->msg[total] = 0;
    one_line(e->msg, sizeof e->msg);
    return -1;
}

void check_failed(const char *file, int line, const char *expr, const char *fmt, ...) {
    fprintf(stderr, "%s:%d: CHECK(%s) failed", file, line, expr);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    abort();
}

static void *oom(size_t n) {
    fprintf(stderr, "r1: error: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : oom(count * size);
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}
