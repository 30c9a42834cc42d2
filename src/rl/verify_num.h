/* Exact numbers for answer checking: values of the form (n/d)·√r with 64-bit integers.
 *
 * A reward that accepts a wrong answer teaches the policy to cheat, so nothing here is floating
 * point: every operation is exact, every overflow is detected (and makes the parse fail, which the
 * caller turns into a reject), and input size never matters for safety (a 1000-digit number or
 * 2^{64} simply does not fit here and is read as an exact long decimal instead, see verify_big.h).
 *
 * Two parsers over the same value type:
 *  - num_parse_answer: the closed forms a final answer may take after normalisation (verify.c):
 *    integers, decimals, a/b, \frac{a}{b} (\frac12 = \frac{1}{2}), powers with integer exponents
 *    (2^{10}, 2^10), scientific notation (1e3, 1.5E-2, 1.5\times10^{3}, 2\cdot10^4, 3*10^4),
 *    square roots (\sqrt{12} = 2\sqrt{3}; \sqrt3 = \sqrt{3}; as in LaTeX \sqrt51 is \sqrt{5}·1),
 *    exact higher roots (\sqrt[3]{8} = 2; \sqrt[3]{2} has no value here), a leading sign, a
 *    coefficient before a root. No binary + or -, and no * or \times other than the "\times10^"
 *    (also \cdot10^, *10^) of scientific notation: "3+4" is not a closed answer, it is the question.
 *  - num_eval_countdown: the countdown game's arithmetic (+ - * / and parentheses over positive
 *    integer literals), collecting the literals used.
 */
#ifndef R1_RL_VERIFY_NUM_H
#define R1_RL_VERIFY_NUM_H

#include <stddef.h>
#include <stdint.h>

typedef struct NumVal {
    int64_t n;    /* numerator, sign carried here */
    int64_t d;    /* denominator > 0, gcd(n, d) = 1 */
    int64_t r;    /* square-free radicand >= 1 (1 = rational); n == 0 implies r == 1 */
} NumVal;

/* Operations return 0 on success, -1 on overflow / division by zero / unrepresentable. */
int num_make(int64_t n, int64_t d, int64_t r, NumVal *out);
int num_mul(NumVal a, NumVal b, NumVal *out);
int num_div(NumVal a, NumVal b, NumVal *out);
int num_add(NumVal a, NumVal b, NumVal *out);   /* only when a.r == b.r (or one is 0) */
int num_sub(NumVal a, NumVal b, NumVal *out);
int num_pow(NumVal a, int64_t e, NumVal *out);  /* |e| <= 256; 0^0 and 0^{-k} fail */
int num_sqrt(NumVal a, NumVal *out);            /* a rational, >= 0 */
int num_root(NumVal a, int64_t k, NumVal *out); /* k-th root, 2 <= k <= 64, of a rational that is
                                                   a k-th power (sign kept for odd k); else -1 */
int num_eq(NumVal a, NumVal b);

/* How an answer is written, for the rule that a plain reference (42, 0.5) takes only evaluated
 * answers: a bare literal, or a form that is how one writes a number rather than a question
 * about it — scientific notation, a power of an integer, a fraction in lowest terms with a
 * denominator above 1. "84/2", "\frac{2}{4}", "\sqrt{4}" and "6\times7" are OTHER. */
typedef enum NumForm {
    NUM_FORM_OTHER,       /* any other closed form */
    NUM_FORM_PLAIN,       /* [+-]? digits (. digits)? */
    NUM_FORM_EVALUATED,   /* 1e3, 1.5\times10^{3}, 2^{10}, (-2)^3, 1/2, -\frac{3}{4}, \frac12 */
} NumForm;

/* Parses the whole of s[0..n) (already normalised: no spaces) as a closed-form answer; *form
 * says how it is written. Returns 0 on success, -1 otherwise (including overflow). */
int num_parse_answer(const char *s, size_t n, NumVal *out, NumForm *form);

/* Countdown: evaluates s[0..n) made of positive integer literals, + - * / (also × ÷ \times \div
 * \cdot), parentheses and spaces. Literals are appended to used[] (at most max_used; more is an
 * error). Division is exact rational division; a zero divisor, an overflow, unary minus, nesting
 * deeper than 64 or any other character is an error (-1). */
int num_eval_countdown(const char *s, size_t n, NumVal *out, int64_t *used, int max_used,
                       int *n_used);

#endif
