/* Answer normalisation, equivalence, countdown checking and typed references. See verify.h.
 *
 * Everything works on stack buffers of VERIFY_MAX_ANSWER bytes; longer answers are rejected
 * (a false reject is acceptable, a false accept is not). */
#include "rl/verify.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rl/verify_big.h"
#include "rl/verify_num.h"
#include "tasks/program_lang.h"

#define MAX_ELEMS 64
#define MAX_WRAP 32

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static Span trim(const char *p, size_t n) {
    while (n && is_space(*p)) { p++; n--; }
    while (n && is_space(p[n - 1])) n--;
    return (Span){p, n};
}

/* Does s[i..n) start with lit? */
static int starts(const char *s, size_t n, size_t i, const char *lit) {
    size_t k = strlen(lit);
    return n - i >= k && !memcmp(s + i, lit, k);
}

/* Units dropped after a number ("5 cm", "12 dollars"). Lower-case comparison. */
static const char *const UNITS[] = {
    "cm", "mm", "m", "km", "g", "kg", "mg", "l", "ml", "s", "sec", "secs", "second", "seconds",
    "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days", "week",
    "weeks", "month", "months", "year", "years", "dollar", "dollars", "cent", "cents", "inch",
    "inches", "foot", "feet", "ft", "yard", "yards", "mile", "miles", "meter", "meters", "metre",
    "metres", "mph", "unit", "units", "degree", "degrees", "percent", "point", "points", "sq",
    "square", "cubic", "pounds", "lbs", "lb", "ounces", "oz", "liters", "litres", "gallons",
    "pct", "percentage", "euro", "euros", "pound", "m2", "cm2", "km2", "m3", "cm3",
};

static int is_unit(const char *w, size_t n) {
    char low[16];
    if (n == 0 || n >= sizeof low) return 0;
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)w[i]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
        if (!strcmp(low, UNITS[i])) return 1;
    return 0;
}

/* The digit or minus a Unicode superscript at s[i..n) stands for ('0'-'9', '-'), its byte length
 * in *len; 0 when there is none. */
static char superscript(const char *s, size_t n, size_t i, size_t *len) {
    const unsigned char *u = (const unsigned char *)s + i;
    if (n - i >= 2 && u[0] == 0xc2 && (u[1] == 0xb2 || u[1] == 0xb3 || u[1] == 0xb9)) {
        *len = 2;
        return u[1] == 0xb2 ? '2' : u[1] == 0xb3 ? '3' : '1';
    }
    int upper = n - i >= 3 && u[0] == 0xe2 && u[1] == 0x81;   /* U+2070..U+207B */
    if (upper && (u[2] == 0xb0 || (u[2] >= 0xb4 && u[2] <= 0xb9) || u[2] == 0xbb)) {
        *len = 3;
        return u[2] == 0xbb ? '-' : (char)('0' + (u[2] - 0xb0));
    }
    return 0;
}

