/* Tokenizer -> tokenizer.ggml.* keys (see gguf_vocab.h). */
#include "tokenizer/gguf_vocab.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/train.h"

enum { TT_NORMAL = 1, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5 };

/* Strings gathered in one buffer, then handed to the writer as pointers and lengths. */
typedef struct StrList {
    StrBuf blob;
    size_t *off, *len;
    uint64_t n, cap;
} StrList;

static void sl_begin(StrList *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->off = xrealloc(l->off, l->cap * sizeof *l->off);
        l->len = xrealloc(l->len, l->cap * sizeof *l->len);
    }
    l->off[l->n] = l->blob.len;
}

static void sl_end(StrList *l) { l->len[l->n] = l->blob.len - l->off[l->n]; l->n++; }

static void sl_add(StrList *l, const char *s, size_t n) { sl_begin(l); sb_append_n(&l->blob, s, n); sl_end(l); }

/* A token in byte-level form (NORMAL), or "[PAD<id>]" (UNUSED) when bytes is NULL. */
static int32_t sl_add_token(StrList *l, const void *bytes, size_t n, uint32_t id) {
    sl_begin(l);
    if (bytes) bytelevel_encode(bytes, n, &l->blob);
    else sb_printf(&l->blob, "[PAD%u]", id);
    sl_end(l);
    return bytes ? TT_NORMAL : TT_UNUSED;
}

static void sl_write(GgufWriter *w, const char *key, StrList *l) {
    const char **p = xmalloc((l->n ? l->n : 1) * sizeof *p);
    for (uint64_t i = 0; i < l->n; i++) p[i] = l->blob.s ? l->blob.s + l->off[i] : "";
    gguf_w_arr_str(w, key, p, l->len, l->n);
    free(p);
}

static void sl_free(StrList *l) { sb_free(&l->blob); free(l->off); free(l->len); memset(l, 0, sizeof *l); }

/* The Split regexes of a pre_tokenizer (Sequence or single step) and whether a ByteLevel step
 * with use_regex was seen. Returns the number of Split patterns, -1 for other step types. */
static int pre_patterns(const cJSON *pre, const char **pat, int cap, int *bytelevel_regex) {
    const char *ty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pre, "type"));
    if (!ty) return -1;
    if (!strcmp(ty, "Sequence")) {
        int n = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers")) {
            int k = pre_patterns(s, pat + n, cap - n, bytelevel_regex);
            if (k < 0) return -1;
            n += k;
        }
        return n;
    }
    if (!strcmp(ty, "Split")) {
        const char *re = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pre, "pattern"), "Regex"));
        if (!re || cap < 1) return -1;
        pat[0] = re;
        return 1;
    }
    if (!strcmp(ty, "ByteLevel")) {
        const cJSON *ur = cJSON_GetObjectItemCaseSensitive(pre, "use_regex");
        if (!ur || cJSON_IsTrue(ur)) *bytelevel_regex = 1;
        return 0;
    }
    return -1;
}

/* The pre-tokenizers llama.cpp knows by name (tokenizer.ggml.pre) that r1 writes and reads: the
 * Split regexes of a tokenizer.json (each followed by a ByteLevel without its regex), or none and a
 * ByteLevel with the GPT-2 regex; and, for the import, what Hugging Face's files of that family set
 * beside them (llama.cpp itself runs no normalizer). */
typedef struct PreKind {
    const char *name;
    const char *const *split;   /* the Split regexes in order (n_split of them) */
    int n_split;
    const char *normalizer;     /* the family's tokenizer.json normalizer, or NULL */
    int ignore_merges;          /* the family's model.ignore_merges */
} PreKind;

static const PreKind PRE_KINDS[] = {
    {"deepseek-v3", PRETOK_DEEPSEEK_V3, 3, NULL, 0},
    {"qwen2", &PRETOK_QWEN2, 1, "NFC", 0},
    {"llama-bpe", &PRETOK_LLAMA3, 1, NULL, 1},
    {"gpt-2", NULL, 0, NULL, 0},
};
enum { N_PRE_KINDS = sizeof PRE_KINDS / sizeof PRE_KINDS[0] };

/* Other names llama.cpp gives the same pre-tokenizers (a placeholder vocabulary says "default"). */
static const char *const PRE_ALIASES[][2] = {
    {"deepseek-r1-qwen", "qwen2"}, {"llama3", "llama-bpe"}, {"llama-v3", "llama-bpe"}, {"default", "gpt-2"},
};

