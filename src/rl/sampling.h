/* k completions for each of n prompts of a PromptSource, as text: the common first half of
 * `r1 eval` (score them) and `r1 sample` (filter them into SFT data). One continuous batch of n·k
 * sequences through the generation engine; sample j of prompt i uses the stream
 * (seed, first_index + i, j), so results do not depend on batch composition or threads. */
#ifndef R1_RL_SAMPLING_H
#define R1_RL_SAMPLING_H

#include <stdint.h>

#include "base/error.h"
#include "infer/generate.h"
#include "model/model.h"
#include "rl/rl_prompts.h"
#include "tokenizer/tokenizer.h"

typedef struct Completions {
    int n_prompts, k;
    char **question, **reference;   /* [n_prompts], owned */
    const char **task;              /* [n_prompts], static names */
    int *level;                     /* [n_prompts] */
    char **text;                    /* [n_prompts·k] completion text (final EOS dropped), owned */
    size_t *len;                    /* [n_prompts·k] bytes */
    long *n_tokens;                 /* [n_prompts·k] generated tokens */
    int *finish;                    /* [n_prompts·k] GenFinish */
} Completions;

/* go: from gen_options(..., tok) (stopping at the tokenizer's EOS), slots as wanted. */
int sample_completions(const Model *m, Tokenizer *tok, const PromptSource *ps, PromptFormat fmt,
                       uint64_t first_index, int n_prompts, int k, const GenOptions *go,
                       Completions *out, Err *e);
void completions_free(Completions *c);

#endif