/* Pass 1: LaTeX and symbol clean-up, keeping single spaces (units need word boundaries). */
static size_t pass_tokens(const char *s, size_t n, char *o) {
    static const char *const SKIP[] = {"\\displaystyle", "^{\\circ}", "^\\circ", "\\circ", "\\degree",
                                       "\xc2\xb0", "\\%", "%", "\\$", "$", "\\!", "\\(", "\\)", "\\[",
                                       "\\]", "\\left.", "\\right.", "\xe2\x82\xac" /* € */,
                                       "\xc2\xa3" /* £ */};
    /* spacing commands are spaces: "1\,000" is a thousands separator, "1\,2" is not 12 */
    static const char *const SPACE[] = {"\\,", "\\;", "\\:", "\\ ", "\\quad", "\\qquad"};
    /* symbols spelled as the commands the parsers read */
    static const char *const SPELL[][2] = {{"\xc3\x97", "\\times"}, {"\xc2\xb7", "\\cdot"},
                                           {"\xe2\x88\x9e", "\\infty"}, {"\xe2\x88\x92", "-"},
                                           {"\\cfrac", "\\frac"}, {"\\dfrac", "\\frac"},
                                           {"\\tfrac", "\\frac"}, {"\\lbrace", "\\{"},
                                           {"\\rbrace", "\\}"}};
    static const char *const WRAP[] = {"\\text{", "\\textbf{", "\\textrm{", "\\mathrm{", "\\mathbf{",
                                       "\\mbox{", "\\operatorname{", "\\textnormal{"};
    int drop[MAX_WRAP], n_drop = 0, depth = 0;
    size_t k = 0;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        int matched = 0;
        if (c == '\\' || c == '^' || c == '$' || c == '%' || (unsigned char)c >= 0xc2) {
            for (size_t t = 0; t < sizeof SKIP / sizeof SKIP[0]; t++)
                if (starts(s, n, i, SKIP[t])) { i += strlen(SKIP[t]); matched = 1; break; }
            for (size_t t = 0; t < sizeof SPACE / sizeof SPACE[0] && !matched; t++)
                if (starts(s, n, i, SPACE[t]) && !(i + strlen(SPACE[t]) < n && is_alpha(s[i + strlen(SPACE[t])]) &&
                                                   is_alpha(SPACE[t][strlen(SPACE[t]) - 1]))) {
                    i += strlen(SPACE[t]);
                    if (k && o[k - 1] != ' ') o[k++] = ' ';
                    matched = 1;
                }
            for (size_t t = 0; t < sizeof SPELL / sizeof SPELL[0] && !matched; t++)
                if (starts(s, n, i, SPELL[t][0])) {
                    memcpy(o + k, SPELL[t][1], strlen(SPELL[t][1]));
                    k += strlen(SPELL[t][1]);
                    i += strlen(SPELL[t][0]);
                    matched = 1;
                }
            if (matched) continue;
        }
        if (c == '\\') {
            if ((starts(s, n, i, "\\left") && !(i + 5 < n && is_alpha(s[i + 5]))) ) { i += 5; continue; }
            if ((starts(s, n, i, "\\right") && !(i + 6 < n && is_alpha(s[i + 6]))) ) { i += 6; continue; }
            for (size_t t = 0; t < sizeof WRAP / sizeof WRAP[0]; t++)
                if (starts(s, n, i, WRAP[t]) && n_drop < MAX_WRAP) {
                    i += strlen(WRAP[t]);
                    depth++;
                    drop[n_drop++] = depth;
                    matched = 1;
                    break;
                }
            if (matched) continue;
        }
        /* superscripts are exponents: 10³ -> 10^{3}, 2⁻¹ -> 2^{-1}, cm² -> cm^{2} */
        size_t sl;
        if (k && (is_digit(o[k - 1]) || is_alpha(o[k - 1]) || o[k - 1] == ')' || o[k - 1] == '}') &&
            superscript(s, n, i, &sl)) {
            o[k++] = '^';
            o[k++] = '{';
            char d;
            while (i < n && (d = superscript(s, n, i, &sl))) { o[k++] = d; i += sl; }
            o[k++] = '}';
            continue;
        }
        if (starts(s, n, i, "\xe2\x88\x9a")) { memcpy(o + k, "\\sqrt", 5); k += 5; i += 3; /* √ */
            if (i < n && is_digit(s[i])) {   /* √51 -> \sqrt{51} */
                o[k++] = '{';
                while (i < n && is_digit(s[i])) o[k++] = s[i++];
                o[k++] = '}';
            }
            continue;
        }
        if (starts(s, n, i, "{,}")) { o[k++] = ','; i += 3; continue; }
        if (c == '~' || is_space(c)) {
            if (k && o[k - 1] != ' ') o[k++] = ' ';
            i++;
            continue;
        }
        if (c == '{') depth++;
        if (c == '}') {
            if (n_drop && drop[n_drop - 1] == depth) { n_drop--; depth--; i++; continue; }
            depth--;
        }
        o[k++] = c;
        i++;
    }
    return k;
}

