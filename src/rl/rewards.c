/* The rule-based rewards and their weighted combination. See rewards.h for each definition. */
#include "rl/rewards.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rl/verify.h"

void reward_params_default(RewardParams *p) {
    p->extract_flags = VERIFY_DEFAULT;
    p->cos_min_wrong = -1.0;
    p->cos_max_wrong = -0.5;
    p->cos_min_correct = 0.5;
    p->cos_max_correct = 1.0;
    p->cos_max_len = 1000;
    p->rep_ngram = 3;
    p->rep_max_penalty = -1.0;
    p->overlong_max = 1024;
    p->overlong_cache = 256;
}

/* ---- UTF-8 and scripts ---- */

/* Decodes one code point at s[*i] (< n) and advances; invalid bytes give 0xFFFD, one byte each. */
static uint32_t utf8_next(const char *s, size_t n, size_t *i) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[*i];
    if (c < 0x80) { (*i)++; return c; }
    int len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? (c < 0xF0 ? 3 : 0) : c >= 0xC2 ? 2 : 0;
    if (!len || *i + (size_t)len > n) { (*i)++; return 0xFFFD; }
    uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; k++) {
        if ((u[*i + (size_t)k] & 0xC0) != 0x80) { (*i)++; return 0xFFFD; }
        cp = (cp << 6) | (u[*i + (size_t)k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) { (*i)++; return 0xFFFD; }
    *i += (size_t)len;
    return cp;
}

long utf8_length(const char *s, size_t n) {
    long k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) i++;
        else utf8_next(s, n, &i);
        k++;
    }
    return k;
}

typedef enum CharClass { CH_SEP, CH_LATIN, CH_HAN, CH_OTHER } CharClass;

static CharClass classify(uint32_t cp) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CH_LATIN;
    if (cp < 0xC0) return CH_SEP;
    if (cp <= 0x24F) return cp == 0xD7 || cp == 0xF7 ? CH_SEP : CH_LATIN;
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FFFF)) return CH_HAN;
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF65) || cp == 0xFFFD)
        return CH_SEP;
    return CH_OTHER;
}

/* Length of a markup tag starting at s[i] == '<' ("<think>", "<｜User｜>"), or 0. */
static size_t tag_len(const char *s, size_t n, size_t i) {
    for (size_t j = i + 1; j < n && j < i + 40; j++) {
        if (s[j] == '>') return j - i + 1;
        if (s[j] == '<' || s[j] == '\n') return 0;
    }
    return 0;
}

/* Counts words per script: Latin runs of two or more letters (a lone letter is a variable such as
 * the x in "3x+5", not a word), Han characters, runs of other letters. Tags are skipped. */
static void count_words(const char *s, size_t n, long *latin, long *han, long *other) {
    *latin = *han = *other = 0;
    CharClass prev = CH_SEP;
    long run = 0;   /* letters in the current Latin run */
    for (size_t i = 0; i <= n;) {
        CharClass c = CH_SEP;
        if (i < n && s[i] == '<') {
            size_t t = tag_len(s, n, i);
            if (t) i += t;
            else c = classify(utf8_next(s, n, &i));
        } else if (i < n) {
            c = classify(utf8_next(s, n, &i));
        } else {
            i++;
        }
        if (c == CH_LATIN) run++;
        else if (prev == CH_LATIN && run >= 2) (*latin)++;
        if (c != CH_LATIN) run = 0;
        if (c == CH_HAN) (*han)++;
        else if (c == CH_OTHER && prev != CH_OTHER) (*other)++;
        prev = c;
    }
}

Script text_script(const char *s, size_t n) {
    long latin, han, other;
    count_words(s, n, &latin, &han, &other);
    if (!latin && !han) return SCRIPT_NONE;
    return han > latin ? SCRIPT_HAN : SCRIPT_LATIN;
}

/* ---- helpers ---- */

static long find(const char *s, size_t n, const char *lit) {
    const char *q = memmem(s, n, lit, strlen(lit));
    return q ? (long)(q - s) : -1;
}

