/* Task registry, the common writer helpers (Chinese numerals, self-checks) and the completion
 * layout. See task.h. */
#include "tasks/task.h"

#include <string.h>

static const TaskDef TASKS[] = {
    {"arith", task_arith, 1},   {"countdown", task_countdown, 1}, {"linear", task_linear, 1},
    {"program", task_program, 1}, {"copy", task_copy, 0},        {"reverse", task_reverse, 0},
    {"next", task_next, 0},     {"chat", task_chat, 0},
};

const TaskDef *task_find(const char *name) {
    for (size_t i = 0; i < sizeof TASKS / sizeof TASKS[0]; i++)
        if (!strcmp(TASKS[i].name, name)) return &TASKS[i];
    return NULL;
}

const char *task_names(void) { return "arith, countdown, linear, program, copy, reverse, next, chat"; }

long long rng_range(Rng *r, long long lo, long long hi) {
    CHECK(hi >= lo);
    return lo + (long long)rng_below(r, (uint64_t)(hi - lo + 1));
}

int task_make(const char *task, uint64_t seed, uint64_t index, const TaskOpts *o, Problem *p, Err *e) {
    const TaskDef *t = task_find(task);
    if (!t) return err_set(e, "unknown task '%s' (known: %s)", task, task_names());
    if (o->level < 1 || o->level > 5) return err_set(e, "level %d: must be 1..5", o->level);
    memset(p, 0, sizeof *p);
    for (uint64_t attempt = 0;; attempt++) {
        /* the first draw keeps the streams documented in task.h; redraws have their own purpose,
         * as streams 3.. of RNG_TASK belong to the record writers */
        RngPurpose purpose = attempt ? RNG_TASK_REDRAW : RNG_TASK;
        Rng prob = rng_make(seed, purpose, index, 3 * attempt);
        Rng write = rng_make(seed, purpose, index, 3 * attempt + 1);
        Rng bad = rng_make(seed, purpose, index, 3 * attempt + 2);
        t->make(&prob, &write, &bad, o, p);
        int split = task_split_of(task, p->prompt.s ? p->prompt.s : "");
        if (split < 0 || split == (int)o->split || attempt == 63) break;
        problem_free(p);
        memset(p, 0, sizeof *p);
    }
    /* every field is a valid (possibly empty) string */
    StrBuf *all[] = {&p->prompt, &p->cot, &p->final, &p->reference, &p->bad_cot, &p->bad_final};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!all[i]->s) sb_append(all[i], "");
    return 0;
}

int task_split_of(const char *task, const char *prompt) {
    /* FNV-1a over the task name and the prompt's digits, operators and 'x' (digit runs
     * separated), the parts every language writes the same way */
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = task; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    int digits = 0, sep = 0;
    const unsigned char *start = (const unsigned char *)prompt;
    for (const unsigned char *c = start; *c; c++) {
        int keep = (*c >= '0' && *c <= '9') || strchr("+-*/()=", *c);
        /* the unknown of an equation ("6x-14", "x+13=9x"), not the x of a word ("Next") */
        if (*c == 'x') keep = (c > start && c[-1] >= '0' && c[-1] <= '9') || (c[1] && strchr("+-*/=)", c[1]));
        if (!keep) { sep = 1; continue; }
        if (sep) h = (h ^ ',') * 1099511628211ULL;
        sep = 0;
        digits += *c >= '0' && *c <= '9';
        h = (h ^ *c) * 1099511628211ULL;
    }
    if (!digits) return -1;
    h ^= h >> 29;                 /* mix the high bits down before the modulus */
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h % TASK_TEST_SHARE_INV == 0 ? SPLIT_TEST : SPLIT_TRAIN;
}

int task_split_parse(const char *s, TaskSplit *out, Err *e) {
    if (!strcmp(s, "train")) *out = SPLIT_TRAIN;
    else if (!strcmp(s, "test")) *out = SPLIT_TEST;
    else return err_set(e, "split: expected train or test, got '%s'", s);
    return 0;
}

void problem_free(Problem *p) {
    sb_free(&p->prompt);
    sb_free(&p->cot);
    sb_free(&p->final);
    sb_free(&p->reference);
    sb_free(&p->bad_cot);
    sb_free(&p->bad_final);
}

