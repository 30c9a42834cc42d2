/* Reading a record to score (see score_record.h). */
#include "rl/score_record.h"

#include <math.h>
#include <stdio.h>

#include "rl/verify.h"

/* A field's text: a string, or a chat array whose last message has "content". NULL if neither. */
static const char *field_text(const cJSON *rec, const char *key, int *present) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    *present = v != NULL;
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsArray(v)) {
        const cJSON *last = NULL, *it;
        cJSON_ArrayForEach(it, v) last = it;
        const cJSON *c = last ? cJSON_GetObjectItemCaseSensitive(last, "content") : NULL;
        if (cJSON_IsString(c)) return c->valuestring;
    }
    return NULL;
}

int score_record_read(const cJSON *rec, const char *completion_key, const char *answer_key,
                      const char *prompt_key, ScoreRecord *r, Err *e) {
    int has_c, has_a, has_p;
    r->completion = field_text(rec, completion_key, &has_c);
    r->answer = field_text(rec, answer_key, &has_a);
    r->prompt = field_text(rec, prompt_key, &has_p);
    if (!r->prompt) r->prompt = "";
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(rec, answer_key);
    if (!r->answer && cJSON_IsNumber(av)) {
        double v = av->valuedouble;   /* cJSON reads 1e400 as inf: no integer conversion then */
        if (fabs(v) < 9.0e15 && v == floor(v)) snprintf(r->num, sizeof r->num, "%lld", (long long)v);
        else snprintf(r->num, sizeof r->num, "%.17g", v);
        r->answer = r->num;
    }
    if (!r->completion)
        return err_set(e, "key '%s': %s", completion_key, has_c ? "not a string" : "missing");
    if (!r->answer)
        return err_set(e, "key '%s': %s", answer_key, has_a ? "not a string" : "missing");
    return verify_reference_check(r->answer, answer_key, e);
}