static long count_of(const char *s, size_t n, const char *lit) {
    long k = 0;
    size_t m = strlen(lit);
    const char *p = s, *end = s + n;
    while ((size_t)(end - p) >= m) {
        const char *q = memmem(p, (size_t)(end - p), lit, m);
        if (!q) break;
        k++;
        p = q + m;
    }
    return k;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static long completion_length(const RewardInput *in) {
    return in->n_tokens > 0 ? in->n_tokens : utf8_length(in->completion, in->completion_len);
}

/* The chain of thought: up to the first </think> (all of it without one), minus an opening <think>. */
static Span cot_span(const RewardInput *in) {
    const char *s = in->completion;
    size_t n = in->completion_len;
    long t = find(s, n, "</think>");
    if (t >= 0) n = (size_t)t;
    long o = find(s, n, "<think>");
    if (o >= 0) { s += o + 7; n -= (size_t)o + 7; }
    return (Span){s, n};
}

/* ---- the rewards ---- */

double reward_accuracy(const RewardInput *in, const RewardParams *p) {
    if (!in->reference) return 0;
    return verify_completion(in->completion, in->completion_len, in->reference,
                             strlen(in->reference), p->extract_flags);
}

/* whether s[0..n) holds any of the four format tags */
static int has_tag(const char *s, size_t n) {
    static const char *const TAGS[] = {"<think>", "</think>", "<answer>", "</answer>"};
    for (int t = 0; t < 4; t++)
        if (find(s, n, TAGS[t]) >= 0) return 1;
    return 0;
}

double reward_format(const RewardInput *in, const RewardParams *p) {
    const char *s = in->completion;
    size_t n = in->completion_len, i = 0;
    while (i < n && is_ws(s[i])) i++;
    if (n - i >= 7 && !memcmp(s + i, "<think>", 7)) i += 7;
    long close = find(s + i, n - i, "</think>");
    if (close < 0) return 0;
    if (has_tag(s + i, (size_t)close)) return 0;
    i += (size_t)close + 8;
    while (i < n && is_ws(s[i])) i++;
    if (n - i < 8 || memcmp(s + i, "<answer>", 8)) return 0;
    i += 8;
    long end = find(s + i, n - i, "</answer>");
    if (end < 0) return 0;
    const char *ans = s + i;
    size_t ans_n = (size_t)end;
    if (has_tag(ans, ans_n)) return 0;
    int nonblank = 0;
    for (size_t k = 0; k < ans_n; k++) nonblank |= !is_ws(ans[k]);
    if (!nonblank) return 0;
    i += (size_t)end + 9;
    while (i < n && is_ws(s[i])) i++;
    return i == n ? 1.0 : 0.0;
}

static int prompt_opens_think(const char *prompt) {
    if (!prompt) return 0;
    size_t n = strlen(prompt);
    while (n && is_ws(prompt[n - 1])) n--;
    return n >= 7 && !memcmp(prompt + n - 7, "<think>", 7);
}

double reward_tag_count(const RewardInput *in, const RewardParams *p) {
    const char *s = in->completion;
    size_t n = in->completion_len;
    double r = 0;
    if (count_of(s, n, "<think>") + prompt_opens_think(in->prompt) == 1) r += 0.25;
    if (count_of(s, n, "</think>") == 1) r += 0.25;
    if (count_of(s, n, "<answer>") == 1) r += 0.25;
    if (count_of(s, n, "</answer>") == 1) r += 0.25;
    return r;
}

/* The user's own words in a templated prompt: after the last "<｜User｜>" or "User:", before the
 * assistant marker; the whole prompt otherwise. */
static Span user_span(const char *prompt) {
    size_t n = strlen(prompt);
    const char *s = prompt;
    static const char *const USER[] = {"<\xef\xbd\x9cUser\xef\xbd\x9c>", "User:"};
    static const char *const ASSIST[] = {"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", "Assistant:"};
    for (int k = 0; k < 2; k++) {
        const char *last = NULL, *q = s;
        size_t m = strlen(USER[k]);
        while ((q = memmem(q, n - (size_t)(q - s), USER[k], m))) { last = q; q += m; }
        if (last) {
            const char *b = last + m;
            size_t bn = n - (size_t)(b - s);
            long a = find(b, bn, ASSIST[k]);
            return (Span){b, a >= 0 ? (size_t)a : bn};
        }
    }
    return (Span){s, n};
}

double reward_language(const RewardInput *in, const RewardParams *p) {
    const char *prompt = in->prompt ? in->prompt : "";
    Span u = user_span(prompt);
    Script target = text_script(u.p, u.n);
    if (target == SCRIPT_NONE) return 1.0;
    Span cot = cot_span(in);
    long latin, han, other;
    count_words(cot.p, cot.n, &latin, &han, &other);
    long total = latin + han + other;
    if (!total) return 1.0;
    return (double)(target == SCRIPT_HAN ? han : latin) / (double)total;
}

double reward_cosine(const RewardInput *in, const RewardParams *p) {
    int correct = reward_accuracy(in, p) > 0.5;
    double len = (double)completion_length(in), max_len = (double)p->cos_max_len;
    double c = max_len > 0 && len < max_len ? cos(M_PI * len / max_len) : -1.0;
    double lo = correct ? p->cos_min_correct : p->cos_max_wrong;
    double hi = correct ? p->cos_max_correct : p->cos_min_wrong;
    return lo + 0.5 * (hi - lo) * (1.0 + c);
}

double reward_repetition(const RewardInput *in, const RewardParams *p) {
    const char *s = in->completion;
    size_t n = in->completion_len;
    int ng = p->rep_ngram > 0 ? p->rep_ngram : 1;
    if (ng > 16) ng = 16;
    uint64_t stack_buf[1024];
    size_t cap = sizeof stack_buf / sizeof stack_buf[0];
    uint64_t *grams = stack_buf;
    size_t n_grams = 0;
    uint64_t window[16];
    long n_words = 0;
    uint64_t h = 0;
    int in_word = 0;
    for (size_t i = 0; i <= n;) {
        uint32_t cp = 0;
        CharClass c = CH_SEP;
        size_t start = i;
        if (i < n) {
            cp = utf8_next(s, n, &i);
            c = classify(cp);
            if (c == CH_SEP && cp > ' ' && cp < 0x80) c = CH_OTHER;   /* ASCII punctuation and digits are part of words */
        } else {
            i++;
        }
        int word_char = c == CH_LATIN || c == CH_OTHER;
        if (word_char) {
            if (!in_word) h = 1469598103934665603ULL;
            for (size_t k = start; k < i; k++) h = (h ^ (unsigned char)s[k]) * 1099511628211ULL;
            in_word = 1;
            continue;
        }
        /* a separator or a Han character ends the current word; a Han character is a word */
        for (int pass = 0; pass < 2; pass++) {
            uint64_t w;
            if (pass == 0) { if (!in_word) continue; w = h; in_word = 0; }
            else { if (c != CH_HAN) continue; w = (uint64_t)cp * 0x9E3779B97F4A7C15ULL; }
            window[n_words % ng] = w;
            n_words++;
            if (n_words >= ng) {
                uint64_t g = 0;
                for (int k = 0; k < ng; k++)
                    g = (g ^ window[(n_words - ng + k) % ng]) * 0x100000001B3ULL + (uint64_t)k;
                if (n_grams == cap) {
                    size_t ncap = cap * 2;
                    uint64_t *ng_buf = malloc(ncap * sizeof *ng_buf);
                    if (!ng_buf) { if (grams != stack_buf) free(grams); return 0; }
                    memcpy(ng_buf, grams, n_grams * sizeof *grams);
                    if (grams != stack_buf) free(grams);
                    grams = ng_buf;
                    cap = ncap;
                }
                grams[n_grams++] = g;
            }
        }
    }
    double r = 0;
    if (n_grams) {
        /* distinct n-grams: open addressing in a table at least twice the count (0 marks empty,
         * so a hash of 0 is mapped to 1 -- a collision there only merges two n-grams) */
        size_t tcap = 64;
        while (tcap < 2 * n_grams) tcap *= 2;
        uint64_t stack_table[4096];
        uint64_t *table = tcap <= 4096 ? stack_table : malloc(tcap * sizeof *table);
        if (!table) { if (grams != stack_buf) free(grams); return 0; }
        memset(table, 0, tcap * sizeof *table);
        size_t unique = 0;
        for (size_t k = 0; k < n_grams; k++) {
            uint64_t g = grams[k] ? grams[k] : 1;
            size_t slot = (size_t)((g * 0x9E3779B97F4A7C15ULL) >> 20) & (tcap - 1);
            while (table[slot] && table[slot] != g) slot = (slot + 1) & (tcap - 1);
            if (!table[slot]) { table[slot] = g; unique++; }
        }
        if (table != stack_table) free(table);
        r = (1.0 - (double)unique / (double)n_grams) * p->rep_max_penalty;
    }
    if (grams != stack_buf) free(grams);
    return r;
}

double reward_overlong(const RewardInput *in, const RewardParams *p) {
    double len = (double)completion_length(in);
    double max = (double)p->overlong_max, cache = (double)p->overlong_cache;
    if (len <= max - cache) return 0;
    if (len <= max && cache > 0) return (max - cache - len) / cache;
    return -1;
}

/* ---- registry and combination ---- */

typedef double (*RewardFn)(const RewardInput *, const RewardParams *);
static const struct { const char *name; RewardFn fn; } REGISTRY[REWARD_COUNT] = {
    [REWARD_ACCURACY] = {"accuracy", reward_accuracy},
    [REWARD_FORMAT] = {"format", reward_format},
    [REWARD_TAG_COUNT] = {"tag_count", reward_tag_count},
    [REWARD_LANGUAGE] = {"language", reward_language},
    [REWARD_COSINE] = {"cosine", reward_cosine},
    [REWARD_REPETITION] = {"repetition", reward_repetition},
    [REWARD_OVERLONG] = {"overlong", reward_overlong},
};

const char *reward_name(RewardId id) { return id < REWARD_COUNT ? REGISTRY[id].name : "?"; }

int reward_lookup(const char *name, size_t n) {
    for (int i = 0; i < REWARD_COUNT; i++)
        if (strlen(REGISTRY[i].name) == n && !memcmp(REGISTRY[i].name, name, n)) return i;
    return -1;
}

double reward_score(RewardId id, const RewardInput *in, const RewardParams *p) {
    return REGISTRY[id].fn(in, p);
}

int rewards_parse(const char *list, RewardSet *out, Err *e) {
    out->n = 0;
    const char *s = list;
    for (;;) {
        while (*s == ' ') s++;
        const char *end = s + strcspn(s, ",");
        const char *colon = memchr(s, ':', (size_t)(end - s));
        const char *name_end = colon ? colon : end;
        while (name_end > s && name_end[-1] == ' ') name_end--;
        size_t nn = (size_t)(name_end - s);
        int id = reward_lookup(s, nn);
        if (id < 0)
            return err_set(e, "unknown reward '%.*s' (known: accuracy, format, tag_count, "
                              "language, cosine, repetition, overlong)", (int)nn, s);
        double w = 1.0;
        if (colon) {
            char buf[64];
            size_t wn = (size_t)(end - colon - 1);
            if (wn == 0 || wn >= sizeof buf) return err_set(e, "bad weight for '%.*s'", (int)nn, s);
            memcpy(buf, colon + 1, wn);
            buf[wn] = 0;
            char *stop;
            w = strtod(buf, &stop);
            while (*stop == ' ') stop++;
            if (*stop || !isfinite(w))
                return err_set(e, "bad weight '%s' for '%.*s'", buf, (int)nn, s);
        }
        for (int i = 0; i < out->n; i++)
            if ((int)out->id[i] == id) return err_set(e, "'%.*s' given twice", (int)nn, s);
        if (out->n >= REWARD_MAX_TERMS) return err_set(e, "too many terms");
        out->id[out->n] = (RewardId)id;
        out->weight[out->n] = w;
        out->n++;
        if (!*end) break;
        s = end + 1;
    }
    return 0;
}

void rewards_format(const RewardSet *set, StrBuf *out) {
    for (int i = 0; i < set->n; i++)
        sb_printf(out, "%s%s:%g", i ? "," : "", reward_name(set->id[i]), set->weight[i]);
}

double rewards_score(const RewardSet *set, const RewardInput *in, const RewardParams *p,
                     double *each) {
    double total = 0;
    for (int i = 0; i < set->n; i++) {
        double r = reward_score(set->id[i], in, p);
        if (each) each[i] = r;
        total += set->weight[i] * r;
    }
    return total;
}
