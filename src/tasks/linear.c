/* Task "linear": solve a linear equation in x with an integer solution.
 *
 *   level 1  x+b=c                 "Solve x+4=9."
 *   level 2  ax=c                  "Solve 3x=12."
 *   level 3  ax+b=c, negatives     "Solve 3x-5=16."
 *   level 4  ax+b=cx+d             "Solve 5x+2=2x+17."
 *   level 5  a(x+b)=cx+d           "Solve 2(x-3)=5x+9."
 *
 * One step per line, each one operation on both sides: expand, move the x terms to the left,
 * move the constant to the right, divide. The constant and division steps may be checked
 * ("Wait, check: 21+5=26. Yes.") or slip and be caught ("3x=26-5=20. Wait, check: 26-5=21, not
 * 20. So 3x=21."); a final check substitutes x (all optional, task.h).
 * The flawed solution moves a constant with the wrong sign (a classic slip) or mis-divides.
 */
#include "tasks/task.h"

/* "3x", "x", "-x", "-3x" for coefficient a (a != 0). */
static void term_x(StrBuf *b, long long a) {
    if (a == 1) sb_append(b, "x");
    else if (a == -1) sb_append(b, "-x");
    else sb_printf(b, "%lldx", a);
}

/* a*x + c as text; "0" when both are 0. */
static void side(StrBuf *b, long long a, long long c) {
    if (a) term_x(b, a);
    if (c && a) sb_printf(b, "%+lld", c);
    else if (c || !a) sb_printf(b, "%lld", c);
}

static void amount(StrBuf *b, long long v, TaskLang lang) {
    if (lang == LANG_ZH) zh_number(b, v);
    else sb_printf(b, "%lld", v);
}

/* "Subtract 5 from both sides" / "Add 5 to both sides" (v = what is removed from the left). */
static void move_words(StrBuf *b, long long v, int is_x, TaskLang lang) {
    long long m = v < 0 ? -v : v;
    if (lang == LANG_ZH) {
        sb_append(b, v > 0 ? "两边减去" : "两边加上");
        if (is_x) { if (m != 1) amount(b, m, lang); sb_append(b, "x"); }
        else amount(b, m, lang);
        sb_append(b, "：");
    } else {
        sb_append(b, v > 0 ? "Subtract " : "Add ");
        if (is_x) term_x(b, m);
        else sb_printf(b, "%lld", m);
        sb_append(b, v > 0 ? " from both sides: " : " to both sides: ");
    }
}

static void end_line(StrBuf *b, TaskLang lang) { sb_append(b, lang == LANG_ZH ? "。\n" : ".\n"); }

/* Ends a step's sentence: its self-check, or the catch of a slip (task.h, step_check) followed
 * by the step's result restated ("So 3x=21."), then the line break. */
static void end_step(StrBuf *b, const TaskOpts *o, StepCheck kind, const char *confirm, const char *redo,
                     long long said, long long A, long long right, int is_x) {
    sb_append(b, o->lang == LANG_ZH ? "。" : ".");
    if (kind == STEP_CHECK) write_confirm(b, o, confirm);
    if (kind == STEP_SLIP) {
        write_catch(b, o, redo, said);
        sb_append(b, o->lang == LANG_ZH ? "所以 " : " So ");
        if (is_x) sb_append(b, "x");
        else term_x(b, A);
        sb_printf(b, "=%lld", right);
        sb_append(b, o->lang == LANG_ZH ? "。" : ".");
    }
    sb_append(b, "\n");
}

/* Writes the solution of A x + B = C x + D (after an optional expansion); slip: 0 none, 1 wrong
 * sign when moving the constant (the flawed solution, without checks). Without the slip, the
 * constant and division steps may be checked or slip and be caught (task.h). Returns x (rounded
 * toward zero if the slip makes it inexact). */
static long long solve(StrBuf *b, Rng *write, const TaskOpts *o, long long A, long long B, long long C, long long D,
                       int slip) {
    TaskLang lang = o->lang;
    if (C) {
        if (A > C) {
            move_words(b, C, 1, lang);
            A -= C;
            C = 0;
            side(b, A, B); sb_append(b, "="); side(b, 0, D);
        } else {
            move_words(b, A, 1, lang);
            C -= A;
            A = 0;
            side(b, 0, B); sb_append(b, "="); side(b, C, D);
            sb_append(b, lang == LANG_ZH ? "，即 " : ", so ");
            side(b, C, D); sb_append(b, "="); side(b, 0, B);
            long long t = B; B = D; D = t; A = C; C = 0;
        }
        end_line(b, lang);
    }
    char confirm[96], redo[96];
    if (B) {
        StepCheck kind = slip ? STEP_PLAIN : step_check(write, o);
        move_words(b, B, 0, lang);
        long long E = slip == 1 ? D + B : D - B;
        long long said = kind == STEP_SLIP ? slip_value(write, E) : E;
        term_x(b, A);
        sb_printf(b, "=%lld%+lld=%lld", D, slip == 1 ? B : -B, said);
        snprintf(confirm, sizeof confirm, "%lld%+lld=%lld", E, B, D);
        snprintf(redo, sizeof redo, "%lld%+lld=%lld", D, -B, E);
        end_step(b, o, kind, confirm, redo, said, A, E, 0);
        D = E;
    }
    long long x = D / A;
    if (A != 1) {
        StepCheck kind = slip ? STEP_PLAIN : step_check(write, o);
        long long said = kind == STEP_SLIP ? slip_value(write, x) : x;
        if (lang == LANG_ZH) { sb_append(b, "两边除以"); amount(b, A, lang); sb_append(b, "："); }
        else sb_printf(b, "Divide both sides by %lld: ", A);
        sb_printf(b, "x=%lld/%s%lld%s=%lld", D, A < 0 ? "(" : "", A, A < 0 ? ")" : "", said);
        snprintf(confirm, sizeof confirm, "%lld*%s%lld%s=%lld", x, A < 0 ? "(" : "", A, A < 0 ? ")" : "", D);
        snprintf(redo, sizeof redo, "%lld/%s%lld%s=%lld", D, A < 0 ? "(" : "", A, A < 0 ? ")" : "", x);
        end_step(b, o, kind, confirm, redo, said, A, x, 1);
    }
    return x;
}