/* Length of a power after a unit ("^2", "^{3}") ending buf[0..k), or 0; the power's
 * digit in *digit. */
static size_t unit_power(const char *buf, size_t k, char *digit) {
    static const char *const POW[] = {"^2", "^3", "^{2}", "^{3}"};   /* ² ³ are ^{2} ^{3} by now */
    for (size_t t = 0; t < sizeof POW / sizeof POW[0]; t++) {
        size_t p = strlen(POW[t]);
        if (k > p && !memcmp(buf + k - p, POW[t], p) && is_alpha(buf[k - p - 1])) {
            *digit = t % 2 ? '3' : '2';
            return p;
        }
    }
    return 0;
}

/* verify_normalize, also giving the unit words it dropped (lower case, without a plural s,
 * '+'-joined; "" when none) in unit[0..UNIT_CAP). */
#define UNIT_CAP 40
static int normalize_unit(const char *s, size_t n, char *out, size_t cap, char *unit) {
    unit[0] = 0;
    Span t = trim(s, n);
    /* an answer that is one \boxed{...} (or \fbox{...}) is what the box holds */
    for (int strip = 0; strip < MAX_WRAP; strip++) {
        size_t open = starts(t.p, t.n, 0, "\\boxed{") ? 6 : starts(t.p, t.n, 0, "\\fbox{") ? 5 : 0;
        Span inner;
        if (!open || !verify_braced(t.p, t.n, open, &inner) || inner.p + inner.n + 1 != t.p + t.n) break;
        t = trim(inner.p, inner.n);
    }
    /* worst-case growth: × -> \times is 2 bytes -> 6, √d -> \sqrt{d} is 4 -> 8, ² -> ^{2} is 2 -> 4 */
    if (t.n > VERIFY_MAX_ANSWER || cap < 3 * t.n + 16) return -1;
    char buf[3 * VERIFY_MAX_ANSWER + 16];
    size_t k = pass_tokens(t.p, t.n, buf);
    /* drop up to two trailing unit words after a number ("5 cm", "15 cm^2", "3 square feet") */
    size_t un = 0;
    for (int round = 0; round < 2; round++) {
        while (k && buf[k - 1] == ' ') k--;
        while (k && buf[k - 1] == '.') k--;
        char digit = 0;
        size_t pw = unit_power(buf, k, &digit), end = k - pw;
        size_t w = end;
        while (w && is_alpha(buf[w - 1])) w--;
        if (w == end || !is_unit(buf + w, end - w)) break;
        size_t before = w;
        while (before && buf[before - 1] == ' ') before--;
        if (!before || !(is_digit(buf[before - 1]) || buf[before - 1] == '}')) break;
        size_t len = end - w;
        if (len > 2 && (buf[end - 1] == 's' || buf[end - 1] == 'S')) len--;
        if (un + len + 1 < UNIT_CAP) {
            if (un) unit[un++] = '+';
            for (size_t q = 0; q < len; q++) unit[un++] = (char)tolower((unsigned char)buf[w + q]);
            if (pw && un + 1 < UNIT_CAP) unit[un++] = digit;
            unit[un] = 0;
        }
        k = before;
    }
    /* remove spaces; one between two digits becomes a comma, so "1 000" is 1000 (a thousands
     * separator) while "12 3" stays two numbers */
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (buf[i] != ' ') { out[m++] = buf[i]; continue; }
        size_t j = i;
        while (j < k && buf[j] == ' ') j++;
        if (m && is_digit(out[m - 1]) && j < k && is_digit(buf[j])) out[m++] = ',';
        i = j - 1;
    }
    while (m && out[m - 1] == '.') m--;
    out[m] = 0;
    /* "+\infty" -> "\infty" where it starts a value: (0,+\infty) is (0,\infty) */
    {
        size_t j = 0;
        for (size_t i = 0; i < m; i++) {
            if (out[i] == '+' && (i == 0 || out[i - 1] == '(' || out[i - 1] == '[' || out[i - 1] == ',') &&
                starts(out, m, i + 1, "\\infty"))
                continue;
            out[j++] = out[i];
        }
        m = j;
        out[m] = 0;
    }
    /* "x=5" -> "5" (one letter on the left, a single '=') */
    if (m >= 3 && is_alpha(out[0]) && out[1] == '=' && !memchr(out + 2, '=', m - 2)) {
        memmove(out, out + 2, m - 2);
        m -= 2;
        out[m] = 0;
    }
    /* thousands separators: [+-]?d{1,3}(,ddd)+(.d+)? */
    {
        size_t i = 0;
        if (i < m && (out[i] == '-' || out[i] == '+')) i++;
        size_t lead = 0;
        while (i < m && is_digit(out[i])) { i++; lead++; }
        int groups = 0, ok = lead >= 1 && lead <= 3;
        while (ok && i < m && out[i] == ',') {
            if (i + 3 < m && is_digit(out[i + 1]) && is_digit(out[i + 2]) && is_digit(out[i + 3]) &&
                !(i + 4 < m && is_digit(out[i + 4]))) {
                i += 4;
                groups++;
            } else {
                ok = 0;
            }
        }
        if (ok && i < m && out[i] == '.') {
            i++;
            if (i >= m || !is_digit(out[i])) ok = 0;
            while (i < m && is_digit(out[i])) i++;
        }
        if (ok && groups && i == m) {
            size_t j = 0;
            for (size_t q = 0; q < m; q++)
                if (out[q] != ',') out[j++] = out[q];
            m = j;
            out[m] = 0;
        }
    }
    /* ^{c} -> ^c and _{c} -> _c for one character c */
    {
        size_t j = 0;
        for (size_t i = 0; i < m; i++) {
            if ((out[i] == '^' || out[i] == '_') && i + 3 < m && out[i + 1] == '{' &&
                out[i + 3] == '}' && out[i + 2] != '{' && out[i + 2] != '}' && out[i + 2] != '\\') {
                out[j++] = out[i];
                out[j++] = out[i + 2];
                i += 3;
                continue;
            }
            out[j++] = out[i];
        }
        m = j;
        out[m] = 0;
    }
    /* outer braces wrapping everything: {5} -> 5 */
    while (m >= 2 && out[0] == '{' && out[m - 1] == '}') {
        Span inner;
        if (!verify_braced(out, m, 0, &inner) || inner.n != m - 2) break;
        memmove(out, out + 1, m - 2);
        m -= 2;
        out[m] = 0;
    }
    /* outer parentheses around one element: (3) -> 3 (a comma inside makes it a tuple) */
    while (m >= 2 && out[0] == '(' && out[m - 1] == ')') {
        int depth = 0, wraps = 1;
        for (size_t i = 0; i < m && wraps; i++) {
            if (out[i] == '(') depth++;
            else if (out[i] == ')' && --depth == 0 && i != m - 1) wraps = 0;
            else if (out[i] == ',' && depth == 1) wraps = 0;
        }
        if (!wraps) break;
        memmove(out, out + 1, m - 2);
        m -= 2;
        out[m] = 0;
    }
    if (m >= 2 && out[0] == '+' && (is_digit(out[1]) || out[1] == '.')) {
        memmove(out, out + 1, m - 1);
        m--;
        out[m] = 0;
    }
    return (int)m;
}

