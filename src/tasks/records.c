/* Task problems rendered as pretrain / sft / rl / prefs records. See records.h. */
#include "tasks/records.h"

#include <string.h>

int record_format_parse(const char *s) {
    static const char *const NAMES[] = {"pretrain", "sft", "rl", "prefs"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, NAMES[i])) return i;
    return -1;
}

/* "<think>\n" + completion; the chain of thought dropped when no_cot. */
static void assistant_text(const Problem *p, int bad, int no_cot, StrBuf *out) {
    sb_append(out, "<think>\n");
    if (no_cot) {
        sb_append(out, "</think>\n\n<answer>");
        sb_append(out, bad ? p->bad_final.s : p->final.s);
        sb_append(out, "</answer>");
    } else {
        problem_completion(p, bad, out);
    }
}

/* Replaces p's chain of thought from line `from` on with q's lines (same problem, other
 * language: the writers emit the same steps line for line). */
static void mix_lines(Problem *p, const Problem *q, int from) {
    StrBuf out = {0};
    const char *a = p->cot.s, *b = q->cot.s;
    int line = 0;
    while (*a && line < from) {
        const char *nl = strchr(a, '\n');
        size_t n = nl ? (size_t)(nl - a + 1) : strlen(a);
        sb_append_n(&out, a, n);
        a += n;
        line++;
        if (*b) { const char *nb = strchr(b, '\n'); b += nb ? (size_t)(nb - b + 1) : strlen(b); }
    }
    if (out.len && out.s[out.len - 1] != '\n' && *b) sb_append(&out, "\n");
    sb_append(&out, b);
    if (!out.s) sb_append(&out, "");
    sb_free(&p->cot);
    p->cot = out;
}

cJSON *record_make(const RecordSpec *spec, uint64_t seed, uint64_t index, Err *e) {
    TaskOpts o = {spec->level, spec->lang, spec->self_check, spec->split};
    Problem p;
    if (task_make(spec->task, seed, index, &o, &p, e)) return NULL;
    Rng choice = rng_make(seed, RNG_TASK, index, 4);
    int no_cot = spec->cot_share < 1.0 && rng_uniform(&choice) >= spec->cot_share;
    Rng mix = rng_make(seed, RNG_TASK, index, 5);
    if (spec->mix_cot > 0 && p.cot.len && rng_uniform(&mix) < spec->mix_cot &&
        (spec->format == REC_PRETRAIN || spec->format == REC_SFT)) {
        TaskOpts other = o;
        other.lang = o.lang == LANG_ZH ? LANG_EN : LANG_ZH;
        Problem q;
        if (task_make(spec->task, seed, index, &other, &q, e)) { problem_free(&p); return NULL; }
        int lines = 1;
        for (const char *c = p.cot.s; *c; c++) lines += *c == '\n';
        mix_lines(&p, &q, (int)rng_below(&mix, (uint64_t)lines));
        problem_free(&q);
    }
    cJSON *rec = cJSON_CreateObject();
    StrBuf a = {0};
    switch (spec->format) {
    case REC_PRETRAIN:
        sb_append(&a, p.prompt.s);
        sb_append(&a, "\n");
        assistant_text(&p, 0, no_cot, &a);
        cJSON_AddStringToObject(rec, "text", a.s);
        break;
    case REC_SFT: {
        cJSON *msgs = cJSON_AddArrayToObject(rec, "messages");
        cJSON *u = cJSON_CreateObject(), *as = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "role", "user");
        cJSON_AddStringToObject(u, "content", p.prompt.s);
        assistant_text(&p, 0, no_cot, &a);
        cJSON_AddStringToObject(as, "role", "assistant");
        cJSON_AddStringToObject(as, "content", a.s);
        cJSON_AddItemToArray(msgs, u);
        cJSON_AddItemToArray(msgs, as);
        break;
    }
    case REC_RL:
        cJSON_AddStringToObject(rec, "prompt", p.prompt.s);
        cJSON_AddStringToObject(rec, "answer", p.reference.s);
        cJSON_AddStringToObject(rec, "task", spec->task);
        cJSON_AddNumberToObject(rec, "level", spec->level);
        cJSON_AddStringToObject(rec, "lang", spec->lang == LANG_ZH ? "zh" : "en");
        break;
    case REC_PREFS: {
        cJSON_AddStringToObject(rec, "prompt", p.prompt.s);
        assistant_text(&p, 0, 0, &a);
        cJSON_AddStringToObject(rec, "chosen", a.s);
        sb_clear(&a);
        const TaskDef *t = task_find(spec->task);
        double u = rng_uniform(&choice);
        if (t->reasoning && u < 0.25) {
            /* the same problem solved in the other language */
            TaskOpts other = o;
            other.lang = o.lang == LANG_ZH ? LANG_EN : LANG_ZH;
            Problem q;
            if (task_make(spec->task, seed, index, &other, &q, e)) { cJSON_Delete(rec); rec = NULL; break; }
            assistant_text(&q, 0, 0, &a);
            problem_free(&q);
        } else if (t->reasoning && u < 0.5) {
            sb_append(&a, p.final.s);   /* a bare answer: no think block, no tags */
        } else {
            assistant_text(&p, 1, 0, &a);
        }
        cJSON_AddStringToObject(rec, "rejected", a.s);
        break;
    }
    }
    sb_free(&a);
    problem_free(&p);
    return rec;
}
