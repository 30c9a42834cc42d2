/* Task "arith": multi-step integer arithmetic, reduced one operation per step.
 *
 *   level 1  a+b, a,b in 1..9                          "Compute 3+5."
 *   level 2  three operands, + and -, numbers 1..20      "Compute 12+7-5."
 *   level 3  three operands with a product (<= 12 x 12)  "Compute 12+7*3."
 *   level 4  four operands, + - *, parentheses          "Compute (4+9)*3-7."
 *   level 5  five operands, + - * / with parentheses and two-digit products (written as
 *            23*17 = 23*10+23*7 = 230+161 = 391)
 * Every intermediate value stays in 0..9999; divisions are exact.
 *
 * English step: "7*3=21, so 12+21-5."; Chinese step: "七乘三得二十一：7*3=21，现在是 12+21-5。".
 * A step may be checked ("Wait, check: 21/3=7. Yes.") or slip and be caught: "7*3=22, so 12+22-5.
 * Wait, check: 7*3=21, not 22. So 12+21-5." (task.h, step_check).
 * The flawed solution makes a slip of 1-3 at one step and carries it to the end.
 */
#include <string.h>

#include "tasks/expr.h"
#include "tasks/task.h"

static const ExprLimits LIMITS[6] = {
    {0, 0, 0, 0},
    {0, 99, 0, 0},
    {0, 999, 0, 0},
    {0, 999, 12, 12},
    {0, 9999, 9, 20},
    {0, 9999, 30, 99},
};

static char random_op(Rng *r, int level) {
    switch (level) {
    case 1: return '+';
    case 2: return rng_below(r, 2) ? '+' : '-';
    case 3:
    case 4: return "+-*"[rng_below(r, 3)];
    default: return "+-*/"[rng_below(r, 4)];
    }
}

/* A flat expression (precedence decides the tree): a0 op a1 op a2 ... */
static int build_flat(Expr *e, Rng *r, int n, int level, long long maxv) {
    long long v[8] = {0};
    char ops[8];
    for (int i = 0; i < n; i++) v[i] = rng_range(r, 1, maxv);
    for (int i = 0; i < n - 1; i++) ops[i] = random_op(r, level);
    if (level == 3) ops[rng_below(r, (uint64_t)(n - 1))] = '*';
    /* products and quotients bind first, left to right; then sums */
    int node[8], k = 0;
    char rest[8];
    int cur = expr_leaf(e, v[0]);
    for (int i = 0; i < n - 1; i++) {
        int next = expr_leaf(e, v[i + 1]);
        if (ops[i] == '*' || ops[i] == '/') {
            cur = expr_op(e, ops[i], cur, next);
        } else {
            node[k] = cur;
            rest[k++] = ops[i];
            cur = next;
        }
    }
    node[k] = cur;
    int acc = node[0];
    for (int i = 0; i < k; i++) acc = expr_op(e, rest[i], acc, node[i + 1]);
    return acc;
}

/* A random tree shape over n leaves. */
static int build_tree(Expr *e, Rng *r, int n, int level, long long maxv) {
    if (n == 1) return expr_leaf(e, rng_range(r, 1, maxv));
    int k = (int)rng_range(r, 1, n - 1);
    int l = build_tree(e, r, k, level, maxv);
    int rr = build_tree(e, r, n - k, level, maxv);
    return expr_op(e, random_op(r, level), l, rr);
}

static void write_num(StrBuf *b, long long v, TaskLang lang) {
    if (lang == LANG_ZH) zh_number(b, v);
    else sb_printf(b, "%lld", v);
}

/* "a op c = v" for one step; two-digit by two-digit products split by tens and units
 * (23*17=23*10+23*7=230+161=391) unless plain. */
static void write_equation(StrBuf *b, long long a, char op, long long c, long long v, int plain) {
    long long t = c / 10 * 10, u = c % 10;
    if (op == '*' && a >= 10 && c >= 10 && u && !plain)
        sb_printf(b, "%lld*%lld=%lld*%lld+%lld*%lld=%lld+%lld=%lld", a, c, a, t, a, u, a * t, a * u, v);
    else
        sb_printf(b, "%lld%c%lld=%lld", a, op, c, v);
}

/* ", so 12+21-5." (what is left after a step), or "." after the last one. */
static void write_rest(StrBuf *b, const Expr *e, TaskLang lang, const char *so_en, const char *so_zh) {
    if (expr_next(e, e->root) >= 0) {
        sb_append(b, lang == LANG_ZH ? so_zh : so_en);
        expr_print(e, e->root, b);
    }
    sb_append(b, lang == LANG_ZH ? "。" : ".");
}

/* Writes the reduction of e step by step into b; slip_step >= 0 adds slip to that step's result
 * (the flawed solution: no checks, the slip carried to the end). Otherwise steps may get a
 * self-check, or a slip that the check catches (task.h, step_check). Returns the final value. */