void problem_completion(const Problem *p, int bad, StrBuf *out) {
    const StrBuf *cot = bad ? &p->bad_cot : &p->cot, *fin = bad ? &p->bad_final : &p->final;
    if (cot->len) {
        sb_append(out, cot->s);
        sb_append(out, "\n");
    }
    sb_append(out, "</think>\n\n<answer>");
    sb_append(out, fin->s ? fin->s : "");
    sb_append(out, "</answer>");
}

/* ---- Chinese numerals ---- */

static const char *const ZH_DIGIT[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
static const char *const ZH_UNIT[] = {"千", "百", "十", ""};

/* One 4-digit section (0 < s < 10000). lead: the most significant section of the number. */
static void zh_section(StrBuf *b, int s, int lead) {
    int d[4] = {s / 1000, s / 100 % 10, s / 10 % 10, s % 10};
    int started = 0, zero = 0;
    for (int k = 0; k < 4; k++) {
        if (!d[k]) { if (started) zero = 1; continue; }
        if (zero) { sb_append(b, ZH_DIGIT[0]); zero = 0; }
        if (!(lead && !started && k == 2 && d[k] == 1)) sb_append(b, ZH_DIGIT[d[k]]);   /* 十二, not 一十二 */
        sb_append(b, ZH_UNIT[k]);
        started = 1;
    }
}

void zh_number(StrBuf *b, long long v) {
    if (v < 0) {
        sb_append(b, "负");
        if (v == INT64_MIN) { sb_printf(b, "%lld", v); return; }
        v = -v;
    }
    if (v == 0) { sb_append(b, ZH_DIGIT[0]); return; }
    if (v >= 1000000000000LL) { sb_printf(b, "%lld", v); return; }
    int sec[3] = {(int)(v / 100000000), (int)(v / 10000 % 10000), (int)(v % 10000)};
    static const char *const BIG[] = {"亿", "万", ""};
    int emitted = 0, gap = 0;
    for (int k = 0; k < 3; k++) {
        if (!sec[k]) { if (emitted) gap = 1; continue; }
        if (emitted && (gap || sec[k] < 1000)) sb_append(b, ZH_DIGIT[0]);
        zh_section(b, sec[k], !emitted);
        sb_append(b, BIG[k]);
        emitted = 1;
        gap = 0;
    }
}

static const char *sep_before_check(const StrBuf *b) { return b->len && b->s[b->len - 1] != '\n' ? " " : ""; }

void write_confirm(StrBuf *b, const TaskOpts *o, const char *eq) {
    if (o->lang == LANG_ZH) sb_printf(b, "等等，检查：%s，对。", eq);
    else sb_printf(b, "%sWait, check: %s. Yes.", sep_before_check(b), eq);
}

void write_check(StrBuf *b, Rng *write, const TaskOpts *o, const char *eq) {
    if (o->self_check <= 0 || rng_uniform(write) >= o->self_check) return;
    write_confirm(b, o, eq);
}

StepCheck step_check(Rng *write, const TaskOpts *o) {
    if (o->self_check <= 0) return STEP_PLAIN;
    double u = rng_uniform(write);
    return u < o->self_check * TASK_SLIP_SHARE ? STEP_SLIP : u < o->self_check ? STEP_CHECK : STEP_PLAIN;
}

long long slip_value(Rng *write, long long v) {
    long long d = rng_range(write, 1, 2);
    return rng_below(write, 2) || (v >= 0 && v - d < 0) ? v + d : v - d;
}

void write_catch(StrBuf *b, const TaskOpts *o, const char *eq, long long wrong) {
    if (o->lang == LANG_ZH) sb_printf(b, "等等，检查：%s，不是%lld。", eq, wrong);
    else sb_printf(b, "%sWait, check: %s, not %lld.", sep_before_check(b), eq, wrong);
}

const char *op_word(char op, TaskLang lang) {
    switch (op) {
    case '+': return lang == LANG_ZH ? "加" : "plus";
    case '-': return lang == LANG_ZH ? "减" : "minus";
    case '*': return lang == LANG_ZH ? "乘" : "times";
    default: return lang == LANG_ZH ? "除以" : "divided by";
    }
}