void task_linear(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p) {
    int L = o->level;
    long long a = 1, b = 0, c = 0, d = 0, x = 0, k = 1;   /* k(x+b) form for level 5: A = k */
    for (;;) {
        switch (L) {
        case 1: a = 1; x = rng_range(prob, 0, 20); b = rng_range(prob, 1, 20); c = 0; break;
        case 2: a = rng_range(prob, 2, 9); x = rng_range(prob, 1, 12); b = 0; c = 0; break;
        case 3: a = rng_range(prob, 2, 9); x = rng_range(prob, -5, 15); b = rng_range(prob, -20, 20); c = 0; break;
        case 4: a = rng_range(prob, 1, 9); c = rng_range(prob, 1, 9); x = rng_range(prob, -10, 15);
                b = rng_range(prob, -20, 20); break;
        default: k = rng_range(prob, 2, 6); b = rng_range(prob, -9, 9); c = rng_range(prob, -5, 9);
                 x = rng_range(prob, -10, 15); a = k; break;
        }
        if (L == 3 && b == 0) continue;
        if (L >= 4 && a == c) continue;
        if (L == 5 && b == 0) continue;
        break;
    }
    /* right-hand side constant so that x solves it */
    long long B = L == 5 ? k * b : b;     /* expanded left constant */
    d = a * x + B - c * x;
    TaskLang lang = o->lang;
    StrBuf eq = {0};
    if (L == 5) {
        sb_printf(&eq, "%lld(x%+lld)=", k, b);
        side(&eq, c, d);
    } else {
        side(&eq, a, b); sb_append(&eq, "="); side(&eq, c, d);
    }
    if (lang == LANG_ZH) sb_printf(&p->prompt, "解方程 %s。", eq.s);
    else sb_printf(&p->prompt, "Solve %s.", eq.s);
    sb_printf(&p->final, "%lld", x);
    sb_printf(&p->reference, "%lld", x);

    for (int pass = 0; pass < 2; pass++) {
        StrBuf *out = pass ? &p->bad_cot : &p->cot;
        if (L == 5) {
            sb_append(out, lang == LANG_ZH ? "展开：" : "Expand: ");
            side(out, a, B); sb_append(out, "="); side(out, c, d);
            end_line(out, lang);
        }
        int slip = pass && B != 0 ? 1 : 0;
        long long got = solve(out, write, o, a, B, c, d, slip);
        if (!pass) {
            CHECK(got == x);
            char check[160];
            if (L == 5)
                snprintf(check, sizeof check, "%lld*(%lld%+lld)=%lld, %lld*(%lld)%+lld=%lld", k, x, b, k * (x + b), c,
                         x, d, c * x + d);
            else if (c)
                snprintf(check, sizeof check, "%lld*(%lld)%+lld=%lld, %lld*(%lld)%+lld=%lld", a, x, b, a * x + b, c, x,
                         d, c * x + d);
            else
                snprintf(check, sizeof check, "%lld*(%lld)%+lld=%lld", a, x, b, a * x + b);
            TaskOpts oc = *o;
            write_check(out, write, &oc, check);
            if (out->len && out->s[out->len - 1] != '\n') sb_append(out, "\n");
            if (lang == LANG_ZH) sb_printf(out, "所以 x=%lld。", x);
            else sb_printf(out, "So x=%lld.", x);
        } else {
            long long wrong = got;
            if (!slip || wrong == x) wrong = x + (rng_below(bad, 2) ? 1 : -1);   /* ax=c: a wrong quotient */
            if (!slip) {
                sb_clear(out);
                if (lang == LANG_ZH) { sb_append(out, "两边除以"); amount(out, a, lang); sb_append(out, "："); }
                else sb_printf(out, "Divide both sides by %lld: ", a);
                sb_printf(out, "x=%lld/%lld=%lld", d, a, wrong);
                end_line(out, lang);
            }
            if (lang == LANG_ZH) sb_printf(out, "所以 x=%lld。", wrong);
            else sb_printf(out, "So x=%lld.", wrong);
            sb_printf(&p->bad_final, "%lld", wrong);
        }
    }
    sb_free(&eq);
}
