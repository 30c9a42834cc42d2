/* Loading a Hugging Face tokenizer.json (byte-level BPE) into a Tokenizer.
 *
 * Accepted: model.type BPE (vocab, merges as "a b" strings or [a, b] pairs, ignore_merges),
 * added_tokens, normalizer null / NFC / NFD / NFKC / NFKD / a Sequence of them (normalize.h),
 * pre_tokenizer Sequence / Split / ByteLevel / Digits, decoder ByteLevel (or a Sequence of them, or
 * null). Everything else is refused with a one-line error naming the field. Vocab entries that are
 * not byte-level strings are allowed only when an added token with the same id and text covers them
 * (DeepSeek stores its specials so).
 *
 * Added-token ids are the file's. Hugging Face keeps them only where they follow its own numbering
 * (a token missing from model.vocab gets the next id after the vocabulary's entry count and the
 * added tokens before it; it warns otherwise), as in every real file; a file with holes in its
 * vocabulary, such as the pruned test fixtures, is where the two differ. */
#include <libgen.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "tokenizer/tok_internal.h"

#define TOK_MAX_ID ((int)BPE_MAX_ID)   /* larger ids are refused (tables are per id) */

static const char *type_of(const cJSON *o) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static int load_pre_one(Tokenizer *tok, const cJSON *p, const char *where, Err *e) {
    const char *ty = type_of(p);
    if (!cJSON_IsObject(p) || !ty) return err_set(e, "%s: expected an object with a \"type\"", where);
    char w[256];
    if (!strcmp(ty, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (!cJSON_IsArray(arr)) return err_set(e, "%s.pretokenizers: missing or not an array", where);
        int i = 0;
        for (const cJSON *c = arr->child; c; c = c->next, i++) {
            snprintf(w, sizeof w, "%s.pretokenizers[%d]", where, i);
            if (load_pre_one(tok, c, w, e)) return -1;
        }
        return 0;
    }
    if (!strcmp(ty, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        const cJSON *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
        snprintf(w, sizeof w, "%s.pattern", where);
        if (!cJSON_IsString(re) && !cJSON_IsString(str))
            return err_set(e, "%s: expected {\"Regex\": ...} or {\"String\": ...}", w);
        const char *beh = "Isolated";
        if (json_get_string(p, "behavior", 0, &beh, e) < 0) return err_prefix(e, "%s", where);
        SplitBehavior b;
        if (!strcmp(beh, "Isolated")) b = SPLIT_ISOLATED;
        else if (!strcmp(beh, "Removed")) b = SPLIT_REMOVED;
        else if (!strcmp(beh, "MergedWithPrevious")) b = SPLIT_MERGED_PREV;
        else if (!strcmp(beh, "MergedWithNext")) b = SPLIT_MERGED_NEXT;
        else return err_set(e, "%s.behavior: '%s' is not supported", where, beh);
        int invert = 0;
        if (json_get_bool(p, "invert", 0, &invert, e) < 0) return err_prefix(e, "%s", where);
        const char *s = cJSON_IsString(re) ? re->valuestring : str->valuestring;
        return pretok_add_split(&tok->pre, s, strlen(s), cJSON_IsString(re), b, invert, w, e);
    }
    if (!strcmp(ty, "ByteLevel")) {
        int aps = 0, use_regex = 1;
        if (json_get_bool(p, "add_prefix_space", 0, &aps, e) < 0 ||
            json_get_bool(p, "use_regex", 0, &use_regex, e) < 0)
            return err_prefix(e, "%s", where);
        return pretok_add_bytelevel(&tok->pre, aps, use_regex, where, e);
    }
    if (!strcmp(ty, "Digits")) {
        int ind = 0;
        if (json_get_bool(p, "individual_digits", 0, &ind, e) < 0) return err_prefix(e, "%s", where);
        const char *re = ind ? "\\p{Nd}" : "\\p{Nd}+";
        return pretok_add_split(&tok->pre, re, strlen(re), 1, SPLIT_ISOLATED, 0, where, e);
    }
    return err_set(e, "%s.type: '%s' is not supported (Sequence, Split, ByteLevel, Digits are)", where, ty);
}

static int load_norm(Tokenizer *tok, const cJSON *n, const char *where, Err *e) {
    const char *ty = type_of(n);
    if (!cJSON_IsObject(n) || !ty) return err_set(e, "%s: expected an object with a \"type\"", where);
    if (strcmp(ty, "Sequence")) return normalizer_add(&tok->norm, ty, where, e);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    if (!cJSON_IsArray(arr)) return err_set(e, "%s.normalizers: missing or not an array", where);
    int i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        char w[256];
        snprintf(w, sizeof w, "%s.normalizers[%d]", where, i);
        if (load_norm(tok, c, w, e)) return -1;
    }
    return 0;
}

static int check_decoder(const cJSON *d, const char *where, Err *e) {
    if (!d || cJSON_IsNull(d)) return 0;
    const char *ty = type_of(d);
    if (!ty) return err_set(e, "%s: expected an object with a \"type\"", where);
    if (!strcmp(ty, "ByteLevel")) return 0;
    if (!strcmp(ty, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(d, "decoders");
        int i = 0;
        for (const cJSON *c = cJSON_IsArray(arr) ? arr->child : NULL; c; c = c->next, i++) {
            char w[128];
            snprintf(w, sizeof w, "%s.decoders[%d]", where, i);
            if (check_decoder(c, w, e)) return -1;
        }
        return 0;
    }
    return err_set(e, "%s.type: '%s' is not supported (byte-level decoding only)", where, ty);
}

/* Token text (byte-level form) -> id through the vocabulary. */
static int64_t find_bl(const Tokenizer *tok, const char *s, size_t n, unsigned char *buf) {
    long k = bytelevel_decode(s, n, buf);
    return k < 0 ? -1 : bpe_vocab_find(&tok->bpe, buf, (size_t)k);
}

static int load_merges(Tokenizer *tok, const cJSON *merges, Err *e) {
    if (!cJSON_IsArray(merges)) return err_set(e, "model.merges: missing or not an array");
    unsigned char *buf = NULL, *cat = NULL;
    size_t cap = 0;
    int i = 0, rc = -1;
    for (const cJSON *m = merges->child; m; m = m->next, i++) {
        const char *a, *b;
        size_t na, nb;
        if (cJSON_IsString(m)) {
            const char *sp = strchr(m->valuestring, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                err_set(e, "model.merges[%d]: '%s' is not two tokens separated by one space", i, m->valuestring);
                goto out;
            }
            a = m->valuestring; na = (size_t)(sp - a);
            b = sp + 1; nb = strlen(b);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            a = m->child->valuestring; na = strlen(a);
            b = m->child->next->valuestring; nb = strlen(b);
        } else {
            err_set(e, "model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]", i);
            goto out;
        }
        if (na + nb + 1 > cap) {
            cap = 2 * (na + nb + 1);
            buf = xrealloc(buf, cap);
            cat = xrealloc(cat, cap);
        }
        int64_t ia = find_bl(tok, a, na, buf), ib = find_bl(tok, b, nb, buf);
        if (ia < 0 || ib < 0) {
            err_set(e, "model.merges[%d]: '%.*s' is not in the vocabulary", i, (int)(ia < 0 ? na : nb), ia < 0 ? a : b);
            goto out;
        }
        size_t la = tok->bpe.len[ia], lb = tok->bpe.len[ib];
        memcpy(cat, tok->bpe.blob + tok->bpe.off[ia], la);
        memcpy(cat + la, tok->bpe.blob + tok->bpe.off[ib], lb);
        int64_t im = bpe_vocab_find(&tok->bpe, cat, la + lb);
        if (im < 0) {
            err_set(e, "model.merges[%d]: the merged token '%.*s%.*s' is not in the vocabulary", i, (int)na, a, (int)nb, b);
            goto out;
        }
        if (tok->bpe.n_merges >= BPE_MAX_MERGES) {
            err_set(e, "model.merges: more than %u merges", BPE_MAX_MERGES);
            goto out;
        }
        if (bpe_add_merge(&tok->bpe, (uint32_t)ia, (uint32_t)ib, (uint32_t)im)) {
            err_set(e, "model.merges[%d]: duplicate merge '%.*s %.*s'", i, (int)na, a, (int)nb, b);
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    free(cat);
    return rc;
}

static int load_model(Tokenizer *tok, const cJSON *root, unsigned char **non_bl, Err *e) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) return err_set(e, "model: missing or not an object");
    const char *ty = type_of(model);
    if (ty && strcmp(ty, "BPE")) return err_set(e, "model.type: '%s' is not supported (BPE only)", ty);
    const char *keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, keys[k]);
        if (v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !v->valuestring[0]))
            return err_set(e, "model.%s: not supported (byte-level BPE has none)", keys[k]);
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) return err_set(e, "model.vocab: missing or not an object");
    int n = cJSON_GetArraySize(vocab);
    bytesmap_free(&tok->bpe.vocab);
    bytesmap_init(&tok->bpe.vocab, (size_t)n);
    size_t nbl_cap = 0;
    unsigned char *buf = NULL;
    size_t cap = 0;
    for (const cJSON *v = vocab->child; v; v = v->next) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= TOK_MAX_ID ||
            v->valuedouble != (double)(int64_t)v->valuedouble) {
            free(buf);
            return err_set(e, "model.vocab['%s']: id must be an integer in [0, %d)", v->string, TOK_MAX_ID);
        }
        uint32_t id = (uint32_t)v->valuedouble;
        size_t sl = strlen(v->string);
        if (sl + 1 > cap) { cap = 2 * sl + 16; buf = xrealloc(buf, cap); }
        long k = bytelevel_decode(v->string, sl, buf);
        const void *bytes = k < 0 ? (const void *)v->string : (const void *)buf;
        size_t blen = k < 0 ? sl : (size_t)k;
        if (bpe_set_token(&tok->bpe, id, bytes, blen)) {
            size_t ol;
            const char *old = tokenizer_token_bytes(tok, id, &ol);
            err_set(e, "model.vocab: duplicate id %u ('%s' and '%.*s')", id, v->string, (int)ol, old);
            free(buf);
            return -1;
        }
        if (k < 0) {   /* not byte-level: must be covered by an added token (checked later) */
            if (id >= nbl_cap) {
                size_t nc = nbl_cap ? nbl_cap : 1024;
                while (nc <= id) nc *= 2;
                *non_bl = xrealloc(*non_bl, nc);
                memset(*non_bl + nbl_cap, 0, nc - nbl_cap);
                nbl_cap = nc;
            }
            (*non_bl)[id] = 1;
            continue;
        }
        uint64_t h = tokmap_hash_bytes(buf, blen);
        if (bytesmap_find(&tok->bpe.vocab, buf, blen, h) >= 0) {
            free(buf);
            return err_set(e, "model.vocab: token '%s' appears twice", v->string);
        }
        bytesmap_add(&tok->bpe.vocab, buf, blen, h, id);
    }
    free(buf);
    /* the non-byte-level flags are sized to cover every id */
    if (*non_bl && nbl_cap < tok->bpe.n_ids) {
        *non_bl = xrealloc(*non_bl, tok->bpe.n_ids);
        memset(*non_bl + nbl_cap, 0, tok->bpe.n_ids - nbl_cap);
    }
    int im = 0;
    if (json_get_bool(model, "ignore_merges", 0, &im, e) < 0) return err_prefix(e, "model");
    tok->bpe.ignore_merges = im;
    bpe_index_bytes(&tok->bpe);
    return load_merges(tok, cJSON_GetObjectItemCaseSensitive(model, "merges"), e);
}

