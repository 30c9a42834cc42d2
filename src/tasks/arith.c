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

/* Writes the reduction of e step by step into b; slip_step >= 0 adds slip to that step's result.
 * Returns the final value. */
static long long write_steps(Expr e, StrBuf *b, Rng *write, const TaskOpts *o, int slip_step,
                             long long slip) {
    TaskOpts oc = *o;
    if (slip_step >= 0) oc.self_check = 0;   /* a flawed solution does not check itself */
    int step = 0;
    for (;;) {
        int i = expr_next(&e, e.root);
        if (i < 0) break;
        ExprNode *n = &e.n[i];
        long long a = e.n[n->l].v, c = e.n[n->r].v, v;
        switch (n->op) {
        case '+': v = a + c; break;
        case '-': v = a - c; break;
        case '*': v = a * c; break;
        default: v = c ? a / c : 0;
        }
        if (step == slip_step) v += slip;
        if (step) sb_append(b, o->lang == LANG_ZH ? "\n" : "\n");
        if (o->lang == LANG_ZH) {
            write_num(b, a, LANG_ZH);
            sb_append(b, op_word(n->op, LANG_ZH));
            write_num(b, c, LANG_ZH);
            sb_append(b, "得");
            write_num(b, v, LANG_ZH);
            sb_append(b, "：");
        }
        /* two-digit by two-digit products are split by tens and units */
        if (n->op == '*' && a >= 10 && c >= 10 && step != slip_step) {
            long long t = c / 10 * 10, u = c % 10;
            if (u) sb_printf(b, "%lld*%lld=%lld*%lld+%lld*%lld=%lld+%lld=%lld", a, c, a, t, a, u, a * t, a * u, v);
            else sb_printf(b, "%lld*%lld=%lld", a, c, v);
        } else {
            sb_printf(b, "%lld%c%lld=%lld", a, n->op, c, v);
        }
        char check[96];
        char inv = n->op == '+' ? '-' : n->op == '-' ? '+' : n->op == '*' ? '/' : '*';
        if (n->op == '*' && c == 0) check[0] = 0;
        else snprintf(check, sizeof check, "%lld%c%lld=%lld", v, inv, c, a);
        n->op = 0;
        n->v = v;
        step++;
        if (expr_next(&e, e.root) >= 0) {
            sb_append(b, o->lang == LANG_ZH ? "，现在是 " : ", so ");
            expr_print(&e, e.root, b);
            sb_append(b, o->lang == LANG_ZH ? "。" : ".");
        } else {
            sb_append(b, o->lang == LANG_ZH ? "。" : ".");
        }
        if (check[0] && (slip_step < 0)) write_check(b, write, &oc, check);
    }
    return e.n[e.root].v;
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
    if (o->lang == LANG_ZH) {
        sb_append(&p->cot, "\n答案是");
        zh_number(&p->cot, value);
        sb_append(&p->cot, "。");
    } else {
        sb_printf(&p->cot, "\nThe answer is %lld.", value);
    }
    sb_printf(&p->final, "%lld", value);
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
    if (o->lang == LANG_ZH) {
        sb_append(&p->bad_cot, "\n答案是");
        zh_number(&p->bad_cot, wrong);
        sb_append(&p->bad_cot, "。");
    } else {
        sb_printf(&p->bad_cot, "\nThe answer is %lld.", wrong);
    }
    sb_printf(&p->bad_final, "%lld", wrong);
}
