/* Prompt text -> token ids for generation, and generated ids -> text, shared by r1 generate,
 * r1 chat and the RL rollouts.
 *
 * Chat prompts are rendered in the tokenizer's chat format (tokenizer/chat.h, R1 or R1-Distill:
 * BOS, system text, <｜User｜>..., generation prompt <｜Assistant｜><think>\n) and then encoded
 * (the special and role tokens are added tokens, matched before pre-tokenisation). Raw prompts
 * are BOS + the text.
 */
#ifndef R1_INFER_PROMPT_H
#define R1_INFER_PROMPT_H

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "infer/generate.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

/* Appends the ids of the rendered conversation (with the generation prompt) to *ids (malloc'ed
 * int array, *n entries; the caller frees). */
int prompt_encode_chat(Tokenizer *tok, const ChatMessage *msgs, int n_msgs, int **ids, int *n, Err *e);
/* BOS (when the tokenizer has one) + text. */
int prompt_encode_raw(Tokenizer *tok, const char *text, int **ids, int *n, Err *e);

/* A prompt of `r1 generate --prompts`: the text the output record repeats, and its ids. */
typedef struct PromptRec {
    char *text;         /* the prompt string, or the messages array's JSON */
    int *ids;           /* [n] malloc'ed */
    int n;
} PromptRec;

/* One JSONL record -> *p: {"prompt": "..."} (a user message, or BOS + the text when raw) or
 * {"messages": [{"role": ..., "content": ...}, ...]} (rendered with the generation prompt).
 * Errors are prefixed with `where` (e.g. "file.jsonl:3"). On error p may hold allocations:
 * prompt_recs_free frees them. */
int prompt_from_record(Tokenizer *tok, const cJSON *rec, int raw, PromptRec *p, const char *where, Err *e);
/* Every non-blank line of a JSONL file (at least one): *out (n_out entries) for
 * prompt_recs_free. Errors name file:line. */
int prompt_read_jsonl(const char *path, Tokenizer *tok, int raw, PromptRec **out, int *n_out, Err *e);
void prompt_recs_free(PromptRec *p, int n);

/* The completion text of an output: the generated ids decoded (special tokens kept as text,
 * except a final stop id, which is dropped), cut before the stop string when one ended it. */
int prompt_completion_text(const Tokenizer *tok, const GenOutput *o, StrBuf *out, Err *e);

#endif
