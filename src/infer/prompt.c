/* Prompt encoding and completion decoding (see prompt.h). */
#include "infer/prompt.h"

#include <stdlib.h>
#include <string.h>

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
