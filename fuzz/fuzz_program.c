/* Fuzz target: the program task's language (src/tasks/program_lang.c) on arbitrary model text.
 * Input: program text, optionally a 0x00 byte and reference cases. Checks that compiling and
 * running never crash, hang or overflow (UBSan traps signed overflow), that a compiled program
 * stays within PROG_MAX_OPS and its values within ±PROG_MAX_VALUE, that running is a function
 * of x (twice, same answer), and that a program always passes the cases made from its own
 * outputs and fails them when one output is changed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl/verify.h"
#include "tasks/program_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *sep = memchr(s, 0, size);
    size_t pn = sep ? (size_t)(sep - s) : size;
    if (sep) (void)prog_check(s, pn, sep + 1, size - pn - 1);
    Program p;
    if (prog_compile(s, pn, &p)) return 0;
    if (p.n < 1 || p.n > PROG_MAX_OPS) abort();
    static const long long XS[] = {0, 1, -1, 7, -12, 1000, -99999, 1000000};
    char cases[512];
    size_t k = 0;
    int n_ok = 0;
    for (size_t i = 0; i < sizeof XS / sizeof XS[0]; i++) {
        long long y, y2;
        int rc = prog_run(&p, XS[i], &y);
        if (rc != prog_run(&p, XS[i], &y2) || (!rc && y != y2)) abort();
        if (rc) continue;
        if (y < -PROG_MAX_VALUE || y > PROG_MAX_VALUE) abort();
        k += (size_t)snprintf(cases + k, sizeof cases - k, "%s%lld:%lld", n_ok ? "," : "", XS[i], y);
        n_ok++;
    }
    if (n_ok) {
        if (!prog_check(s, pn, cases, k)) abort();
        /* the same through the reward's path: "program:" references */
        char ref[600];
        int rn = snprintf(ref, sizeof ref, "program:%.*s", (int)k, cases);
        if (!verify_reference(s, pn, ref, (size_t)rn)) abort();
        /* one output off by one: rejected */
        char *colon = strrchr(cases, ':');
        long long last = strtoll(colon + 1, NULL, 10);
        int m = snprintf(colon + 1, sizeof cases - (size_t)(colon + 1 - cases), "%lld", last > 0 ? last - 1 : last + 1);
        if (prog_check(s, pn, cases, (size_t)(colon + 1 - cases) + (size_t)m)) abort();
    }
    return 0;
}