static int load_added(Tokenizer *tok, const cJSON *root, unsigned char *non_bl, uint32_t vocab_ids, Err *e) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!arr || cJSON_IsNull(arr)) return 0;
    if (!cJSON_IsArray(arr)) return err_set(e, "added_tokens: not an array");
    int n = cJSON_GetArraySize(arr), i = 0;
    tok->added = xcalloc((size_t)n + 1, sizeof *tok->added);

    for (const cJSON *t = arr->child; t; t = t->next, i++) {
        AddedToken *a = &tok->added[tok->n_added];
        int64_t id;
        const char *content;
        if (json_get_int(t, "id", 1, &id, e) < 0 || json_get_string(t, "content", 1, &content, e) < 0 ||
            json_get_bool(t, "special", 0, &a->special, e) < 0 || json_get_bool(t, "lstrip", 0, &a->lstrip, e) < 0 ||
            json_get_bool(t, "rstrip", 0, &a->rstrip, e) < 0 ||
            json_get_bool(t, "single_word", 0, &a->single_word, e) < 0 ||
            json_get_bool(t, "normalized", 0, &a->normalized, e) < 0)
            return err_prefix(e, "added_tokens[%d]", i);
        if (id < 0 || id >= TOK_MAX_ID) return err_set(e, "added_tokens[%d].id: %lld is out of range", i, (long long)id);
        if (!content[0]) return err_set(e, "added_tokens[%d].content: empty", i);
        a->id = (uint32_t)id;
        a->len = strlen(content);
        a->content = xstrdup(content);
        tok->n_added++;
        for (int j = 0; j < tok->n_added - 1; j++)
            if (tok->added[j].id == a->id) return err_set(e, "added_tokens[%d]: duplicate id %u", i, a->id);
        size_t ol;
        const char *old = tokenizer_token_bytes(tok, a->id, &ol);
        if (old) {
            if (ol != a->len || memcmp(old, content, ol))
                return err_set(e, "added_tokens[%d]: id %u is already the token '%.*s' of model.vocab", i, a->id,
                               (int)ol, old);
            if (non_bl && a->id < vocab_ids) non_bl[a->id] = 0;
        } else {
            bpe_set_token(&tok->bpe, a->id, content, a->len);
        }
    }
    return 0;
}

