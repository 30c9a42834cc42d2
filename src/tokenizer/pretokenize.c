/* Pre-tokenization through PCRE2 (see pretokenize.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenize.h"

#include <pcre2.h>
#include <string.h>

#include "base/strbuf.h"

const char *const PRETOK_DEEPSEEK_V3[3] = {
    "\\p{N}{1,3}",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};
const char *const PRETOK_GPT2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const PRETOK_QWEN2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const PRETOK_LLAMA3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* HF compiles Split regexes with Oniguruma, whose Unicode \s is \t-\r, U+0085 and \p{Z};
 * PCRE2 10.42's \s lacks U+0085, so rewrite \s and \S (outside classes) to that set. */
#define WS_SET "\\t-\\r\\x{85}\\p{Z}"
static void rewrite_pattern(const char *p, size_t n, StrBuf *out) {
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char d = p[++i];
            if (d == 's') sb_append(out, in_class ? WS_SET : "[" WS_SET "]");
            else if (d == 'S' && !in_class) sb_append(out, "[^" WS_SET "]");
            else { char two[2] = {c, d}; sb_append_n(out, two, 2); }
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            sb_append_n(out, &c, 1);
            /* a ']' right after '[' or '[^' is a literal */
            if (i + 1 < n && p[i + 1] == '^') { sb_append_n(out, "^", 1); i++; }
            if (i + 1 < n && p[i + 1] == ']') { sb_append_n(out, "]", 1); i++; }
            continue;
        }
        if (c == ']' && in_class) in_class = 0;
        sb_append_n(out, &c, 1);
    }
}

static int compile(PreTokStep *st, const char *pattern, size_t len, int is_regex, const char *where,
                   Err *e) {
    StrBuf pat = {0};
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
    if (is_regex) rewrite_pattern(pattern, len, &pat);
    else { sb_append_n(&pat, pattern, len); opts = (opts & ~(uint32_t)PCRE2_UCP) | PCRE2_LITERAL; }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(pat.s ? pat.s : ""), pat.len, opts, &ec, &eo, NULL);
    sb_free(&pat);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return err_set(e, "%s: regex does not compile: %s (at offset %zu)", where, (char *)msg,
                       (size_t)eo);
    }
    /* JIT when available (pcre2_jit_match then skips the generic entry checks); otherwise the
     * interpreter */
    size_t jit_size = 0;
    st->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0 &&
              pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0;
    st->re = re;
    return 0;
}

int pretok_add_split(PreTok *pt, const char *pattern, size_t pattern_len, int is_regex,
                     SplitBehavior behavior, int invert, const char *where, Err *e) {
    if (pt->n >= PRETOK_MAX_STEPS) return err_set(e, "%s: more than %d pre-tokenizer steps", where, PRETOK_MAX_STEPS);
    PreTokStep *st = &pt->steps[pt->n];
    memset(st, 0, sizeof *st);
    if (compile(st, pattern, pattern_len, is_regex, where, e)) return -1;
    st->pattern = xmalloc(pattern_len + 1);
    memcpy(st->pattern, pattern, pattern_len);
    st->pattern[pattern_len] = 0;
    st->is_regex = is_regex;
    st->behavior = behavior;
    st->invert = invert;
    pt->n++;
    return 0;
}

int pretok_add_bytelevel(PreTok *pt, int add_prefix_space, int use_regex, const char *where, Err *e) {
    if (add_prefix_space) {
        if (pt->n >= PRETOK_MAX_STEPS) return err_set(e, "%s: too many pre-tokenizer steps", where);
        memset(&pt->steps[pt->n], 0, sizeof pt->steps[0]);
        pt->steps[pt->n++].add_prefix_space = 1;
    }
    if (use_regex)
        return pretok_add_split(pt, PRETOK_GPT2, strlen(PRETOK_GPT2), 1, SPLIT_ISOLATED, 0, where, e);
    return 0;
}

void pretok_free(PreTok *pt) {
    for (int i = 0; i < pt->n; i++) {
        if (pt->steps[i].re) pcre2_code_free(pt->steps[i].re);
        free(pt->steps[i].pattern);
    }
    pt->n = 0;
}

struct PreTokScratch {
    pcre2_match_data *md[PRETOK_MAX_STEPS];
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    StrBuf prefix[PRETOK_MAX_STEPS];
};

