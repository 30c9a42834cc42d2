/* Exact (n/d)·√r arithmetic and the two small parsers built on it. See verify_num.h. */
#include "rl/verify_num.h"

#include <string.h>

typedef __int128 i128;
typedef unsigned __int128 u128;

#define MAX_DEPTH 32
#define SQRT_TRIAL_MAX 1000000000LL   /* radicands above this are only accepted as perfect squares */

static u128 gcd_u128(u128 a, u128 b) {
    while (b) { u128 t = a % b; a = b; b = t; }
    return a;
}

static u128 abs128(i128 x) { return x < 0 ? (u128)(-(x + 1)) + 1 : (u128)x; }

/* n/d with d != 0 into a reduced NumVal with radicand r; -1 when it does not fit 64 bits. */
static int make128(i128 n, i128 d, int64_t r, NumVal *out) {
    if (d == 0) return -1;
    if (n == 0) { out->n = 0; out->d = 1; out->r = 1; return 0; }
    int neg = (n < 0) != (d < 0);
    u128 un = abs128(n), ud = abs128(d);
    u128 g = gcd_u128(un, ud);
    un /= g; ud /= g;
    if (un > (u128)INT64_MAX || ud > (u128)INT64_MAX) return -1;
    out->n = neg ? -(int64_t)un : (int64_t)un;
    out->d = (int64_t)ud;
    out->r = r;
    return 0;
}

int num_make(int64_t n, int64_t d, int64_t r, NumVal *out) {
    if (r < 1) return -1;
    return make128(n, d, n == 0 ? 1 : r, out);
}

static int64_t gcd64(int64_t a, int64_t b) {
    return (int64_t)gcd_u128(abs128(a), abs128(b));
}

int num_mul(NumVal a, NumVal b, NumVal *out) {
    if (a.n == 0 || b.n == 0) return num_make(0, 1, 1, out);
    int64_t g = gcd64(a.r, b.r);
    i128 rr = (i128)(a.r / g) * (i128)(b.r / g);
    if (rr > INT64_MAX) return -1;
    /* cross-cancel before multiplying to keep the products small */
    int64_t g1 = gcd64(a.n, b.d), g2 = gcd64(b.n, a.d);
    i128 n = (i128)(a.n / g1) * (i128)(b.n / g2), d = (i128)(a.d / g2) * (i128)(b.d / g1);
    i128 ng;
    if (__builtin_mul_overflow(n, (i128)g, &ng)) return -1;
    return make128(ng, d, (int64_t)rr, out);
}

int num_div(NumVal a, NumVal b, NumVal *out) {
    if (b.n == 0) return -1;
    /* 1/((n/d)√r) = (d / (n r)) √r */
    i128 nr = (i128)b.n * (i128)b.r;
    NumVal inv;
    if (make128((i128)b.d, nr, b.r, &inv)) return -1;
    return num_mul(a, inv, out);
}

int num_add(NumVal a, NumVal b, NumVal *out) {
    if (a.n == 0) { *out = b; return 0; }
    if (b.n == 0) { *out = a; return 0; }
    if (a.r != b.r) return -1;
    i128 n = (i128)a.n * b.d + (i128)b.n * a.d, d = (i128)a.d * b.d;
    return make128(n, d, a.r, out);
}

int num_sub(NumVal a, NumVal b, NumVal *out) {
    b.n = -b.n;
    return num_add(a, b, out);
}

int num_pow(NumVal a, int64_t e, NumVal *out) {
    if (a.n == 0 && e <= 0) return -1;   /* 0^0 and 0^{-k} have no value */
    if (e < -256 || e > 256) return -1;
    if (e < 0) {
        NumVal one = {1, 1, 1};
        if (num_div(one, a, &a)) return -1;
        e = -e;
    }
    NumVal acc = {1, 1, 1};
    for (int64_t i = 0; i < e; i++)
        if (num_mul(acc, a, &acc)) return -1;
    *out = acc;
    return 0;
}

