/* The program task's expression language: compile to postfix, run with range checks. See
 * program_lang.h. */
#include "tasks/program_lang.h"

#include <string.h>

typedef struct Parser {
    const char *s, *end;
    int depth;
    Program *p;
} Parser;

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static void skip_space(Parser *q) {
    while (q->s < q->end && (*q->s == ' ' || *q->s == '\t' || *q->s == '\n' || *q->s == '\r')) q->s++;
}

/* Consumes lit (after spaces) when it is next. */
static int accept(Parser *q, const char *lit) {
    skip_space(q);
    size_t k = strlen(lit);
    if ((size_t)(q->end - q->s) >= k && !memcmp(q->s, lit, k)) { q->s += k; return 1; }
    return 0;
}

static int emit(Parser *q, ProgOpKind kind, long long v) {
    if (q->p->n >= PROG_MAX_OPS) return -1;
    q->p->op[q->p->n++] = (ProgOp){kind, v};
    return 0;
}

/* digits below 10^12 */
static int literal(Parser *q, long long *v) {
    skip_space(q);
    if (q->s >= q->end || !is_digit(*q->s)) return -1;
    long long x = 0;
    int nd = 0;
    while (q->s < q->end && is_digit(*q->s)) {
        if (++nd > 12) return -1;
        x = x * 10 + (*q->s++ - '0');
    }
    *v = x;
    return 0;
}

static int sum(Parser *q);

static int atom(Parser *q) {
    long long v;
    if (accept(q, "(")) {
        if (++q->depth > PROG_MAX_DEPTH || sum(q) || !accept(q, ")")) return -1;
        q->depth--;
        return 0;
    }
    if (accept(q, "x")) return emit(q, PROG_X, 0);
    if (literal(q, &v)) return -1;
    return emit(q, PROG_CONST, v);
}

static int power(Parser *q) {
    if (atom(q)) return -1;
    if (accept(q, "^") || accept(q, "**")) {
        long long e;
        if (literal(q, &e) || e > 16) return -1;
        return emit(q, PROG_POW, e);
    }
    return 0;
}

static int unary(Parser *q) {
    int neg = 0;
    /* a run of signs ("--x") is bounded by the text's length; no recursion */
    while (accept(q, "-") || accept(q, "\xe2\x88\x92")) neg ^= 1;
    if (power(q)) return -1;
    return neg ? emit(q, PROG_NEG, 0) : 0;
}

/* The next token starts a factor multiplied without a sign: "2x", "3(x+1)", "(x+1)(x-1)". */
static int implicit_factor(Parser *q) {
    skip_space(q);
    return q->s < q->end && (*q->s == 'x' || *q->s == '(');
}

static int term(Parser *q) {
    if (unary(q)) return -1;
    for (;;) {
        int explicit_op = accept(q, "*") || accept(q, "\xc3\x97") || accept(q, "\\cdot") || accept(q, "\\times");
        if (!explicit_op && !implicit_factor(q)) return 0;
        if (unary(q) || emit(q, PROG_MUL, 0)) return -1;
    }
}

static int sum(Parser *q) {
    if (term(q)) return -1;
    for (;;) {
        ProgOpKind k;
        if (accept(q, "+")) k = PROG_ADD;
        else if (accept(q, "-") || accept(q, "\xe2\x88\x92")) k = PROG_SUB;
        else return 0;
        if (term(q) || emit(q, k, 0)) return -1;
    }
}

/* Drops "$...$", a trailing '.', and a leading "f(x)=" or "y=" from [*s, *e). */
static void strip_wrapping(const char **s, const char **e) {
    Parser q = {*s, *e, 0, NULL};
    skip_space(&q);
    const char *a = q.s, *b = *e;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r' || b[-1] == '.')) b--;
    if (b - a >= 2 && *a == '$' && b[-1] == '$') { a++; b--; }
    Parser h = {a, b, 0, NULL};
    if ((accept(&h, "f") && accept(&h, "(") && accept(&h, "x") && accept(&h, ")") && accept(&h, "=")) ||
        (h = (Parser){a, b, 0, NULL}, accept(&h, "y") && accept(&h, "=")))
        a = h.s;
    *s = a;
    *e = b;
}

int prog_compile(const char *src, size_t n, Program *p) {
    p->n = 0;
    if (n > PROG_MAX_LEN) return -1;
    const char *s = src, *e = src + n;
    strip_wrapping(&s, &e);
    Parser q = {s, e, 0, p};
    if (sum(&q)) return -1;
    skip_space(&q);
    return q.s == q.end && p->n > 0 ? 0 : -1;
}

static int in_range(long long v) { return v >= -PROG_MAX_VALUE && v <= PROG_MAX_VALUE; }

int prog_run(const Program *p, long long x, long long *y) {
    long long st[PROG_MAX_OPS];
    int top = 0;
    for (int i = 0; i < p->n; i++) {
        const ProgOp *o = &p->op[i];
        long long a, b, r;
        switch (o->kind) {
        case PROG_CONST: r = o->v; break;
        case PROG_X: r = x; break;
        case PROG_NEG: r = -st[--top]; break;
        case PROG_POW:
            a = st[--top];
            r = 1;
            for (long long k = 0; k < o->v; k++)
                if (__builtin_mul_overflow(r, a, &r) || !in_range(r)) return -1;
            break;
        default:
            b = st[--top];
            a = st[--top];
            if (o->kind == PROG_ADD ? __builtin_add_overflow(a, b, &r)
                : o->kind == PROG_SUB ? __builtin_sub_overflow(a, b, &r)
                                      : __builtin_mul_overflow(a, b, &r))
                return -1;
        }
        if (!in_range(r)) return -1;
        st[top++] = r;
    }
    if (top != 1) return -1;
    *y = st[0];
    return 0;
}

/* [-]digits within ±PROG_MAX_VALUE, at s[*i]; advances. */
static int case_number(const char *s, size_t n, size_t *i, long long *v) {
    int neg = *i < n && s[*i] == '-';
    if (neg) (*i)++;
    if (*i >= n || !is_digit(s[*i])) return -1;
    long long x = 0;
    while (*i < n && is_digit(s[*i])) {
        x = x * 10 + (s[(*i)++] - '0');
        if (x > PROG_MAX_VALUE) return -1;
    }
    *v = neg ? -x : x;
    return 0;
}

int prog_parse_cases(const char *s, size_t n, long long *xs, long long *ys) {
    size_t i = 0;
    int k = 0;
    for (;;) {
        if (k == PROG_MAX_CASES) return -1;
        if (case_number(s, n, &i, &xs[k]) || i >= n || s[i++] != ':' || case_number(s, n, &i, &ys[k])) return -1;
        k++;
        if (i == n) return k;
        if (s[i++] != ',') return -1;
    }
}

int prog_check(const char *src, size_t src_n, const char *cases, size_t cases_n) {
    long long xs[PROG_MAX_CASES], ys[PROG_MAX_CASES];
    int k = prog_parse_cases(cases, cases_n, xs, ys);
    Program p;
    if (k <= 0 || prog_compile(src, src_n, &p)) return 0;
    for (int i = 0; i < k; i++) {
        long long y;
        if (prog_run(&p, xs[i], &y) || y != ys[i]) return 0;
    }
    return 1;
}