int verify_normalize(const char *s, size_t n, char *out, size_t cap) {
    char unit[UNIT_CAP];
    return normalize_unit(s, n, out, cap, unit);
}

/* ---- lists: tuples, intervals, sets ---- */

typedef enum ListKind { LIST_BARE, LIST_BRACKET, LIST_SET } ListKind;

typedef struct List {
    ListKind kind;
    char open, close;
    int n;
    Span el[MAX_ELEMS];
} List;

/* The bracket depth change at s[*i]: +1 for ( [ { and \\{, -1 for ) ] } and \\} (moving *i past the
 * escaped brace), 0 otherwise. */
static int depth_change(const char *s, size_t n, size_t *i) {
    const char c = s[*i];
    if (c == '\\' && *i + 1 < n && (s[*i + 1] == '{' || s[*i + 1] == '}')) return s[++*i] == '{' ? 1 : -1;
    if (c == '(' || c == '[' || c == '{') return 1;
    if (c == ')' || c == ']' || c == '}') return -1;
    return 0;
}

/* Splits s at depth-0 commas. Returns 0, or -1 when unbalanced or too many elements. */
static int split_list(const char *s, size_t n, List *l) {
    l->kind = LIST_BARE;
    l->open = l->close = 0;
    size_t a = 0, b = n;
    if (n >= 4 && starts(s, n, 0, "\\{") && s[n - 2] == '\\' && s[n - 1] == '}') {
        l->kind = LIST_SET;
        a = 2;
        b = n - 2;
    } else if (n >= 2 && (s[0] == '(' || s[0] == '[') && (s[n - 1] == ')' || s[n - 1] == ']')) {
        l->kind = LIST_BRACKET;
        l->open = s[0];
        l->close = s[n - 1];
        a = 1;
        b = n - 1;
    }
    int depth = 0;
    l->n = 0;
    size_t start = a;
    for (size_t i = a; i < b; i++) {
        if (s[i] == ',' && depth == 0) {
            if (l->n >= MAX_ELEMS - 1) return -1;
            l->el[l->n++] = (Span){s + start, i - start};
            start = i + 1;
        } else {
            depth += depth_change(s, b, &i);
        }
        if (depth < 0) return -1;
    }
    if (depth != 0) return -1;
    l->el[l->n++] = (Span){s + start, b - start};
    return 0;
}

