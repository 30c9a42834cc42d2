/* Tokenizer encode/decode pipeline and accessors (see tokenizer.h). Loading is in hf.c. */
#include "tokenizer/tok_internal.h"

#include <string.h>

struct TokState {
    PreTokScratch *pre;
    BpeWork *bpe;
    NormScratch *norm;
    /* during one encode call */
    const Tokenizer *tok;
    TokIds *out;
    Err *e;
    PieceFn piece_fn;        /* tokenizer_pieces(): called instead of BPE */
    void *piece_ctx;
    TokIds scratch;          /* tokenizer_pieces(): collects the (dropped) added-token ids */
};

/* ---- trie ---- */

void trie_init(Trie *t) {
    memset(t, 0, sizeof *t);
    t->cap = 64;
    t->nodes = xmalloc(t->cap * sizeof *t->nodes);
    t->nodes[0] = (TrieNode){-1, -1, -1, 0};
    t->n = 1;
}

void trie_free(Trie *t) {
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

void trie_add(Trie *t, const char *s, size_t n, int32_t tok) {
    if (n == 0) return;
    t->first[(unsigned char)s[0]] = 1;
    int32_t cur = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int32_t k = t->nodes[cur].child;
        while (k >= 0 && t->nodes[k].byte != c) k = t->nodes[k].sibling;
        if (k < 0) {
            if (t->n == t->cap) {
                t->cap *= 2;
                t->nodes = xrealloc(t->nodes, t->cap * sizeof *t->nodes);
            }
            k = (int32_t)t->n++;
            t->nodes[k] = (TrieNode){-1, t->nodes[cur].child, -1, c};
            t->nodes[cur].child = k;
        }
        cur = k;
    }
    if (t->nodes[cur].tok < 0) t->nodes[cur].tok = tok;   /* first definition wins */
}

/* Longest token starting at p: returns its length (0 if none) and its index in *tok. */
static size_t trie_longest(const Trie *t, const unsigned char *p, size_t n, int32_t *tok) {
    int32_t cur = 0;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t k = t->nodes[cur].child;
        while (k >= 0 && t->nodes[k].byte != p[i]) k = t->nodes[k].sibling;
        if (k < 0) break;
        cur = k;
        if (t->nodes[k].tok >= 0) { best = i + 1; *tok = t->nodes[k].tok; }
    }
    return best;
}

void tokenizer_finish(Tokenizer *tok) {
    trie_init(&tok->special_trie);
    trie_init(&tok->plain_trie);
    NormScratch *ns = tok->norm.n ? norm_scratch_new() : NULL;
    for (int i = 0; i < tok->n_added; i++) {
        AddedToken *a = &tok->added[i];
        /* HF matches tokens with normalized=false on the raw text first, then the others on the
         * normalized text, in their normalized form */
        if (!a->normalized) { trie_add(&tok->special_trie, a->content, a->len, i); continue; }
        size_t n = a->len;
        Err e = {0};
        const char *c = ns ? normalizer_run(&tok->norm, ns, a->content, a->len, &n, &e) : a->content;
        CHECK(c);   /* fails only when out of memory */
        trie_add(&tok->plain_trie, c, n, i);
    }
    norm_scratch_free(ns);
    tok->is_special = xcalloc(tok->bpe.n_ids ? tok->bpe.n_ids : 1, 1);
    for (int i = 0; i < tok->n_added; i++)
        if (tok->added[i].special) tok->is_special[tok->added[i].id] = 1;
}

void tokenizer_free(Tokenizer *tok) {
    if (!tok) return;
    bpe_free(&tok->bpe);
    pretok_free(&tok->pre);
    for (int i = 0; i < tok->n_added; i++) free(tok->added[i].content);
    free(tok->added);
    trie_free(&tok->special_trie);
    trie_free(&tok->plain_trie);
    free(tok->is_special);
    tok_state_free(tok->state);
    free(tok);
}

/* ---- encoding ---- */

TokState *tok_state_new(const Tokenizer *tok) {
    TokState *s = xcalloc(1, sizeof *s);
    s->pre = pretok_scratch_new(&tok->pre);
    s->bpe = bpe_work_new();
    if (tok->norm.n) s->norm = norm_scratch_new();
    return s;
}

void tok_state_free(TokState *s) {
    if (!s) return;
    pretok_scratch_free(s->pre);
    bpe_work_free(s->bpe);
    norm_scratch_free(s->norm);
    tokids_free(&s->scratch);
    free(s);
}

static int on_piece(void *ctx, const char *p, size_t n) {
    TokState *s = ctx;
    if (s->piece_fn) return s->piece_fn(s->piece_ctx, p, n);
    return bpe_encode_piece(&s->tok->bpe, s->bpe, (const unsigned char *)p, n, s->out, s->e);
}

static int encode_plain(TokState *s, const char *p, size_t n) {
    if (n == 0) return 0;
    if (s->tok->pre.n == 0) return on_piece(s, p, n);
    return pretok_run(&s->tok->pre, s->pre, p, n, on_piece, s, s->e);
}