static void set_specials(Tokenizer *tok, const char *path) {
    const char *names[3] = {"<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                            "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                            "<\xef\xbd\x9c\xe2\x96\x81pad\xe2\x96\x81\xef\xbd\x9c>"};
    cJSON *cfg = NULL;
    if (path) {
        char *dup = xstrdup(path);
        char cpath[4096];
        snprintf(cpath, sizeof cpath, "%s/tokenizer_config.json", dirname(dup));
        free(dup);
        Err ignore = {0};
        if (file_exists(cpath)) cfg = json_load_file(cpath, &ignore);
    }
    const char *keys[3] = {"bos_token", "eos_token", "pad_token"};
    int64_t *dst[3] = {&tok->bos, &tok->eos, &tok->pad};
    for (int k = 0; k < 3; k++) {
        const char *name = names[k];
        const cJSON *v = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, keys[k]) : NULL;
        if (cJSON_IsString(v)) name = v->valuestring;
        else if (cJSON_IsObject(v) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "content")))
            name = cJSON_GetObjectItemCaseSensitive(v, "content")->valuestring;
        *dst[k] = tokenizer_token_id(tok, name);
    }
    if (tok->pad < 0) tok->pad = tok->eos;
    const cJSON *tmpl = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "chat_template") : NULL;
    tok->chat = chat_format_of_template(cJSON_IsString(tmpl) ? tmpl->valuestring : NULL);
    cJSON_Delete(cfg);
}

