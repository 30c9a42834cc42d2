/* Answer extraction and equivalence: is this completion's final answer the reference answer?
 *
 * The answer format of the built-in tasks (and what the format reward checks, see rewards.h):
 *
 *     <reasoning>\n</think>\n\n<answer>ANSWER</answer>
 *
 * i.e. the R1 chat template opens the think block in the prompt ("<｜Assistant｜><think>\n"), the
 * completion closes it and gives the answer in <answer> tags, as in the R1-Zero training template.
 *
 * Extraction (verify_extract), looking only after the last </think> when there is one:
 *   1. the last <answer>…</answer> (a \boxed{} inside it wins);
 *   2. else the last \boxed{…} or \fbox{…} (nested braces, \{ \} escapes; unbalanced = none);
 *   3. else GSM8K's "#### n" (rest of that line);
 *   4. else, only with VERIFY_LAST_NUMBER, the last number in the text.
 *
 * Equivalence (verify_equiv) after normalisation (spaces, \left/\right, \text{}, \mathrm{},
 * \dfrac/\tfrac/\cfrac, \lbrace/\rbrace, degrees, $ € £ and \%, unit words after a number,
 * thousands separators (1,000 / 1{,}000 / 1\,000 / 1 000), "x = " prefixes, braces, an answer that
 * is one \boxed{}, superscript exponents (10³, cm²), +\infty, × · ∞ √ − spelled as commands):
 * exact rational/radical values (integers, decimals, a/b, \frac, \frac12, 2^{10}, 2^10, (-2)^3,
 * 1e3, 1.5\times10^{3}, 3\cdot10^4, 3*10^4, \sqrt{12} = 2\sqrt{3}, \sqrt[3]{8} = 2,
 * \sqrt51 = \sqrt{5}·1 as LaTeX reads it; 1\frac12, a mixed number to people and a product to
 * LaTeX, has no value), values past 64 bits as exact long decimals (2^{64},
 * 6.02\times10^{23}, 1e400; verify_big.h), tuples and intervals element-wise with the same
 * brackets, sets, bare lists and \cup unions as multisets, and anything else as equal normalised
 * strings. Nothing is compared in floating point: 1/3 is not 0.333, and a power too large to
 * expand (2^{100000}) is rejected, never estimated. Two units that differ ("18 cm", "18 m") are
 * not equal; a unit on one side only is dropped; a word that is not a known unit stays ("5 apples"
 * is not 5: "5 dozen", "5 million" or "5 pi" would be).
 * One rule guards against reward hacking: when the reference is a plain literal (42, 0.5) the
 * prediction must be a plain literal or an evaluated form of one (1e3, 2^{10}, a fraction in
 * lowest terms such as 1/2; verify_num.h), so "84/2", "\frac{2}{4}", "\sqrt{4}" or "6*7" never
 * earns the reward for 42, 0.5 or 2 (the model would learn to copy the question); a reference
 * written \sqrt{4} takes 2. A percent reference (28\%) takes 28, 28%, "28 percent"; 0.28 is a
 * different answer.
 *
 * Typed references (verify_reference) let datasets carry answers that are not one value:
 *   "countdown:T:a,b,c"  an expression using each of a, b, c exactly once that equals T
 *                        (exact rationals, any division exact, optional trailing "= T");
 *   "program:X:Y,X:Y"    an expression in x (tasks/program_lang.h) that maps every X to its Y,
 *                        run in-process on these test cases (some of them hidden from the prompt);
 *   "exact:TEXT"         the answer must equal TEXT byte for byte after trimming whitespace;
 *   anything else        a math reference: its own "#### n", \boxed{} or <answer> if present,
 *                        else the whole string, compared with verify_equiv.
 *
 * Every function is total: any bytes (invalid UTF-8, 1 MB, unbalanced braces, 1000-digit numbers,
 * division by zero) give an answer, never a crash; answers longer than VERIFY_MAX_ANSWER bytes are
 * rejected. No allocation: work buffers live on the stack.
 */
#ifndef R1_RL_VERIFY_H
#define R1_RL_VERIFY_H

#include <stddef.h>

#include "base/error.h"

#define VERIFY_MAX_ANSWER 4096

enum {
    VERIFY_ANSWER_TAG = 1,
    VERIFY_BOXED = 2,
    VERIFY_GSM8K = 4,
    VERIFY_LAST_NUMBER = 8,
    VERIFY_DEFAULT = VERIFY_ANSWER_TAG | VERIFY_BOXED | VERIFY_GSM8K,
};

typedef struct Span {
    const char *p;
    size_t n;
} Span;

/* Finds the final answer in text[0..n). Returns 1 and the span (pointing into text), or 0. */
int verify_extract(const char *text, size_t n, int flags, Span *out);

/* Content of the balanced {...} starting at text[i] == '{' (escaped \{ \} do not count).
 * Returns 1 and the inner span, 0 when unbalanced. */
int verify_braced(const char *text, size_t n, size_t i, Span *inner);

/* Normalises s[0..n) into out (capacity cap, NUL-terminated). Returns the length, or -1 when the
 * input is too long. */
int verify_normalize(const char *s, size_t n, char *out, size_t cap);

/* 1 when the two answers are equivalent (see above), else 0. Inputs are raw answer strings. */
int verify_equiv(const char *pred, size_t pred_n, const char *gold, size_t gold_n);

/* Countdown: 1 when expr uses each of nums[0..n_nums) exactly once and equals target. */
int verify_countdown(const char *expr, size_t n, long long target, const long long *nums,
                     int n_nums);

/* Checks an extracted answer against a (possibly typed) reference; 1 correct, 0 not. */
int verify_reference(const char *pred, size_t pred_n, const char *ref, size_t ref_n);

/* NULL when ref is well formed, else what is wrong with it: a "countdown:" or "program:"
 * reference that does not parse (no answer could ever be accepted), or a program reference that
 * maps one x to two values. Math and "exact:" references are always well formed. */
const char *verify_reference_problem(const char *ref, size_t ref_n);

/* 0 when ref is well formed, else -1 with "key 'KEY': 'REF' is <problem>" (REF cut to 60 bytes at
 * a character boundary; the caller adds file:line). */
int verify_reference_check(const char *ref, const char *key, Err *e);

/* The answer of a math reference string (its "#### n", boxed or <answer> part, else all of it). */
Span verify_reference_answer(const char *ref, size_t ref_n);

/* Whole check: extract from the completion (flags) and compare with the reference. */
int verify_completion(const char *completion, size_t n, const char *ref, size_t ref_n, int flags);

#endif
