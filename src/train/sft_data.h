/* SFT data: chat records -> token sequences with a prompt/completion split, and packing of those
 * examples into fixed-length training rows with the loss on completion tokens only.
 *
 * A record (one JSONL line) is {"messages":[...]} (the last message is the assistant's answer),
 * or {"prompt","completion"} (a user prompt and the answer). It becomes
 *     prompt     = chat_render(messages[:-1], add_generation_prompt)   ends "<｜Assistant｜><think>\n"
 *     completion = last assistant content, minus a leading "<think>\n" (the prompt has it), + EOS
 * tokens = prompt ids ++ completion ids; n_prompt = number of prompt ids. An example longer than
 * seq_len is truncated to seq_len (counted) or dropped (drop_long); one whose prompt leaves no
 * completion token inside seq_len is dropped (counted).
 *
 * Packing (SftBatcher): a row of T positions takes whole examples in epoch order while they fit,
 * then is padded; a row never spans two epochs. For row position i holding token x_i of example k:
 *     targets[i] = x_{i+1}  when i+1 is in the same example and is a completion token
 *     targets[i] = -1       otherwise (prompt tokens, the last token of an example, padding)
 * so the loss covers exactly the completion tokens, EOS included, and never crosses examples.
 * The epoch order is a Philox shuffle keyed (seed, RNG_DATA, epoch): the cursor (epoch, pos) is
 * the whole data state a checkpoint needs.
 */
#ifndef R1_TRAIN_SFT_DATA_H
#define R1_TRAIN_SFT_DATA_H

#include <stdint.h>
#include <cJSON.h>
#include "base/error.h"
#include "tokenizer/tokenizer.h"

typedef struct SftExample {
    int *tok;           /* [n] owned by the set */
    int n;              /* tokens (<= seq_len) */
    int n_prompt;       /* leading prompt tokens (no loss on predicting them) */
} SftExample;

typedef struct SftSet {
    SftExample *ex;     /* [n] */
    int n, cap;
    int64_t truncated;  /* examples cut to seq_len */
    int64_t dropped;    /* examples dropped (too long with drop_long, or no completion left) */
} SftSet;

typedef struct SftDataOptions {
    int seq_len;        /* T of the training rows */
    int drop_long;      /* 1: drop examples longer than seq_len instead of truncating them */
} SftDataOptions;

void sft_set_free(SftSet *s);

/* Adds one record. `where` (e.g. "file.jsonl:12") prefixes errors. */
int sft_add_record(SftSet *s, Tokenizer *tok, const cJSON *rec, const SftDataOptions *o,
                   const char *where, Err *e);
/* Every line of a JSONL file (blank lines skipped); errors name file:line. */
int sft_load_jsonl(SftSet *s, Tokenizer *tok, const char *path, const SftDataOptions *o, Err *e);
/* n records of the built-in tasks (comma-separated list, taken in turn) at `level`, in SFT
 * format (tasks/records.h), seeded. */
int sft_load_tasks(SftSet *s, Tokenizer *tok, const char *tasks, int level, int64_t n,
                   uint64_t seed, const SftDataOptions *o, Err *e);

/* Splits s into train and held-out sets: a seeded shuffle puts round(frac·n) examples (at least
 * 1 when frac > 0 and n >= 2) into val. The examples move; s is left empty. */
void sft_split(SftSet *s, double frac, uint64_t seed, SftSet *train, SftSet *val);

typedef struct SftBatcher {
    const SftSet *set;  /* not owned */
    uint64_t seed;
    int shuffle;        /* 0: file order every epoch (held-out evaluation) */
    int64_t epoch, pos; /* cursor: next example is order[pos] of epoch */
    uint32_t *order;    /* [set->n] order of `order_epoch` */
    int64_t order_epoch;
} SftBatcher;

void sft_batcher_init(SftBatcher *b, const SftSet *set, uint64_t seed, int shuffle);
void sft_batcher_free(SftBatcher *b);
/* Fills one row: tokens [T], targets [T] as above; pad fills unused positions. Returns the
 * number of loss positions. Advances the cursor (to the next epoch at the end of one). */
int sft_batcher_row(SftBatcher *b, int T, int pad, int *tokens, int *targets);
/* Rows one pass over the set in file order takes at length T (for steps from epochs). */
int64_t sft_rows_per_epoch(const SftSet *set, int T);

#endif
