/* Task "program": program synthesis in a tiny language (tasks/program_lang.h). The prompt shows a
 * few input/output pairs of a hidden function; the answer is an expression in x, run in-process
 * on those pairs and on hidden test cases, as R1's code rewards run a program on its tests.
 *
 *   level 1  x+b                        "Find f(x) with f(1)=4, f(2)=5, f(3)=6."
 *   level 2  ax+b, a 2..9, b 0..9       three pairs at x = 1, 2, 3
 *   level 3  ax+b with negatives        three pairs from x0 in -3..3
 *   level 4  x^2+bx+c                   four pairs from x0 in -2..2
 *   level 5  ax^2+bx+c, a in ±1..3      four pairs from x0 in -3..2
 * Four hidden cases at other x in -10..12. Reference "program:X:Y,..." (shown pairs, then hidden).
 *
 * The chain of thought is the method of differences, one small computation a step:
 *   Differences: 5-3=2, 7-5=2.                    (quadratics: then second differences -> a,
 *   They are all 2, so f(x)=2x+b.                  "Subtract x^2: 2-1*1*1=1, ..." and the
 *   At x=1: 2*1=2, so b=3-2=1.                     same steps for the linear rest)
 *   So f(x)=2x+1.
 * with the optional self-checks of task.h (the constant's step may slip and be caught: "so
 * b=3-2=2. Wait, check: 3-2=1, not 2. So b=1."), the last one substituting a shown pair. The Chinese
 * writer says the same steps ("差：5-3=2，7-5=2。" / "都是二，所以 f(x)=2x+b。"). The flawed
 * solution slips by one in the constant and carries the slip to the answer.
 */
#include <stdlib.h>
#include <string.h>

#include "tasks/program_lang.h"
#include "tasks/task.h"

typedef struct Poly {
    long long a2, a1, a0;   /* f(x) = a2 x^2 + a1 x + a0 */
} Poly;

static long long poly_at(Poly f, long long x) { return f.a2 * x * x + f.a1 * x + f.a0; }

/* A number as an operand: negatives in parentheses. */
static void operand(StrBuf *b, long long v) {
    if (v < 0) sb_printf(b, "(%lld)", v);
    else sb_printf(b, "%lld", v);
}

/* One term c·x^k of a polynomial's text ("2x", "-x^2", "+7"); first: no leading '+'. */
static void poly_term(StrBuf *b, long long c, int k, int first) {
    if (!c) return;
    if (c < 0) sb_append(b, "-");
    else if (!first) sb_append(b, "+");
    long long m = c < 0 ? -c : c;
    if (m != 1 || k == 0) sb_printf(b, "%lld", m);
    if (k >= 1) sb_append(b, "x");
    if (k == 2) sb_append(b, "^2");
}

/* "2x^2-3x+1", "x-4", "-x", "0" */
static void poly_text(StrBuf *b, Poly f) {
    size_t start = b->len;
    poly_term(b, f.a2, 2, 1);
    poly_term(b, f.a1, 1, b->len == start);
    poly_term(b, f.a0, 0, b->len == start);
    if (b->len == start) sb_append(b, "0");
}

/* "a*x*x+b*x+c" at x with the numbers written out, for checks: "1*4*4+1*4+0". */
static void poly_sub(StrBuf *b, Poly f, long long x) {
    if (f.a2) {
        sb_printf(b, "%lld*", f.a2);
        operand(b, x);
        sb_append(b, "*");
        operand(b, x);
        sb_append(b, f.a1 < 0 ? "" : "+");
    }
    sb_printf(b, "%lld*", f.a1);
    operand(b, x);
    sb_printf(b, "%+lld", f.a0);
}

static void end_sentence(StrBuf *b, TaskLang lang) { sb_append(b, lang == LANG_ZH ? "。" : "."); }

/* "Differences: 5-3=2, 7-5=2." over ys[0..n); the differences into d. */
static void write_differences(StrBuf *b, const long long *ys, int n, long long *d, TaskLang lang,
                              const char *en, const char *zh) {
    sb_append(b, lang == LANG_ZH ? zh : en);
    for (int i = 0; i + 1 < n; i++) {
        d[i] = ys[i + 1] - ys[i];
        if (i) sb_append(b, lang == LANG_ZH ? "，" : ", ");
        sb_printf(b, "%lld-", ys[i + 1]);
        operand(b, ys[i]);
        sb_printf(b, "=%lld", d[i]);
    }
    end_sentence(b, lang);
}

