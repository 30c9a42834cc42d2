/* Prompt encoding and completion decoding (see prompt.h). */
#include "infer/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"

static int ids_from_text(Tokenizer *tok, const char *text, size_t len, int bos, int **ids, int *n,
                         Err *e) {
    TokIds t = {0};
    int64_t b = tokenizer_bos_id(tok);
    if (bos && b >= 0) tokids_push(&t, (uint32_t)b);
    if (tokenizer_encode(tok, text, len, &t, e) < 0) {
        tokids_free(&t);
        return -1;
    }
    *ids = xmalloc((t.n > 0 ? t.n : 1) * sizeof **ids);
    for (size_t i = 0; i < t.n; i++) (*ids)[i] = (int)t.v[i];
    *n = (int)t.n;
    tokids_free(&t);
    return 0;
}

int prompt_encode_chat(Tokenizer *tok, const ChatMessage *msgs, int n_msgs, int **ids, int *n, Err *e) {
    StrBuf sb = {0};
    if (chat_render_format(tokenizer_chat_format(tok), msgs, n_msgs, 1, &sb, e) < 0) {
        sb_free(&sb);
        return -1;
    }
    int rc = ids_from_text(tok, sb.s ? sb.s : "", sb.len, 0, ids, n, e);
    sb_free(&sb);
    return rc;
}

int prompt_encode_raw(Tokenizer *tok, const char *text, int **ids, int *n, Err *e) {
    return ids_from_text(tok, text, strlen(text), 1, ids, n, e);
}

int prompt_completion_text(const Tokenizer *tok, const GenOutput *o, StrBuf *out, Err *e) {
    int n = o->n;
    if (o->finish == GEN_EOS && n > 0) n--;
    uint32_t *ids = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = (uint32_t)o->tokens[i];
    size_t start = out->len;
    int rc = tokenizer_decode(tok, ids, (size_t)n, 0, out, e);
    free(ids);
    if (rc < 0) return -1;
    if (o->finish == GEN_STOP_STRING && o->stop_at >= 0 && start + (size_t)o->stop_at <= out->len) {
        out->len = start + (size_t)o->stop_at;
        out->s[out->len] = 0;
    }
    return 0;
}

int prompt_from_record(Tokenizer *tok, const cJSON *rec, int raw, PromptRec *p, const char *where, Err *e) {
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(rec, "prompt");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "messages");
    int rc;
    if (cJSON_IsString(pr)) {
        p->text = xstrdup(pr->valuestring);
        ChatMessage m = {"user", pr->valuestring};
        rc = raw ? prompt_encode_raw(tok, pr->valuestring, &p->ids, &p->n, e)
                 : prompt_encode_chat(tok, &m, 1, &p->ids, &p->n, e);
    } else if (cJSON_IsArray(ms)) {
        int n = cJSON_GetArraySize(ms);
        if (n == 0) return err_set(e, "%s: \"messages\" is empty", where);
        ChatMessage *m = xcalloc((size_t)n, sizeof *m);
        int i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ms) {
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "role");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
            if (!cJSON_IsString(r) || !cJSON_IsString(c)) {
                free(m);
                return err_set(e, "%s: messages[%d] needs string \"role\" and \"content\"", where, i);
            }
            m[i++] = (ChatMessage){r->valuestring, c->valuestring};
        }
        p->text = cJSON_PrintUnformatted(ms);
        rc = prompt_encode_chat(tok, m, n, &p->ids, &p->n, e);
        free(m);
    } else {
        return err_set(e, "%s: needs a string \"prompt\" or a \"messages\" array", where);
    }
    return rc < 0 ? err_prefix(e, "%s", where) : 0;
}

int prompt_read_jsonl(const char *path, Tokenizer *tok, int raw, PromptRec **out, int *n_out, Err *e) {
    size_t len;
    char *buf = file_read_all(path, &len, e);
    if (!buf) return -1;
    PromptRec *ps = NULL;
    int n = 0, cap = 0, lineno = 0, rc = 0;
    for (char *p = buf, *end = buf + len; p < end && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        lineno++;
        char *s = p;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
        if (s < le) {
            char where[4200];
            snprintf(where, sizeof where, "%s:%d", path, lineno);
            cJSON *rec = json_parse_n(p, (size_t)(le - p), e);
            if (!rec) { rc = err_prefix(e, "%s", where); break; }
            if (n == cap) { cap = cap ? 2 * cap : 16; ps = xrealloc(ps, (size_t)cap * sizeof *ps); }
            memset(&ps[n], 0, sizeof ps[n]);
            rc = prompt_from_record(tok, rec, raw, &ps[n++], where, e);
            cJSON_Delete(rec);
        }
        p = le + 1;
    }
    free(buf);
    if (rc == 0 && n == 0) rc = err_set(e, "%s: no prompts", path);
    if (rc < 0) {
        prompt_recs_free(ps, n);
        return -1;
    }
    *out = ps;
    *n_out = n;
    return 0;
}

void prompt_recs_free(PromptRec *p, int n) {
    for (int i = 0; i < n; i++) { free(p[i].text); free(p[i].ids); }
    free(p);
}