static int equiv_norm(const char *a, size_t an, const char *b, size_t bn, int depth);

/* Each p[i] matched to a different g[j] (a multiset match, for sets and unions). */
static int multiset_equiv(const Span *p, int pn, const Span *g, int gn, int depth) {
    if (pn != gn) return 0;
    char used[MAX_ELEMS] = {0};
    for (int i = 0; i < pn; i++) {
        int found = 0;
        for (int j = 0; j < gn && !found; j++)
            if (!used[j] && equiv_norm(p[i].p, p[i].n, g[j].p, g[j].n, depth + 1)) used[j] = 1, found = 1;
        if (!found) return 0;
    }
    return 1;
}

static int lists_equiv(const List *p, const List *g, int depth) {
    if (p->n != g->n) return 0;
    if (g->kind == LIST_BRACKET || p->kind == LIST_BRACKET) {
        if (p->kind != g->kind || p->open != g->open || p->close != g->close) return 0;
        for (int i = 0; i < p->n; i++)
            if (!equiv_norm(p->el[i].p, p->el[i].n, g->el[i].p, g->el[i].n, depth + 1)) return 0;
        return 1;
    }
    return multiset_equiv(p->el, p->n, g->el, g->n, depth);   /* sets and bare lists */
}

/* Splits s at the "\cup" outside every bracket: (1,2]\cup[3,4) has two parts. Returns the number
 * of parts (1 without a union), -1 past MAX_UNION. Half-open intervals close with the other
 * bracket, so every opening bracket counts against every closing one. */
#define MAX_UNION 16
static int split_union(const char *s, size_t n, Span *part) {
    int depth = 0, k = 0;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (depth == 0 && starts(s, n, i, "\\cup") && !(i + 4 < n && is_alpha(s[i + 4]))) {
            if (k >= MAX_UNION - 1) return -1;
            part[k++] = (Span){s + start, i - start};
            start = i + 4;
            i += 3;
        } else {
            depth += depth_change(s, n, &i);
        }
    }
    part[k++] = (Span){s + start, n - start};
    return k;
}

