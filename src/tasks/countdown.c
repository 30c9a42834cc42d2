/* Task "countdown" (the TinyZero task): reach a target using each given number exactly once with
 * + - * / (every intermediate a positive integer).
 *
 *   level 1  two numbers 1..9, target their sum     "Use 3, 5 to make 8."
 *   level 2  two numbers 1..12, any operation
 *   level 3  three numbers 1..10
 *   level 4  three numbers 1..25
 *   level 5  four numbers 1..25
 *
 * The chain of thought is a short search: zero to two failed attempts (random combinations, each
 * one operation per step, ending "64 is not 24."), then the solution found by the generator,
 * then the whole expression. The flawed solution presents a failed attempt as the answer.
 * Reference: "countdown:T:a,b,c" (verify.h).
 */
#include "tasks/expr.h"
#include "tasks/task.h"

typedef struct Step {
    long long a, b, v;
    char op;
} Step;

/* Combines the pool down to one number at random; records the steps and the expression tree.
 * Returns the final value, or -1 when a random operation was invalid (caller retries). */
static long long combine(Rng *r, const long long *nums, int n, int level, Step *steps, Expr *e,
                         int *root) {
    long long pool[4];
    int node[4];
    e->count = 0;
    for (int i = 0; i < n; i++) { pool[i] = nums[i]; node[i] = expr_leaf(e, nums[i]); }
    int m = n, k = 0;
    while (m > 1) {
        int i = (int)rng_below(r, (uint64_t)m), j = (int)rng_below(r, (uint64_t)(m - 1));
        if (j >= i) j++;
        char op = level == 1 ? '+' : "+-*/"[rng_below(r, 4)];
        long long a = pool[i], b = pool[j], v;
        if (op == '-' && a < b) { long long t = a; a = b; b = t; int ti = i; i = j; j = ti; }
        if (op == '/' && (b == 0 || a % b)) { long long t = a; a = b; b = t; int ti = i; i = j; j = ti; }
        switch (op) {
        case '+': v = a + b; break;
        case '-': v = a - b; break;
        case '*': v = a * b; break;
        default: v = b && a % b == 0 ? a / b : -1;
        }
        if (v <= 0 || v > 999 || (op == '/' && b == 1) || (op == '*' && (a == 1 || b == 1))) return -1;
        steps[k++] = (Step){a, b, v, op};
        int nn = expr_op(e, op, node[i], node[j]);
        /* replace i with the result, drop j */
        pool[i] = v;
        node[i] = nn;
        pool[j] = pool[m - 1];
        node[j] = node[m - 1];
        m--;
    }
    *root = node[0];
    return pool[0];
}

static void write_step(StrBuf *b, const Step *s, TaskLang lang) {
    if (lang == LANG_ZH) {
        zh_number(b, s->a);
        sb_append(b, op_word(s->op, LANG_ZH));
        zh_number(b, s->b);
        sb_append(b, "得");
        zh_number(b, s->v);
        sb_printf(b, "：%lld%c%lld=%lld。", s->a, s->op, s->b, s->v);
    } else {
        sb_printf(b, "%lld%c%lld=%lld. ", s->a, s->op, s->b, s->v);
    }
}

static void write_attempt(StrBuf *b, const Step *steps, int n, long long target, int success,
                          TaskLang lang) {
    sb_append(b, lang == LANG_ZH ? "试试：" : "Try: ");
    for (int i = 0; i < n; i++) write_step(b, &steps[i], lang);
    long long v = steps[n - 1].v;
    if (lang == LANG_ZH) {
        if (success) { sb_append(b, "正好是"); zh_number(b, target); sb_append(b, "。"); }
        else { zh_number(b, v); sb_append(b, "不是"); zh_number(b, target); sb_append(b, "。"); }
    } else {
        if (success) sb_printf(b, "That is %lld!", target);
        else sb_printf(b, "%lld is not %lld.", v, target);
    }
    sb_append(b, "\n");
}

