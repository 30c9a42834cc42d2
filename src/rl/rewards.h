/* Rule-based rewards: each a function of (prompt, completion, reference) -> score, combined with
 * weights by name ("accuracy:1,format:0.5").
 *
 * The completion is what the model wrote after the prompt. With the R1 chat template the prompt
 * ends inside "<think>\n", so a well-formed completion is
 *     "...reasoning...\n</think>\n\n<answer>42</answer>"
 * (a completion that opens its own "<think>" is accepted too, for R1-Zero's plain template).
 *
 * Lengths (cosine, overlong) are in tokens when the caller knows them (RewardInput.n_tokens > 0),
 * otherwise in Unicode code points of the completion.
 *
 *   accuracy   1 if the extracted answer matches the reference (verify.h), else 0.
 *   format     1 if the completion is: [<think>] reasoning </think> ws <answer> x </answer> ws,
 *              with exactly one of each tag and a non-empty answer, else 0.
 *   tag_count  0.25 for each of <think>, </think>, <answer>, </answer> present exactly once
 *              (<think> counts when the prompt ends with it), open-r1's dense format reward.
 *   language   share of the chain-of-thought's words in the prompt's script (R1's language
 *              consistency reward): Latin letter runs of two or more letters are English words (a
 *              lone letter is a variable), each Han character is a Chinese word; other scripts
 *              count as wrong. No words -> 1.
 *   cosine     length-scaled correctness (open-r1 / Demystifying Long CoT): with c = cos(pi·L/Lmax),
 *              correct -> lo + (hi-lo)(1+c)/2 with (lo, hi) = (min_correct, max_correct); wrong ->
 *              (lo, hi) = (max_wrong, min_wrong), so short wrong answers cost most. L >= Lmax uses
 *              c = -1.
 *   repetition (1 - unique n-grams / n-grams) · max_penalty over words (Han characters are words);
 *              0 when there are fewer than n words. max_penalty is negative.
 *   overlong   DAPO's soft overlong punishment: 0 up to Lmax - cache, then linear down to -1 at
 *              Lmax, -1 beyond.
 */
#ifndef R1_RL_REWARDS_H
#define R1_RL_REWARDS_H

#include <stddef.h>

#include "base/error.h"
#include "base/strbuf.h"

typedef struct RewardInput {
    const char *prompt;       /* may be NULL (= "") */
    const char *completion;
    size_t completion_len;    /* bytes; the completion need not be NUL-terminated */
    const char *reference;    /* may be NULL: accuracy and cosine then score as wrong */
    long n_tokens;            /* completion length in tokens, or <= 0 to count code points */
} RewardInput;

typedef struct RewardParams {
    int extract_flags;                   /* VERIFY_DEFAULT (+ VERIFY_LAST_NUMBER) */
    double cos_min_wrong, cos_max_wrong; /* -1.0, -0.5 */
    double cos_min_correct, cos_max_correct; /* 0.5, 1.0 */
    long cos_max_len;                    /* 1000 */
    int rep_ngram;                       /* 3 */
    double rep_max_penalty;              /* -1.0 */
    long overlong_max, overlong_cache;   /* 1024, 256 */
} RewardParams;

void reward_params_default(RewardParams *p);

typedef enum RewardId {
    REWARD_ACCURACY,
    REWARD_FORMAT,
    REWARD_TAG_COUNT,
    REWARD_LANGUAGE,
    REWARD_COSINE,
    REWARD_REPETITION,
    REWARD_OVERLONG,
    REWARD_COUNT
} RewardId;

double reward_accuracy(const RewardInput *in, const RewardParams *p);
double reward_format(const RewardInput *in, const RewardParams *p);
double reward_tag_count(const RewardInput *in, const RewardParams *p);
double reward_language(const RewardInput *in, const RewardParams *p);
double reward_cosine(const RewardInput *in, const RewardParams *p);
double reward_repetition(const RewardInput *in, const RewardParams *p);
double reward_overlong(const RewardInput *in, const RewardParams *p);

const char *reward_name(RewardId id);
/* -1 when unknown. */
int reward_lookup(const char *name, size_t n);
double reward_score(RewardId id, const RewardInput *in, const RewardParams *p);

#define REWARD_MAX_TERMS 16
typedef struct RewardSet {
    int n;
    RewardId id[REWARD_MAX_TERMS];
    double weight[REWARD_MAX_TERMS];
} RewardSet;

/* Parses "accuracy:1,format:0.5" (a missing ":w" means weight 1). Unknown name, bad weight or a
 * repeated name -> -1 with a one-line Err listing the known names. */
int rewards_parse(const char *list, RewardSet *out, Err *e);
/* The list as rewards_parse reads it ("accuracy:1,format:0.5"). */
void rewards_format(const RewardSet *set, StrBuf *out);
/* Weighted sum; each[i] (if not NULL) receives term i's unweighted score. */
double rewards_score(const RewardSet *set, const RewardInput *in, const RewardParams *p,
                     double *each);

/* Script helpers shared with the task writers and eval. */
typedef enum Script { SCRIPT_NONE, SCRIPT_LATIN, SCRIPT_HAN } Script;
/* The dominant script of a text (Latin words vs Han characters); NONE without words. */
Script text_script(const char *s, size_t n);
/* Unicode code points in s[0..n) (invalid bytes count one each). */
long utf8_length(const char *s, size_t n);

#endif