/* The linear part: slope from differences d[0..n-1) of ys at xs, then the constant at xs[0].
 * Writes "They are all 2, so f(x)=2x+b." and "At x=1: 2*1=2, so b=3-2=1.", with `name` the
 * function being fitted ("f(x)" or "g(x)") and cname the constant's letter. slip is added to
 * the constant. Returns the constant found. */
static long long write_linear(StrBuf *b, Rng *write, const TaskOpts *o, const char *name, const char *prefix,
                              long long slope, long long x0, long long y0, const char *cname, long long slip) {
    TaskLang lang = o->lang;
    if (lang == LANG_ZH) {
        sb_append(b, "都是");
        zh_number(b, slope);
        sb_printf(b, "，所以 %s=%s", name, prefix);
    } else {
        sb_printf(b, "They are all %lld, so %s=%s", slope, name, prefix);
    }
    poly_term(b, slope, 1, !*prefix);
    sb_printf(b, "+%s", cname);
    end_sentence(b, lang);
    sb_append(b, "\n");
    long long p = slope * x0, c = y0 - p + slip;
    StepCheck kind = slip ? STEP_PLAIN : step_check(write, o);
    long long said = kind == STEP_SLIP ? slip_value(write, c) : c;
    sb_printf(b, lang == LANG_ZH ? "当 x=%lld：%lld*" : "At x=%lld: %lld*", x0, slope);
    operand(b, x0);
    sb_printf(b, lang == LANG_ZH ? "=%lld，所以 %s=%lld-" : "=%lld, so %s=%lld-", p, cname, y0);
    operand(b, p);
    sb_printf(b, "=%lld", said);
    end_sentence(b, lang);
    StrBuf eq = {0};
    if (kind == STEP_CHECK) {
        sb_printf(&eq, "%lld+", c);
        operand(&eq, p);
        sb_printf(&eq, "=%lld", y0);
        write_confirm(b, o, eq.s);
    } else if (kind == STEP_SLIP) {
        sb_printf(&eq, "%lld-", y0);
        operand(&eq, p);
        sb_printf(&eq, "=%lld", c);
        write_catch(b, o, eq.s, said);
        sb_printf(b, lang == LANG_ZH ? "所以 %s=%lld" : " So %s=%lld", cname, c);
        end_sentence(b, lang);
    }
    sb_free(&eq);
    sb_append(b, "\n");
    return c;
}

/* The whole solution for the shown pairs; slip is added to the constant term. Returns the
 * polynomial the writer arrives at. */
static Poly write_solution(StrBuf *b, Rng *write, const TaskOpts *o, const long long *xs, const long long *ys,
                           int n, int quadratic, long long slip) {
    TaskLang lang = o->lang;
    long long d[4], dd[4];
    Poly got = {0, 0, 0};
    write_differences(b, ys, n, d, lang, "Differences: ", "差：");
    sb_append(b, "\n");
    if (!quadratic) {
        got.a1 = d[0];
        got.a0 = write_linear(b, write, o, "f(x)", "", d[0], xs[0], ys[0], "b", slip);
    } else {
        write_differences(b, d, n - 1, dd, lang, "Second differences: ", "二阶差：");
        got.a2 = dd[0] / 2;
        sb_printf(b, lang == LANG_ZH ? "所以 f(x)=a*x^2+b*x+c，a=%lld/2=%lld" : " So f(x)=a*x^2+b*x+c with a=%lld/2=%lld",
                  dd[0], got.a2);
        end_sentence(b, lang);
        sb_append(b, "\n");
        /* the rest g(x) = f(x) - a x^2 is linear */
        long long g[4];
        StrBuf ax = {0};
        poly_term(&ax, got.a2 < 0 ? -got.a2 : got.a2, 2, 1);
        if (lang == LANG_ZH) sb_printf(b, got.a2 > 0 ? "减去 %s：" : "加上 %s：", ax.s);
        else sb_printf(b, got.a2 > 0 ? "Subtract %s: " : "Add %s: ", ax.s);
        sb_free(&ax);
        for (int i = 0; i < n - 1; i++) {
            g[i] = ys[i] - got.a2 * xs[i] * xs[i];
            if (i) sb_append(b, lang == LANG_ZH ? "，" : ", ");
            sb_printf(b, "%lld-", ys[i]);
            operand(b, got.a2);
            sb_append(b, "*");
            operand(b, xs[i]);
            sb_append(b, "*");
            operand(b, xs[i]);
            sb_printf(b, "=%lld", g[i]);
        }
        end_sentence(b, lang);
        sb_append(b, "\n");
        long long gd[4];
        write_differences(b, g, n - 1, gd, lang, "Differences: ", "差：");
        sb_append(b, "\n");
        StrBuf prefix = {0};
        poly_term(&prefix, got.a2, 2, 1);
        got.a1 = gd[0];
        got.a0 = write_linear(b, write, o, "f(x)", prefix.s, gd[0], xs[0], g[0], "c", slip);
        sb_free(&prefix);
        /* the linear step's "At x=..: .., so c=y-.." used g, the rest after a x^2 */
    }
    sb_append(b, lang == LANG_ZH ? "所以 f(x)=" : "So f(x)=");
    poly_text(b, got);
    end_sentence(b, lang);
    return got;
}