void task_countdown(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p) {
    static const int N[6] = {0, 2, 2, 3, 3, 4};
    static const long long MAXV[6] = {0, 9, 12, 10, 25, 25};
    int L = o->level, n = N[L];
    long long nums[4], target;
    Step sol[3];
    Expr e;
    int root;
    for (int attempt = 0;; attempt++) {
        CHECK(attempt < 100000);
        for (int i = 0; i < n; i++) nums[i] = rng_range(prob, 1, MAXV[L]);
        target = combine(prob, nums, n, L, sol, &e, &root);
        if (target > 0) break;
    }
    StrBuf list = {0};
    for (int i = 0; i < n; i++) sb_printf(&list, "%s%lld", i ? (o->lang == LANG_ZH ? "、" : ", ") : "", nums[i]);
    if (o->lang == LANG_ZH) sb_printf(&p->prompt, "用 %s 凑出 %lld。", list.s, target);
    else sb_printf(&p->prompt, "Use %s to make %lld.", list.s, target);
    sb_printf(&p->reference, "countdown:%lld:", target);
    for (int i = 0; i < n; i++) sb_printf(&p->reference, "%s%lld", i ? "," : "", nums[i]);
    expr_print(&e, root, &p->final);

    /* the search: failed attempts first (drawn from the writer's stream) */
    if (o->lang == LANG_ZH) {
        sb_printf(&p->cot, "数字：%s，目标：", list.s);
        zh_number(&p->cot, target);
        sb_printf(&p->cot, "（%lld）。\n", target);
    } else {
        sb_printf(&p->cot, "Numbers: %s. Target: %lld.\n", list.s, target);
    }
    sb_append(&p->bad_cot, p->cot.s);
    int fails = L >= 3 ? (int)rng_below(write, 3) : (int)rng_below(write, 2);
    Step tr[3];
    Expr te;
    int troot;
    int wrote_fail = 0;
    for (int f = 0, tries = 0; f < fails && tries < 50; tries++) {
        long long v = combine(write, nums, n, L, tr, &te, &troot);
        if (v <= 0 || v == target) continue;
        write_attempt(&p->cot, tr, n - 1, target, 0, o->lang);
        f++;
    }
    write_attempt(&p->cot, sol, n - 1, target, 1, o->lang);
    if (o->lang == LANG_ZH) sb_printf(&p->cot, "所以 %s=%lld。", p->final.s, target);
    else sb_printf(&p->cot, "So %s=%lld.", p->final.s, target);
    char eq[128];
    snprintf(eq, sizeof eq, "%s=%lld", p->final.s, target);
    write_check(&p->cot, write, o, eq);

    /* flawed: a failed attempt claimed as the answer */
    for (int tries = 0; tries < 200 && !wrote_fail; tries++) {
        long long v = combine(bad, nums, n, L, tr, &te, &troot);
        if (v <= 0 || v == target) continue;
        sb_append(&p->bad_cot, o->lang == LANG_ZH ? "试试：" : "Try: ");
        for (int i = 0; i < n - 1; i++) write_step(&p->bad_cot, &tr[i], o->lang);
        expr_print(&te, troot, &p->bad_final);
        while (p->bad_cot.len && p->bad_cot.s[p->bad_cot.len - 1] == ' ') p->bad_cot.s[--p->bad_cot.len] = 0;
        if (o->lang == LANG_ZH) sb_printf(&p->bad_cot, "\n所以 %s。", p->bad_final.s);
        else sb_printf(&p->bad_cot, "\nSo %s.", p->bad_final.s);
        wrote_fail = 1;
    }
    if (!wrote_fail) {   /* every combination hits the target (e.g. 1 and 1 -> 2): drop a number */
        sb_append(&p->bad_cot, o->lang == LANG_ZH ? "用一个数就够了。" : "One number is enough.");
        sb_printf(&p->bad_final, "%lld", nums[0]);
    }
    sb_free(&list);
}
