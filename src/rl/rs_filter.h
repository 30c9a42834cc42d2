/* Rejection-sampling filters (R1's stage 3: keep only correct, readable samples of the RL
 * checkpoint). Each filter is a predicate on one completion; rs_check applies them in order and
 * returns the first reason to drop, so the summary can say why samples were dropped. */
#ifndef R1_RL_RS_FILTER_H
#define R1_RL_RS_FILTER_H

#include <stddef.h>

typedef enum RsVerdict {
    RS_KEEP = 0,
    RS_TRUNCATED,       /* generation hit the length limit: no proper ending */
    RS_WRONG,           /* the verifier rejects the answer */
    RS_FORMAT,          /* not "reasoning </think> <answer>x</answer>" */
    RS_MIXED_LANGUAGE,  /* the chain of thought is not all in the prompt's script */
    RS_REPETITIVE,      /* a repetition loop: too many repeated word 3-grams */
    RS_LENGTH,          /* outside [min_tokens, max_tokens] */
    RS_DUPLICATE,       /* the same text (whitespace-normalised) was kept already */
    RS_N_VERDICTS
} RsVerdict;

const char *rs_verdict_name(RsVerdict v);

typedef struct RsFilter {
    long min_tokens, max_tokens;    /* length bounds (max 0: none) */
    double max_repetition;          /* drop when the repeated-3-gram share exceeds this (0.2) */
} RsFilter;

/* truncated: the generation ended on the length limit. */
RsVerdict rs_check(const RsFilter *f, const char *prompt, const char *completion, size_t len,
                   long n_tokens, int truncated, const char *reference);

/* Whitespace-normalised 64-bit hash of a text (duplicates). */
unsigned long long rs_text_hash(const char *s, size_t n);

#endif
