/* pass@1, unbiased pass@k, cons@k and the per-sample means for evaluation. See eval_metrics.h. */
#include "rl/eval_metrics.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/error.h"
#include "io/json.h"
#include "rl/reflection.h"

double pass_at_k(int n, int c, int k) {
    CHECK(n >= 0 && c >= 0 && c <= n && k >= 1 && k <= n);
    if (n - c < k) return 1.0;
    /* C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i) */
    double q = 1.0;
    for (int i = n - c + 1; i <= n; i++) q *= 1.0 - (double)k / (double)i;
    return 1.0 - q;
}

int majority_vote(const Span *answers, int n, int *votes) {
    int best = -1, best_votes = 0;
    char *counted = xcalloc((size_t)(n > 0 ? n : 1), 1);
    for (int i = 0; i < n; i++) {
        if (!answers[i].p || !answers[i].n || counted[i]) continue;
        int v = 1;
        counted[i] = 1;
        for (int j = i + 1; j < n; j++) {
            if (counted[j] || !answers[j].p || !answers[j].n) continue;
            int same = (answers[i].n == answers[j].n && !memcmp(answers[i].p, answers[j].p, answers[i].n)) ||
                       verify_equiv(answers[j].p, answers[j].n, answers[i].p, answers[i].n) ||
                       verify_equiv(answers[i].p, answers[i].n, answers[j].p, answers[j].n);
            if (same) { counted[j] = 1; v++; }
        }
        if (v > best_votes) { best = i; best_votes = v; }
    }
    free(counted);
    if (votes) *votes = best_votes;
    return best;
}

int completion_thinks(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (n - i >= 7 && !memcmp(s + i, "<think>", 7)) i += 7;
    for (; i < n; i++) {
        if (n - i >= 8 && !memcmp(s + i, "</think>", 8)) return 0;
        if (!isspace((unsigned char)s[i])) return 1;
    }
    return 0;
}

void eval_group(const char *prompt, const char *reference, const char *const *completions,
                const size_t *lens, const long *n_tokens, int k, int k_pass, const RewardParams *p,
                EvalGroup *out) {
    CHECK(k >= 1 && k_pass >= 1 && k_pass <= k);
    memset(out, 0, sizeof *out);
    Span *ans = xcalloc((size_t)k, sizeof *ans);
    size_t ref_n = reference ? strlen(reference) : 0;
    for (int i = 0; i < k; i++) {
        RewardInput in = {prompt, completions[i], lens[i], reference, n_tokens ? n_tokens[i] : 0};
        int found = verify_extract(completions[i], lens[i], p->extract_flags, &ans[i]);
        if (!found) ans[i] = (Span){NULL, 0};
        int correct = found && reference && verify_reference(ans[i].p, ans[i].n, reference, ref_n);
        out->n_correct += correct;
        out->format += reward_format(&in, p);
        out->language += reward_language(&in, p);
        out->length += (double)(in.n_tokens > 0 ? in.n_tokens : utf8_length(completions[i], lens[i]));
        out->think += completion_thinks(completions[i], lens[i]);
        Reflection r;
        reflection_scan_completion(completions[i], lens[i], &r);
        out->n_checked += r.checks > 0;
        out->n_repaired += r.checks > 0 && r.repairs > 0;
    }
    out->pass1 = (double)out->n_correct / k;
    out->pass_k = pass_at_k(k, out->n_correct, k_pass);
    int votes;
    int m = majority_vote(ans, k, &votes);
    out->cons = m >= 0 && reference && verify_reference(ans[m].p, ans[m].n, reference, ref_n) ? 1.0 : 0.0;
    out->format /= k;
    out->language /= k;
    out->length /= k;
    out->think /= k;
    out->check = (double)out->n_checked / k;
    out->repair = out->n_checked ? (double)out->n_repaired / out->n_checked : 0;
    free(ans);
}

void eval_totals_add(EvalTotals *t, const EvalGroup *g) {
    t->groups++;
    t->sum.pass1 += g->pass1;
    t->sum.pass_k += g->pass_k;
    t->sum.cons += g->cons;
    t->sum.format += g->format;
    t->sum.language += g->language;
    t->sum.length += g->length;
    t->sum.think += g->think;
    t->sum.check += g->check;
    t->sum.n_correct += g->n_correct;
    t->sum.n_checked += g->n_checked;
    t->sum.n_repaired += g->n_repaired;
}

EvalGroup eval_totals_mean(const EvalTotals *t) {
    EvalGroup m = {0};
    if (!t->groups) return m;
    double n = (double)t->groups;
    m.pass1 = t->sum.pass1 / n;
    m.pass_k = t->sum.pass_k / n;
    m.cons = t->sum.cons / n;
    m.format = t->sum.format / n;
    m.language = t->sum.language / n;
    m.length = t->sum.length / n;
    m.think = t->sum.think / n;
    m.check = t->sum.check / n;
    m.n_correct = t->sum.n_correct;
    m.n_checked = t->sum.n_checked;
    m.n_repaired = t->sum.n_repaired;
    m.repair = m.n_checked ? (double)m.n_repaired / m.n_checked : 0;
    return m;
}

void eval_report_add(EvalReport *r, const char *task, int level, const EvalGroup *g) {
    eval_totals_add(&r->all, g);
    const char *t = task ? task : "-";
    for (int i = 0; i < r->n_rows; i++)
        if (r->rows[i].level == level && !strcmp(r->rows[i].task, t)) {
            eval_totals_add(&r->rows[i].totals, g);
            return;
        }
    if (r->n_rows == EVAL_MAX_ROWS) return;
    EvalRow *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    snprintf(row->task, sizeof row->task, "%s", t);
    row->level = level;
    eval_totals_add(&row->totals, g);
}