static int is_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_word(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* One added-token pass over p[0..n): matched tokens are emitted, the text between them goes to
 * `next` (the next pass, or pre-tokenization). */
static int split_added(TokState *s, const Trie *t, const char *text, size_t n,
                       int (*next)(TokState *, const char *, size_t)) {
    const unsigned char *p = (const unsigned char *)text;
    const Tokenizer *tok = s->tok;
    size_t seg = 0, pos = 0;
    int rc;
    if (t->n <= 1) return next(s, text, n);
    while (pos < n) {
        if (!t->first[p[pos]]) { pos++; continue; }
        int32_t ti = -1;
        size_t L = trie_longest(t, p + pos, n - pos, &ti);
        if (!L) { pos++; continue; }
        const AddedToken *a = &tok->added[ti];
        if (a->single_word && ((pos > 0 && is_word(p[pos - 1])) || (pos + L < n && is_word(p[pos + L])))) {
            pos++;
            continue;
        }
        size_t ms = pos, me = pos + L;
        if (a->lstrip) while (ms > seg && is_ws(p[ms - 1])) ms--;
        if (a->rstrip) while (me < n && is_ws(p[me])) me++;
        if ((rc = next(s, text + seg, ms - seg))) return rc;
        tokids_push(s->out, a->id);
        seg = pos = me;
    }
    return next(s, text + seg, n - seg);
}

/* A segment between normalized=false tokens: normalized, then the other added tokens cut out. */
static int pass_plain(TokState *s, const char *p, size_t n) {
    if (s->tok->norm.n && n > 0) {
        p = normalizer_run(&s->tok->norm, s->norm, p, n, &n, s->e);
        if (!p) return -1;
    }
    return split_added(s, &s->tok->plain_trie, p, n, encode_plain);
}

int tokenizer_encode_with(const Tokenizer *tok, TokState *s, const char *text, size_t len,
                          TokIds *out, Err *e) {
    s->tok = tok;
    s->out = out;
    s->e = e;
    s->piece_fn = NULL;
    return split_added(s, &tok->special_trie, text, len, pass_plain);
}

int tokenizer_pieces(const Tokenizer *tok, TokState *s, const char *text, size_t len,
                     PieceFn fn, void *ctx, Err *e) {
    s->tok = tok;
    s->scratch.n = 0;
    s->out = &s->scratch;
    s->e = e;
    s->piece_fn = fn;
    s->piece_ctx = ctx;
    int rc = split_added(s, &tok->special_trie, text, len, pass_plain);
    s->piece_fn = NULL;
    return rc;
}

int tokenizer_encode(Tokenizer *tok, const char *text, size_t len, TokIds *out, Err *e) {
    if (!tok->state) tok->state = tok_state_new(tok);
    return tokenizer_encode_with(tok, tok->state, text, len, out, e);
}

/* ---- decoding and accessors ---- */

int tokenizer_decode(const Tokenizer *tok, const uint32_t *ids, size_t n, int skip_special,
                     StrBuf *out, Err *e) {
    const Bpe *b = &tok->bpe;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id >= b->n_ids || b->len[id] == UINT32_MAX)
            return err_set(e, "token id %u (position %zu) is not in the vocabulary", id, i);
        if (skip_special && tok->is_special[id]) continue;
        sb_append_n(out, b->blob + b->off[id], b->len[id]);
    }
    if (!out->s) sb_append_n(out, "", 0);
    return 0;
}

int64_t tokenizer_token_id(const Tokenizer *tok, const char *text) {
    size_t n = strlen(text);
    for (int i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == n && !memcmp(tok->added[i].content, text, n)) return tok->added[i].id;
    return bpe_vocab_find(&tok->bpe, text, n);
}

const char *tokenizer_token_bytes(const Tokenizer *tok, uint32_t id, size_t *len) {
    if (id >= tok->bpe.n_ids || tok->bpe.len[id] == UINT32_MAX) return NULL;
    if (len) *len = tok->bpe.len[id];
    return tok->bpe.blob + tok->bpe.off[id];
}

int tokenizer_is_special(const Tokenizer *tok, uint32_t id) {
    return id < tok->bpe.n_ids && tok->is_special[id];
}

uint32_t tokenizer_vocab_size(const Tokenizer *tok) { return tok->bpe.n_ids; }
int64_t tokenizer_bos_id(const Tokenizer *tok) { return tok->bos; }
int64_t tokenizer_eos_id(const Tokenizer *tok) { return tok->eos; }
int64_t tokenizer_pad_id(const Tokenizer *tok) { return tok->pad; }
ChatFormat tokenizer_chat_format(const Tokenizer *tok) { return tok->chat; }
int tokenizer_normalizes(const Tokenizer *tok) { return tok->norm.n > 0; }
uint64_t tokenizer_hash(const Tokenizer *tok) { return tok->hash; }
const Bpe *tokenizer_bpe(const Tokenizer *tok) { return &tok->bpe; }
const PreTok *tokenizer_pretok(const Tokenizer *tok) { return &tok->pre; }
int tokenizer_n_added(const Tokenizer *tok) { return tok->n_added; }

const char *tokenizer_added(const Tokenizer *tok, int i, uint32_t *id, int *special) {
    if (i < 0 || i >= tok->n_added) return NULL;
    if (id) *id = tok->added[i].id;
    if (special) *special = tok->added[i].special;
    return tok->added[i].content;
}