PreTokScratch *pretok_scratch_new(const PreTok *pt) {
    PreTokScratch *s = xcalloc(1, sizeof *s);
    for (int i = 0; i < pt->n; i++)
        if (pt->steps[i].re) s->md[i] = pcre2_match_data_create_from_pattern(pt->steps[i].re, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    /* the default limit (10M backtracking steps) refuses whitespace runs of ~10 MB, because
     * \s*[\r\n]+ backtracks over the run once before \s+(?!\S) matches it; every V3 alternative is
     * linear in the run, so lift the limit (the BPE piece limit still bounds what follows) */
    pcre2_set_match_limit(s->mctx, UINT32_MAX);
    s->jit = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, NULL);
    if (s->jit) pcre2_jit_stack_assign(s->mctx, NULL, s->jit);
    return s;
}

void pretok_scratch_free(PreTokScratch *s) {
    if (!s) return;
    for (int i = 0; i < PRETOK_MAX_STEPS; i++) {
        if (s->md[i]) pcre2_match_data_free(s->md[i]);
        sb_free(&s->prefix[i]);
    }
    if (s->mctx) pcre2_match_context_free(s->mctx);
    if (s->jit) pcre2_jit_stack_free(s->jit);
    free(s);
}

typedef struct Run {
    const PreTok *pt;
    PreTokScratch *s;
    PieceFn fn;
    void *ctx;
    Err *e;
} Run;

static int run_step(Run *r, int step, const char *p, size_t n);

/* Behavior state for one split: spans arrive in order; `pend` holds a span waiting to merge. */
typedef struct Emit {
    Run *r;
    int next_step;
    SplitBehavior b;
    const char *base;
    size_t pend_s, pend_e;
    int has_pend;
} Emit;

static int emit(Emit *m, size_t s, size_t e) {
    return e > s ? run_step(m->r, m->next_step, m->base + s, e - s) : 0;
}

static int span(Emit *m, size_t s, size_t e, int is_match) {
    int rc = 0;
    switch (m->b) {
    case SPLIT_ISOLATED: return emit(m, s, e);
    case SPLIT_REMOVED: return is_match ? 0 : emit(m, s, e);
    case SPLIT_MERGED_PREV:
        if (!is_match) { m->pend_s = s; m->pend_e = e; m->has_pend = 1; return 0; }
        rc = emit(m, m->has_pend ? m->pend_s : s, e);
        m->has_pend = 0;
        return rc;
    case SPLIT_MERGED_NEXT:
        if (is_match) {
            if (m->has_pend) rc = emit(m, m->pend_s, m->pend_e);
            m->pend_s = s; m->pend_e = e; m->has_pend = 1;
            return rc;
        }
        rc = emit(m, m->has_pend ? m->pend_s : s, e);
        m->has_pend = 0;
        return rc;
    }
    return 0;
}

static size_t utf8_step(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return k <= n ? k : 1;
}

static int run_step(Run *r, int step, const char *p, size_t n) {
    if (step == r->pt->n) return r->fn(r->ctx, p, n);
    const PreTokStep *st = &r->pt->steps[step];
    if (!st->re) {   /* prefix space */
        if (n > 0 && p[0] == ' ') return run_step(r, step + 1, p, n);
        StrBuf *b = &r->s->prefix[step];
        sb_clear(b);
        sb_append_n(b, " ", 1);
        sb_append_n(b, p, n);
        return run_step(r, step + 1, b->s, b->len);
    }
    pcre2_match_data *md = r->s->md[step];
    Emit m = {.r = r, .next_step = step + 1, .b = st->behavior, .base = p};
    size_t off = 0, cur = 0;
    int rc;
    while (off < n) {
        int mr = st->jit ? pcre2_jit_match(st->re, (PCRE2_SPTR)p, n, off, 0, md, r->s->mctx)
                         : pcre2_match(st->re, (PCRE2_SPTR)p, n, off, 0, md, r->s->mctx);
        if (mr == PCRE2_ERROR_NOMATCH) break;
        if (mr < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(mr, msg, sizeof msg);
            return err_set(r->e, "pre-tokenizer step %d: regex match failed: %s", step, (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) {   /* empty match: not a piece; move on one character */
            off = ms + utf8_step((const unsigned char *)p + ms, n - ms);
            continue;
        }
        if (ms > cur && (rc = span(&m, cur, ms, st->invert))) return rc;
        if ((rc = span(&m, ms, me, !st->invert))) return rc;
        cur = off = me;
    }
    if (cur < n && (rc = span(&m, cur, n, st->invert))) return rc;
    if (m.has_pend) return emit(&m, m.pend_s, m.pend_e);
    return 0;
}

int pretok_run(const PreTok *pt, PreTokScratch *s, const char *text, size_t n, PieceFn fn,
               void *ctx, Err *e) {
    Run r = {pt, s, fn, ctx, e};
    if (n == 0) return 0;
    return run_step(&r, 0, text, n);
}
