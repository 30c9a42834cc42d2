/* Reflection in a chain of thought: does the model check its steps, and do its checks repair
 * slips? R1-Zero's "aha moment" is a policy that re-examines a step and corrects it; this measures
 * that on the built-in tasks, whose steps are integer equations written out ("7*3=21").
 *
 * Equation chains: maximal runs of digits, + - * / ( ) = and single spaces that hold an '='
 * ("7*3=21", "3x=26-5=21", "f(3)=2*3+1=7"). The run is split at '='; a part touching a letter
 * (the "3x" or "f(3)" above) or empty is skipped, the others are evaluated exactly (integers,
 * unary minus, exact division; an inexact division or an overflow leaves the part unevaluated).
 * A chain with two or more evaluated parts is true when they are all equal, else false; its
 * left side is the text of its first evaluated part ("26-5").
 *
 * Self-checks: a check starts at a marker — "wait", "check", "verify" (English words, any case) or
 * 等等, 检查, 验算, 验证 — and runs to the end of its line or the next marker ("Wait, check:"
 * is one check: a marker before the check's first chain joins it).
 *
 * Repair: a true chain inside a check whose left side restates (same text, spaces aside) the left
 * side of an earlier false chain not yet repaired, e.g. "21-7=13, so 12+13. Wait, check: 21-7=14,
 * not 13." The check changed a wrong intermediate result into the right one.
 *
 * The text is the chain of thought only (reflection_scan_completion cuts a completion at its first
 * </think>). Any bytes are safe: bounded work per byte, no allocation.
 */
#ifndef R1_RL_REFLECTION_H
#define R1_RL_REFLECTION_H

#include <stddef.h>

typedef struct Reflection {
    int chains;        /* evaluated equation chains */
    int false_chains;  /* of which false */
    int checks;        /* self-checks */
    int repairs;       /* checks that repaired at least one false chain */
    int unrepaired;    /* false chains no later check repaired */
} Reflection;

void reflection_scan(const char *cot, size_t n, Reflection *out);

/* The chain of thought of a completion: up to the first </think> (all of it without one), after
 * an opening <think> if there is one. */
void reflection_scan_completion(const char *completion, size_t n, Reflection *out);

#endif
