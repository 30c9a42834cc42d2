/* The language of the "program" task: one integer expression in x, written by the model and run
 * in-process on hidden test cases.
 *
 *   program := ["f(x)=" | "y="] sum
 *   sum     := term (("+" | "-") term)*
 *   term    := unary (("*" | "×" | "\cdot" | nothing before x or "(") unary)*   "2x", "3(x+1)"
 *   unary   := "-" unary | power                                  -x^2 is -(x^2)
 *   power   := atom [("^" | "**") exponent]                       exponent: digits, at most 16
 *   atom    := digits | "x" | "(" sum ")"
 *
 * Spaces anywhere between tokens; a trailing "." and enclosing "$...$" are ignored. Integers only,
 * no division, no loops: a program runs in one pass over at most PROG_MAX_OPS operations.
 * Bounds that make any text safe to run: at most PROG_MAX_LEN bytes, parentheses nested at most
 * PROG_MAX_DEPTH deep, literals below 10^12, and every intermediate value within
 * ±PROG_MAX_VALUE (a program that leaves the range, or overflows, fails on that input). Nothing is
 * allocated; compiling and running any bytes never crashes or hangs (fuzz/fuzz_program.c).
 *
 * References (what the task writes and verify_reference checks, verify.h):
 *   "program:X1:Y1,X2:Y2,..."   the program must map every Xi to Yi (the prompt shows some of the
 *                               pairs, the others are hidden test cases); at most PROG_MAX_CASES.
 */
#ifndef R1_TASKS_PROGRAM_LANG_H
#define R1_TASKS_PROGRAM_LANG_H

#include <stddef.h>

#define PROG_MAX_LEN 256
#define PROG_MAX_OPS 256
#define PROG_MAX_DEPTH 32
#define PROG_MAX_CASES 16
#define PROG_MAX_VALUE 1000000000000LL

typedef enum ProgOpKind { PROG_CONST, PROG_X, PROG_ADD, PROG_SUB, PROG_MUL, PROG_NEG, PROG_POW } ProgOpKind;

typedef struct ProgOp {
    ProgOpKind kind;
    long long v;          /* PROG_CONST: the literal; PROG_POW: the exponent */
} ProgOp;

/* A compiled program: operations in postfix order. */
typedef struct Program {
    ProgOp op[PROG_MAX_OPS];
    int n;
} Program;

/* Compiles src[0..n). Returns 0, or -1 when the text is not a program of the language. */
int prog_compile(const char *src, size_t n, Program *p);

/* Runs p at x. Returns 0 and *y, or -1 when a value leaves ±PROG_MAX_VALUE. */
int prog_run(const Program *p, long long x, long long *y);

/* Parses the cases of a reference "X1:Y1,X2:Y2,..." (after "program:"). Returns the number of
 * cases (1..PROG_MAX_CASES), or -1 when malformed. */
int prog_parse_cases(const char *s, size_t n, long long *xs, long long *ys);

/* 1 when src compiles and maps every case of the reference cases s[0..n) right, else 0. */
int prog_check(const char *src, size_t src_n, const char *cases, size_t cases_n);

#endif
