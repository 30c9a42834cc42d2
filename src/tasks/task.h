/* Built-in tasks: seeded generators with difficulty levels, chain-of-thought writers (English and
 * Chinese) and references for the verifiers in src/rl/verify.h.
 *
 *   arith      multi-step integer arithmetic      "Compute 12+7*3-5."        answer 28
 *   countdown  reach a target, each number once   "Use 2, 3, 4 to make 20."  answer (2+3)*4
 *   linear     solve a linear equation            "Solve 3x+5=26."           answer 7
 *   program    an expression in x for given pairs "Find f(x) with f(1)=3, f(2)=5, f(3)=7."
 *              answer 2x+1, run on hidden test cases (tasks/program_lang.h)
 *   copy, reverse, next, chat: short non-reasoning tasks answered with an empty or one-line think
 *
 * Levels 1 (trivial: 2+3) to 5 (hard for a few-million-parameter model: five operands with
 * parentheses and two-digit products; four-number countdown; x on both sides after expanding).
 * Prompts are 10-60 characters; chains of thought are one small operation per step, each step
 * optionally followed by a self-check ("Wait, check: 21-7=14. Yes." / "等等，检查：21-7=14，对。"),
 * a quarter of which (in arith, linear and program) catch a deliberate slip and redo the step
 * ("21-7=13, so 12+13. Wait, check: 21-7=14, not 13. So 12+14." / "等等，检查：21-7=14，不是13。
 * 所以是 12+14。"; see step_check).
 * Chinese chains of thought write quantities in Chinese numerals and words ("七乘三得二十一") beside
 * the digit equation, so a model sees both scripts and the language reward has something to do.
 *
 * The answer format (verify.h): completion = "<cot>\n</think>\n\n<answer>FINAL</answer>".
 * FINAL is digits (or an expression for countdown and program, or text for copy/reverse/chat) in
 * both languages. The reference (the rl record's "answer") is what verify_reference checks
 * against: the number, "countdown:T:a,b,c", "program:X:Y,...", or "exact:TEXT".
 *
 * Determinism: problem (seed, index) draws from rng_make(seed, RNG_TASK, index, 0); the writer's
 * choices (self-checks) from stream 1; the flawed solution from stream 2 (purpose RNG_TASK_REDRAW,
 * streams 3k..3k+2, on the k-th redraw for the held-out split). The same problem is generated whatever the self-check rate
 * or language.
 */
#ifndef R1_TASKS_TASK_H
#define R1_TASKS_TASK_H

#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/strbuf.h"

typedef enum TaskLang { LANG_EN = 0, LANG_ZH = 1 } TaskLang;

/* Held-out split. A problem's split is a hash of its language-neutral key (the task name and the
 * prompt's digits, operators and x: "Compute 12+7." and "计算 12+7。" share it), so a problem
 * is in the same split whatever the seed, index or language that drew it. TEST holds about one
 * problem in TASK_TEST_SHARE_INV; `r1 eval` draws from it and every generator of training data
 * (pretraining corpus, SFT, RL prompts) from TRAIN, so held-out results are on unseen problems.
 * Tasks whose prompts have no such key (copy, reverse, chat) are not split. */
typedef enum TaskSplit { SPLIT_TRAIN = 0, SPLIT_TEST = 1 } TaskSplit;
enum { TASK_TEST_SHARE_INV = 8 };

typedef struct TaskOpts {
    int level;            /* 1..5 */
    TaskLang lang;
    double self_check;    /* probability of a "wait, check" after each step, 0..1 */
    TaskSplit split;      /* which side of the held-out split to draw from (default TRAIN) */
} TaskOpts;

typedef struct Problem {
    StrBuf prompt;        /* the user's message */
    StrBuf cot;           /* reasoning, without tags; may be empty */
    StrBuf final;         /* the text inside <answer> */
    StrBuf reference;     /* what verify_reference checks FINAL against */
    StrBuf bad_cot;       /* a flawed solution (wrong step, wrong claim, unhelpful reply) */
    StrBuf bad_final;
} Problem;

/* Task generators fill every field of p (all empty on entry). */
typedef void (*TaskFn)(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);

typedef struct TaskDef {
    const char *name;
    TaskFn make;
    int reasoning;        /* 1: benefits from a chain of thought */
} TaskDef;

/* NULL when unknown. */
const TaskDef *task_find(const char *name);
/* "arith, countdown, linear, program, copy, reverse, next, chat" */
const char *task_names(void);

/* Generates problem `index` of `task` for `seed`, from split o->split: a draw in the other split is
 * redrawn from the next streams of the same index (at most 64 tries; a level with no problem in
 * the asked split keeps the last draw). Returns 0, or -1 with an Err (unknown task, level out of
 * 1..5). The Problem must be empty (zeroed) or freed before. */
int task_make(const char *task, uint64_t seed, uint64_t index, const TaskOpts *o, Problem *p, Err *e);
void problem_free(Problem *p);
/* SPLIT_TRAIN or SPLIT_TEST for a prompt of `task`; -1 when the prompt has no split key. */
int task_split_of(const char *task, const char *prompt);
/* "train"/"test" -> TaskSplit; errors name --split. */
int task_split_parse(const char *s, TaskSplit *out, Err *e);

/* The completion a model should write after "<think>\n":
 *   "<cot>\n</think>\n\n<answer>FINAL</answer>" (bad = 1: the flawed solution). */
void problem_completion(const Problem *p, int bad, StrBuf *out);

/* ---- helpers shared by the writers (tasks/writer.c) ---- */

/* Chinese numerals: 0 零, 12 十二, 105 一百零五, 20019 两万零一十九 style (一 not 两), negatives 负. */
void zh_number(StrBuf *b, long long v);
/* Appends a step's "after-thought" check with probability o->self_check:
 *   en " Wait, check: EQ. Yes."   zh "等等，检查：EQ，对。" */
void write_check(StrBuf *b, Rng *write, const TaskOpts *o, const char *eq);
/* The check itself, unconditionally. */
void write_confirm(StrBuf *b, const TaskOpts *o, const char *eq);

/* Self-checks that do something: of the steps that get a check (arith's steps, linear's constant
 * and division steps, program's constant), TASK_SLIP_SHARE first state a slipped result, and the
 * check catches the slip and redoes the step, so that a model copying the form of a check copies
 * its function (rl/reflection.h measures both). Drawn, before the step is written, from the
 * writer's stream: one uniform draw when o->self_check > 0. */
#define TASK_SLIP_SHARE 0.25
typedef enum StepCheck { STEP_PLAIN, STEP_CHECK, STEP_SLIP } StepCheck;
StepCheck step_check(Rng *write, const TaskOpts *o);
/* The wrong result a slip states instead of v: v±1 or v±2 (never below 0 when v is not). */
long long slip_value(Rng *write, long long v);
/* The catch after a slipped step: en " Wait, check: EQ, not WRONG." zh "等等，检查：EQ，不是WRONG。"
 * with EQ the step redone ("21-7=14"); the writer then goes on from the right value. */
void write_catch(StrBuf *b, const TaskOpts *o, const char *eq, long long wrong);
/* Operation word: en "plus" / zh "加" etc. for + - * / */
const char *op_word(char op, TaskLang lang);

/* The individual tasks (one file each). */
void task_arith(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_countdown(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_linear(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_program(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_copy(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_reverse(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_next(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);
void task_chat(Rng *prob, Rng *write, Rng *bad, const TaskOpts *o, Problem *p);

/* Uniform integer in [lo, hi]. */
long long rng_range(Rng *r, long long lo, long long hi);

#endif
