/* Fuzz target: answer extraction, equivalence, countdown checking and every reward on arbitrary
 * bytes. Input: completion, a 0x00 byte, reference (no 0x00: the whole input is both). Checks
 * that nothing crashes or hangs, that every reward is finite and in its range, that an answer
 * equals itself, that two plain decimals are equal only at the same value, and that a
 * countdown reference built from the digits in the input never accepts an expression that
 * evaluates to something else (re-checked with an independent long double evaluation); the
 * reflection measure (rl/reflection.h) runs on the completion and its counts stay consistent. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rl/reflection.h"
#include "rl/rewards.h"
#include "rl/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
