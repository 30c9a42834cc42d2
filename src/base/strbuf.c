#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

static void reserve(StrBuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->s = xrealloc(b->s, cap);
    b->cap = cap;
}

void sb_append_n(StrBuf *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sb_append(StrBuf *b, const char *s) { sb_append_n(b, s, strlen(s)); }

/* Length of the well-formed UTF-8 sequence at p (1..4), or -(length of its maximal ill-formed
 * prefix, >= 1). Second-byte ranges follow Unicode table 3-7. */
static int utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    int len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return -i;
        unsigned d = p[i];
        if (d < lo || d > hi) return -i;
        lo = 0x80, hi = 0xBF;
    }
    return len;
}

void sb_append_utf8_valid(StrBuf *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;   /* run: start of the pending valid bytes */
    while (i < n) {
        int k = utf8_seq(p + i, n - i);
        if (k > 0) { i += (size_t)k; continue; }
        sb_append_n(b, s + run, i - run);
        sb_append_n(b, "\xEF\xBF\xBD", 3);
        i += (size_t)-k;
        run = i;
    }
    sb_append_n(b, s + run, n - run);
}

void sb_printf(StrBuf *b, const char *fmt, ...) {
    reserve(b, 64);   /* so the first attempt writes into real memory, never a NULL buffer */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    CHECK(n >= 0);
    if ((size_t)n >= b->cap - b->len) {   /* did not fit: grow and format again */
        reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void sb_append_html(StrBuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_append(b, "&amp;"); break;
        case '<': sb_append(b, "&lt;"); break;
        case '>': sb_append(b, "&gt;"); break;
        case '"': sb_append(b, "&quot;"); break;
        default: sb_append_n(b, s, 1);
        }
    }
}

void sb_clear(StrBuf *b) {
    b->len = 0;
    if (b->s) b->s[0] = 0;
}

void sb_free(StrBuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

char *sb_take(StrBuf *b) {
    char *s = b->s ? b->s : xstrdup("");
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}
