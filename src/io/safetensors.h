/* safetensors: the tensor file format of Hugging Face checkpoints — reader (mmap) and writer.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON header
 *   {"__metadata__": {...}, "<name>": {"dtype": "BF16", "shape": [r, c], "data_offsets": [b, e]}, ...}
 * then the raw little-endian row-major data; offsets are relative to the data start (8 + N).
 *
 * Reading validates everything before any tensor is touched: the header length, the JSON, each
 * entry's dtype, shape and offsets (in range, size = numel·dtype size, no two tensors overlapping,
 * no duplicate names). Every error is one line naming the file and, when there is one, the
 * tensor. A folder is read either as model.safetensors or as shards listed by
 * model.safetensors.index.json ("weight_map": name -> shard file); all shards form one set.
 *
 * Values are converted on read to f32 or f64: F32, F64, BF16, F16, and F8_E4M3 (e4m3fn) whose
 * float sibling "<name>_scale_inv" [ceil(r/128), ceil(c/128)] multiplies each 128×128 block
 * (deepseek-v3-architecture.md §10, P18). The e4m3 NaN bytes 0x7F/0xFF are refused as corrupt.
 * I32/I64 are read as integers (test fixtures).
 *
 * Writing streams tensors from f32 or f64 buffers, converting to F32, BF16 (round to nearest
 * even) or F16; the header carries "__metadata__": {"format": "pt"} and is space-padded so the data
 * starts 8-byte aligned (P17). The file is written as <path>.tmp, fsync'ed and renamed.
 */
#ifndef R1_IO_SAFETENSORS_H
#define R1_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum StDtype {
    ST_F32, ST_F64, ST_BF16, ST_F16, ST_F8_E4M3, ST_I32, ST_I64,
    ST_DTYPE_COUNT
} StDtype;

enum { ST_MAX_DIMS = 8 };

typedef struct StTensor {
    char *name;             /* owned */
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t numel;
    uint64_t nbytes;        /* numel · st_dtype_size(dtype) */
    const uint8_t *data;    /* into the shard's mapping */
    int shard;              /* index into Safetensors.shards */
} StTensor;

typedef struct StShard {
    char *path;             /* owned; names the file in errors */
    const uint8_t *base;    /* whole file (mapped, or the caller's buffer) */
    size_t size;
    int mapped;             /* base is an mmap we own */
} StShard;

typedef struct Safetensors {
    StShard *shards;
    int n_shards;
    StTensor *t;            /* every tensor of every shard, sorted by name */
    int n;
    char *metadata_format;  /* "__metadata__.format" of the first shard that has one, or NULL */
} Safetensors;

const char *st_dtype_name(StDtype d);          /* "F32", "BF16", ... */
size_t st_dtype_size(StDtype d);
int st_dtype_parse(const char *s, StDtype *out);   /* 0, or -1 when unknown */

/* Opens one file (mmap). Free with st_free (also after a failure). */
int st_open_file(Safetensors *st, const char *path, Err *e);
/* Parses a file image already in memory (not copied: buf must outlive st). `where` names it. */
int st_open_mem(Safetensors *st, const void *buf, size_t n, const char *where, Err *e);
/* A model folder: dir/model.safetensors.index.json with its shards if present, else
 * dir/model.safetensors. */
int st_open_folder(Safetensors *st, const char *dir, Err *e);
void st_free(Safetensors *st);

/* NULL when absent (binary search). */
const StTensor *st_find(const Safetensors *st, const char *name);
/* The file a tensor lives in (for error messages). */
static inline const char *st_path(const Safetensors *st, const StTensor *t) { return st->shards[t->shard].path; }

/* Converts tensor t into dst (numel elements) of type dst_type: ST_F32 or ST_F64 for any float
 * dtype (F8_E4M3 dequantised with its _scale_inv sibling), ST_I32/ST_I64 for integer tensors. */
int st_read(const Safetensors *st, const StTensor *t, void *dst, StDtype dst_type, Err *e);
/* Checks an F8_E4M3 tensor for use as stored (2-D, its scale tensor present and of the right
 * shape, no NaN byte) and returns its scales converted to f32 in *scale [⌈r/128⌉, ⌈c/128⌉]
 * (caller frees). Errors name the tensor. */
int st_f8_scales(const Safetensors *st, const StTensor *t, float **scale, Err *e);
/* Name of the F8 scale sibling: "<name>_scale_inv". */
void st_scale_inv_name(const char *name, char *out, size_t cap);

/* Scalar conversions (exposed for tests). */
float st_bf16_to_f32(uint16_t h);
uint16_t st_f32_to_bf16(float f);       /* round to nearest even; NaN stays a quiet NaN */
float st_f16_to_f32(uint16_t h);
uint16_t st_f32_to_f16(float f);        /* round to nearest even; overflow -> ±inf */
float st_f8e4m3_to_f32(uint8_t b);      /* NaN for 0x7F / 0xFF */

/* ---- writing ---- */

typedef struct StWriteTensor {
    const char *name;
    StDtype dtype;          /* on disk: F32, BF16, F16, or (raw copy) the same as src_type */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;       /* numel elements of src_type */
    StDtype src_type;       /* ST_F32 or ST_F64 (converted), or any dtype equal to `dtype` */
} StWriteTensor;

/* Writes the tensors in the given order to path (via path.tmp, fsync, rename, fsync of the
 * folder). Metadata: {"format": "pt"}. */
int st_write(const char *path, const StWriteTensor *ts, int n, Err *e);

#endif
