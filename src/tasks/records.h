/* Dataset records from built-in task problems, in the ecosystem's JSONL shapes:
 *   pretrain  {"text": PROMPT "\n<think>\n" COT "\n</think>\n\n<answer>" FINAL "</answer>"}
 *   sft       {"messages": [{"role":"user","content":PROMPT},
 *                           {"role":"assistant","content":"<think>\n" COT "\n</think>\n\n<answer>..</answer>"}]}
 *   rl        {"prompt", "answer" (the verifier reference), "task", "level", "lang"}
 *   prefs     {"prompt", "chosen", "rejected"}: chosen is the worked solution; rejected is, by a
 *             seeded draw, the flawed solution (a slip, a wrong claim, a rude or harmful-compliant
 *             reply) or, for reasoning tasks, a correct solution in the other language, or a bare
 *             answer without the think/answer format. What a small reward model can learn:
 *             correctness, the prompt's language, the format, politeness.
 */
#ifndef R1_TASKS_RECORDS_H
#define R1_TASKS_RECORDS_H

#include <cJSON.h>

#include "tasks/task.h"

typedef enum RecordFormat { REC_PRETRAIN, REC_SFT, REC_RL, REC_PREFS } RecordFormat;

/* -1 when unknown. */
int record_format_parse(const char *s);

typedef struct RecordSpec {
    const char *task;
    int level;
    TaskLang lang;
    double self_check;
    double cot_share;       /* pretrain/sft: probability of writing the chain of thought (else an
                               empty think block with the answer), for R1-Zero style experiments */
    double mix_cot;         /* pretrain/sft: probability that the chain of thought switches to the
                               other language from a random line on (R1-Zero's language mixing,
                               for the language reward to remove) */
    RecordFormat format;
    TaskSplit split;        /* held-out split the problems come from (TRAIN unless set) */
} RecordSpec;

/* Builds record `index` for seed; caller frees with cJSON_Delete. NULL + Err on a bad spec. */
cJSON *record_make(const RecordSpec *spec, uint64_t seed, uint64_t index, Err *e);

#endif
