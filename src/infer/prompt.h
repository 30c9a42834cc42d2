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

/* The completion text of an output: the generated ids decoded (special tokens kept as text,
 * except a final stop id, which is dropped), cut before the stop string when one ended it. */
int prompt_completion_text(const Tokenizer *tok, const GenOutput *o, StrBuf *out, Err *e);

#endif