/* The kind of a tokenizer.json's pre_tokenizer, or NULL. */
static const PreKind *pre_kind_of_json(const cJSON *root) {
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const char *pat[PRETOK_MAX_STEPS];
    int blr = 0;
    if (!pre || cJSON_IsNull(pre)) return NULL;
    int n = pre_patterns(pre, pat, PRETOK_MAX_STEPS, &blr);
    for (int k = 0; k < N_PRE_KINDS && n >= 0; k++) {
        const PreKind *pk = &PRE_KINDS[k];
        int same = n == pk->n_split && blr == (pk->n_split == 0);
        for (int i = 0; i < n && same; i++) same = !strcmp(pat[i], pk->split[i]);
        if (same) return pk;
    }
    return NULL;
}

/* The kind named by a GGUF file's tokenizer.ggml.pre, or NULL. */
static const PreKind *pre_kind_named(const char *name, size_t n) {
    for (size_t a = 0; a < sizeof PRE_ALIASES / sizeof PRE_ALIASES[0]; a++)
        if (strlen(PRE_ALIASES[a][0]) == n && !memcmp(name, PRE_ALIASES[a][0], n)) { name = PRE_ALIASES[a][1]; n = strlen(name); }
    for (int k = 0; k < N_PRE_KINDS; k++)
        if (strlen(PRE_KINDS[k].name) == n && !memcmp(name, PRE_KINDS[k].name, n)) return &PRE_KINDS[k];
    return NULL;
}

/* Merges in rank order, "left right" in byte-level form. */
static void add_merges(GgufWriter *w, const Bpe *b) {
    StrList l = {0};
    for (uint32_t r = 0; r < b->n_merges; r++) {
        uint32_t left, right;
        bpe_merge_pair(b, r, &left, &right);
        sl_begin(&l);
        bytelevel_encode(b->blob + b->off[left], b->len[left], &l.blob);
        sb_append_n(&l.blob, " ", 1);
        bytelevel_encode(b->blob + b->off[right], b->len[right], &l.blob);
        sl_end(&l);
    }
    sl_write(w, "tokenizer.ggml.merges", &l);
    sl_free(&l);
}

static int cmp_offstr(const void *a, const void *b, void *ctx);

/* Token texts must be distinct for llama.cpp (it maps text -> id); returns a duplicate index. */
static int64_t find_duplicate(const StrList *l) {
    uint64_t *idx = xmalloc((l->n ? l->n : 1) * sizeof *idx);
    for (uint64_t i = 0; i < l->n; i++) idx[i] = i;
    qsort_r(idx, l->n, sizeof *idx, cmp_offstr, (void *)l);
    int64_t dup = -1;
    for (uint64_t i = 1; i < l->n && dup < 0; i++)
        if (!cmp_offstr(&idx[i - 1], &idx[i], (void *)l)) dup = (int64_t)idx[i];
    free(idx);
    return dup;
}

static int cmp_offstr(const void *a, const void *b, void *ctx) {
    const StrList *l = ctx;
    uint64_t i = *(const uint64_t *)a, j = *(const uint64_t *)b;
    size_t n = l->len[i] < l->len[j] ? l->len[i] : l->len[j];
    int c = memcmp(l->blob.s + l->off[i], l->blob.s + l->off[j], n);
    return c ? c : (l->len[i] > l->len[j]) - (l->len[i] < l->len[j]);
}

static void add_chat_template(GgufWriter *w, const char *tokenizer_json) {
    char *dup = xstrdup(tokenizer_json), path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dirname(dup));
    free(dup);
    Err ignore = {0};
    cJSON *cfg = file_exists(path) ? json_load_file(path, &ignore) : NULL;
    const char *tpl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "chat_template"));
    if (tpl) gguf_w_str(w, "tokenizer.chat_template", tpl);
    cJSON_Delete(cfg);
}