static int row_cmp(const void *a, const void *b) {
    const EvalRow *x = a, *y = b;
    int c = strcmp(x->task, y->task);
    return c ? c : (x->level > y->level) - (x->level < y->level);
}

static void print_line(FILE *out, const char *task, int level, const EvalTotals *t) {
    EvalGroup m = eval_totals_mean(t);
    char lv[8];
    if (level) snprintf(lv, sizeof lv, "%d", level);
    else snprintf(lv, sizeof lv, "-");
    fprintf(out, "%-12s %5s %8ld %8.4f %8.4f %8.4f %8.4f %8.4f %8.1f %8.4f %8.4f %8.4f\n", task, lv, t->groups,
            m.pass1, m.pass_k, m.cons, m.format, m.language, m.length, m.think, m.check, m.repair);
}

void eval_report_print(const EvalReport *r, FILE *out) {
    EvalRow *rows = xmalloc(sizeof(EvalRow) * (size_t)(r->n_rows ? r->n_rows : 1));
    memcpy(rows, r->rows, sizeof(EvalRow) * (size_t)r->n_rows);
    qsort(rows, (size_t)r->n_rows, sizeof *rows, row_cmp);
    char pk[16], ck[16];
    snprintf(pk, sizeof pk, "pass@%d", r->k_pass);
    snprintf(ck, sizeof ck, "cons@%d", r->k);
    fprintf(out, "%-12s %5s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "task", "level", "prompts", "pass@1", pk, ck,
            "format", "language", "length", "think", "check", "repair");
    for (int i = 0; i < r->n_rows; i++) print_line(out, rows[i].task, rows[i].level, &rows[i].totals);
    print_line(out, "all", 0, &r->all);
    free(rows);
}

static cJSON *row_json(const char *task, int level, const EvalTotals *t, const EvalReport *r) {
    EvalGroup m = eval_totals_mean(t);
    cJSON *o = cJSON_CreateObject();
    char pk[16], ck[16];
    snprintf(pk, sizeof pk, "pass@%d", r->k_pass);
    snprintf(ck, sizeof ck, "cons@%d", r->k);
    cJSON_AddStringToObject(o, "task", task);
    cJSON_AddNumberToObject(o, "level", level);
    cJSON_AddNumberToObject(o, "prompts", (double)t->groups);
    cJSON_AddNumberToObject(o, "pass@1", m.pass1);
    cJSON_AddNumberToObject(o, pk, m.pass_k);
    cJSON_AddNumberToObject(o, ck, m.cons);
    cJSON_AddNumberToObject(o, "format", m.format);
    cJSON_AddNumberToObject(o, "language", m.language);
    cJSON_AddNumberToObject(o, "length", m.length);
    cJSON_AddNumberToObject(o, "think", m.think);
    cJSON_AddNumberToObject(o, "self_check", m.check);
    cJSON_AddNumberToObject(o, "check_repairs", m.repair);
    cJSON_AddNumberToObject(o, "checked", m.n_checked);
    return o;
}

cJSON *eval_report_json(const EvalReport *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "k", r->k);
    cJSON_AddNumberToObject(o, "k_pass", r->k_pass);
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (int i = 0; i < r->n_rows; i++)
        cJSON_AddItemToArray(rows, row_json(r->rows[i].task, r->rows[i].level, &r->rows[i].totals, r));
    cJSON_AddItemToObject(o, "all", row_json("all", 0, &r->all, r));
    return o;
}

/* 64-bit FNV-1a over the question, a zero byte and the reference. */
static uint64_t problem_hash(const char *question, const char *reference) {
    uint64_t h = 0xcbf29ce484222325ull;
    const char *parts[2] = {question ? question : "", reference ? reference : ""};
    for (int k = 0; k < 2; k++) {
        for (const unsigned char *s = (const unsigned char *)parts[k]; *s; s++) h = (h ^ *s) * 0x100000001b3ull;
        if (k == 0) h *= 0x100000001b3ull;   /* the zero byte between them: h ^ 0 == h */
    }
    return h;
}

void eval_problems_add(EvalProblems *p, const char *question, const char *reference, const EvalGroup *g) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->id = xrealloc(p->id, sizeof *p->id * (size_t)p->cap);
        p->group = xrealloc(p->group, sizeof *p->group * (size_t)p->cap);
    }
    snprintf(p->id[p->n], sizeof p->id[p->n], "%016llx", (unsigned long long)problem_hash(question, reference));
    p->group[p->n++] = *g;
}

void eval_problems_free(EvalProblems *p) {
    free(p->id);
    free(p->group);
    memset(p, 0, sizeof *p);
}

cJSON *eval_problems_json(const EvalProblems *p, int k) {
    cJSON *o = cJSON_CreateObject(), *ids = cJSON_AddArrayToObject(o, "id");
    for (int i = 0; i < p->n; i++) cJSON_AddItemToArray(ids, cJSON_CreateString(p->id[i]));
    char ck[16];
    snprintf(ck, sizeof ck, "cons@%d", k);
    const char *names[6] = {"pass@1", ck, "format", "language", "length", "think"};
    const size_t offsets[6] = {offsetof(EvalGroup, pass1), offsetof(EvalGroup, cons), offsetof(EvalGroup, format),
                               offsetof(EvalGroup, language), offsetof(EvalGroup, length), offsetof(EvalGroup, think)};
    for (int c = 0; c < 6; c++) {
        cJSON *col = cJSON_AddArrayToObject(o, names[c]);
        for (int i = 0; i < p->n; i++)
            cJSON_AddItemToArray(col, json_exact_number(*(const double *)((const char *)&p->group[i] + offsets[c])));
    }
    return o;
}
