/* SFT data: records -> prompt/completion token sequences, held-out split, packing with
 * completion-only targets (see sft_data.h). */
#include "train/sft_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "tasks/records.h"
#include "tokenizer/chat.h"

void sft_set_free(SftSet *s) {
    for (int i = 0; i < s->n; i++) free(s->ex[i].tok);
    free(s->ex);
    memset(s, 0, sizeof *s);
}

static void set_push(SftSet *s, SftExample x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->ex = xrealloc(s->ex, sizeof(SftExample) * (size_t)s->cap);
    }
    s->ex[s->n++] = x;
}

static int encode(Tokenizer *tok, const char *text, TokIds *out, const char *where, Err *e) {
    if (tokenizer_encode(tok, text, strlen(text), out, e) != 0) return err_prefix(e, "%s", where);
    return 0;
}

/* The messages of a record, or a synthesised user/assistant pair from prompt/completion. */
static int record_messages(const cJSON *rec, ChatMessage **msgs, int *n, const char *where, Err *e) {
    if (!cJSON_IsObject(rec)) return err_set(e, "%s: a record must be a JSON object", where);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(rec, "messages");
    if (m) {
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 2)
            return err_set(e, "%s: \"messages\" must be an array of at least 2 messages", where);
        int k = cJSON_GetArraySize(m);
        *msgs = xcalloc((size_t)k, sizeof(ChatMessage));
        int i = 0;
        for (const cJSON *it = m->child; it; it = it->next, i++) {
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "role");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
            if (!cJSON_IsString(r) || !cJSON_IsString(c)) {
                free(*msgs);
                return err_set(e, "%s: messages[%d] needs string \"role\" and \"content\"", where, i);
            }
            (*msgs)[i].role = r->valuestring;
            (*msgs)[i].content = c->valuestring;
        }
        *n = k;
        if (strcmp((*msgs)[k - 1].role, "assistant") != 0) {
            err_set(e, "%s: the last message must be the assistant's (got role \"%s\")", where,
                    (*msgs)[k - 1].role);
            free(*msgs);
            return -1;
        }
        return 0;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(rec, "prompt");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(rec, "completion");
    if (!p) return err_set(e, "%s: record has no \"messages\" (nor \"prompt\" + \"completion\")", where);
    if (!cJSON_IsString(p)) return err_set(e, "%s: \"prompt\" must be a string", where);
    if (!c) return err_set(e, "%s: record has a \"prompt\" but no \"completion\" to learn", where);
    if (!cJSON_IsString(c)) return err_set(e, "%s: \"completion\" must be a string", where);
    *msgs = xcalloc(2, sizeof(ChatMessage));
    (*msgs)[0] = (ChatMessage){"user", p->valuestring};
    (*msgs)[1] = (ChatMessage){"assistant", c->valuestring};
    *n = 2;
    return 0;
}

int sft_add_record(SftSet *s, Tokenizer *tok, const cJSON *rec, const SftDataOptions *o,
                   const char *where, Err *e) {
    ChatMessage *msgs = NULL;
    int n = 0;
    if (record_messages(rec, &msgs, &n, where, e) != 0) return -1;
    int64_t eos = tokenizer_eos_id(tok);
    if (eos < 0) { free(msgs); return err_set(e, "the tokenizer has no EOS token"); }
    StrBuf prompt = {0};
    TokIds ids = {0};
    int rc = chat_render_format(tokenizer_chat_format(tok), msgs, n - 1, 1, &prompt, e);
    if (rc) err_prefix(e, "%s", where);
    if (rc == 0) rc = encode(tok, prompt.s ? prompt.s : "", &ids, where, e);
    size_t n_prompt = ids.n;
    const char *comp = msgs[n - 1].content;
    if (strncmp(comp, CHAT_THINK "\n", strlen(CHAT_THINK) + 1) == 0) comp += strlen(CHAT_THINK) + 1;
    if (rc == 0) rc = encode(tok, comp, &ids, where, e);
    if (rc == 0) {
        tokids_push(&ids, (uint32_t)eos);
        size_t len = ids.n;
        int keep = 1, cut = 0;
        if (len > (size_t)o->seq_len) {
            if (o->drop_long) keep = 0;
            else { len = (size_t)o->seq_len; cut = 1; }
        }
        if (keep && len <= n_prompt) keep = 0;   /* no completion token left */
        if (keep) {
            s->truncated += cut;   /* an example cut and then dropped counts as dropped only */
            SftExample x = {xmalloc(sizeof(int) * len), (int)len, (int)n_prompt};
            for (size_t i = 0; i < len; i++) x.tok[i] = (int)ids.v[i];
            set_push(s, x);
        } else {
            s->dropped++;
        }
    }
    tokids_free(&ids);
    sb_free(&prompt);
    free(msgs);
    return rc;
}