int gguf_vocab_add(GgufWriter *w, const char *tokenizer_json, uint32_t vocab_size, Err *e) {
    cJSON *root = json_load_file(tokenizer_json, e);
    if (!root) return -1;
    const PreKind *pre = pre_kind_of_json(root);
    cJSON_Delete(root);
    if (!pre)
        return err_set(e, "%s: key 'pre_tokenizer': not one llama.cpp knows (the Split regexes of DeepSeek-V3, Qwen2 or Llama-3, or a GPT-2 ByteLevel)", tokenizer_json);
    Tokenizer *tok = tokenizer_load(tokenizer_json, e);
    if (!tok) return -1;
    if (tokenizer_vocab_size(tok) > vocab_size) {
        err_set(e, "%s: ids up to %u do not fit the model's vocab_size %u", tokenizer_json, tokenizer_vocab_size(tok) - 1, vocab_size);
        tokenizer_free(tok);
        return -1;
    }
    int32_t *types = xmalloc(vocab_size * sizeof *types);
    const AddedToken **added = xcalloc(vocab_size, sizeof *added);
    for (int i = 0; i < tok->n_added; i++) added[tok->added[i].id] = &tok->added[i];
    StrList l = {0};
    for (uint32_t id = 0; id < vocab_size; id++) {
        const Bpe *b = &tok->bpe;
        if (added[id]) {
            sl_add(&l, added[id]->content, added[id]->len);
            types[id] = added[id]->special ? TT_CONTROL : TT_USER_DEFINED;
        } else {
            int have = id < b->n_ids && b->len[id] != UINT32_MAX;
            types[id] = sl_add_token(&l, have ? b->blob + b->off[id] : NULL, have ? b->len[id] : 0, id);
        }
    }
    int64_t dup = find_duplicate(&l);
    int rc = 0;
    if (dup >= 0) {
        rc = err_set(e, "%s: id %lld: token text '%.*s' appears twice (llama.cpp maps texts to ids)", tokenizer_json,
                     (long long)dup, (int)(l.len[dup] > 60 ? 60 : l.len[dup]), l.blob.s + l.off[dup]);
    } else {
        gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
        gguf_w_str(w, "tokenizer.ggml.pre", pre->name);
        sl_write(w, "tokenizer.ggml.tokens", &l);
        gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, vocab_size);
        add_merges(w, &tok->bpe);
        if (tok->bos >= 0) gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)tok->bos);
        if (tok->eos >= 0) gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)tok->eos);
        if (tok->pad >= 0) gguf_w_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)tok->pad);
        gguf_w_bool(w, "tokenizer.ggml.add_bos_token", tok->bos >= 0);
        gguf_w_bool(w, "tokenizer.ggml.add_eos_token", 0);
        add_chat_template(w, tokenizer_json);
    }
    sl_free(&l);
    free(types);
    free(added);
    tokenizer_free(tok);
    return rc;
}

void gguf_vocab_add_placeholder(GgufWriter *w, uint32_t vocab_size, int bos_id, int eos_id) {
    int32_t *types = xmalloc((vocab_size ? vocab_size : 1) * sizeof *types);
    StrList l = {0};
    for (uint32_t id = 0; id < vocab_size; id++) {
        unsigned char byte = (unsigned char)id;
        types[id] = sl_add_token(&l, id < 256 ? &byte : NULL, 1, id);
    }
    gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_w_str(w, "tokenizer.ggml.pre", "default");
    sl_write(w, "tokenizer.ggml.tokens", &l);
    gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, vocab_size);
    gguf_w_arr_str(w, "tokenizer.ggml.merges", NULL, NULL, 0);
    gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos_id);
    gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos_id);
    gguf_w_bool(w, "tokenizer.ggml.add_bos_token", 0);
    gguf_w_bool(w, "tokenizer.ggml.add_eos_token", 0);
    sl_free(&l);
    free(types);
}

/* The pre_tokenizer JSON of a kind. */
static cJSON *pre_json(const PreKind *pk) {
    if (pk->n_split) return tokenizer_pre_split_json(pk->split, pk->n_split);
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", 0);
    cJSON_AddBoolToObject(pre, "use_regex", 1);
    return pre;
}

