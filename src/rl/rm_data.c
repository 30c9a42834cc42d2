/* Reward-model training data: JSONL preference / label files and the built-in helpfulness and
 * harmlessness pairs. See reward_model.h. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "rl/reward_model.h"
#include "tasks/safety.h"
#include "tasks/task.h"

static void push(RmData *d, const char *prompt, const char *chosen, const char *rejected, int label) {
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->it = xrealloc(d->it, (size_t)d->cap * sizeof *d->it);
    }
    RmItem *it = &d->it[d->n++];
    it->prompt = xstrdup(prompt);
    it->chosen = xstrdup(chosen);
    it->rejected = rejected ? xstrdup(rejected) : NULL;
    it->label = label;
}

/* a pair, or its two labelled halves when point-wise */
static void push_pair(RmData *d, const char *prompt, const char *good, const char *bad) {
    if (d->pointwise) {
        push(d, prompt, good, NULL, 1);
        push(d, prompt, bad, NULL, 0);
    } else {
        push(d, prompt, good, bad, 1);
    }
}

void rm_data_free(RmData *d) {
    for (int i = 0; i < d->n; i++) {
        free(d->it[i].prompt);
        free(d->it[i].chosen);
        free(d->it[i].rejected);
    }
    free(d->it);
    memset(d, 0, sizeof *d);
}

int rm_data_load(RmData *d, const char *path, int pointwise, Err *e) {
    memset(d, 0, sizeof *d);
    d->pointwise = pointwise;
    size_t n = 0;
    char *buf = file_read_all(path, &n, e);
    if (!buf) return -1;
    int rc = 0;
    JsonlIter it = jsonl_iter(buf, n);
    const char *s;
    size_t len;
    while (rc == 0 && jsonl_next(&it, &s, &len)) {
        cJSON *j = cJSON_ParseWithLength(s, len);
        if (!j || !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            rc = err_set(e, "%s:%d: not a JSON object", path, it.line);
            break;
        }
        const char *prompt = NULL, *a = NULL, *b = NULL;
        const char *ka = pointwise ? "response" : "chosen";
        rc = json_get_string(j, "prompt", 1, &prompt, e);
        if (rc == 0) rc = json_get_string(j, ka, 1, &a, e);
        if (rc == 0 && !pointwise) rc = json_get_string(j, "rejected", 1, &b, e);
        int label = 0;
        if (rc == 0 && pointwise) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "label");
            if (cJSON_IsBool(l)) label = cJSON_IsTrue(l);
            else if (cJSON_IsNumber(l) && (l->valuedouble == 0 || l->valuedouble == 1)) label = (int)l->valuedouble;
            else rc = err_set(e, "key 'label': %s (want 0/1 or false/true)", l ? "bad value" : "missing");
        }
        if (rc == 0) push(d, prompt, a, b, pointwise ? label : 1);
        cJSON_Delete(j);
        if (rc) err_prefix(e, "%s:%d", path, it.line);
    }
    free(buf);
    if (rc == 0 && d->n == 0) rc = err_set(e, "%s: no records", path);
    if (rc) rm_data_free(d);
    return rc;
}

int rm_data_builtin(RmData *d, const char *kind, int n, uint64_t seed, int pointwise, Err *e) {
    memset(d, 0, sizeof *d);
    d->pointwise = pointwise;
    if (n < 1) return err_set(e, "built-in %s data: need at least one item", kind);
    if (!strcmp(kind, "helpful")) {
        static const char *const tasks[] = {"arith", "linear", "countdown", "chat"};
        StrBuf good = {0}, bad = {0};
        for (int i = 0; i < n; i++) {
            Problem p = {0};
            TaskOpts to = {.level = 1 + i % 2, .lang = LANG_EN, .self_check = 0};
            if (task_make(tasks[i % 4], seed, (uint64_t)i, &to, &p, e)) { sb_free(&good); sb_free(&bad); rm_data_free(d); return -1; }
            sb_clear(&good);
            sb_clear(&bad);
            problem_completion(&p, 0, &good);
            problem_completion(&p, 1, &bad);
            push_pair(d, p.prompt.s, good.s, bad.s);
            problem_free(&p);
        }
        sb_free(&good);
        sb_free(&bad);
        return 0;
    }
    if (!strcmp(kind, "harmless")) {
        for (int i = 0; i < n; i++) {
            SafetyItem it = {0};
            safety_make(seed, (uint64_t)i, &it);
            push_pair(d, it.prompt.s, it.safe.s, it.unsafe.s);
            safety_item_free(&it);
        }
        return 0;
    }
    return err_set(e, "built-in data: unknown kind '%s' (helpful, harmless)", kind);
}
