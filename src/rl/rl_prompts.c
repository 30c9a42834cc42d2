#include "rl/rl_prompts.h"

#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "io/file.h"
#include "io/json.h"
#include "io/options.h"
#include "rl/verify.h"
#include "tokenizer/chat.h"

static const char R1ZERO_TEMPLATE[] =
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process "
    "here </think> <answer> answer here </answer>. User: ";

const char *const PROMPT_FORMAT_NAMES[] = {"chat", "r1zero", "plain", NULL};

int prompt_format_parse(const char *s, PromptFormat *out, Err *e) {
    int k;
    if (opt_choice(PROMPT_FORMAT_NAMES, "prompt format", s, &k, e) != 0) return -1;
    *out = (PromptFormat)k;
    return 0;
}

void prompt_render(PromptFormat f, const char *question, StrBuf *out) {
    if (f == PROMPT_PLAIN) {
        sb_append(out, question);
        sb_append(out, "\n");
        return;
    }
    if (f == PROMPT_R1ZERO) {
        sb_append(out, R1ZERO_TEMPLATE);
        sb_append(out, question);
        sb_append(out, " Assistant:");
        return;
    }
    sb_append(out, CHAT_USER);
    sb_append(out, question);
    sb_append(out, CHAT_ASSISTANT CHAT_THINK "\n");
}

int prompt_source_tasks(PromptSource *ps, const char *tasks, const char *levels, const char *lang,
                        uint64_t seed, Err *e) {
    memset(ps, 0, sizeof *ps);
    ps->seed = seed;
    const char *p = tasks;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof ps->tasks[0]) return err_set(e, "task: bad task list '%s'", tasks);
        if (ps->n_tasks == 8) return err_set(e, "task: at most 8 tasks");
        memcpy(ps->tasks[ps->n_tasks], p, n);
        ps->tasks[ps->n_tasks][n] = 0;
        if (!task_find(ps->tasks[ps->n_tasks]))
            return err_set(e, "task: unknown task '%s' (known: %s)", ps->tasks[ps->n_tasks], task_names());
        ps->n_tasks++;
        p += n + (p[n] == ',');
    }
    if (!ps->n_tasks) return err_set(e, "task: empty task list");
    char *end;
    long lo = strtol(levels, &end, 10), hi = lo;
    if (*end == '-') hi = strtol(end + 1, &end, 10);
    if (*end || lo < 1 || hi > 5 || lo > hi) return err_set(e, "level: expected 1..5 or a range like 1-3, got '%s'", levels);
    ps->level_lo = (int)lo;
    ps->level_hi = (int)hi;
    if (!strcmp(lang, "en")) ps->lang = LANG_EN;
    else if (!strcmp(lang, "zh")) ps->lang = LANG_ZH;
    else if (!strcmp(lang, "mixed")) ps->mixed_lang = 1;
    else return err_set(e, "lang: expected en, zh or mixed, got '%s'", lang);
    return 0;
}

/* GSM8K's answers end in "#### n": the reference is n. */
static const char *gsm8k_reference(const char *answer) {
    const char *h = strstr(answer, "####");
    if (!h) return answer;
    h += 4;
    while (*h == ' ') h++;
    return h;
}

int prompt_source_file(PromptSource *ps, const char *path, uint64_t seed, Err *e) {
    size_t n;
    char *buf = file_read_all(path, &n, e);
    if (!buf) {
        memset(ps, 0, sizeof *ps);
        return -1;
    }
    int rc = prompt_source_text(ps, buf, n, path, seed, e);
    free(buf);
    return rc;
}

