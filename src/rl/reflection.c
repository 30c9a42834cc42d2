/* Self-checks and repaired slips in a chain of thought. See reflection.h. */
#include "rl/reflection.h"

#include <stdint.h>
#include <string.h>

#define MAX_PENDING 64    /* false chains remembered for repair; later ones only count */
#define MAX_DEPTH 32

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_eq_char(char c) { return is_digit(c) || (c && strchr("+-*/()=", c)); }

/* ---- exact integer evaluation of one part ---- */

typedef struct Ev {
    const char *s, *end;
    int depth;
} Ev;

static void ev_space(Ev *v) {
    while (v->s < v->end && *v->s == ' ') v->s++;
}

static int ev_sum(Ev *v, int64_t *out);

static int ev_unary(Ev *v, int64_t *out) {
    ev_space(v);
    if (v->s >= v->end || ++v->depth > MAX_DEPTH) return -1;
    int rc = 0;
    if (*v->s == '-') {
        v->s++;
        int64_t x;
        rc = ev_unary(v, &x) || __builtin_sub_overflow((int64_t)0, x, out) ? -1 : 0;
    } else if (*v->s == '(') {
        v->s++;
        rc = ev_sum(v, out);
        ev_space(v);
        if (!rc && (v->s >= v->end || *v->s++ != ')')) rc = -1;
    } else if (is_digit(*v->s)) {
        int64_t x = 0;
        while (v->s < v->end && is_digit(*v->s))
            if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, *v->s++ - '0', &x)) return -1;
        *out = x;
    } else {
        rc = -1;
    }
    v->depth--;
    return rc;
}

/* x op y for one of + - * / (exact division only); -1 on overflow */
static int ev_apply(char op, int64_t *x, int64_t y) {
    switch (op) {
    case '+': return __builtin_add_overflow(*x, y, x) ? -1 : 0;
    case '-': return __builtin_sub_overflow(*x, y, x) ? -1 : 0;
    case '*': return __builtin_mul_overflow(*x, y, x) ? -1 : 0;
    default:
        if (y == 0 || (*x == INT64_MIN && y == -1) || *x % y) return -1;
        *x /= y;
        return 0;
    }
}

/* A left-associative chain at one precedence: products (level 1) of unary terms, sums (level 0)
 * of products. */
static int ev_chain(Ev *v, int level, int64_t *out) {
    const char *ops = level ? "*/" : "+-";
    if (level ? ev_unary(v, out) : ev_chain(v, 1, out)) return -1;
    for (;;) {
        ev_space(v);
        if (v->s >= v->end || (*v->s != ops[0] && *v->s != ops[1])) return 0;
        char op = *v->s++;
        int64_t y;
        if ((level ? ev_unary(v, &y) : ev_chain(v, 1, &y)) || ev_apply(op, out, y)) return -1;
    }
}

static int ev_sum(Ev *v, int64_t *out) { return ev_chain(v, 0, out); }

/* 0 and the value of s[0..n) when it is a whole expression. */
static int eval_part(const char *s, size_t n, int64_t *out) {
    Ev v = {s, s + n, 0};
    if (ev_sum(&v, out)) return -1;
    ev_space(&v);
    return v.s == v.end ? 0 : -1;
}

/* ---- chains ---- */

typedef struct Chain {
    int evaluated;     /* two or more parts had values */
    int truth;
    const char *lhs;   /* text of the first evaluated part */
    size_t lhs_n;
} Chain;

static void trim(const char **s, size_t *n) {
    while (*n && **s == ' ') { (*s)++; (*n)--; }
    while (*n && (*s)[*n - 1] == ' ') (*n)--;
}

static Chain read_chain(const char *s, size_t n, int letter_before, int letter_after) {
    Chain c = {0, 1, NULL, 0};
    int64_t first = 0;
    int values = 0;
    size_t a = 0;
    while (a <= n) {
        const char *eq = memchr(s + a, '=', n - a);
        size_t b = eq ? (size_t)(eq - s) : n;
        int skip = (a == 0 && letter_before) || (b == n && letter_after);
        const char *p = s + a;
        size_t pn = b - a;
        trim(&p, &pn);
        int64_t v;
        if (!skip && pn && !eval_part(p, pn, &v)) {
            if (!values++) { first = v; c.lhs = p; c.lhs_n = pn; }
            else if (v != first) c.truth = 0;
        }
        a = b + 1;
    }
    c.evaluated = values >= 2;
    return c;
}

