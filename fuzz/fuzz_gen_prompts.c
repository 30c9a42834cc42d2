/* Fuzz target: the prompts file of `r1 generate --prompts` (infer/prompt.h): the input as a JSONL
 * file of {"prompt": "..."} or {"messages": [...]} records, encoded with DeepSeek-V3's tokenizer
 * as chat prompts and as raw text. Either one error naming FILE:LINE (or the file when it holds
 * no prompt), or one prompt per non-blank line whose ids are in the vocabulary, start with BOS
 * and decode to exactly the chat rendering of the record (BOS + the raw text with --raw). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "infer/prompt.h"
#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What record `rec` should render to (chat template, or the raw prompt after BOS). */
static int expected_text(const cJSON *rec, int raw, StrBuf *out) {
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(rec, "prompt");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "messages");
    Err e = {{0}};
    if (cJSON_IsString(pr)) {
        if (raw) {
            sb_append(out, CHAT_BOS);
            sb_append(out, pr->valuestring);
            return 0;
        }
        ChatMessage m = {"user", pr->valuestring};
        return chat_render(&m, 1, 1, out, &e);
    }
    int n = cJSON_GetArraySize(ms), i = 0;
    ChatMessage *m = calloc((size_t)n + 1, sizeof *m);
    const cJSON *it;
    cJSON_ArrayForEach(it, ms) {
        m[i].role = cJSON_GetObjectItemCaseSensitive(it, "role")->valuestring;
        m[i++].content = cJSON_GetObjectItemCaseSensitive(it, "content")->valuestring;
    }
    int rc = chat_render(m, n, 1, out, &e);
    free(m);
    return rc;
}

static void check(const char *path, const uint8_t *data, size_t size, int raw) {
    Tokenizer *tok = fz_v3();
    PromptRec *ps = NULL;
    int n = 0;
    Err e = {{0}};
    if (prompt_read_jsonl(path, tok, raw, &ps, &n, &e) != 0) {
        fz_check_line_msg(&e, path, fz_count_lines(data, size), 1);
        return;
    }
    const uint32_t vocab = tokenizer_vocab_size(tok);
    FzLines lines = {data, size, 0, 0};
    const char *s;
    size_t len;
    int k = 0;
    while (fz_next_record(&lines, &s, &len)) {
        FZ_ASSERT(k < n);
        const PromptRec *r = &ps[k++];
        FZ_ASSERT(r->n >= 1 && r->ids[0] == tokenizer_bos_id(tok) && r->text);
        uint32_t *ids = malloc(sizeof(uint32_t) * (size_t)r->n);
        for (int i = 0; i < r->n; i++) {
            FZ_ASSERT(r->ids[i] >= 0 && (uint32_t)r->ids[i] < vocab);
            ids[i] = (uint32_t)r->ids[i];
        }
        cJSON *j = json_parse_n(s, len, &e);
        StrBuf want = {0};
        FZ_ASSERT(j && expected_text(j, raw, &want) == 0);
        FZ_ASSERT(fz_decodes_to(tok, ids, (size_t)r->n, want.s, want.len));
        sb_free(&want);
        cJSON_Delete(j);
        free(ids);
    }
    FZ_ASSERT(k == n && n >= 1);
    prompt_recs_free(ps, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file(0, "prompts.jsonl", data, size);
    check(path, data, size, 0);
    check(path, data, size, 1);
    return 0;
}
