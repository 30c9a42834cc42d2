/* Fuzz target: RL and evaluation prompts (rl/rl_prompts.h, what `r1 zero|grpo|align|eval|sample
 * --data` read): the input as a JSONL file of {"prompt"|"question"|"problem", "answer"|"solution"}
 * records. Either one error naming FILE:LINE (or the file when it holds no record), or one record
 * per non-blank line whose question is the record's own string, whose reference is its answer
 * (GSM8K: the text after "####"; MATH: the last \boxed{} of the solution), well formed when typed
 * (a "countdown:" or "program:" reference that does not parse is refused by FILE:LINE) — so a
 * completion that states exactly a plain reference is rewarded, unless it normalises to nothing
 * (verify.h: an empty answer is never correct) — and every prompt format shows the question. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/json.h"
#include "rl/rl_prompts.h"
#include "rl/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The i-th non-blank line's JSON (NULL when none or not JSON). */
static cJSON *nth_record(const uint8_t *data, size_t size, int i) {
    FzLines it = {data, size, 0, 0};
    const char *s;
    size_t n;
    for (int k = 0; fz_next_record(&it, &s, &n); k++) {
        if (k == i) {
            Err e = {{0}};
            return json_parse_n(s, n, &e);
        }
    }
    return NULL;
}

static const char *str(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file(0, "prompts.jsonl", data, size);
    PromptSource ps;
    Err e = {{0}};
    if (prompt_source_file(&ps, path, 7, &e) != 0) {
        fz_check_line_msg(&e, path, fz_count_lines(data, size), 1);
        return 0;
    }
    FZ_ASSERT(ps.n_records >= 1);
    for (int i = 0; i < ps.n_records; i++) {
        cJSON *j = nth_record(data, size, i);
        FZ_ASSERT(j != NULL);
        const char *q = str(j, "prompt");
        if (!q) q = str(j, "question");
        if (!q) q = str(j, "problem");
        FZ_ASSERT(q && strcmp(q, ps.questions[i]) == 0);
        const char *a = str(j, "answer"), *ref = ps.references[i];
        if (a) {
            const char *h = strstr(a, "####");
            FZ_ASSERT(strcmp(ref, h ? h + 4 + strspn(h + 4, " ") : a) == 0);
        } else {
            const char *sol = str(j, "solution");
            Span b;
            FZ_ASSERT(sol && verify_extract(sol, strlen(sol), VERIFY_BOXED, &b) && b.n == strlen(ref) && memcmp(b.p, ref, b.n) == 0);
        }
        /* a typed reference that was loaded is well formed (a malformed one is refused by name) */
        size_t rn = strlen(ref);
        FZ_ASSERT(verify_reference_problem(ref, rn) == NULL);
        /* a completion stating the reference's own answer earns the reward (when that answer is a
         * plain one the completion can carry: no tags, not typed, not over the length limit) */
        Span ans = verify_reference_answer(ref, rn);
        static char norm[3 * VERIFY_MAX_ANSWER + 16];
        if (ans.n > 0 && ans.n < 200 && !memchr(ans.p, '<', ans.n) && !memchr(ans.p, '\n', ans.n) &&
            verify_normalize(ans.p, ans.n, norm, sizeof norm) > 0 &&
            strncmp(ref, "countdown:", 10) != 0 && strncmp(ref, "program:", 8) != 0 && strncmp(ref, "exact:", 6) != 0 &&
            !strstr(ref, "</think>")) {
            char comp[300];
            int cn = snprintf(comp, sizeof comp, "</think>\n\n<answer>%.*s</answer>", (int)ans.n, ans.p);
            if (!verify_completion(comp, (size_t)cn, ref, rn, VERIFY_DEFAULT)) {
                fprintf(stderr, "reference '%s' (answer '%.*s') does not accept '%s'\n", ref, (int)ans.n, ans.p, comp);
                abort();
            }
        }
        cJSON_Delete(j);
    }
    FZ_ASSERT(nth_record(data, size, ps.n_records) == NULL);
    /* drawing prompts and rendering them in every format */
    for (uint64_t k = 0; k < 4; k++) {
        StrBuf q = {0}, r = {0}, out = {0};
        FZ_ASSERT(prompt_source_get(&ps, k, &q, &r, &e) == 0);
        for (int f = PROMPT_CHAT; f <= PROMPT_PLAIN; f++) {
            sb_clear(&out);
            prompt_render((PromptFormat)f, q.s ? q.s : "", &out);
            FZ_ASSERT(out.s && strstr(out.s, q.s ? q.s : "") != NULL);
        }
        sb_free(&q);
        sb_free(&r);
        sb_free(&out);
    }
    prompt_source_free(&ps);
    return 0;
}
