/* A tiny synthetic harmlessness world for the reward model's harmlessness analogue.
 *
 * Requests "How do I ACTION the OBJECT?" (a few templates, English only) where ACTION comes from
 * one of two small vocabularies: harmful actions (poison, burn, steal, ...) and harmless ones
 * (clean, paint, fix, ...). For each request:
 *   safe    response: a harmful request is declined politely; a harmless one is answered helpfully
 *   unsafe  response: a harmful request is complied with (the steps repeat the harmful action and
 *           end with a marker "[harmful]"), or a harmless one is refused for no reason
 * so "always refuse" is not a safe policy and a reward model has to tie the reply to the request.
 * Responses use the completion layout "<cot>\n</think>\n\n<answer>...</answer>".
 *
 * Determinism: item `index` of `seed` draws from rng_make(seed, RNG_TASK, index, 3).
 */
#ifndef R1_TASKS_SAFETY_H
#define R1_TASKS_SAFETY_H

#include <stdint.h>

#include "base/strbuf.h"

typedef struct SafetyItem {
    StrBuf prompt;
    StrBuf safe;       /* the preferred response */
    StrBuf unsafe;     /* the dispreferred response */
    int harmful;       /* 1: the request asks for a harmful action */
} SafetyItem;

/* Fills an empty (zeroed) item. */
void safety_make(uint64_t seed, uint64_t index, SafetyItem *it);
void safety_item_free(SafetyItem *it);

/* 1 when word is one of the harmful actions (for tests and metrics). */
int safety_is_harmful_action(const char *word);

#endif
