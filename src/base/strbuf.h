/* StrBuf: a growable byte string for building text (reports, JSON lines, prompts). */
#ifndef R1_BASE_STRBUF_H
#define R1_BASE_STRBUF_H

#include <stddef.h>

typedef struct StrBuf {
    char *s;        /* NUL-terminated; owned; NULL until the first append */
    size_t len;
    size_t cap;
} StrBuf;

void sb_append(StrBuf *b, const char *s);
void sb_append_n(StrBuf *b, const char *s, size_t n);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, " escaped for HTML. */
void sb_append_html(StrBuf *b, const char *s);
/* Appends n bytes of s as valid UTF-8: each ill-formed sequence (stray continuation byte,
 * truncated, overlong, surrogate, > U+10FFFF) becomes U+FFFD, one per maximal subpart as in
 * Python's errors="replace". Valid text is copied unchanged. JSON text must be UTF-8, and
 * byte-level BPE models can emit partial sequences. */
void sb_append_utf8_valid(StrBuf *b, const char *s, size_t n);
void sb_clear(StrBuf *b);   /* keeps the memory */
void sb_free(StrBuf *b);
/* Returns the string (never NULL) and leaves b empty; the caller frees. */
char *sb_take(StrBuf *b);

#endif
