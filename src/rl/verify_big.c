/* Exact ±D·10^E decimals and the integer powers that expand into them. See verify_big.h. */
#include "rl/verify_big.h"

#include <stdint.h>
#include <string.h>

#include "rl/verify.h"

#define MAX_DIGITS (VERIFY_MAX_ANSWER + 16)   /* a plain literal's digits, or an expanded power's */
#define LIMB 1000000000u                      /* nine decimal digits per limb */
#define MAX_LIMBS (BIG_POW_DIGITS / 9 + 2)
#define MAX_EXP10 1000000000000000LL          /* |E| bound: sums and products of bounded E never overflow */

typedef struct Dec {
    int neg;
    size_t n;          /* digits in d, none leading or trailing zero; 0 for the value 0 */
    int64_t e;         /* value = ±d·10^e */
    char d[MAX_DIGITS];
} Dec;

/* A natural number in base 1e9, least significant limb first; n = 0 for 0. */
typedef struct Nat {
    size_t n;
    uint32_t l[MAX_LIMBS];
} Nat;

typedef struct Cur {
    const char *s, *end;
} Cur;

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int lit(Cur *c, const char *text) {
    size_t k = strlen(text);
    if ((size_t)(c->end - c->s) >= k && !memcmp(c->s, text, k)) { c->s += k; return 1; }
    return 0;
}

static size_t digits(Cur *c) {
    const char *a = c->s;
    while (c->s < c->end && is_digit(*c->s)) c->s++;
    return (size_t)(c->s - a);
}

/* d = int_part followed by frac_part, value int.frac; leading and trailing zeros moved out. */
static int dec_set(Dec *x, const char *ip, size_t in, const char *fp, size_t fn) {
    while (in && *ip == '0') { ip++; in--; }
    if (in + fn > MAX_DIGITS) return -1;
    if (in) memcpy(x->d, ip, in);
    if (fn) memcpy(x->d + in, fp, fn);
    x->n = in + fn;
    x->e = -(int64_t)fn;
    size_t lead = 0;
    while (lead < x->n && x->d[lead] == '0') lead++;
    memmove(x->d, x->d + lead, x->n - lead);
    x->n -= lead;
    while (x->n && x->d[x->n - 1] == '0') { x->n--; x->e++; }
    if (!x->n) x->e = 0;
    x->neg = 0;
    return 0;
}

/* digits ('.' digits)? or '.' digits */
static int read_plain(Cur *c, Dec *x) {
    const char *ip = c->s;
    size_t in = digits(c), fn = 0;
    const char *fp = c->s;
    if (c->s + 1 < c->end && *c->s == '.' && is_digit(c->s[1])) {
        c->s++;
        fp = c->s;
        fn = digits(c);
    }
    if (!in && !fn) return -1;
    return dec_set(x, ip, in, fp, fn);
}

/* digits as an integer <= MAX_EXP10 */
static int read_count(Cur *c, int64_t *v) {
    const char *a = c->s;
    size_t n = digits(c);
    if (!n) return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        *v = *v * 10 + (a[i] - '0');
        if (*v > MAX_EXP10) return -1;
    }
    return 0;
}

/* An integer exponent: digits, -digits or {[+-]digits}. */
static int read_exponent(Cur *c, int64_t *k) {
    int braced = lit(c, "{"), neg = 0;
    if (lit(c, "-")) neg = 1;
    else if (braced) lit(c, "+");
    if (read_count(c, k) || (braced && !lit(c, "}"))) return -1;
    if (neg) *k = -*k;
    return 0;
}

static void nat_trim(Nat *x) {
    while (x->n && !x->l[x->n - 1]) x->n--;
}

static int nat_from_digits(const char *d, size_t n, Nat *x) {
    if (n > BIG_POW_DIGITS) return -1;
    x->n = 0;
    for (size_t end = n; end > 0;) {
        size_t start = end > 9 ? end - 9 : 0;
        uint32_t v = 0;
        for (size_t i = start; i < end; i++) v = v * 10 + (uint32_t)(d[i] - '0');
        x->l[x->n++] = v;
        end = start;
    }
    nat_trim(x);
    return 0;
}

/* out = a·b; -1 when the product has more than MAX_LIMBS limbs. out may alias a or b. */
static int nat_mul(const Nat *a, const Nat *b, Nat *out) {
    if (!a->n || !b->n) { out->n = 0; return 0; }
    if (a->n + b->n - 1 > MAX_LIMBS) return -1;
    uint64_t t[2 * MAX_LIMBS] = {0};
    for (size_t i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < b->n; j++) {
            uint64_t cur = t[i + j] + (uint64_t)a->l[i] * b->l[j] + carry;   /* < 1.9e19 */
            t[i + j] = cur % LIMB;
            carry = cur / LIMB;
        }
        t[i + b->n] = carry;
    }
    size_t n = a->n + b->n;
    while (n && !t[n - 1]) n--;
    if (n > MAX_LIMBS) return -1;
    for (size_t i = 0; i < n; i++) out->l[i] = (uint32_t)t[i];
    out->n = n;
    return 0;
}