/* The same text, spaces aside. */
static int same_text(const char *a, size_t an, const char *b, size_t bn) {
    size_t i = 0, j = 0;
    for (;;) {
        while (i < an && a[i] == ' ') i++;
        while (j < bn && b[j] == ' ') j++;
        if (i == an || j == bn) return i == an && j == bn;
        if (a[i++] != b[j++]) return 0;
    }
}

/* Length of a self-check marker at s[i], or 0. */
static size_t marker_at(const char *s, size_t n, size_t i) {
    static const char *const HAN[] = {"\xe7\xad\x89\xe7\xad\x89" /* 等等 */, "\xe6\xa3\x80\xe6\x9f\xa5" /* 检查 */,
                                      "\xe9\xaa\x8c\xe7\xae\x97" /* 验算 */, "\xe9\xaa\x8c\xe8\xaf\x81" /* 验证 */};
    if ((unsigned char)s[i] >= 0x80) {
        for (size_t k = 0; k < sizeof HAN / sizeof HAN[0]; k++)
            if (n - i >= 6 && !memcmp(s + i, HAN[k], 6)) return 6;
        return 0;
    }
    if (!is_letter(s[i]) || (i && is_letter(s[i - 1]))) return 0;
    size_t j = i;
    while (j < n && is_letter(s[j])) j++;
    char w[8] = {0};
    for (size_t k = 0; k < 7 && i + k < j; k++) w[k] = (char)(s[i + k] | 0x20);
    size_t len = j - i;
    if ((len == 4 && !memcmp(w, "wait", 4)) || (len >= 5 && !memcmp(w, "check", 5)) ||
        (len >= 6 && !memcmp(w, "verif", 5)))
        return len;
    return 0;
}

void reflection_scan(const char *s, size_t n, Reflection *out) {
    memset(out, 0, sizeof *out);
    const char *pend[MAX_PENDING];
    size_t pend_n[MAX_PENDING];
    int n_pend = 0;
    int in_check = 0, check_has_chain = 0, check_repaired = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '\n') { in_check = 0; i++; continue; }
        size_t m = marker_at(s, n, i);
        if (m) {
            if (!in_check || check_has_chain) {
                out->checks++;
                check_repaired = 0;
            }
            in_check = 1;
            check_has_chain = 0;
            i += m;
            continue;
        }
        if (!is_eq_char(s[i])) { i++; continue; }
        /* a run of equation characters with single spaces inside */
        size_t j = i;
        while (j < n && (is_eq_char(s[j]) || (s[j] == ' ' && j + 1 < n && is_eq_char(s[j + 1]) && is_eq_char(s[j - 1]))))
            j++;
        if (memchr(s + i, '=', j - i)) {
            Chain c = read_chain(s + i, j - i, i > 0 && is_letter(s[i - 1]), j < n && is_letter(s[j]));
            if (c.evaluated) {
                out->chains++;
                if (in_check) check_has_chain = 1;
                if (!c.truth) {
                    out->false_chains++;
                    out->unrepaired++;
                    if (n_pend < MAX_PENDING) { pend[n_pend] = c.lhs; pend_n[n_pend++] = c.lhs_n; }
                } else if (in_check) {
                    for (int k = 0; k < n_pend; k++) {
                        if (!same_text(pend[k], pend_n[k], c.lhs, c.lhs_n)) continue;
                        pend[k] = pend[--n_pend];
                        pend_n[k] = pend_n[n_pend];
                        k--;
                        out->unrepaired--;
                        if (!check_repaired) { out->repairs++; check_repaired = 1; }
                    }
                }
            }
        }
        i = j;
    }
}

void reflection_scan_completion(const char *s, size_t n, Reflection *out) {
    const char *t = memmem(s, n, "</think>", 8);
    if (t) n = (size_t)(t - s);
    const char *o = memmem(s, n, "<think>", 7);
    if (o) { n -= (size_t)(o + 7 - s); s = o + 7; }
    reflection_scan(s, n, out);
}