int sft_load_jsonl(SftSet *s, Tokenizer *tok, const char *path, const SftDataOptions *o, Err *e) {
    size_t n;
    char *buf = file_read_all(path, &n, e);
    if (!buf) return -1;
    int rc = 0;
    long line = 0;
    char where[4200];
    for (char *p = buf; p < buf + n && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(buf + n - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(buf + n - p);
        line++;
        snprintf(where, sizeof where, "%s:%ld", path, line);
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        if (k < len) {
            cJSON *j = cJSON_ParseWithLength(p, len);
            if (!j) rc = err_set(e, "%s: not valid JSON", where);
            else rc = sft_add_record(s, tok, j, o, where, e);
            cJSON_Delete(j);
        }
        p += len + 1;
    }
    free(buf);
    if (rc == 0 && s->n == 0) rc = err_set(e, "%s: no usable examples", path);
    return rc;
}

int sft_load_tasks(SftSet *s, Tokenizer *tok, const char *tasks, int level, int64_t n,
                   uint64_t seed, const SftDataOptions *o, Err *e) {
    char names[16][64];
    int nt = 0;
    for (const char *p = tasks; *p && nt < 16;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || len >= 64) return err_set(e, "task: bad task list '%s'", tasks);
        memcpy(names[nt], p, len);
        names[nt++][len] = 0;
        p += len + (c ? 1 : 0);
    }
    if (nt == 0) return err_set(e, "task: empty task list");
    for (int64_t i = 0; i < n; i++) {
        RecordSpec spec = {names[i % nt], level, LANG_EN, 0.3, 1.0, 0.0, REC_SFT, SPLIT_TRAIN};
        cJSON *r = record_make(&spec, seed, (uint64_t)i, e);
        if (!r) return err_prefix(e, "task %s", names[i % nt]);
        char where[128];
        snprintf(where, sizeof where, "task %s record %lld", names[i % nt], (long long)i);
        int rc = sft_add_record(s, tok, r, o, where, e);
        cJSON_Delete(r);
        if (rc) return -1;
    }
    return 0;
}

void sft_split(SftSet *s, double frac, uint64_t seed, SftSet *train, SftSet *val) {
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    int n = s->n;
    int nv = frac > 0 ? (int)(frac * n + 0.5) : 0;
    if (frac > 0 && nv == 0 && n >= 2) nv = 1;
    if (nv >= n) nv = n - 1;
    if (nv < 0) nv = 0;
    uint32_t *order = xmalloc(sizeof(uint32_t) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) order[i] = (uint32_t)i;
    Rng r = rng_make(seed, RNG_DATA, UINT64_MAX, 1);
    rng_shuffle_u32(&r, order, (uint64_t)n);
    /* held-out examples keep file order among themselves, and so do the training ones */
    char *is_val = xcalloc((size_t)(n > 0 ? n : 1), 1);
    for (int i = 0; i < nv; i++) is_val[order[i]] = 1;
    for (int i = 0; i < n; i++) set_push(is_val[i] ? val : train, s->ex[i]);
    train->truncated = s->truncated;
    train->dropped = s->dropped;
    free(is_val);
    free(order);
    free(s->ex);
    memset(s, 0, sizeof *s);
}

void sft_batcher_init(SftBatcher *b, const SftSet *set, uint64_t seed, int shuffle) {
    memset(b, 0, sizeof *b);
    b->set = set;
    b->seed = seed;
    b->shuffle = shuffle;
    b->order = xmalloc(sizeof(uint32_t) * (size_t)(set->n > 0 ? set->n : 1));
    b->order_epoch = -1;
}

void sft_batcher_free(SftBatcher *b) {
    free(b->order);
    b->order = NULL;
}

static const SftExample *peek(SftBatcher *b) {
    if (b->order_epoch != b->epoch) {
        for (int i = 0; i < b->set->n; i++) b->order[i] = (uint32_t)i;
        if (b->shuffle) {
            Rng r = rng_make(b->seed, RNG_DATA, (uint64_t)b->epoch, 0);
            rng_shuffle_u32(&r, b->order, (uint64_t)b->set->n);
        }
        b->order_epoch = b->epoch;
    }
    return &b->set->ex[b->order[b->pos]];
}

static void advance(SftBatcher *b) {
    if (++b->pos >= b->set->n) { b->pos = 0; b->epoch++; }
}

int sft_batcher_row(SftBatcher *b, int T, int pad, int *tokens, int *targets) {
    int used = 0, n_loss = 0;
    while (b->set->n > 0) {
        const SftExample *x = peek(b);
        if (x->n > T - used) break;
        for (int i = 0; i < x->n; i++) {
            tokens[used + i] = x->tok[i];
            int t = -1;
            if (i + 1 < x->n && i + 1 >= x->n_prompt) { t = x->tok[i + 1]; n_loss++; }
            targets[used + i] = t;
        }
        used += x->n;
        int64_t ep = b->epoch;
        advance(b);
        if (used == T || b->epoch != ep) break;   /* a row never spans two epochs */
    }
    for (int i = used; i < T; i++) { tokens[i] = pad; targets[i] = -1; }
    return n_loss;
}

int64_t sft_rows_per_epoch(const SftSet *set, int T) {
    int64_t rows = 0;
    int used = T;   /* same rule as sft_batcher_row: an epoch starts a new row */
    for (int i = 0; i < set->n; i++) {
        if (set->ex[i].n > T - used) { rows++; used = 0; }
        used += set->ex[i].n;
    }
    return rows;
}