int prompt_source_text(PromptSource *ps, const char *buf, size_t n, const char *path, uint64_t seed, Err *e) {
    memset(ps, 0, sizeof *ps);
    ps->seed = seed;
    int cap = 0, rc = 0;
    JsonlIter it = jsonl_iter(buf, n);
    const char *s;
    size_t len;
    while (rc == 0 && jsonl_next(&it, &s, &len)) {
        cJSON *j = json_parse_n(s, len, e);
        if (!j) { rc = err_prefix(e, "%s:%d", path, it.line); break; }
        const char *q = NULL, *a = NULL, *sol = NULL;
        Err ignore;
        if (json_get_string(j, "prompt", 0, &q, &ignore) != 0 && json_get_string(j, "question", 0, &q, &ignore) != 0 &&
            json_get_string(j, "problem", 0, &q, &ignore) != 0)
            q = NULL;
        if (json_get_string(j, "answer", 0, &a, &ignore) != 0) a = NULL;
        Span boxed = {0};
        if (!a && json_get_string(j, "solution", 0, &sol, &ignore) == 0 &&
            !verify_extract(sol, strlen(sol), VERIFY_BOXED, &boxed))
            sol = NULL;
        if (!q || (!a && !sol)) {
            rc = err_set(e, "%s:%d: record needs string fields \"prompt\" (or \"question\", \"problem\") and "
                         "\"answer\" (or a \"solution\" with a \\boxed{} answer)", path, it.line);
        } else {
            if (ps->n_records == cap) {
                cap = cap ? 2 * cap : 256;
                ps->questions = xrealloc(ps->questions, sizeof(char *) * (size_t)cap);
                ps->references = xrealloc(ps->references, sizeof(char *) * (size_t)cap);
            }
            char *ref;
            if (a) {
                ref = xstrdup(gsm8k_reference(a));
            } else {
                ref = xmalloc(boxed.n + 1);
                memcpy(ref, boxed.p, boxed.n);
                ref[boxed.n] = 0;
            }
            if (verify_reference_check(ref, a ? "answer" : "solution", e) != 0) {
                rc = err_prefix(e, "%s:%d", path, it.line);
                free(ref);
            } else {
                ps->questions[ps->n_records] = xstrdup(q);
                ps->references[ps->n_records++] = ref;
            }
        }
        cJSON_Delete(j);
    }
    if (rc == 0 && ps->n_records == 0) rc = err_set(e, "%s: no records", path);
    if (rc) prompt_source_free(ps);
    return rc;
}

int prompt_source_open(PromptSource *ps, const char *task, const char *data, const char *levels,
                       const char *lang, uint64_t seed, Err *e) {
    memset(ps, 0, sizeof *ps);
    if (!task == !data) return err_set(e, "give exactly one of a task list or a data file");
    return task ? prompt_source_tasks(ps, task, levels, lang, seed, e) : prompt_source_file(ps, data, seed, e);
}

void prompt_source_free(PromptSource *ps) {
    for (int i = 0; i < ps->n_records; i++) { free(ps->questions[i]); free(ps->references[i]); }
    free(ps->questions);
    free(ps->references);
    memset(ps, 0, sizeof *ps);
}

int prompt_source_get(const PromptSource *ps, uint64_t index, StrBuf *question, StrBuf *reference,
                      Err *e) {
    return prompt_source_get_meta(ps, index, question, reference, NULL, NULL, e);
}

int prompt_source_get_meta(const PromptSource *ps, uint64_t index, StrBuf *question, StrBuf *reference,
                           const char **task_out, int *level_out, Err *e) {
    Rng r = rng_make(ps->seed, RNG_DATA, index, 7);
    if (task_out) *task_out = "data";
    if (level_out) *level_out = 0;
    if (ps->n_records) {
        uint64_t k = rng_below(&r, (uint64_t)ps->n_records);
        sb_append(question, ps->questions[k]);
        sb_append(reference, ps->references[k]);
        return 0;
    }
    TaskOpts o = {0};
    o.level = ps->level_lo + (int)rng_below(&r, (uint64_t)(ps->level_hi - ps->level_lo + 1));
    o.lang = ps->mixed_lang ? (TaskLang)rng_below(&r, 2) : ps->lang;
    o.split = ps->split;
    const char *task = ps->tasks[index % (uint64_t)ps->n_tasks];
    if (task_out) *task_out = task;
    if (level_out) *level_out = o.level;
    Problem p = {0};
    if (task_make(task, ps->seed, index, &o, &p, e) != 0) return -1;
    sb_append(question, p.prompt.s ? p.prompt.s : "");
    sb_append(reference, p.reference.s ? p.reference.s : "");
    problem_free(&p);
    return 0;
}