static int equiv_norm(const char *a, size_t an, const char *b, size_t bn, int depth) {
    if (an == 0 || bn == 0 || depth > 4) return 0;
    if (an == bn && !memcmp(a, b, an)) return 1;
    Span ua[MAX_UNION], ub[MAX_UNION];
    int na = split_union(a, an, ua), nb = split_union(b, bn, ub);
    if (na < 0 || nb < 0) return 0;
    if (na > 1 || nb > 1) return multiset_equiv(ua, na, ub, nb, depth);   /* unions commute */
    List lp, lg;   /* about 1 KB each; recursion is at most 5 deep */
    if (!split_list(a, an, &lp) && !split_list(b, bn, &lg) && (lp.n > 1 || lg.n > 1))
        return lists_equiv(&lp, &lg, depth);
    NumVal va, vb;
    NumForm fa, fb;
    int ok_a = !num_parse_answer(a, an, &va, &fa), ok_b = !num_parse_answer(b, bn, &vb, &fb);
    if (ok_a && ok_b) {
        if (fb == NUM_FORM_PLAIN && fa == NUM_FORM_OTHER) return 0;   /* the question, unevaluated */
        return num_eq(va, vb);
    }
    /* too big for 64 bits (2^{64}, 6.02\times10^{23}, 1000-digit literals): exact decimals */
    return big_equal(a, an, b, bn) == 1;
}

int verify_equiv(const char *pred, size_t pred_n, const char *gold, size_t gold_n) {
    if (pred_n > VERIFY_MAX_ANSWER || gold_n > VERIFY_MAX_ANSWER) return 0;
    char a[3 * VERIFY_MAX_ANSWER + 16], b[3 * VERIFY_MAX_ANSWER + 16], ua[UNIT_CAP], ub[UNIT_CAP];
    int an = normalize_unit(pred, pred_n, a, sizeof a, ua);
    int bn = normalize_unit(gold, gold_n, b, sizeof b, ub);
    /* a unit on one side only is dropped ("5 cm" for 5); two different units are not equal */
    if (ua[0] && ub[0] && strcmp(ua, ub)) return 0;
    return an > 0 && bn > 0 && equiv_norm(a, (size_t)an, b, (size_t)bn, 0);
}

/* ---- countdown ---- */

static int cmp_ll(const void *x, const void *y) {
    long long a = *(const long long *)x, b = *(const long long *)y;
    return (a > b) - (a < b);
}

int verify_countdown(const char *expr, size_t n, long long target, const long long *nums,
                     int n_nums) {
    if (n_nums <= 0 || n_nums > 16 || n > VERIFY_MAX_ANSWER) return 0;
    Span s = trim(expr, n);
    /* strip math delimiters */
    while (s.n >= 2 && s.p[0] == '$' && s.p[s.n - 1] == '$') s = trim(s.p + 1, s.n - 2);
    /* optional "= target" at the end */
    const char *eq = memchr(s.p, '=', s.n);
    if (eq) {
        Span rhs = trim(eq + 1, (size_t)(s.p + s.n - eq - 1));
        if (memchr(rhs.p, '=', rhs.n) || rhs.n == 0 || rhs.n > 19) return 0;
        long long v = 0;
        for (size_t i = 0; i < rhs.n; i++) {
            if (!is_digit(rhs.p[i])) return 0;
            v = v * 10 + (rhs.p[i] - '0');
        }
        if (v != target) return 0;
        s = trim(s.p, (size_t)(eq - s.p));
    }
    int64_t used[17];
    int n_used;
    NumVal v;
    if (num_eval_countdown(s.p, s.n, &v, used, 17, &n_used)) return 0;
    if (n_used != n_nums || v.d != 1 || v.r != 1 || v.n != target) return 0;
    long long a[16], b[16];
    for (int i = 0; i < n_nums; i++) { a[i] = (long long)used[i]; b[i] = nums[i]; }
    qsort(a, (size_t)n_nums, sizeof a[0], cmp_ll);
    qsort(b, (size_t)n_nums, sizeof b[0], cmp_ll);
    return !memcmp(a, b, sizeof a[0] * (size_t)n_nums);
}