static int64_t isqrt64(int64_t m) {
    int64_t s = 0;
    /* binary search on s with s*s <= m (m < 2^63, so s < 2^32) */
    int64_t lo = 0, hi = 3037000500LL;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if ((i128)mid * mid <= m) { s = mid; lo = mid + 1; }
        else hi = mid - 1;
    }
    return s;
}

int num_sqrt(NumVal a, NumVal *out) {
    if (a.r != 1 || a.n < 0) return -1;
    if (a.n == 0) return num_make(0, 1, 1, out);
    /* √(n/d) = √(n·d) / d */
    i128 m128 = (i128)a.n * a.d;
    if (m128 > INT64_MAX) return -1;
    int64_t m = (int64_t)m128, s = isqrt64(m);
    if (s * s == m) return make128(s, a.d, 1, out);
    if (m > SQRT_TRIAL_MAX) return -1;
    int64_t coef = 1;
    for (int64_t p = 2; p * p <= m; p++)
        while (m % (p * p) == 0) { m /= p * p; coef *= p; }
    return make128(coef, a.d, m, out);
}

/* The integer s >= 0 with s^k == m (m >= 0, k >= 2), or -1 when m is not a k-th power. */
static int64_t exact_root(int64_t m, int64_t k) {
    int64_t lo = 0, hi = 3037000500LL;   /* s^2 <= m < 2^63 */
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        i128 p = 1;
        int over = 0;
        for (int64_t i = 0; i < k && !over; i++) {
            p *= mid;
            over = p > m;
        }
        if (!over && p == m) return mid;
        if (over) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

int num_root(NumVal a, int64_t k, NumVal *out) {
    if (k == 2) return num_sqrt(a, out);
    if (k < 2 || k > 64 || a.r != 1 || (a.n < 0 && k % 2 == 0)) return -1;
    int64_t n = exact_root(a.n < 0 ? -a.n : a.n, k), d = exact_root(a.d, k);
    if (n < 0 || d < 0) return -1;
    return num_make(a.n < 0 ? -n : n, d, 1, out);
}

int num_eq(NumVal a, NumVal b) { return a.n == b.n && a.d == b.d && a.r == b.r; }

/* ---- closed-form answer parser ---- */

typedef struct P {
    const char *s, *end;
    int depth;
} P;

static int at(const P *p, const char *lit) {
    size_t k = strlen(lit);
    return (size_t)(p->end - p->s) >= k && !memcmp(p->s, lit, k);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* digits[.digits] or .digits */
static int parse_number(P *p, NumVal *out) {
    i128 n = 0, d = 1;
    int nd = 0;
    while (p->s < p->end && is_digit(*p->s)) {
        n = n * 10 + (*p->s++ - '0');
        if (n > INT64_MAX) return -1;
        nd++;
    }
    if (p->s < p->end && *p->s == '.' && p->s + 1 < p->end && is_digit(p->s[1])) {
        p->s++;
        while (p->s < p->end && is_digit(*p->s)) {
            n = n * 10 + (*p->s++ - '0');
            d *= 10;
            if (n > INT64_MAX || d > INT64_MAX) return -1;
            nd++;
        }
    }
    if (!nd) return -1;
    if (make128(n, d, 1, out)) return -1;
    /* scientific notation: 1e3, 1.5E-2 (an exponent only when digits follow) */
    if (p->s + 1 < p->end && (*p->s == 'e' || *p->s == 'E')) {
        const char *q = p->s + 1;
        int neg = 0;
        if (q < p->end && (*q == '-' || *q == '+')) neg = *q++ == '-';
        if (q >= p->end || !is_digit(*q)) return 0;
        int64_t e = 0;
        while (q < p->end && is_digit(*q)) {
            e = e * 10 + (*q++ - '0');
            if (e > 256) return -1;
        }
        p->s = q;
        NumVal ten = {10, 1, 1}, scale;
        if (num_pow(ten, neg ? -e : e, &scale) || num_mul(*out, scale, out)) return -1;
    }
    return 0;
}

static int parse_value(P *p, NumVal *out);

/* '{' value '}' or a single digit (\frac12) */
static int parse_group(P *p, NumVal *out) {
    if (p->s < p->end && *p->s == '{') {
        p->s++;
        if (parse_value(p, out)) return -1;
        if (p->s >= p->end || *p->s != '}') return -1;
        p->s++;
        return 0;
    }
    if (p->s < p->end && is_digit(*p->s)) return num_make(*p->s++ - '0', 1, 1, out);
    return -1;
}

/* *root = 1 when the primary is a square root (a digit right after one multiplies: LaTeX reads
 * \sqrt51 as \sqrt{5}1). */
static int parse_primary(P *p, NumVal *out, int *root) {
    *root = 0;
    if (p->s >= p->end) return -1;
    if (at(p, "\\frac")) {
        p->s += 5;
        NumVal a, b;
        if (parse_group(p, &a) || parse_group(p, &b)) return -1;
        return num_div(a, b, out);
    }
    if (at(p, "\\sqrt[")) {   /* \sqrt[k]{x}: only exact roots have a value here */
        p->s += 6;
        int64_t k = 0;
        while (p->s < p->end && is_digit(*p->s) && k <= 64) k = k * 10 + (*p->s++ - '0');
        NumVal a;
        if (p->s >= p->end || *p->s++ != ']' || parse_group(p, &a)) return -1;
        *root = 1;
        return num_root(a, k, out);
    }
    if (at(p, "\\sqrt")) {
        p->s += 5;
        NumVal a;
        if (parse_group(p, &a)) return -1;
        *root = 1;
        return num_sqrt(a, out);
    }
    if (*p->s == '{' || *p->s == '(') {
        char close = *p->s == '{' ? '}' : ')';
        p->s++;
        if (parse_value(p, out)) return -1;
        if (p->s >= p->end || *p->s != close) return -1;
        p->s++;
        return 0;
    }
    return parse_number(p, out);
}

static int parse_factor(P *p, NumVal *out, int *root) {
    if (parse_primary(p, out, root)) return -1;
    if (p->s < p->end && *p->s == '^') {
        *root = 0;
        p->s++;
        NumVal e;
        if (p->s < p->end && *p->s == '{') {
            if (parse_group(p, &e)) return -1;
        } else {
            int neg = 0;
            if (p->s < p->end && *p->s == '-') { neg = 1; p->s++; }
            if (p->s >= p->end || !is_digit(*p->s)) return -1;
            P q = *p;
            while (q.s < q.end && is_digit(*q.s)) q.s++;
            P num = {p->s, q.s, p->depth};
            if (parse_number(&num, &e)) return -1;
            p->s = q.s;
            if (neg) e.n = -e.n;
        }
        if (e.d != 1 || e.r != 1) return -1;
        if (num_pow(*out, e.n, out)) return -1;
    }
    return 0;
}

static int parse_value(P *p, NumVal *out) {
    if (++p->depth > MAX_DEPTH) return -1;
    int neg = 0;
    if (p->s < p->end && (*p->s == '-' || *p->s == '+')) neg = *p->s++ == '-';
    int root;
    if (parse_factor(p, out, &root)) return -1;
    for (;;) {
        NumVal b;
        if (p->s < p->end && *p->s == '/') {
            p->s++;
            if (parse_factor(p, &b, &root) || num_div(*out, b, out)) return -1;
        } else if (at(p, "\\sqrt")) {
            if (parse_factor(p, &b, &root) || num_mul(*out, b, out)) return -1;
        } else if (root && p->s < p->end && is_digit(*p->s)) {
            if (parse_number(p, &b) || num_mul(*out, b, out)) return -1;
            root = 0;
        } else if (at(p, "\\times10^") || at(p, "\\cdot10^") || at(p, "*10^")) {
            /* scientific notation only: \times, \cdot and * are not otherwise closed forms */
            p->s += *p->s == '*' ? 1 : p->s[1] == 't' ? 6 : 5;
            if (parse_factor(p, &b, &root) || num_mul(*out, b, out)) return -1;
        } else {
            break;
        }
    }
    if (neg) out->n = -out->n;
    p->depth--;
    return 0;
}

/* ---- the form of an answer, for the guard against unevaluated answers ---- */

typedef struct F {
    const char *s, *end;
} F;

static int f_lit(F *f, const char *lit) {
    size_t k = strlen(lit);
    if ((size_t)(f->end - f->s) >= k && !memcmp(f->s, lit, k)) { f->s += k; return 1; }
    return 0;
}

static void f_sign(F *f) {
    if (f->s < f->end && (*f->s == '-' || *f->s == '+')) f->s++;
}

/* digits; their value in *v (saturating, only compared for small fractions) */
static int f_digits(F *f, int64_t *v) {
    const char *a = f->s;
    int64_t x = 0;
    while (f->s < f->end && is_digit(*f->s)) {
        x = x < INT64_MAX / 16 ? x * 10 + (*f->s - '0') : INT64_MAX / 16;
        f->s++;
    }
    if (v) *v = x;
    return f->s > a;
}

/* [+-]? digits (. digits)? or .digits */
static int f_plain(F *f) {
    f_sign(f);
    int a = f_digits(f, NULL);
    if (f->s < f->end && *f->s == '.') {
        f->s++;
        if (!f_digits(f, NULL)) return 0;
        return 1;
    }
    return a;
}

/* An integer exponent: digits, -digits or {[+-]digits}. */
static int f_exponent(F *f) {
    if (f_lit(f, "{")) {
        f_sign(f);
        return f_digits(f, NULL) && f_lit(f, "}");
    }
    f_lit(f, "-");
    return f_digits(f, NULL);
}

/* A group of \frac: one digit or {[+-]?digits}; the value in *v, its sign in *neg. */
static int f_group(F *f, int64_t *v, int *neg) {
    *neg = 0;
    if (f->s < f->end && is_digit(*f->s)) { *v = *f->s++ - '0'; return 1; }
    if (!f_lit(f, "{")) return 0;
    if (f->s < f->end && (*f->s == '-' || *f->s == '+')) *neg = *f->s++ == '-';
    return f_digits(f, v) && f_lit(f, "}");
}

static int64_t gcd_small(int64_t a, int64_t b) {
    while (b) { int64_t t = a % b; a = b; b = t; }
    return a;
}

static int whole(const F *f) { return f->s == f->end; }

static NumForm form_of(const char *s, size_t n) {
    F f = {s, s + n};
    if (f_plain(&f) && whole(&f)) return NUM_FORM_PLAIN;
    /* scientific notation: plain mantissa, then e[+-]digits or \times10^k / \cdot10^k */
    f = (F){s, s + n};
    if (f_plain(&f)) {
        F g = f;
        if ((f_lit(&g, "e") || f_lit(&g, "E")) && (f_sign(&g), f_digits(&g, NULL)) && whole(&g))
            return NUM_FORM_EVALUATED;
        g = f;
        if ((f_lit(&g, "\\times10^") || f_lit(&g, "\\cdot10^") || f_lit(&g, "*10^")) && f_exponent(&g) &&
            whole(&g))
            return NUM_FORM_EVALUATED;
    }
    /* a power of an integer: 2^{10}, (-2)^3, 10^-3 */
    f = (F){s, s + n};
    f_sign(&f);
    int base = f_digits(&f, NULL) || (f_lit(&f, "(") && (f_lit(&f, "-"), f_digits(&f, NULL)) && f_lit(&f, ")"));
    if (base && f_lit(&f, "^") && f_exponent(&f) && whole(&f)) return NUM_FORM_EVALUATED;
    /* a fraction in lowest terms with a denominator above 1: 1/2, -\frac{3}{4}, \frac12 */
    f = (F){s, s + n};
    f_sign(&f);
    int64_t a, b;
    int na = 0, nb = 0;
    int frac = f_lit(&f, "\\frac") ? f_group(&f, &a, &na) && f_group(&f, &b, &nb)
                                    : f_digits(&f, &a) && f_lit(&f, "/") && f_digits(&f, &b);
    if (frac && !nb && whole(&f) && b > 1 && a > 0 && gcd_small(a, b) == 1) return NUM_FORM_EVALUATED;
    return NUM_FORM_OTHER;
}

int num_parse_answer(const char *s, size_t n, NumVal *out, NumForm *form) {
    P p = {s, s + n, 0};
    if (parse_value(&p, out) || p.s != p.end) return -1;
    *form = form_of(s, n);
    return 0;
}

/* ---- countdown ---- */

typedef struct C {
    const char *s, *end;
    int depth;
    int64_t *used;
    int max_used, n_used;
} C;

static void skip_space(C *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r')) c->s++;
}

static int c_at(C *c, const char *lit) {
    size_t k = strlen(lit);
    if ((size_t)(c->end - c->s) >= k && !memcmp(c->s, lit, k)) { c->s += k; return 1; }
    return 0;
}

/* Returns the operator character (+ - * /) at c->s and consumes it, or 0. */
static char c_op(C *c, int mul_level) {
    skip_space(c);
    if (!mul_level) {
        if (c_at(c, "+")) return '+';
        if (c_at(c, "-") || c_at(c, "\xe2\x88\x92")) return '-';   /* U+2212 minus */
    } else {
        if (c_at(c, "*") || c_at(c, "\xc3\x97") || c_at(c, "\\times") || c_at(c, "\\cdot")) return '*';
        if (c_at(c, "/") || c_at(c, "\xc3\xb7") || c_at(c, "\\div")) return '/';
    }
    return 0;
}

static int c_expr(C *c, NumVal *out);

static int c_factor(C *c, NumVal *out) {
    skip_space(c);
    if (c->s >= c->end) return -1;
    if (*c->s == '(') {
        c->s++;
        if (c_expr(c, out)) return -1;
        skip_space(c);
        if (c->s >= c->end || *c->s != ')') return -1;
        c->s++;
        return 0;
    }
    if (!is_digit(*c->s)) return -1;
    i128 v = 0;
    while (c->s < c->end && is_digit(*c->s)) {
        v = v * 10 + (*c->s++ - '0');
        if (v > INT64_MAX) return -1;
    }
    if (c->s < c->end && *c->s == '.') return -1;
    if (c->n_used >= c->max_used) return -1;
    c->used[c->n_used++] = (int64_t)v;
    return num_make((int64_t)v, 1, 1, out);
}

static int c_term(C *c, NumVal *out) {
    if (c_factor(c, out)) return -1;
    for (;;) {
        const char *save = c->s;
        char op = c_op(c, 1);
        if (!op) { c->s = save; return 0; }
        NumVal b;
        if (c_factor(c, &b)) return -1;
        if (op == '*' ? num_mul(*out, b, out) : num_div(*out, b, out)) return -1;
    }
}

static int c_expr(C *c, NumVal *out) {
    if (++c->depth > 64) return -1;
    if (c_term(c, out)) return -1;
    for (;;) {
        const char *save = c->s;
        char op = c_op(c, 0);
        if (!op) { c->s = save; break; }
        NumVal b;
        if (c_term(c, &b)) return -1;
        if (op == '+' ? num_add(*out, b, out) : num_sub(*out, b, out)) return -1;
    }
    c->depth--;
    return 0;
}

int num_eval_countdown(const char *s, size_t n, NumVal *out, int64_t *used, int max_used,
                       int *n_used) {
    C c = {s, s + n, 0, used, max_used, 0};
    *n_used = 0;
    if (c_expr(&c, out)) return -1;
    skip_space(&c);
    *n_used = c.n_used;
    return c.s == c.end ? 0 : -1;
}