static long long write_steps(Expr e, StrBuf *b, Rng *write, const TaskOpts *o, int slip_step,
                             long long slip) {
    int step = 0;
    for (;;) {
        int i = expr_next(&e, e.root);
        if (i < 0) break;
        ExprNode *n = &e.n[i];
        char op = n->op;
        long long a = e.n[n->l].v, c = e.n[n->r].v, v;
        switch (op) {
        case '+': v = a + c; break;
        case '-': v = a - c; break;
        case '*': v = a * c; break;
        default: v = c ? a / c : 0;
        }
        if (step == slip_step) v += slip;
        /* a product by zero has no inverse to check with */
        StepCheck kind = slip_step < 0 && !(op == '*' && c == 0) ? step_check(write, o) : STEP_PLAIN;
        long long said = kind == STEP_SLIP ? slip_value(write, v) : v;
        if (step) sb_append(b, "\n");
        if (o->lang == LANG_ZH) {
            write_num(b, a, LANG_ZH);
            sb_append(b, op_word(op, LANG_ZH));
            write_num(b, c, LANG_ZH);
            sb_append(b, "得");
            write_num(b, said, LANG_ZH);
            sb_append(b, "：");
        }
        write_equation(b, a, op, c, said, step == slip_step || kind == STEP_SLIP);
        n->op = 0;
        n->v = said;
        step++;
        write_rest(b, &e, o->lang, ", so ", "，现在是 ");
        StrBuf eq = {0};
        if (kind == STEP_CHECK) {
            char inv = op == '+' ? '-' : op == '-' ? '+' : op == '*' ? '/' : '*';
            sb_printf(&eq, "%lld%c%lld=%lld", v, inv, c, a);
            write_confirm(b, o, eq.s);
        } else if (kind == STEP_SLIP) {
            write_equation(&eq, a, op, c, v, 0);
            write_catch(b, o, eq.s, said);
            n->v = v;
            if (expr_next(&e, e.root) >= 0) {
                sb_append(b, o->lang == LANG_ZH ? "所以是 " : " So ");
                expr_print(&e, e.root, b);
                sb_append(b, o->lang == LANG_ZH ? "。" : ".");
            }
        }
        sb_free(&eq);
    }
    return e.n[e.root].v;
}

/* The closing sentence of a solution ("The answer is v.") and its final answer. */
static void write_answer(StrBuf *cot, StrBuf *final, long long v, TaskLang lang) {
    if (lang == LANG_ZH) {
        sb_append(cot, "\n答案是");
        zh_number(cot, v);
        sb_append(cot, "。");
    } else {
        sb_printf(cot, "\nThe answer is %lld.", v);
    }
    sb_printf(final, "%lld", v);
}

static int count_steps(const Expr *e) {
    int k = 0;
    for (int i = 0; i < e->count; i++) k += e->n[i].op != 0;
    return k;
}

void task_arith(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p) {
    static const int N_OPERANDS[6] = {0, 2, 3, 3, 4, 5};
    static const long long MAXV[6] = {0, 9, 20, 20, 20, 50};
    int L = o->level;
    Expr e;
    long long value = 0;
    for (int attempt = 0;; attempt++) {
        CHECK(attempt < 100000);
        e.count = 0;
        e.root = L <= 3 ? build_flat(&e, prob, N_OPERANDS[L], L, MAXV[L])
                        : build_tree(&e, prob, N_OPERANDS[L], L, MAXV[L]);
        if (L == 5) {   /* keep divisors small and at most one division */
            int divs = 0;
            for (int i = 0; i < e.count; i++) divs += e.n[i].op == '/';
            if (divs > 1) continue;
        }
        if (!expr_eval(&e, e.root, &LIMITS[L], &value)) break;
    }
    if (o->lang == LANG_ZH) sb_append(&p->prompt, "计算 ");
    else sb_append(&p->prompt, "Compute ");
    expr_print(&e, e.root, &p->prompt);
    sb_append(&p->prompt, o->lang == LANG_ZH ? "。" : ".");

    long long got = write_steps(e, &p->cot, write, o, -1, 0);
    CHECK(got == value);
    write_answer(&p->cot, &p->final, value, o->lang);
    sb_printf(&p->reference, "%lld", value);

    /* flawed solution: a slip of 1..3 at one step, carried through */
    int steps = count_steps(&e);
    int slip_step = (int)rng_below(bad, (uint64_t)steps);
    long long slip = rng_range(bad, 1, 3) * (rng_below(bad, 2) ? 1 : -1);
    long long wrong = write_steps(e, &p->bad_cot, write, o, slip_step, slip);
    if (wrong == value) {   /* a slip cancelled by a later step (x0, or a division): slip the last step */
        sb_clear(&p->bad_cot);
        wrong = write_steps(e, &p->bad_cot, write, o, steps - 1, slip);
    }
    write_answer(&p->bad_cot, &p->bad_final, wrong, o->lang);
}