static Tokenizer *from_json(const char *json, size_t n, const char *name, const char *path, Err *e) {
    cJSON *root = json_parse_n(json, n, e);
    if (!root) { err_prefix(e, "%s", name); return NULL; }
    Tokenizer *tok = xcalloc(1, sizeof *tok);
    bpe_init(&tok->bpe);
    tok->hash = tokmap_hash_bytes(json, n);
    unsigned char *non_bl = NULL;
    int rc = -1;
    if (!cJSON_IsObject(root)) { err_set(e, "expected a JSON object"); goto out; }
    if (load_model(tok, root, &non_bl, e)) goto out;
    uint32_t vocab_ids = tok->bpe.n_ids;
    if (load_added(tok, root, non_bl, vocab_ids, e)) goto out;
    for (uint32_t id = 0; non_bl && id < vocab_ids; id++)
        if (non_bl[id]) {
            size_t l;
            const char *s = tokenizer_token_bytes(tok, id, &l);
            err_set(e, "model.vocab: '%.*s' (id %u) is not a byte-level token and no added token covers it",
                    (int)l, s, id);
            goto out;
        }
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm) && load_norm(tok, norm, "normalizer", e)) goto out;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (pre && !cJSON_IsNull(pre) && load_pre_one(tok, pre, "pre_tokenizer", e)) goto out;
    if (check_decoder(cJSON_GetObjectItemCaseSensitive(root, "decoder"), "decoder", e)) goto out;
    tokenizer_finish(tok);
    set_specials(tok, path);
    rc = 0;
out:
    free(non_bl);
    cJSON_Delete(root);
    if (rc) {
        if (name) err_prefix(e, "%s", name);
        /* token texts quoted in messages may hold newlines or other control bytes: keep one line */
        for (char *c = e ? e->msg : NULL; c && *c; c++)
            if ((unsigned char)*c < 0x20) *c = ' ';
        tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

Tokenizer *tokenizer_from_json(const char *json, size_t n, const char *name, Err *e) {
    return from_json(json, n, name, NULL, e);
}

Tokenizer *tokenizer_load(const char *path, Err *e) {
    size_t n;
    char *buf = file_read_all(path, &n, e);
    if (!buf) return NULL;
    Tokenizer *tok = from_json(buf, n, path, path, e);
    free(buf);
    return tok;
}
