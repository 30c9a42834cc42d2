/* Small integer expression trees for the arith and countdown tasks: build, evaluate exactly,
 * print with the fewest parentheses that keep the tree's meaning, and reduce one operation at a
 * time (the chain-of-thought order: leftmost operation whose operands are both numbers). */
#ifndef R1_TASKS_EXPR_H
#define R1_TASKS_EXPR_H

#include "base/strbuf.h"

#define EXPR_MAX_NODES 32

typedef struct ExprNode {
    char op;          /* 0 for a number, else + - * / */
    long long v;      /* the number (leaves) */
    int l, r;         /* children (ops) */
} ExprNode;

typedef struct Expr {
    ExprNode n[EXPR_MAX_NODES];
    int count;
    int root;
} Expr;

int expr_leaf(Expr *e, long long v);
int expr_op(Expr *e, char op, int l, int r);

/* Exact integer value of node i; returns 0 and *out, or -1 if a division is inexact or by zero,
 * a value leaves [lo, hi], or a product of two numbers both > max_factor_b with the smaller
 * > max_factor_a (so a level can bound how hard each multiplication is). */
typedef struct ExprLimits {
    long long lo, hi;
    long long max_small_factor;   /* the smaller factor of any product is at most this */
    long long max_big_factor;     /* the larger at most this */
} ExprLimits;
int expr_eval(const Expr *e, int i, const ExprLimits *lim, long long *out);

/* Appends node i as text (ASCII + - * /) with minimal parentheses. */
void expr_print(const Expr *e, int i, StrBuf *b);

/* The next node to reduce under node i: the leftmost op whose children are both leaves; -1 if i
 * is a leaf. */
int expr_next(const Expr *e, int i);

#endif
