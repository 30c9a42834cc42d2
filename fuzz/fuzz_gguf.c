/* Fuzz target: any bytes as a GGUF file either parse or fail with a one-line message naming the
 * file (never crash, never read outside the buffer). What parses is read in full: every key
 * through the typed getters, every string of every string array, every tensor converted to f32
 * (its data inside the buffer); when the metadata describes a small model of an architecture r1
 * reads (deepseek2, qwen2, llama), the model import runs too, and so does the tokenizer import
 * from the tokenizer.ggml keys (errors must name the file). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "model/gguf_model.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const Err *e) {
    if (!e->msg[0] || strchr(e->msg, '\n') || !strstr(e->msg, "fuzz.gguf")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);   /* a private copy: reads past `size` are caught */
    memcpy(buf, data, size);
    Err e = {0};
    Gguf g;
    if (gguf_open_mem(&g, buf, size, "fuzz.gguf", &e) != 0) {
        one_line(&e);
        gguf_free(&g);
        free(buf);
        return 0;
    }
    for (int64_t i = 0; i < g.n_kv; i++) {
        const GgufKv *kv = &g.kv[i];
        uint32_t u;
        double f;
        int b;
        const char *s;
        size_t n;
        Err ke = {0};
        if (gguf_get_u32(&g, kv->key, 1, &u, &ke) < 0) one_line(&ke);
        if (gguf_get_float(&g, kv->key, 1, &f, &ke) < 0) one_line(&ke);
        if (gguf_get_bool(&g, kv->key, 1, &b, &ke) < 0) one_line(&ke);
        if (gguf_get_str(&g, kv->key, 1, &s, &n, &ke) == 0 && (const uint8_t *)s + n > buf + size) abort();
        if (kv->type == GGUF_ARRAY && kv->arr_type == GGUF_STRING)
            for (uint64_t k = 0; k < kv->n; k++) {
                s = gguf_arr_str(kv, k, &n);
                if ((const uint8_t *)s < buf || (const uint8_t *)s + n > buf + size) abort();
            }
    }
    for (int64_t i = 0; i < g.n_tensors; i++) {
        const GgufTensor *t = &g.t[i];
        if (t->data < buf || t->data + t->nbytes > buf + size) abort();
        if (gguf_find_tensor(&g, t->name) != t) abort();
        float *out = malloc(t->numel * sizeof *out + 4);
        gguf_tensor_to_f32(t, out);
        free(out);
    }
    ModelConfig cfg;
    if (gguf_model_config(&g, &cfg, &e) != 0) {
        one_line(&e);
    } else {
        ParamTable pt;
        param_table_build(&pt, &cfg);
        if (pt.total < (1u << 20)) {
            real *params = calloc(pt.total + 1, sizeof *params);
            if (gguf_model_read_params(&g, &cfg, &pt, params, &e) != 0) one_line(&e);
            free(params);
        }
        param_table_free(&pt);
    }
    Tokenizer *tok = gguf_vocab_tokenizer(&g, &e);
    if (!tok) one_line(&e);
    tokenizer_free(tok);
    gguf_free(&g);
    free(buf);
    return 0;
}
