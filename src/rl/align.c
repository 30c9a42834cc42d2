/* Alignment RL's prompt mix and reward-model reward term. See align.h. */
#include "rl/align.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "tasks/safety.h"
#include "tasks/task.h"

static void add_record(StrBuf *out, const char *prompt, const char *answer) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "prompt", prompt);
    cJSON_AddStringToObject(j, "answer", answer);
    char *t = cJSON_PrintUnformatted(j);
    sb_append(out, t);
    sb_append(out, "\n");
    free(t);
    cJSON_Delete(j);
}

int align_prompts(const AlignMix *mix, StrBuf *out, Err *e) {
    if (mix->n < 1) return err_set(e, "align: the prompt pool needs at least one record");
    if (!(mix->general_frac >= 0 && mix->general_frac <= 1)) return err_set(e, "general_frac: must be in [0, 1]");
    char names[8][16];
    int n_tasks = 0;
    for (const char *s = mix->tasks; s && *s && n_tasks < 8;) {
        size_t l = strcspn(s, ",");
        if (l == 0 || l >= sizeof names[0]) return err_set(e, "task: bad task list '%s'", mix->tasks);
        memcpy(names[n_tasks], s, l);
        names[n_tasks][l] = 0;
        if (!task_find(names[n_tasks])) return err_set(e, "task: unknown task '%s' (%s)", names[n_tasks], task_names());
        n_tasks++;
        s += l + (s[l] == ',');
    }
    if (n_tasks == 0 && mix->general_frac < 1) return err_set(e, "task: no reasoning task given");
    Rng r = rng_make(mix->seed, RNG_DATA, 0, 11);
    int rc = 0;
    for (int i = 0; i < mix->n && rc == 0; i++) {
        int general = rng_uniform(&r) < mix->general_frac;
        int lvl = mix->level_lo + (int)rng_below(&r, (uint64_t)(mix->level_hi - mix->level_lo + 1));
        TaskOpts to = {.level = lvl, .lang = LANG_EN, .self_check = 0};
        if (general && (i & 1)) {
            SafetyItem it = {0};
            safety_make(mix->seed, (uint64_t)i, &it);
            add_record(out, it.prompt.s, ALIGN_GENERAL_REF);
            safety_item_free(&it);
        } else {
            Problem p = {0};
            const char *task = general ? "chat" : names[i % n_tasks];
            rc = task_make(task, mix->seed, (uint64_t)i, &to, &p, e);
            if (rc == 0) add_record(out, p.prompt.s, general ? ALIGN_GENERAL_REF : p.reference.s);
            problem_free(&p);
        }
    }
    return rc;
}

int align_write_prompts(const char *path, const AlignMix *mix, Err *e) {
    StrBuf out = {0};
    int rc = align_prompts(mix, &out, e);
    if (rc == 0) rc = file_write_atomic(path, out.s ? out.s : "", out.len, e);
    sb_free(&out);
    return rc;
}

double align_rm_reward(void *ctx, const RewardInput *in) {
    AlignRm *a = ctx;
    if (!in->reference || strcmp(in->reference, ALIGN_GENERAL_REF) != 0) return 0;
    a->n_calls++;
    char *whole = xmalloc(in->completion_len + 1);
    memcpy(whole, in->completion, in->completion_len);
    whole[in->completion_len] = 0;
    /* the summary: the text after the last </think> (all of it when there is none) */
    const char *summary = whole;
    for (const char *s = strstr(whole, "</think>"); s; s = strstr(s + 1, "</think>")) summary = s + strlen("</think>");
    const char *prompt = in->prompt ? in->prompt : "";
    double total = 0, v;
    Err e = {0};
    if (a->helpful) {
        const char *resp = a->helpful_full ? whole : summary;
        if (rm_score(a->helpful, 1, &prompt, &resp, &v, &e) == 0) total += v;
        else a->n_errors++;
    }
    if (a->harmless) {
        const char *resp = whole;
        if (rm_score(a->harmless, 1, &prompt, &resp, &v, &e) == 0) total += v;
        else a->n_errors++;
    }
    free(whole);
    return total;
}
