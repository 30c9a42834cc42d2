#include "train/pretrain_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

typedef struct EncCtx {
    Tokenizer *tok;
    TokIds ids;
} EncCtx;

static int encode_cb(void *ctx, const char *text, size_t len, TokIds *out, Err *e) {
    EncCtx *c = ctx;
    c->ids.n = 0;
    if (tokenizer_encode(c->tok, text, len, &c->ids, e) != 0) return -1;
    for (size_t i = 0; i < c->ids.n; i++) tokids_push(out, c->ids.v[i]);
    return 0;
}

static char *sibling(const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    char *s = xmalloc(dl + strlen(name) + 1);
    memcpy(s, path, dl);
    strcpy(s + dl, name);
    return s;
}

int pretrain_prepare_data(PretrainData *d, const char *tokenizer_path, const char *const *files,
                          int n_files, const char *cache_path, const ModelConfig *cfg, int skip_bad,
                          const char *out_dir, Err *e) {
    memset(d, 0, sizeof *d);
    Tokenizer *tok = tokenizer_load(tokenizer_path, e);
    if (!tok) return -1;
    int rc = 0;
    uint32_t V = tokenizer_vocab_size(tok);
    int64_t eos = tokenizer_eos_id(tok);
    if (eos < 0) eos = cfg->eos_token_id;
    if (V > (uint32_t)cfg->vocab_size)
        rc = err_set(e, "%s: the tokenizer's vocabulary (%u ids) does not fit the config's vocab_size %d",
                     tokenizer_path, V, cfg->vocab_size);
    else if (eos < 0 || eos >= cfg->vocab_size)
        rc = err_set(e, "%s: end-of-sentence id %lld outside the config's vocab_size %d", tokenizer_path,
                     (long long)eos, cfg->vocab_size);
    if (rc == 0) {
        EncCtx ctx = {.tok = tok};
        TextEncoder enc = {.ctx = &ctx, .encode = encode_cb, .hash = tokenizer_hash(tok),
                           .eos_id = (uint32_t)eos};
        rc = tokcache_ensure(cache_path, files, n_files, &enc, skip_bad, &d->info, e);
        tokids_free(&ctx.ids);
    }
    if (rc == 0 && d->info.n_tokens == 0)
        rc = err_set(e, "the corpus is empty (%d file%s, no text)", n_files, n_files == 1 ? "" : "s");
    if (rc == 0) {
        d->files[d->n_files++] = (ModelFile){tokenizer_path, "tokenizer.json"};
        char *tc = sibling(tokenizer_path, "tokenizer_config.json");
        if (!file_exists(tc)) {
            free(tc);
            size_t n = strlen(out_dir) + 40;
            tc = xmalloc(n);
            snprintf(tc, n, "%s/data/tokenizer_config.json", out_dir);
            char *dir = xmalloc(n);
            snprintf(dir, n, "%s/data", out_dir);
            rc = file_mkdirs(dir, e);
            free(dir);
            if (rc == 0) rc = chat_write_tokenizer_config(tc, cfg->max_position_embeddings, e);
        }
        d->owned = tc;
        d->files[d->n_files++] = (ModelFile){tc, "tokenizer_config.json"};
    }
    tokenizer_free(tok);
    return rc;
}

void pretrain_data_free(PretrainData *d) {
    free(d->owned);
    memset(d, 0, sizeof *d);
}
