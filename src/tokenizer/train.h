/* Training a byte-level BPE tokenizer, as Hugging Face `tokenizers` (BpeTrainer + ByteLevel)
 * does it:
 *   - the text is cut like DeepSeek-V3's tokenizer cuts it (the R1 special tokens split out, then
 *     the three V3 Split regexes), and the distinct pieces ("words") are counted;
 *   - the vocabulary starts with the special tokens (ids 0..S-1: BOS, EOS, pad, <｜User｜>,
 *     <｜Assistant｜>, <think>, </think>, <answer>, </answer>), then the 256 bytes in the order of
 *     their byte-level characters;
 *   - repeatedly the most frequent adjacent pair (summed over word counts) becomes a new token;
 *     ties go to the smallest (left id, right id), as in HF. Pair counts are updated
 *     incrementally (only the words containing the merged pair are touched), with a lazy max-heap.
 * Deterministic: the result depends only on the data and the options, not on the thread count
 * (word counts are sums over fixed 1 MiB chunks cut after a newline).
 *
 * Output: tokenizer.json (loadable here and by HF) and tokenizer_config.json beside it, with the
 * R1 chat template. */
#ifndef R1_TOKENIZER_TRAIN_H
#define R1_TOKENIZER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct TrainOpts {
    const char *const *files;   /* text files; each is read whole and cut into 1 MiB chunks */
    int n_files;
    uint32_t vocab_size;        /* total, specials and bytes included */
    uint64_t min_frequency;     /* a pair must occur at least this often to merge (>= 1) */
    int threads;                /* for counting words; 0 = all */
    int by_line;                /* pre-tokenize each line (ending kept) on its own, as HF's
                                 * train(files) does; default: whole 1 MiB chunks, as
                                 * train_from_iterator over documents (so "\n\n" can merge) */
    int verbose;                /* progress lines on stderr */
} TrainOpts;

typedef struct TrainStats {
    uint64_t bytes, words, distinct_words;
    uint32_t vocab_size, merges;
    double count_seconds, merge_seconds;
} TrainStats;

/* A pre_tokenizer object: Split (Isolated) steps with patterns[0..n), then ByteLevel without its
 * regex — DeepSeek-V3's (three regexes, as trained tokenizers write it), Qwen2's and Llama-3's
 * (one each). Caller deletes. */
struct cJSON *tokenizer_pre_split_json(const char *const *patterns, int n);
struct cJSON *tokenizer_pre_deepseek_v3_json(void);

/* Trains and writes out_path (tokenizer.json) and tokenizer_config.json in the same folder. */
int tokenizer_train(const TrainOpts *o, const char *out_path, TrainStats *st, Err *e);

/* The same on texts in memory (tests). */
int tokenizer_train_texts(const char *const *texts, const size_t *lens, int n, const TrainOpts *o,
                          const char *out_path, TrainStats *st, Err *e);

#endif
