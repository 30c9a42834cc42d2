/* Fuzz target: completions to score (rl/score_record.h, what `r1 score --data` reads line by
 * line): the input as one JSON record, read under the default keys (completion, answer, prompt)
 * and under chat-style keys. Either "key 'K': missing|not a string" naming one of the keys, or a
 * malformed typed answer ("countdown:", "program:") refused naming the answer key, or the record's
 * own texts (a string, the last chat message's content, or a number printed exactly
 * when it is an integer), scored by every rule reward to a finite value in [-1, 1]. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/json.h"
#include "rl/rewards.h"
#include "rl/score_record.h"
#include "rl/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const cJSON *rec, const char *ck, const char *ak, const char *pk) {
    ScoreRecord r;
    Err e = {{0}};
    if (score_record_read(rec, ck, ak, pk, &r, &e) != 0) {
        char want_c[64], want_a[64];
        snprintf(want_c, sizeof want_c, "key '%s': ", ck);
        snprintf(want_a, sizeof want_a, "key '%s': ", ak);
        FZ_ASSERT(!strncmp(e.msg, want_c, strlen(want_c)) || !strncmp(e.msg, want_a, strlen(want_a)));
        FZ_ASSERT(strstr(e.msg, "missing") || strstr(e.msg, "not a string") ||
                  (!strncmp(e.msg, want_a, strlen(want_a)) && r.answer && verify_reference_problem(r.answer, strlen(r.answer))));
        return;
    }
    FZ_ASSERT(r.completion && r.answer && r.prompt && !verify_reference_problem(r.answer, strlen(r.answer)));
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(rec, ak);
    if (cJSON_IsNumber(av) && r.answer == r.num) {
        double v = av->valuedouble;
        FZ_ASSERT(isfinite(v) ? strtod(r.num, NULL) == v : strlen(r.num) > 0);
    }
    RewardParams p;
    reward_params_default(&p);
    RewardInput in = {r.prompt, r.completion, strlen(r.completion), r.answer, 0};
    for (int id = 0; id < REWARD_COUNT; id++) {
        double s = reward_score((RewardId)id, &in, &p);
        FZ_ASSERT(isfinite(s) && s >= -1.0 && s <= 1.0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Err e = {{0}};
    cJSON *rec = json_parse_n((const char *)data, size, &e);
    if (!rec) return 0;
    check(rec, "completion", "answer", "prompt");
    check(rec, "messages", "solution", "problem");
    cJSON_Delete(rec);
    return 0;
}