/* "countdown:T:a,b,c" -> target and numbers; -1 when malformed. */
static int parse_countdown_ref(const char *r, size_t n, long long *target, long long *nums, int *k) {
    size_t i = 10;   /* after "countdown:" */
    int got = 0;
    long long v = 0;
    int field = 0;   /* 0 = target, 1 = numbers */
    *k = 0;
    for (; i <= n; i++) {
        char c = i < n ? r[i] : ',';
        if (is_digit(c)) {
            if (v > 100000000000000LL) return -1;
            v = v * 10 + (c - '0');
            got = 1;
        } else if ((field == 0 && c == ':') || (field == 1 && c == ',')) {
            if (!got) return -1;
            if (field == 0) { *target = v; field = 1; }
            else { if (*k >= 16) return -1; nums[(*k)++] = v; }
            v = 0;
            got = 0;
        } else if (c != ' ') {
            return -1;
        }
    }
    return field == 1 && *k > 0 ? 0 : -1;
}

Span verify_reference_answer(const char *ref, size_t ref_n) {
    Span s;
    if (verify_extract(ref, ref_n, VERIFY_DEFAULT, &s)) return s;
    return trim(ref, ref_n);
}

int verify_reference(const char *pred, size_t pred_n, const char *ref, size_t ref_n) {
    if (ref_n >= 10 && !memcmp(ref, "countdown:", 10)) {
        long long target = 0, nums[16];
        int k;
        if (parse_countdown_ref(ref, ref_n, &target, nums, &k)) return 0;
        return verify_countdown(pred, pred_n, target, nums, k);
    }
    if (ref_n >= 8 && !memcmp(ref, "program:", 8)) return prog_check(pred, pred_n, ref + 8, ref_n - 8);
    if (ref_n >= 6 && !memcmp(ref, "exact:", 6)) {
        Span a = trim(pred, pred_n), b = trim(ref + 6, ref_n - 6);
        return a.n == b.n && !memcmp(a.p, b.p, a.n);
    }
    Span g = verify_reference_answer(ref, ref_n);
    return verify_equiv(pred, pred_n, g.p, g.n);
}

const char *verify_reference_problem(const char *ref, size_t ref_n) {
    if (ref_n >= 10 && !memcmp(ref, "countdown:", 10)) {
        long long target, nums[16];
        int k;
        return parse_countdown_ref(ref, ref_n, &target, nums, &k) ? "not a countdown reference (countdown:T:a,b,c; "
                                                                    "at most 16 numbers)" : NULL;
    }
    if (ref_n >= 8 && !memcmp(ref, "program:", 8)) {
        long long xs[PROG_MAX_CASES], ys[PROG_MAX_CASES];
        int k = prog_parse_cases(ref + 8, ref_n - 8, xs, ys);
        if (k <= 0) return "not a program reference (program:X:Y,X:Y,...; 1 to 16 integer cases)";
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                if (xs[i] == xs[j] && ys[i] != ys[j]) return "a program reference that maps one x to two values";
    }
    return NULL;
}

int verify_reference_check(const char *ref, const char *key, Err *e) {
    size_t n = strlen(ref);
    const char *bad = verify_reference_problem(ref, n);
    if (!bad) return 0;
    size_t cut = n > 60 ? 60 : n;
    while (cut > 0 && ((unsigned char)ref[cut] & 0xC0) == 0x80) cut--;   /* a whole UTF-8 character */
    return err_set(e, "key '%s': '%.*s%s' is %s", key, (int)cut, ref, ref[cut] ? "..." : "", bad);
}

int verify_completion(const char *completion, size_t n, const char *ref, size_t ref_n, int flags) {
    Span a;
    if (!verify_extract(completion, n, flags, &a)) return 0;
    return verify_reference(a.p, a.n, ref, ref_n);
}