/* A NUL-terminated copy of a string from the file; NULL when it holds a NUL byte. */
static char *cstr(const char *s, size_t n) {
    if (memchr(s, 0, n)) return NULL;
    char *r = xmalloc(n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

Tokenizer *gguf_vocab_tokenizer(const Gguf *g, Err *e) {
    const char *model, *pre = "default";
    size_t mlen, plen = 7;
    if (gguf_get_str(g, "tokenizer.ggml.model", 1, &model, &mlen, e)) return NULL;
    if (mlen != 4 || memcmp(model, "gpt2", 4)) {
        err_set(e, "%s: key 'tokenizer.ggml.model': '%.*s' is not supported (gpt2 is)", g->path, (int)(mlen > 20 ? 20 : mlen), model);
        return NULL;
    }
    if (gguf_get_str(g, "tokenizer.ggml.pre", 0, &pre, &plen, e) < 0) return NULL;
    const GgufKv *tk = gguf_find_kv(g, "tokenizer.ggml.tokens"), *ty = gguf_find_kv(g, "tokenizer.ggml.token_type"),
                 *mg = gguf_find_kv(g, "tokenizer.ggml.merges");
    const char *bad = !tk || tk->type != GGUF_ARRAY || tk->arr_type != GGUF_STRING ? "tokenizer.ggml.tokens"
                    : ty && (ty->type != GGUF_ARRAY || !(ty->arr_type == GGUF_I32 || ty->arr_type == GGUF_U32) || ty->n < tk->n) ? "tokenizer.ggml.token_type"
                    : mg && (mg->type != GGUF_ARRAY || mg->arr_type != GGUF_STRING) ? "tokenizer.ggml.merges" : NULL;
    if (bad) { err_set(e, "%s: key '%s': missing or not an array of the right type and length", g->path, bad); return NULL; }
    const PreKind *pk = pre_kind_named(pre, plen);
    if (!pk) {
        err_set(e, "%s: key 'tokenizer.ggml.pre': '%.*s' is not supported (deepseek-v3, qwen2, llama-bpe, gpt-2, default)", g->path,
                (int)(plen > 30 ? 30 : plen), pre);
        return NULL;
    }
    cJSON *root = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddBoolToObject(m, "ignore_merges", pk->ignore_merges);
    if (pk->normalizer) cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "normalizer"), "type", pk->normalizer);
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab"), *merges = cJSON_AddArrayToObject(m, "merges");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    cJSON_AddItemToObject(root, "pre_tokenizer", pre_json(pk));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "decoder"), "type", "ByteLevel");
    const char *what = NULL;
    uint64_t at = 0;
    for (uint64_t id = 0; id < tk->n && !what; id++) {
        size_t n;
        const char *raw = gguf_arr_str(tk, id, &n);
        char *s = cstr(raw, n);
        int64_t type = ty ? gguf_arr_int(ty, id) : TT_NORMAL;
        if (!s) { what = "tokenizer.ggml.tokens"; at = id; break; }
        if (type == TT_CONTROL || type == TT_USER_DEFINED) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "id", (double)id);
            cJSON_AddStringToObject(a, "content", s);
            cJSON_AddBoolToObject(a, "special", type == TT_CONTROL);
            cJSON_AddBoolToObject(a, "normalized", 0);
            cJSON_AddItemToArray(added, a);
        } else if (type != TT_UNUSED) {
            cJSON_AddItemToObject(vocab, s, cJSON_CreateNumber((double)id));
        }
        free(s);
    }
    for (uint64_t r = 0; mg && r < mg->n && !what; r++) {
        size_t n;
        const char *raw = gguf_arr_str(mg, r, &n);
        char *s = cstr(raw, n);
        if (!s) { what = "tokenizer.ggml.merges"; at = r; break; }
        cJSON_AddItemToArray(merges, cJSON_CreateString(s));
        free(s);
    }
    Tokenizer *tok = NULL;
    if (what) {
        err_set(e, "%s: key '%s': entry %llu holds a NUL byte", g->path, what, (unsigned long long)at);
    } else {
        char *json = cJSON_PrintUnformatted(root);
        tok = tokenizer_from_json(json, strlen(json), g->path, e);
        free(json);
    }
    cJSON_Delete(root);
    if (!tok) return NULL;
    const char *keys[3] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id"};
    int64_t *dst[3] = {&tok->bos, &tok->eos, &tok->pad};
    for (int k = 0; k < 3; k++) {
        uint32_t v;
        int rc = gguf_get_u32(g, keys[k], 0, &v, e);
        if (rc < 0 || (rc == 0 && v >= tokenizer_vocab_size(tok))) {
            if (rc == 0) err_set(e, "%s: key '%s': %u is outside the vocabulary", g->path, keys[k], v);
            tokenizer_free(tok);
            return NULL;
        }
        if (rc == 0) *dst[k] = v;
    }
    if (tok->pad < 0) tok->pad = tok->eos;
    return tok;
}
