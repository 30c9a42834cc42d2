/* One record of completions someone already has, as `r1 score` reads them: the completion, the
 * reference answer and the prompt, each under a key the user names. A field is a string, or a
 * chat array whose last message's "content" is taken; the answer may also be a number
 * (integers print without a decimal point, other values with 17 significant digits). */
#ifndef R1_RL_SCORE_RECORD_H
#define R1_RL_SCORE_RECORD_H

#include <cJSON.h>

#include "base/error.h"

typedef struct ScoreRecord {
    const char *completion, *answer;   /* into the record, or answer = num */
    const char *prompt;                /* "" when absent */
    char num[64];
} ScoreRecord;

/* Fills r from rec. -1 with "key 'K': missing", "key 'K': not a string" or, for an answer that
 * is a malformed typed reference, verify_reference_check's message (the caller adds file:line). */
int score_record_read(const cJSON *rec, const char *completion_key, const char *answer_key,
                      const char *prompt_key, ScoreRecord *r, Err *e);

#endif
