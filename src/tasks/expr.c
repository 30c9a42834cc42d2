/* Integer expression trees for the arithmetic tasks. See expr.h. */
#include "tasks/expr.h"

#include "base/error.h"

int expr_leaf(Expr *e, long long v) {
    CHECK(e->count < EXPR_MAX_NODES);
    e->n[e->count] = (ExprNode){0, v, -1, -1};
    return e->count++;
}

int expr_op(Expr *e, char op, int l, int r) {
    CHECK(e->count < EXPR_MAX_NODES);
    e->n[e->count] = (ExprNode){op, 0, l, r};
    return e->count++;
}

int expr_eval(const Expr *e, int i, const ExprLimits *lim, long long *out) {
    const ExprNode *n = &e->n[i];
    if (!n->op) { *out = n->v; return 0; }
    long long a, b, v;
    if (expr_eval(e, n->l, lim, &a) || expr_eval(e, n->r, lim, &b)) return -1;
    switch (n->op) {
    case '+': v = a + b; break;
    case '-': v = a - b; break;
    case '*': {
        long long lo = a < b ? a : b, hi = a < b ? b : a;
        if (lo < 0) lo = -lo;
        if (hi < 0) hi = -hi;
        if (lo > hi) { long long t = lo; lo = hi; hi = t; }
        if (lo > lim->max_small_factor || hi > lim->max_big_factor) return -1;
        v = a * b;
        break;
    }
    default:
        if (b == 0 || a % b) return -1;
        v = a / b;
    }
    if (v < lim->lo || v > lim->hi) return -1;
    *out = v;
    return 0;
}

static int prec(char op) { return op == '+' || op == '-' ? 1 : op ? 2 : 3; }

void expr_print(const Expr *e, int i, StrBuf *b) {
    const ExprNode *n = &e->n[i];
    if (!n->op) {
        if (n->v < 0) sb_printf(b, "(%lld)", n->v);
        else sb_printf(b, "%lld", n->v);
        return;
    }
    int p = prec(n->op), pl = prec(e->n[n->l].op), pr = prec(e->n[n->r].op);
    int lpar = pl < p, rpar = pr < p || (pr == p && e->n[n->r].op);
    if (lpar) sb_append(b, "(");
    expr_print(e, n->l, b);
    if (lpar) sb_append(b, ")");
    sb_printf(b, "%c", n->op);
    if (rpar) sb_append(b, "(");
    expr_print(e, n->r, b);
    if (rpar) sb_append(b, ")");
}

int expr_next(const Expr *e, int i) {
    const ExprNode *n = &e->n[i];
    if (!n->op) return -1;
    if (!e->n[n->l].op && !e->n[n->r].op) return i;
    int k = expr_next(e, n->l);
    return k >= 0 ? k : expr_next(e, n->r);
}
