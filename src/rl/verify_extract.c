/* Final-answer extraction from a completion: <answer> tags, \boxed{}/\fbox{}, GSM8K "####",
 * last number. Spans point into the input; nothing is allocated. See verify.h for the order. */
#include <string.h>

#include "rl/verify.h"

/* Offset of the last occurrence of needle in text[0..n), or -1. */
static long last_find(const char *text, size_t n, const char *needle) {
    size_t k = strlen(needle);
    long last = -1;
    const char *p = text, *end = text + n;
    while ((size_t)(end - p) >= k) {
        const char *q = memmem(p, (size_t)(end - p), needle, k);
        if (!q) break;
        last = (long)(q - text);
        p = q + 1;
    }
    return last;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static Span trim(const char *p, size_t n) {
    while (n && is_space(*p)) { p++; n--; }
    while (n && is_space(p[n - 1])) n--;
    return (Span){p, n};
}

int verify_braced(const char *text, size_t n, size_t i, Span *inner) {
    if (i >= n || text[i] != '{') return 0;
    int depth = 0;
    for (size_t j = i; j < n; j++) {
        char c = text[j];
        if (c == '\\' && j + 1 < n && (text[j + 1] == '{' || text[j + 1] == '}')) { j++; continue; }
        if (c == '{') depth++;
        else if (c == '}' && --depth == 0) {
            *inner = (Span){text + i + 1, j - i - 1};
            return 1;
        }
    }
    return 0;
}

/* The last \boxed / \fbox in text[0..n). */
static int extract_boxed(const char *text, size_t n, Span *out) {
    long b = last_find(text, n, "\\boxed"), f = last_find(text, n, "\\fbox");
    long at = b > f ? b : f;
    if (at < 0) return 0;
    size_t i = (size_t)at + (b > f ? 6 : 5);
    while (i < n && text[i] == ' ') i++;
    if (i < n && text[i] == '{') {
        Span s;
        if (!verify_braced(text, n, i, &s)) return 0;
        *out = trim(s.p, s.n);
        return out->n > 0;
    }
    /* "\boxed 5": one token */
    size_t j = i;
    while (j < n && !is_space(text[j]) && text[j] != '$') j++;
    *out = (Span){text + i, j - i};
    return out->n > 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int extract_last_number(const char *text, size_t n, Span *out) {
    size_t end = n;
    while (end > 0 && !is_digit(text[end - 1])) end--;
    if (!end) return 0;
    size_t start = end - 1;
    while (start > 0) {
        char c = text[start - 1];
        if (is_digit(c)) start--;
        else if ((c == ',' || c == '.') && start >= 2 && is_digit(text[start - 2])) start--;
        else break;
    }
    if (start > 0 && text[start - 1] == '-') start--;
    *out = (Span){text + start, end - start};
    return 1;
}

int verify_extract(const char *text, size_t n, int flags, Span *out) {
    long think = last_find(text, n, "</think>");
    if (think >= 0) {
        text += think + 8;
        n -= (size_t)think + 8;
    }
    if (flags & VERIFY_ANSWER_TAG) {
        long close = last_find(text, n, "</answer>");
        if (close >= 0) {
            long open = last_find(text, (size_t)close, "<answer>");
            if (open >= 0) {
                const char *p = text + open + 8;
                size_t len = (size_t)(close - open - 8);
                Span boxed;
                if (extract_boxed(p, len, &boxed)) { *out = boxed; return 1; }
                *out = trim(p, len);
                return out->n > 0;
            }
        }
    }
    if ((flags & VERIFY_BOXED) && extract_boxed(text, n, out)) return 1;
    if (flags & VERIFY_GSM8K) {
        long h = last_find(text, n, "####");
        if (h >= 0) {
            const char *p = text + h + 4, *end = text + n;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            *out = trim(p, (size_t)((nl ? nl : end) - p));
            if (out->n) return 1;
        }
    }
    if ((flags & VERIFY_LAST_NUMBER) && extract_last_number(text, n, out)) return 1;
    return 0;
}
