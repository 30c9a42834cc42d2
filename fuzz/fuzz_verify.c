/* Fuzz target: answer extraction, equivalence, countdown checking and every reward on arbitrary
 * bytes. Input: completion, a 0x00 byte, reference (no 0x00: the whole input is both). Checks:
 *   - nothing crashes or hangs; extracted spans lie inside the completion; every reward is finite
 *     and in [-1, 1];
 *   - equivalence is reflexive (an answer with content after normalisation equals itself) and,
 *     between plain number literals, symmetric; two plain decimals are equal only at the same value;
 *   - extraction finds a plain answer put in <answer> tags, in \boxed{} and after "####";
 *   - a completion stating a reference's own answer is rewarded (math references, and typed
 *     exact: ones; countdown: and program: ones need an expression or a program), so no dataset
 *     answer with content is unreachable;
 *   - b^e and m·10^k (built from the input's bytes) equal their decimal expansions, computed
 *     independently (unsigned __int128, moving the decimal point), and never those off by one;
 *   - a countdown reference built from the digits in the input never accepts an expression that
 *     evaluates to something else (re-checked with an independent long double evaluation);
 *   - the reflection measure (rl/reflection.h) runs on the completion and its counts stay
 *     consistent. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rl/reflection.h"
#include "rl/rewards.h"
#include "rl/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(cond) \
    do { if (!(cond)) { fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

/* A plain number literal: optional '-', digits, at most one '.' between digits. */
static int plain_number(const char *s, size_t n) {
    size_t i = s[0] == '-' && n > 1, digits = 0, dots = 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') digits++;
        else if (s[i] == '.' && digits && i + 1 < n && dots++ == 0) continue;
        else return 0;
    }
    return digits > 0 && digits <= 30;
}

/* Answers that normalise to nothing ("$", "~") are never correct, by design: an empty answer
 * must not earn the reward. */
static int has_content(const char *s, size_t n) {
    static char buf[3 * VERIFY_MAX_ANSWER + 16];
    return verify_normalize(s, n, buf, sizeof buf) > 0;
}

static void check_equiv_laws(const char *a, size_t an, const char *b, size_t bn) {
    if (has_content(a, an)) ASSERT(verify_equiv(a, an, a, an));
    if (has_content(b, bn)) ASSERT(verify_equiv(b, bn, b, bn));
    if (an && bn && plain_number(a, an) && plain_number(b, bn))
        ASSERT(verify_equiv(a, an, b, bn) == verify_equiv(b, bn, a, an));
}

/* An answer text a wrapper can carry unchanged: no tag or brace characters, no line break, no
 * surrounding space (extraction trims), short. */
static int wrappable(const char *s, size_t n) {
    if (n == 0 || n > 200) return 0;
    for (size_t i = 0; i < n; i++)
        if (strchr("<>{}\\#$\n\r\t\f\v ", s[i]) && (s[i] != ' ' || i == 0 || i == n - 1)) return 0;
    return 1;
}

static void check_extraction(const char *x, size_t n) {
    if (!wrappable(x, n)) return;
    char buf[512];
    static const char *const WRAP[][2] = {{"Reasoning.\n</think>\n\n<answer>", "</answer>"},
                                          {"so the answer is \\boxed{", "}."},
                                          {"Step 1.\n#### ", "\n"}};
    static const int FLAGS[] = {VERIFY_ANSWER_TAG, VERIFY_BOXED, VERIFY_GSM8K};
    for (int w = 0; w < 3; w++) {
        int len = snprintf(buf, sizeof buf, "%s%.*s%s", WRAP[w][0], (int)n, x, WRAP[w][1]);
        Span a;
        if (!verify_extract(buf, (size_t)len, FLAGS[w], &a) || a.n != n || memcmp(a.p, x, n)) {
            fprintf(stderr, "'%s' not extracted whole from '%s'\n", x, buf);
            abort();
        }
    }
}

