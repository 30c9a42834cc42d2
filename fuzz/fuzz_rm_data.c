/* Fuzz target: reward-model data (rl/reward_model.h, `r1 rm train --data`): the input as a JSONL
 * file of preference pairs {"prompt", "chosen", "rejected"} and, the same bytes, of point-wise
 * records {"prompt", "response", "label"}. Either one error naming FILE:LINE and the key (or the
 * file when it holds no record), or one item per non-blank line carrying that line's strings
 * (and label 0/1 from false/true or 0/1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/json.h"
#include "rl/reward_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *str(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void check(const char *path, const uint8_t *data, size_t size, int pointwise) {
    RmData d;
    Err e = {{0}};
    if (rm_data_load(&d, path, pointwise, &e) != 0) {
        if (fz_check_line_msg(&e, path, fz_count_lines(data, size), 1) > 0)
            FZ_ASSERT(strstr(e.msg, "not a JSON object") || strstr(e.msg, "key '"));
        return;
    }
    FzLines lines = {data, size, 0, 0};
    const char *s;
    size_t len;
    int k = 0;
    while (fz_next_record(&lines, &s, &len)) {
        FZ_ASSERT(k < d.n);
        cJSON *j = cJSON_ParseWithLength(s, len);
        const RmItem *it = &d.it[k++];
        FZ_ASSERT(j && !strcmp(it->prompt, str(j, "prompt")));
        if (pointwise) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "label");
            FZ_ASSERT(!strcmp(it->chosen, str(j, "response")) && !it->rejected);
            FZ_ASSERT(it->label == (cJSON_IsTrue(l) || (cJSON_IsNumber(l) && l->valuedouble == 1)));
        } else {
            FZ_ASSERT(!strcmp(it->chosen, str(j, "chosen")) && !strcmp(it->rejected, str(j, "rejected")));
            FZ_ASSERT(it->label == 1);
        }
        cJSON_Delete(j);
    }
    FZ_ASSERT(k == d.n && d.n >= 1 && d.pointwise == pointwise);
    rm_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file(0, "prefs.jsonl", data, size);
    check(path, data, size, 0);
    check(path, data, size, 1);
    return 0;
}