void task_program(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p) {
    int L = o->level, quadratic = L >= 4, n = quadratic ? 4 : 3;
    Poly f = {0, 1, 0};
    long long x0 = 1;
    switch (L) {
    case 1: f.a1 = 1; f.a0 = rng_range(prob, -9, 9); if (!f.a0) f.a0 = 10; break;
    case 2: f.a1 = rng_range(prob, 2, 9); f.a0 = rng_range(prob, 0, 9); break;
    case 3:
        do f.a1 = rng_range(prob, -9, 9); while (f.a1 == 0 || f.a1 == 1);
        f.a0 = rng_range(prob, -20, 20);
        x0 = rng_range(prob, -3, 3);
        break;
    case 4: f.a2 = 1; f.a1 = rng_range(prob, -6, 6); f.a0 = rng_range(prob, -9, 9); x0 = rng_range(prob, -2, 2); break;
    default:
        f.a2 = rng_range(prob, 1, 3) * (rng_below(prob, 2) ? 1 : -1);
        f.a1 = rng_range(prob, -9, 9);
        f.a0 = rng_range(prob, -20, 20);
        x0 = rng_range(prob, -3, 2);
        break;
    }
    long long xs[4], ys[4];
    for (int i = 0; i < n; i++) { xs[i] = x0 + i; ys[i] = poly_at(f, xs[i]); }
    /* hidden cases: four other inputs */
    long long hx[4];
    for (int k = 0; k < 4;) {
        long long x = rng_range(prob, -10, 12);
        int seen = x >= x0 && x < x0 + n;
        for (int j = 0; j < k; j++) seen |= hx[j] == x;
        if (!seen) hx[k++] = x;
    }

    sb_append(&p->prompt, o->lang == LANG_ZH ? "求 f(x)，使 " : "Find f(x) with ");
    for (int i = 0; i < n; i++)
        sb_printf(&p->prompt, "%sf(%lld)=%lld", i ? (o->lang == LANG_ZH ? "，" : ", ") : "", xs[i], ys[i]);
    end_sentence(&p->prompt, o->lang);
    sb_append(&p->reference, "program:");
    for (int i = 0; i < n; i++) sb_printf(&p->reference, "%s%lld:%lld", i ? "," : "", xs[i], ys[i]);
    for (int k = 0; k < 4; k++) sb_printf(&p->reference, ",%lld:%lld", hx[k], poly_at(f, hx[k]));

    Poly got = write_solution(&p->cot, write, o, xs, ys, n, quadratic, 0);
    CHECK(got.a2 == f.a2 && got.a1 == f.a1 && got.a0 == f.a0);
    /* the final check substitutes the last shown pair */
    StrBuf eq = {0};
    sb_printf(&eq, "f(%lld)=", xs[n - 1]);
    poly_sub(&eq, f, xs[n - 1]);
    sb_printf(&eq, "=%lld", ys[n - 1]);
    write_check(&p->cot, write, o, eq.s);
    sb_free(&eq);
    poly_text(&p->final, f);

    /* flawed: the constant off by one, carried to the answer */
    long long slip = rng_below(bad, 2) ? 1 : -1;
    Poly wrong = write_solution(&p->bad_cot, write, o, xs, ys, n, quadratic, slip);
    poly_text(&p->bad_final, wrong);
}
