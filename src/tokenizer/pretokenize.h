/* Pre-tokenization: the chain of Hugging Face pre-tokenizers that cuts text into pieces before
 * BPE. Each step splits every piece the previous step produced (HF `Sequence` semantics), so a
 * regex never sees past the edges of its piece (a lookahead at a piece's end sees the end).
 *
 * Supported steps:
 *   Split {pattern: Regex|String, behavior, invert}  regexes run through PCRE2 in UTF mode with
 *          Unicode properties (PCRE2_UTF|PCRE2_UCP, JIT), compiled with PCRE2_MATCH_INVALID_UTF so
 *          invalid UTF-8 (lone surrogates, stray bytes, NUL) never matches and stays in the gaps.
 *          `\s`/`\S` are rewritten to the Oniguruma/HF set (\t-\r, U+0085, \p{Z}).
 *   ByteLevel {add_prefix_space, use_regex}          use_regex adds the GPT-2 split regex.
 *   Digits {individual_digits}                        as a Split on \p{Nd}+ (or \p{Nd}).
 * Behaviors: Isolated, Removed, MergedWithPrevious, MergedWithNext.
 *
 * Pieces are passed to a callback as (pointer, length) into the text or into scratch memory
 * (only when a prefix space was added); nothing is allocated per piece. */
#ifndef R1_TOKENIZER_PRETOKENIZE_H
#define R1_TOKENIZER_PRETOKENIZE_H

#include <stddef.h>

#include "base/error.h"

#define PRETOK_MAX_STEPS 8

typedef enum SplitBehavior {
    SPLIT_ISOLATED, SPLIT_REMOVED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT,
} SplitBehavior;

typedef struct PreTokStep {
    void *re;                  /* pcre2_code_8 *, or NULL for a prefix-space-only step */
    char *pattern;             /* owned: the pattern as given (before rewriting), or NULL */
    int is_regex;
    SplitBehavior behavior;
    int invert;
    int add_prefix_space;      /* ByteLevel: prepend ' ' to each piece not starting with one */
    int jit;                   /* compiled by PCRE2's JIT */
} PreTokStep;

typedef struct PreTok {
    PreTokStep steps[PRETOK_MAX_STEPS];
    int n;
} PreTok;

/* Per-thread matching state (match data per step, JIT stack, prefix buffers). */
typedef struct PreTokScratch PreTokScratch;

/* Appends a Split step. `pattern` is a regex (is_regex=1) or a literal string; `where` names the
 * JSON field for errors ("pre_tokenizer.pretokenizers[2].pattern"). */
int pretok_add_split(PreTok *pt, const char *pattern, size_t pattern_len, int is_regex,
                     SplitBehavior behavior, int invert, const char *where, Err *e);
/* Appends a ByteLevel step (prefix space and/or the GPT-2 regex). */
int pretok_add_bytelevel(PreTok *pt, int add_prefix_space, int use_regex, const char *where, Err *e);
void pretok_free(PreTok *pt);

PreTokScratch *pretok_scratch_new(const PreTok *pt);
void pretok_scratch_free(PreTokScratch *s);

typedef int (*PieceFn)(void *ctx, const char *piece, size_t n);
/* Runs every step over text[0..n) and calls fn for each final piece, in order. A non-zero return
 * from fn stops and is returned. -1 with an Err when PCRE2 reports a matching error. */
int pretok_run(const PreTok *pt, PreTokScratch *s, const char *text, size_t n, PieceFn fn,
               void *ctx, Err *e);

/* The pre-tokenizer regexes of DeepSeek-V3's tokenizer.json (§12.2 of the architecture notes),
 * in order; also what `r1 tokenizer train` uses by default. */
extern const char *const PRETOK_DEEPSEEK_V3[3];
extern const char *const PRETOK_GPT2;
/* The single Split regex of Qwen2/Qwen3's tokenizer.json (digits one by one) and of Llama-3's
 * (digits in runs of up to three); a ByteLevel step without its regex follows each. */
extern const char *const PRETOK_QWEN2;
extern const char *const PRETOK_LLAMA3;

#endif
