/* GGUF writer (see gguf.h): metadata encoded into a buffer as it is added, tensors converted from
 * f32 while the file is written, then path.tmp -> fsync -> rename. */
#include "io/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"
#include "io/safetensors.h"

void gguf_writer_init(GgufWriter *w) { memset(w, 0, sizeof *w); }

void gguf_writer_free(GgufWriter *w) {
    for (int i = 0; i < w->n_tensors; i++) { free(w->t[i].name); free(w->t[i].owned); }
    free(w->t);
    free(w->kv);
    memset(w, 0, sizeof *w);
}

static void put(GgufWriter *w, const void *p, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        w->kv_cap = (w->kv_len + n) * 2 + 256;
        w->kv = xrealloc(w->kv, w->kv_cap);
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
}

static void put_u32(GgufWriter *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(GgufWriter *w, uint64_t v) { put(w, &v, 8); }
static void put_str(GgufWriter *w, const char *s, size_t n) { put_u64(w, n); put(w, s, n); }

static void key(GgufWriter *w, const char *k, GgufValueType t) {
    put_str(w, k, strlen(k));
    put_u32(w, t);
    w->n_kv++;
}

void gguf_w_str(GgufWriter *w, const char *k, const char *s) { key(w, k, GGUF_STRING); put_str(w, s, strlen(s)); }
void gguf_w_u32(GgufWriter *w, const char *k, uint32_t v) { key(w, k, GGUF_U32); put_u32(w, v); }
void gguf_w_f32(GgufWriter *w, const char *k, float v) { key(w, k, GGUF_F32); put(w, &v, 4); }
void gguf_w_bool(GgufWriter *w, const char *k, int v) { uint8_t b = v != 0; key(w, k, GGUF_BOOL); put(w, &b, 1); }

void gguf_w_arr_str(GgufWriter *w, const char *k, const char *const *s, const size_t *len, uint64_t n) {
    key(w, k, GGUF_ARRAY);
    put_u32(w, GGUF_STRING);
    put_u64(w, n);
    for (uint64_t i = 0; i < n; i++) put_str(w, s[i], len[i]);
}

void gguf_w_arr_i32(GgufWriter *w, const char *k, const int32_t *v, uint64_t n) {
    key(w, k, GGUF_ARRAY);
    put_u32(w, GGUF_I32);
    put_u64(w, n);
    put(w, v, n * 4);
}

void gguf_w_tensor(GgufWriter *w, const char *name, int n_dims, const int64_t *ne, GgmlType type,
                   const float *src, int take) {
    CHECK(n_dims >= 1 && n_dims <= GGUF_MAX_DIMS);
    CHECKF(type != GGML_TYPE_Q8_0 || ne[0] % GGUF_Q8_0_BLOCK == 0, "%s: Q8_0 needs rows of 32", name);
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? 2 * w->cap_tensors : 64;
        w->t = xrealloc(w->t, (size_t)w->cap_tensors * sizeof *w->t);
    }
    GgufWTensor *t = &w->t[w->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->n_dims = n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->type = type;
    t->src = src;
    if (take) t->owned = (float *)src;
}

void gguf_q8_0_quantize(const float *x, uint8_t *blocks, size_t n) {
    for (size_t b = 0; b < n / GGUF_Q8_0_BLOCK; b++) {
        const float *v = x + b * GGUF_Q8_0_BLOCK;
        uint8_t *blk = blocks + b * (2 + GGUF_Q8_0_BLOCK);
        float amax = 0;
        for (int j = 0; j < GGUF_Q8_0_BLOCK; j++) amax = fmaxf(amax, fabsf(v[j]));
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        uint16_t h = st_f32_to_f16(d);
        memcpy(blk, &h, 2);
        for (int j = 0; j < GGUF_Q8_0_BLOCK; j++) blk[2 + j] = (uint8_t)(int8_t)roundf(v[j] * id);
    }
}

static uint64_t numel_of(const GgufWTensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) n *= (uint64_t)t->ne[d];
    return n;
}

static uint64_t bytes_of(const GgufWTensor *t) {
    uint64_t n = numel_of(t);
    switch (t->type) {
    case GGML_TYPE_F32: return 4 * n;
    case GGML_TYPE_F16: case GGML_TYPE_BF16: return 2 * n;
    case GGML_TYPE_Q8_0: return n / GGUF_Q8_0_BLOCK * (2 + GGUF_Q8_0_BLOCK);
    }
    return 0;
}

/* Converts one tensor into buf (bytes_of(t) bytes). */
static void encode(const GgufWTensor *t, uint8_t *buf) {
    uint64_t n = numel_of(t);
    switch (t->type) {
    case GGML_TYPE_F32: memcpy(buf, t->src, n * 4); break;
    case GGML_TYPE_F16:
        for (uint64_t i = 0; i < n; i++) { uint16_t h = st_f32_to_f16(t->src[i]); memcpy(buf + 2 * i, &h, 2); }
        break;
    case GGML_TYPE_BF16:
        for (uint64_t i = 0; i < n; i++) { uint16_t h = st_f32_to_bf16(t->src[i]); memcpy(buf + 2 * i, &h, 2); }
        break;
    case GGML_TYPE_Q8_0: gguf_q8_0_quantize(t->src, buf, n); break;
    }
}

static uint64_t align_up(uint64_t x) { return (x + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT; }

int gguf_writer_write(const GgufWriter *w, const char *path, Err *e) {
    /* header: magic, version, counts, metadata, tensor infos, padding */
    GgufWriter h;
    gguf_writer_init(&h);
    put(&h, "GGUF", 4);
    put_u32(&h, 3);
    put_u64(&h, (uint64_t)w->n_tensors);
    put_u64(&h, (uint64_t)w->n_kv);
    put(&h, w->kv, w->kv_len);
    uint64_t off = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        const GgufWTensor *t = &w->t[i];
        put_str(&h, t->name, strlen(t->name));
        put_u32(&h, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&h, (uint64_t)t->ne[d]);
        put_u32(&h, t->type);
        put_u64(&h, off);
        off = align_up(off + bytes_of(t));
    }
    static const uint8_t zeros[GGUF_DEFAULT_ALIGNMENT];
    put(&h, zeros, align_up(h.kv_len) - h.kv_len);

    char *tmp = xmalloc(strlen(path) + 5);
    sprintf(tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { err_set(e, "%s: %s", tmp, strerror(errno)); free(tmp); gguf_writer_free(&h); return -1; }
    int rc = file_write_fd(fd, h.kv, h.kv_len, path, e);
    gguf_writer_free(&h);
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < w->n_tensors && rc == 0; i++) {
        uint64_t nb = bytes_of(&w->t[i]), padded = align_up(nb);
        if (padded > cap) { cap = padded; buf = xrealloc(buf, cap); }
        encode(&w->t[i], buf);
        memset(buf + nb, 0, padded - nb);
        rc = file_write_fd(fd, buf, padded, path, e);
    }
    free(buf);
    rc = file_finish_atomic(fd, tmp, path, rc, e);
    free(tmp);
    return rc;
}