static void check_reference_reachable(const char *ref, size_t rn) {
    if (rn >= 10 && !memcmp(ref, "countdown:", 10)) return;   /* an expression is needed */
    if (rn >= 8 && !memcmp(ref, "program:", 8)) return;       /* a program is needed (fuzz_program) */
    Span g = rn >= 6 && !memcmp(ref, "exact:", 6) ? (Span){ref + 6, rn - 6} : verify_reference_answer(ref, rn);
    while (g.n && strchr(" \t\n\r\f\v", g.p[0])) { g.p++; g.n--; }
    while (g.n && strchr(" \t\n\r\f\v", g.p[g.n - 1])) g.n--;
    if (!wrappable(g.p, g.n) || !has_content(g.p, g.n)) return;
    char comp[512];
    int len = snprintf(comp, sizeof comp, "</think>\n\n<answer>%.*s</answer>", (int)g.n, g.p);
    if (!verify_completion(comp, (size_t)len, ref, rn, VERIFY_DEFAULT)) {
        fprintf(stderr, "reference '%s' does not accept its own answer '%.*s'\n", ref, (int)g.n, g.p);
        abort();
    }
}

static int equiv_z(const char *a, const char *b) { return verify_equiv(a, strlen(a), b, strlen(b)); }

/* Decimal digits of v into buf. */
static void u128_text(unsigned __int128 v, char *buf) {
    char t[48];
    int k = 0;
    do { t[k++] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
    for (int i = 0; i < k; i++) buf[i] = t[k - 1 - i];
    buf[k] = 0;
}

/* Exact values, inside and past 64 bits, against an independent oracle: b^e multiplied out in
 * unsigned __int128, and m·10^k written out by moving the decimal point. The equal texts must be
 * accepted both ways, a text one digit off never. */
static void check_exact_values(const uint8_t *d, size_t n) {
    if (n < 4) return;
    unsigned b = 2 + d[0] % 99, e = d[1] % 130;
    unsigned __int128 v = 1;
    for (unsigned i = 0; i < e; i++) {
        if (v > ((unsigned __int128)-1 >> 1) / b) return;
        v *= b;
    }
    char pw[32], dec[48], off[48];
    snprintf(pw, sizeof pw, "%u^{%u}", b, e);
    u128_text(v, dec);
    u128_text(v + 1, off);
    ASSERT(equiv_z(pw, dec) && equiv_z(dec, pw));
    ASSERT(!equiv_z(pw, off) && !equiv_z(off, pw));

    /* mantissa D.DDD (up to 12 digits from the input), exponent k in [-128, 127] */
    char m[16];
    size_t len = 0;
    m[len++] = (char)('1' + d[3] % 9);
    for (size_t i = 4; i < n && len < 12; i++) m[len++] = (char)('0' + d[i] % 10);
    int k = (int)(int8_t)d[2];
    char sci[48], tim[48], wide[300];
    snprintf(sci, sizeof sci, "%c%s%.*se%d", m[0], len > 1 ? "." : "", (int)len - 1, m + 1, k);
    snprintf(tim, sizeof tim, "%c%s%.*s\\times10^{%d}", m[0], len > 1 ? "." : "", (int)len - 1, m + 1, k);
    long point = 1 + k;   /* digits before the decimal point */
    size_t x = 0;
    if (point <= 0) {
        wide[x++] = '0';
        wide[x++] = '.';
        for (long z = 0; z < -point; z++) wide[x++] = '0';
        memcpy(wide + x, m, len);
        x += len;
    } else if ((size_t)point >= len) {
        memcpy(wide + x, m, len);
        x += len;
        for (size_t z = len; z < (size_t)point; z++) wide[x++] = '0';
    } else {
        memcpy(wide + x, m, (size_t)point);
        x += (size_t)point;
        wide[x++] = '.';
        memcpy(wide + x, m + point, len - (size_t)point);
        x += len - (size_t)point;
    }
    wide[x] = 0;
    ASSERT(equiv_z(sci, wide) && equiv_z(wide, sci) && equiv_z(tim, wide) && equiv_z(sci, tim));
    wide[x - 1] = wide[x - 1] == '9' ? '8' : (char)(wide[x - 1] + 1);   /* the last digit off by one */
    ASSERT(!equiv_z(sci, wide) && !equiv_z(wide, tim));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *sep = memchr(s, 0, size);
    size_t cn = sep ? (size_t)(sep - s) : size;
    const char *ref = sep ? sep + 1 : s;
    size_t rn = sep ? size - cn - 1 : size;
    /* NUL-terminated copies (the reward API takes a C string reference and prompt) */
    char *comp = malloc(cn + 1), *refz = malloc(rn + 1);
    memcpy(comp, s, cn);
    comp[cn] = 0;
    memcpy(refz, ref, rn);
    refz[rn] = 0;
    size_t refz_n = strlen(refz);

    Span a;
    for (int flags = 0; flags < 16; flags++)
        if (verify_extract(comp, cn, flags, &a) && (a.p < comp || a.p + a.n > comp + cn)) abort();
    int fwd = verify_equiv(comp, cn, refz, refz_n);
    (void)verify_equiv(refz, refz_n, comp, cn);
    /* an answer equals itself whenever it normalises to something */
    static char norm[3 * VERIFY_MAX_ANSWER + 16];
    if (verify_normalize(comp, cn, norm, sizeof norm) > 0 && !verify_equiv(comp, cn, comp, cn)) abort();
    /* a plain decimal reference accepts a plain decimal prediction only at the same value (the
     * exact parsers re-checked with strtod where both fit a double exactly enough) */
    if (fwd && cn < 18 && refz_n < 18 && cn && refz_n) {
        int simple = 1;
        for (size_t i = 0; i < cn; i++) simple &= (comp[i] >= '0' && comp[i] <= '9') || comp[i] == '.';
        for (size_t i = 0; i < refz_n; i++) simple &= (refz[i] >= '0' && refz[i] <= '9') || refz[i] == '.';
        if (simple && strtod(comp, NULL) != strtod(refz, NULL)) abort();
    }
    (void)verify_reference(comp, cn, refz, refz_n);
    (void)verify_completion(comp, cn, refz, refz_n, VERIFY_DEFAULT | VERIFY_LAST_NUMBER);

    /* countdown with the numbers found in the reference */
    long long nums[8];
    int k = 0;
    for (size_t i = 0; i < refz_n && k < 8;) {
        if (refz[i] >= '0' && refz[i] <= '9') {
            long long v = 0;
            int d = 0;
            while (i < refz_n && refz[i] >= '0' && refz[i] <= '9') { if (d++ < 6) v = v * 10 + (refz[i] - '0'); i++; }
            nums[k++] = v;
        } else {
            i++;
        }
    }
    if (k >= 2) {
        long long target = nums[k - 1];
        if (verify_countdown(comp, cn, target, nums, k - 1)) {
            /* accepted: an independent floating evaluation of the same text must agree */
            /* (only digits, + - * / ( ) and spaces are re-evaluated; other spellings are skipped) */
            int simple = 1;
            for (size_t i = 0; i < cn; i++)
                if (!strchr("0123456789+-*/() ", comp[i])) simple = 0;
            if (simple && cn < 200) {
                /* shunting-yard in long double */
                long double vals[256];
                char ops[256];
                int nv = 0, no = 0;
                #define PREC(c) ((c) == '+' || (c) == '-' ? 1 : (c) == '*' || (c) == '/' ? 2 : 0)
                #define APPLY() do { long double y = vals[--nv], x = vals[--nv]; char o = ops[--no]; \
                    vals[nv++] = o == '+' ? x + y : o == '-' ? x - y : o == '*' ? x * y : x / y; } while (0)
                for (size_t i = 0; i < cn; i++) {
                    char c = comp[i];
                    if (c == ' ') continue;
                    if (c >= '0' && c <= '9') {
                        long double v = 0;
                        while (i < cn && comp[i] >= '0' && comp[i] <= '9') v = v * 10 + (comp[i++] - '0');
                        i--;
                        vals[nv++] = v;
                    } else if (c == '(') {
                        ops[no++] = c;
                    } else if (c == ')') {
                        while (no && ops[no - 1] != '(') APPLY();
                        no--;
                    } else {
                        while (no && PREC(ops[no - 1]) >= PREC(c)) APPLY();
                        ops[no++] = c;
                    }
                }
                while (no) APPLY();
                if (nv != 1 || fabsl(vals[0] - (long double)target) > 1e-6L * (1 + fabsl((long double)target))) abort();
            }
        }
    }

    check_equiv_laws(comp, cn, refz, refz_n);
    check_exact_values(data, size);
    check_extraction(refz, refz_n);
    check_reference_reachable(refz, refz_n);
    /* the reflection measure of r1 eval on the same text */
    Reflection rf;
    reflection_scan_completion(comp, cn, &rf);
    if (rf.unrepaired < 0 || rf.unrepaired > rf.false_chains || rf.false_chains > rf.chains || rf.repairs > rf.checks)
        abort();

    RewardParams p;
    reward_params_default(&p);
    RewardInput in = {refz, comp, cn, refz, 0};
    for (int id = 0; id < REWARD_COUNT; id++) {
        double r = reward_score((RewardId)id, &in, &p);
        if (!isfinite(r) || r < -1.0 || r > 1.0) abort();
    }
    free(comp);
    free(refz);
    return 0;
}