/* Decimal digits of x (> 0) into d; -1 past BIG_POW_DIGITS. */
static int nat_to_digits(const Nat *x, char *d, size_t *n) {
    char buf[9];
    size_t k = 0;
    for (size_t i = x->n; i-- > 0;) {
        uint32_t v = x->l[i];
        for (int j = 8; j >= 0; j--) { buf[j] = (char)('0' + v % 10); v /= 10; }
        int skip = 0;
        if (i == x->n - 1) while (skip < 8 && buf[skip] == '0') skip++;
        if (k + (size_t)(9 - skip) > BIG_POW_DIGITS) return -1;
        memcpy(d + k, buf + skip, (size_t)(9 - skip));
        k += (size_t)(9 - skip);
    }
    *n = k;
    return 0;
}

/* x = base^k for base >= 2, k >= 1, most significant bit first: every partial result is at most
 * the final one, so stopping at the cap is a final answer and the work is bounded by the cap. */
static int nat_pow(const Nat *base, int64_t k, Nat *x) {
    x->n = 1;
    x->l[0] = 1;
    int started = 0;
    for (int bit = 62; bit >= 0; bit--) {
        if (started && nat_mul(x, x, x)) return -1;
        if ((k >> bit) & 1) {
            if (nat_mul(x, base, x)) return -1;
            started = 1;
        }
    }
    return 0;
}

/* base^k for the integer base (its sign in base_neg). */
static int dec_pow(const Dec *base, int base_neg, int64_t k, Dec *out) {
    if (!base->n) {   /* 0^k: 0 for k > 0, no value otherwise */
        if (k <= 0) return -1;
        *out = *base;
        return 0;
    }
    int64_t e;
    if (__builtin_mul_overflow(base->e, k, &e) || e > MAX_EXP10 || e < -MAX_EXP10) return -1;
    out->neg = base_neg && (k & 1);
    out->e = e;
    if (base->n == 1 && base->d[0] == '1') {   /* ±10^j: any exponent */
        out->n = 1;
        out->d[0] = '1';
        return 0;
    }
    if (k < 0 || k > (int64_t)BIG_POW_DIGITS * 4) return -1;   /* 2^k already has over 0.3k digits */
    if (k == 0) {
        out->n = 1;
        out->d[0] = '1';
        out->e = 0;
        return 0;
    }
    Nat b, x;
    if (nat_from_digits(base->d, base->n, &b) || nat_pow(&b, k, &x)) return -1;
    size_t n;
    if (nat_to_digits(&x, out->d, &n)) return -1;
    out->n = n;
    while (out->n && out->d[out->n - 1] == '0') { out->n--; out->e++; }   /* none: base has no factor 10 */
    return 0;
}

/* base '^' exponent, the base digits or '(' [+-]? digits ')' */
static int read_power(Cur *c, Dec *out) {
    Dec base;
    int base_neg = 0;
    const char *ip = c->s;
    size_t in = digits(c);
    if (!in) {
        if (!lit(c, "(")) return -1;
        if (lit(c, "-")) base_neg = 1;
        else lit(c, "+");
        ip = c->s;
        in = digits(c);
        if (!in || !lit(c, ")")) return -1;
    }
    int64_t k;
    if (dec_set(&base, ip, in, NULL, 0) || !lit(c, "^") || read_exponent(c, &k)) return -1;
    return dec_pow(&base, base_neg, k, out);
}

static int read_answer(const char *s, size_t n, Dec *x) {
    Cur c = {s, s + n};
    int neg = 0;
    if (c.s < c.end && (*c.s == '-' || *c.s == '+')) neg = *c.s++ == '-';
    Cur at_value = c;
    if (read_power(&c, x) || c.s != c.end) {
        c = at_value;
        if (read_plain(&c, x)) return -1;
        if (c.s != c.end) {
            int64_t k;
            if (lit(&c, "e") || lit(&c, "E")) {
                int kneg = lit(&c, "-");
                if (!kneg) lit(&c, "+");
                if (read_count(&c, &k)) return -1;
                if (kneg) k = -k;
            } else if (lit(&c, "\\times10^") || lit(&c, "\\cdot10^") || lit(&c, "*10^")) {
                if (read_exponent(&c, &k)) return -1;
            } else {
                return -1;
            }
            if (c.s != c.end) return -1;
            if (x->n) x->e += k;   /* both bounded by MAX_EXP10: no overflow */
        }
    }
    if (neg) x->neg = !x->neg;
    if (!x->n) x->neg = 0;
    return 0;
}

int big_equal(const char *a, size_t an, const char *b, size_t bn) {
    Dec x, y;   /* 4 KB each, in this leaf frame only */
    if (read_answer(a, an, &x) || read_answer(b, bn, &y)) return -1;
    return x.neg == y.neg && x.e == y.e && x.n == y.n && !memcmp(x.d, y.d, x.n);
}
