/* GGUF: the single-file model format of llama.cpp — a strict reader (mmap) and a writer.
 *
 * Layout (version 3, little-endian):
 *   "GGUF" u32 version  u64 n_tensors  u64 n_kv
 *   n_kv × { string key, u32 value_type, value }        string = u64 length + bytes (no NUL)
 *   n_tensors × { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
 *   padding to `general.alignment` (default 32), then the data section; each tensor's offset is
 *   relative to the data start and a multiple of the alignment.
 * ne[0] is the contiguous dimension: a row-major [out, in] matrix has ne = {in, out}, the same
 * bytes. Array values are { u32 element_type, u64 count, elements }; arrays of arrays are refused.
 *
 * Tensor types handled: F32, F16, BF16 and Q8_0 (blocks of 32 along ne[0]: an f16 scale d and
 * 32 int8 q, x = d·q). Reading converts any of them to f32; other ggml types are refused by name.
 *
 * Reading validates the whole header before anything is used: magic, version (2 or 3), counts
 * against the file size, every string and array inside the file, value types, duplicate keys or
 * tensor names, n_dims 1..4, dims ≥ 1 with no overflow, Q8_0 rows a multiple of 32, alignment a
 * power of two, every tensor's data aligned, inside the file and not overlapping another. Errors
 * are one line naming the file and the key or tensor: "m.gguf: tensor 'blk.0.attn_q.weight': ...".
 */
#ifndef R1_IO_GGUF_H
#define R1_IO_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum GgufValueType {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11,
    GGUF_F64 = 12, GGUF_VALUE_TYPE_COUNT
} GgufValueType;

typedef enum GgmlType { GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1, GGML_TYPE_Q8_0 = 8, GGML_TYPE_BF16 = 30 } GgmlType;

enum { GGUF_MAX_DIMS = 4, GGUF_Q8_0_BLOCK = 32, GGUF_DEFAULT_ALIGNMENT = 32 };

typedef struct GgufKv {
    char *key;                  /* owned, NUL-terminated (keys with control bytes are refused) */
    GgufValueType type;
    GgufValueType arr_type;     /* element type when type == GGUF_ARRAY */
    uint64_t n;                 /* array length; string length for GGUF_STRING */
    const uint8_t *data;        /* the value (scalars, string bytes, array elements) in the file */
    uint64_t *str_off;          /* arrays of strings: [n] offsets of each string's bytes from data */
} GgufKv;

typedef struct GgufTensor {
    char *name;                 /* owned */
    int n_dims;
    int64_t ne[GGUF_MAX_DIMS];  /* ne[0] contiguous; unused dims are 1 */
    GgmlType type;
    uint64_t numel, nbytes;
    const uint8_t *data;        /* into the file */
} GgufTensor;

typedef struct Gguf {
    char *path;                 /* owned; names the file in errors */
    const uint8_t *base;
    size_t size;
    int mapped;
    uint32_t version;
    GgufKv *kv;
    int64_t n_kv;
    GgufTensor *t;
    int64_t n_tensors;
    uint64_t alignment;
} Gguf;

/* Opens and validates a file (mmap). Free with gguf_free, also after a failure. */
int gguf_open_file(Gguf *g, const char *path, Err *e);
/* The same for a file image in memory (not copied; buf must outlive g); `where` names it. */
int gguf_open_mem(Gguf *g, const void *buf, size_t n, const char *where, Err *e);
void gguf_free(Gguf *g);

const GgufKv *gguf_find_kv(const Gguf *g, const char *key);       /* NULL when absent */
const GgufTensor *gguf_find_tensor(const Gguf *g, const char *name);
const char *gguf_type_name(GgmlType t);                             /* "F32", "Q8_0", ... */

/* Typed getters: 0 on success, 1 when the key is absent and !required (out untouched), -1 with
 * "FILE: key 'K': ..." when absent and required, of the wrong type or out of range. Integer
 * getters accept any integer type that fits; gguf_get_float any integer or float type. */
int gguf_get_u32(const Gguf *g, const char *key, int required, uint32_t *out, Err *e);
int gguf_get_float(const Gguf *g, const char *key, int required, double *out, Err *e);
int gguf_get_bool(const Gguf *g, const char *key, int required, int *out, Err *e);
/* A string value: pointer into the file (not NUL-terminated) and its length. */
int gguf_get_str(const Gguf *g, const char *key, int required, const char **s, size_t *len, Err *e);
/* Element i of an array of strings. */
const char *gguf_arr_str(const GgufKv *kv, uint64_t i, size_t *len);
/* Element i of an integer array as int64 (any integer element type). */
int64_t gguf_arr_int(const GgufKv *kv, uint64_t i);

/* Converts a tensor to f32 (numel elements into dst). */
void gguf_tensor_to_f32(const GgufTensor *t, float *dst);

/* ---- writing ---- */

typedef struct GgufWTensor {
    char *name;                 /* owned */
    int n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    GgmlType type;              /* on disk */
    const float *src;           /* numel f32 values, ne[0] fastest */
    float *owned;               /* src when the writer owns it (freed by gguf_writer_free) */
} GgufWTensor;

typedef struct GgufWriter {
    uint8_t *kv;                /* encoded key/value pairs */
    size_t kv_len, kv_cap;
    int64_t n_kv;
    GgufWTensor *t;
    int n_tensors, cap_tensors;
} GgufWriter;

void gguf_writer_init(GgufWriter *w);
void gguf_writer_free(GgufWriter *w);
void gguf_w_str(GgufWriter *w, const char *key, const char *s);
void gguf_w_u32(GgufWriter *w, const char *key, uint32_t v);
void gguf_w_f32(GgufWriter *w, const char *key, float v);
void gguf_w_bool(GgufWriter *w, const char *key, int v);
/* Arrays: strings given as pointers and lengths (bytes, may hold any byte but must be valid for
 * the reader: llama.cpp compares token texts as byte strings). */
void gguf_w_arr_str(GgufWriter *w, const char *key, const char *const *s, const size_t *len, uint64_t n);
void gguf_w_arr_i32(GgufWriter *w, const char *key, const int32_t *v, uint64_t n);
/* Adds a tensor of f32 values src (kept by the caller until gguf_writer_write, or handed over
 * with take = 1: the writer frees it). A Q8_0 tensor needs ne[0] % 32 == 0 (CHECKed). */
void gguf_w_tensor(GgufWriter *w, const char *name, int n_dims, const int64_t *ne, GgmlType type,
                   const float *src, int take);
/* Writes the file: path.tmp, fsync, rename, fsync of the folder. */
int gguf_writer_write(const GgufWriter *w, const char *path, Err *e);

/* Q8_0 codec (exposed for tests): quantises n (a multiple of 32) floats into n/32 blocks of
 * 34 bytes: d = max|x|/127 stored as f16, q = round(x/d) (ties away from zero). */
void gguf_q8_0_quantize(const float *x, uint8_t *blocks, size_t n);
void gguf_q8_0_dequantize(const uint8_t *blocks, float *x, size_t n);

#endif
