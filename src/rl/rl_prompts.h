/* Where RL prompts come from, and how they are shown to the policy.
 *
 * A PromptSource yields (question, reference) pairs by index, deterministically: either the
 * built-in task generators (tasks/task.h: task `index mod n_tasks`, level drawn from a range,
 * problem (seed, index)) or a JSONL file of {"prompt", "answer"} records (GSM8K's
 * {"question", "answer": "... #### n"} and MATH's {"problem", "solution": "... \boxed{x}"} or
 * {"problem", "answer"} too), record = a Philox draw keyed by (seed, index). So the
 * prompts of RL step s depend only on (seed, s), never on earlier steps: resume needs no cursor.
 *
 * Prompt formats:
 *   chat    the R1 chat template: BOS <｜User｜>question<｜Assistant｜><think>\n
 *   r1zero  the DeepSeek-R1-Zero paper's template (Table 1), as plain text after BOS:
 *           "A conversation between User and Assistant. ... User: question. Assistant:"
 *           the policy must open <think> itself.
 *   plain   "question\n": the layout of `r1 data make --format pretrain` documents, for a base model
 *           pretrained on them (a tiny base has never seen the paper's long template); the policy
 *           opens <think> itself, as under r1zero.
 */
#ifndef R1_RL_RL_PROMPTS_H
#define R1_RL_RL_PROMPTS_H

#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "tasks/task.h"

typedef enum PromptFormat { PROMPT_CHAT, PROMPT_R1ZERO, PROMPT_PLAIN } PromptFormat;
extern const char *const PROMPT_FORMAT_NAMES[];   /* indexed by PromptFormat, NULL-terminated */
int prompt_format_parse(const char *s, PromptFormat *out, Err *e);

typedef struct PromptSource {
    /* built-in tasks */
    char tasks[8][16];
    int n_tasks;
    int level_lo, level_hi;     /* inclusive, 1..5 */
    TaskLang lang;
    int mixed_lang;             /* 1: English or Chinese per prompt (drawn) */
    TaskSplit split;            /* held-out split drawn from (tasks/task.h); TRAIN unless set */
    /* JSONL records */
    char **questions, **references;   /* [n_records], owned */
    int n_records;
    uint64_t seed;
} PromptSource;

/* "arith,countdown" and a level range "1-3" (or "2"). Errors name the option (task, level, lang). */
int prompt_source_tasks(PromptSource *ps, const char *tasks, const char *levels, const char *lang,
                        uint64_t seed, Err *e);
/* Loads every record; a line without the fields is an error naming file:line. */
int prompt_source_file(PromptSource *ps, const char *path, uint64_t seed, Err *e);
/* The same from the file's text buf [n] (path names it in errors). */
int prompt_source_text(PromptSource *ps, const char *buf, size_t n, const char *path, uint64_t seed, Err *e);
void prompt_source_free(PromptSource *ps);
/* What the commands take: exactly one of a task list (with level and lang) or a data file. */
int prompt_source_open(PromptSource *ps, const char *task, const char *data, const char *levels,
                       const char *lang, uint64_t seed, Err *e);

/* The question and reference of prompt `index` (appended to the StrBufs). */
int prompt_source_get(const PromptSource *ps, uint64_t index, StrBuf *question, StrBuf *reference,
                      Err *e);

/* The same, also naming the task and level of the prompt ("data" and 0 for JSONL records). */
int prompt_source_get_meta(const PromptSource *ps, uint64_t index, StrBuf *question, StrBuf *reference,
                           const char **task, int *level, Err *e);

/* The text the policy continues (BOS not included: the tokenizer's BOS id is prepended). */
void prompt_render(PromptFormat f, const char *question, StrBuf *out);

#endif
