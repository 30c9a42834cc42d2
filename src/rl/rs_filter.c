#include "rl/rs_filter.h"

#include "rl/rewards.h"
#include "rl/verify.h"

const char *rs_verdict_name(RsVerdict v) {
    static const char *const names[RS_N_VERDICTS] = {"kept", "truncated", "wrong", "format",
                                                     "mixed_language", "repetitive", "length", "duplicate"};
    return v < RS_N_VERDICTS ? names[v] : "?";
}

RsVerdict rs_check(const RsFilter *f, const char *prompt, const char *completion, size_t len,
                   long n_tokens, int truncated, const char *reference) {
    if (truncated) return RS_TRUNCATED;
    RewardParams p;
    reward_params_default(&p);
    RewardInput in = {prompt, completion, len, reference, n_tokens};
    if (reward_accuracy(&in, &p) < 1) return RS_WRONG;
    if (reward_format(&in, &p) < 1) return RS_FORMAT;
    if (reward_language(&in, &p) < 1) return RS_MIXED_LANGUAGE;
    p.rep_ngram = 3;
    p.rep_max_penalty = -1.0;
    if (-reward_repetition(&in, &p) > f->max_repetition) return RS_REPETITIVE;
    if (n_tokens < f->min_tokens || (f->max_tokens > 0 && n_tokens > f->max_tokens)) return RS_LENGTH;
    return RS_KEEP;
}

unsigned long long rs_text_hash(const char *s, size_t n) {
    unsigned long long h = 0xcbf29ce484222325ull;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { space = 1; continue; }
        if (space) { h = (h ^ ' ') * 0x100000001b3ull; space = 0; }
        h = (h ^ c) * 0x100000001b3ull;
    }
    return h;
}
