/* Model folder + tokenizer for inference (see model_dir.h). */
#include "infer/model_dir.h"

#include <stdio.h>

#include "io/file.h"
#include "io/gguf.h"
#include "model/model_io.h"
#include "tokenizer/gguf_vocab.h"

/* A .gguf file: the model and the tokenizer its tokenizer.ggml.* keys describe. */
static int open_gguf(const char *path, Model *m, Tokenizer **tok, Err *e) {
    if (model_load_dir(m, path, e) < 0) return -1;
    if (!tok) return 0;
    Gguf g;
    if (gguf_open_file(&g, path, e) == 0) *tok = gguf_vocab_tokenizer(&g, e);
    gguf_free(&g);
    if (*tok && tokenizer_vocab_size(*tok) <= (uint32_t)m->cfg.vocab_size) return 0;
    if (*tok) err_set(e, "%s: the vocabulary has ids up to %u but token_embd.weight %d rows", path, tokenizer_vocab_size(*tok) - 1, m->cfg.vocab_size);
    tokenizer_free(*tok);
    *tok = NULL;
    model_free(m);
    return -1;
}

int model_dir_open(const char *dir, Model *m, Tokenizer **tok, Err *e) {
    return model_dir_open_as(dir, WEIGHTS_F32, m, tok, e);
}

int model_dir_open_as(const char *dir, WeightMode mode, Model *m, Tokenizer **tok, Err *e) {
    char path[4096];
    if (tok) *tok = NULL;
    if (!file_exists(dir)) return err_set(e, "%s: no such model folder", dir);
    if (model_path_is_gguf(dir)) return open_gguf(dir, m, tok, e);
    if (tok) {
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        if (!file_exists(path)) return err_set(e, "%s: missing tokenizer.json", dir);
    }
    if (model_load_dir_as(m, dir, mode, e) < 0) return -1;
    if (!tok) return 0;
    *tok = tokenizer_load(path, e);
    if (!*tok) {
        model_free(m);
        return -1;
    }
    if (tokenizer_vocab_size(*tok) > (uint32_t)m->cfg.vocab_size) {
        err_set(e, "%s: tokenizer.json has ids up to %u but config.json has vocab_size %d", dir,
                tokenizer_vocab_size(*tok) - 1, m->cfg.vocab_size);
        tokenizer_free(*tok);
        *tok = NULL;
        model_free(m);
        return -1;
    }
    return 0;
}
