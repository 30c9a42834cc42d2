/* GGUF reader: every byte of the header is bounds-checked before it is read (see gguf.h). */
#include "io/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"     /* f16 / bf16 scalar conversions */

/* A cursor over the file image; every read checks the bytes left. */
typedef struct Cur {
    const uint8_t *p;
    size_t pos, size;
} Cur;

static int need(const Cur *c, uint64_t n) { return n <= c->size - c->pos; }

static int rd_u32(Cur *c, uint32_t *v) {
    if (!need(c, 4)) return -1;
    memcpy(v, c->p + c->pos, 4);
    c->pos += 4;
    return 0;
}

static int rd_u64(Cur *c, uint64_t *v) {
    if (!need(c, 8)) return -1;
    memcpy(v, c->p + c->pos, 8);
    c->pos += 8;
    return 0;
}

/* A string: its bytes stay in the file; *s points at them. */
static int rd_str(Cur *c, const uint8_t **s, uint64_t *len) {
    if (rd_u64(c, len) || !need(c, *len)) return -1;
    *s = c->p + c->pos;
    c->pos += *len;
    return 0;
}

static size_t value_size(GgufValueType t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;   /* strings and arrays have no fixed size */
    }
}

const char *gguf_type_name(GgmlType t) {
    switch (t) {
    case GGML_TYPE_F32: return "F32";
    case GGML_TYPE_F16: return "F16";
    case GGML_TYPE_Q8_0: return "Q8_0";
    case GGML_TYPE_BF16: return "BF16";
    }
    return "?";
}

/* Names of the ggml types we do not read, for the error message. */
static const char *ggml_other_name(uint32_t t) {
    static const char *names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0",
                                  "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS",
                                  "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
                                  "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static int is_supported(uint32_t t) {
    return t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_Q8_0 || t == GGML_TYPE_BF16;
}

/* Bytes of numel elements of t (ne0 a multiple of the block for Q8_0). */
static uint64_t type_bytes(GgmlType t, uint64_t numel) {
    switch (t) {
    case GGML_TYPE_F32: return numel * 4;
    case GGML_TYPE_F16: case GGML_TYPE_BF16: return numel * 2;
    case GGML_TYPE_Q8_0: return numel / GGUF_Q8_0_BLOCK * (2 + GGUF_Q8_0_BLOCK);
    }
    return 0;
}

/* A printable copy of a name from the file for error messages (first 80 bytes, controls as '?'). */
static void shown(char *out, size_t cap, const uint8_t *s, uint64_t n) {
    size_t k = 0;
    for (uint64_t i = 0; i < n && k + 4 < cap && i < 80; i++) out[k++] = s[i] < 32 || s[i] == 127 ? '?' : (char)s[i];
    if (n > 80 && k + 4 < cap) { memcpy(out + k, "...", 3); k += 3; }
    out[k] = 0;
}

/* Keys and tensor names are printed in error messages: no NUL and no control bytes. */
static int bad_name(const uint8_t *s, uint64_t n) {
    if (n == 0) return 1;
    for (uint64_t i = 0; i < n; i++) if (s[i] < 32 || s[i] == 127) return 1;
    return 0;
}

static char *dup_name(const uint8_t *s, uint64_t n) {
    char *r = xmalloc(n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

/* One value of type t at the cursor (not an array). */
static int skip_value(Cur *c, GgufValueType t) {
    if (t == GGUF_STRING) {
        const uint8_t *s;
        uint64_t n;
        return rd_str(c, &s, &n);
    }
    size_t sz = value_size(t);
    if (!sz || !need(c, sz)) return -1;
    c->pos += sz;
    return 0;
}

/* A key or tensor name (`what` i): *out owned, `name` a printable copy for messages. */
static int rd_name(const Gguf *g, Cur *c, const char *what, int64_t i, char **out, char *name, size_t cap, Err *e) {
    const uint8_t *s;
    uint64_t n;
    if (rd_str(c, &s, &n)) return err_set(e, "%s: truncated in the name of %s %lld", g->path, what, (long long)i);
    shown(name, cap, s, n);
    if (bad_name(s, n)) return err_set(e, "%s: %s %lld: empty name or a control byte in '%s'", g->path, what, (long long)i, name);
    *out = dup_name(s, n);
    return 0;
}

static int parse_kv(Gguf *g, Cur *c, int64_t i, Err *e) {
    char name[96];
    GgufKv *kv = &g->kv[i];
    if (rd_name(g, c, "metadata entry", i, &kv->key, name, sizeof name, e)) return -1;
    g->n_kv = i + 1;
    uint32_t type;
    if (rd_u32(c, &type)) return err_set(e, "%s: key '%s': truncated", g->path, name);
    if (type >= GGUF_VALUE_TYPE_COUNT) return err_set(e, "%s: key '%s': unknown value type %u", g->path, name, type);
    kv->type = (GgufValueType)type;
    if (type == GGUF_ARRAY) {
        uint32_t at;
        uint64_t n;
        if (rd_u32(c, &at) || rd_u64(c, &n)) return err_set(e, "%s: key '%s': truncated array header", g->path, name);
        if (at >= GGUF_VALUE_TYPE_COUNT || at == GGUF_ARRAY)
            return err_set(e, "%s: key '%s': unsupported array element type %u", g->path, name, at);
        kv->arr_type = (GgufValueType)at;
        kv->n = n;
        kv->data = c->p + c->pos;
        if (at == GGUF_STRING) {
            if (n > (c->size - c->pos) / 8) return err_set(e, "%s: key '%s': array of %llu strings does not fit in the file", g->path, name, (unsigned long long)n);
            kv->str_off = xmalloc((n ? n : 1) * sizeof *kv->str_off);
            for (uint64_t k = 0; k < n; k++) {
                kv->str_off[k] = (uint64_t)(c->p + c->pos - kv->data);
                if (skip_value(c, GGUF_STRING)) return err_set(e, "%s: key '%s': string %llu runs past the end of the file", g->path, name, (unsigned long long)k);
            }
        } else {
            size_t sz = value_size(kv->arr_type);
            if (n > (c->size - c->pos) / sz) return err_set(e, "%s: key '%s': array of %llu elements runs past the end of the file", g->path, name, (unsigned long long)n);
            c->pos += n * sz;
        }
        return 0;
    }
    if (type == GGUF_STRING) {
        const uint8_t *s;
        if (rd_str(c, &s, &kv->n)) return err_set(e, "%s: key '%s': string runs past the end of the file", g->path, name);
        kv->data = s;
        return 0;
    }
    kv->data = c->p + c->pos;
    kv->n = 1;
    if (skip_value(c, kv->type)) return err_set(e, "%s: key '%s': truncated value", g->path, name);
    return 0;
}

static int parse_tensor(Gguf *g, Cur *c, int64_t i, Err *e) {
    char name[96];
    GgufTensor *t = &g->t[i];
    if (rd_name(g, c, "tensor", i, &t->name, name, sizeof name, e)) return -1;
    g->n_tensors = i + 1;
    uint32_t nd, type;
    if (rd_u32(c, &nd)) return err_set(e, "%s: tensor '%s': truncated", g->path, name);
    if (nd < 1 || nd > GGUF_MAX_DIMS) return err_set(e, "%s: tensor '%s': %u dimensions (1 to %d supported)", g->path, name, nd, GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    uint64_t numel = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        if (rd_u64(c, &v)) return err_set(e, "%s: tensor '%s': truncated", g->path, name);
        if (v < 1 || v > ((uint64_t)1 << 40)) return err_set(e, "%s: tensor '%s': dimension %u is %llu", g->path, name, d, (unsigned long long)v);
        if (numel > ((uint64_t)1 << 48) / v) return err_set(e, "%s: tensor '%s': too many elements", g->path, name);
        numel *= v;
        t->ne[d] = (int64_t)v;
    }
    uint64_t off;
    if (rd_u32(c, &type) || rd_u64(c, &off)) return err_set(e, "%s: tensor '%s': truncated", g->path, name);
    if (!is_supported(type))
        return err_set(e, "%s: tensor '%s': ggml type %u (%s) is not supported (F32, F16, BF16, Q8_0 are)", g->path, name, type, ggml_other_name(type));
    t->type = (GgmlType)type;
    if (t->type == GGML_TYPE_Q8_0 && t->ne[0] % GGUF_Q8_0_BLOCK)
        return err_set(e, "%s: tensor '%s': Q8_0 rows of %lld elements are not a multiple of 32", g->path, name, (long long)t->ne[0]);
    t->numel = numel;
    t->nbytes = type_bytes(t->type, numel);
    t->data = (const uint8_t *)(uintptr_t)off;   /* an offset until the data start is known */
    return 0;
}

static int cmp_tensor_off(const void *a, const void *b) {
    const GgufTensor *x = *(const GgufTensor *const *)a, *y = *(const GgufTensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Duplicate names among n strings reached through get(i); returns the duplicate or NULL. */
static const char *find_duplicate(const char **names, int64_t n) {
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int64_t i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i])) return names[i];
    return NULL;
}

static int parse(Gguf *g, Err *e) {
    Cur c = {g->base, 0, g->size};
    uint32_t magic;
    uint64_t nt, nkv;
    if (rd_u32(&c, &magic) || memcmp(g->base, "GGUF", 4)) return err_set(e, "%s: not a GGUF file (bad magic)", g->path);
    if (rd_u32(&c, &g->version)) return err_set(e, "%s: truncated header", g->path);
    if (g->version != 2 && g->version != 3) return err_set(e, "%s: GGUF version %u is not supported (2 and 3 are)", g->path, g->version);
    if (rd_u64(&c, &nt) || rd_u64(&c, &nkv)) return err_set(e, "%s: truncated header", g->path);
    /* each tensor info takes at least 8+1+4+8+4+8 bytes, each key/value at least 8+1+4+1 */
    if (nt > g->size / 33) return err_set(e, "%s: header claims %llu tensors, more than the file can hold (truncated?)", g->path, (unsigned long long)nt);
    if (nkv > g->size / 14) return err_set(e, "%s: header claims %llu metadata entries, more than the file can hold (truncated?)", g->path, (unsigned long long)nkv);
    g->kv = xcalloc(nkv ? nkv : 1, sizeof *g->kv);
    g->t = xcalloc(nt ? nt : 1, sizeof *g->t);
    for (int64_t i = 0; i < (int64_t)nkv; i++)
        if (parse_kv(g, &c, i, e)) return -1;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const GgufKv *al = gguf_find_kv(g, "general.alignment");
    if (al) {
        uint32_t a;
        if (gguf_get_u32(g, "general.alignment", 1, &a, e)) return -1;
        if (a == 0 || (a & (a - 1)) || a > (1u << 20)) return err_set(e, "%s: key 'general.alignment': %u is not a power of two up to 2^20", g->path, a);
        g->alignment = a;
    }
    for (int64_t i = 0; i < (int64_t)nt; i++)
        if (parse_tensor(g, &c, i, e)) return -1;
    const char **names = xmalloc((size_t)(nkv + nt + 1) * sizeof *names);
    for (int64_t i = 0; i < (int64_t)nkv; i++) names[i] = g->kv[i].key;
    const char *dup = find_duplicate(names, (int64_t)nkv);
    if (dup) { err_set(e, "%s: key '%.80s' appears twice", g->path, dup); free(names); return -1; }
    for (int64_t i = 0; i < (int64_t)nt; i++) names[i] = g->t[i].name;
    dup = find_duplicate(names, (int64_t)nt);
    if (dup) { err_set(e, "%s: tensor '%.80s' appears twice", g->path, dup); free(names); return -1; }
    free(names);
    uint64_t data_start = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (nt > 0 && data_start > g->size) return err_set(e, "%s: truncated before the tensor data", g->path);
    uint64_t data_size = g->size - (data_start < g->size ? data_start : g->size);
    GgufTensor **byoff = xmalloc((size_t)(nt ? nt : 1) * sizeof *byoff);
    for (int64_t i = 0; i < (int64_t)nt; i++) {
        GgufTensor *t = &g->t[i];
        uint64_t off = (uint64_t)(uintptr_t)t->data;
        if (off % g->alignment) { free(byoff); return err_set(e, "%s: tensor '%s': data offset %llu is not a multiple of the alignment %llu", g->path, t->name, (unsigned long long)off, (unsigned long long)g->alignment); }
        if (off > data_size || t->nbytes > data_size - off) {
            free(byoff);
            return err_set(e, "%s: tensor '%s': data [%llu, +%llu) runs past the end of the file (truncated?)", g->path, t->name,
                           (unsigned long long)off, (unsigned long long)t->nbytes);
        }
        byoff[i] = t;
    }
    qsort(byoff, (size_t)nt, sizeof *byoff, cmp_tensor_off);
    for (int64_t i = 1; i < (int64_t)nt; i++) {
        if ((uint64_t)(uintptr_t)byoff[i - 1]->data + byoff[i - 1]->nbytes > (uint64_t)(uintptr_t)byoff[i]->data) {
            err_set(e, "%s: tensor '%s': data overlaps tensor '%s'", g->path, byoff[i]->name, byoff[i - 1]->name);
            free(byoff);
            return -1;
        }
    }
    free(byoff);
    for (int64_t i = 0; i < (int64_t)nt; i++) g->t[i].data = g->base + data_start + (uint64_t)(uintptr_t)g->t[i].data;
    return 0;
}

int gguf_open_mem(Gguf *g, const void *buf, size_t n, const char *where, Err *e) {
    memset(g, 0, sizeof *g);
    g->path = xstrdup(where);
    g->base = buf;
    g->size = n;
    if (n < 24) return err_set(e, "%s: %s", where, n >= 4 && memcmp(buf, "GGUF", 4) ? "not a GGUF file (bad magic)" : "truncated header");
    return parse(g, e);
}

int gguf_open_file(Gguf *g, const char *path, Err *e) {
    memset(g, 0, sizeof *g);
    g->path = xstrdup(path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) { close(fd); return err_set(e, "%s: not a regular file", path); }
    g->size = (size_t)sb.st_size;
    if (g->size < 24) { close(fd); return err_set(e, "%s: truncated header (%zu bytes)", path, g->size); }
    void *m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return err_set(e, "%s: mmap failed: %s", path, strerror(errno));
    g->base = m;
    g->mapped = 1;
    return parse(g, e);
}

void gguf_free(Gguf *g) {
    for (int64_t i = 0; i < g->n_kv; i++) { free(g->kv[i].key); free(g->kv[i].str_off); }
    for (int64_t i = 0; i < g->n_tensors; i++) free(g->t[i].name);
    free(g->kv);
    free(g->t);
    if (g->mapped) munmap((void *)g->base, g->size);
    free(g->path);
    memset(g, 0, sizeof *g);
}

const GgufKv *gguf_find_kv(const Gguf *g, const char *key) {
    for (int64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && !strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const GgufTensor *gguf_find_tensor(const Gguf *g, const char *name) {
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (g->t[i].name && !strcmp(g->t[i].name, name)) return &g->t[i];
    return NULL;
}

/* A scalar integer element of type t at p; 0 when t is not an integer type. */
static int read_int(GgufValueType t, const uint8_t *p, int64_t *v) {
    switch (t) {
    case GGUF_U8: *v = p[0]; return 1;
    case GGUF_I8: *v = (int8_t)p[0]; return 1;
    case GGUF_BOOL: *v = p[0] != 0; return 1;
    case GGUF_U16: { uint16_t x; memcpy(&x, p, 2); *v = x; return 1; }
    case GGUF_I16: { int16_t x; memcpy(&x, p, 2); *v = x; return 1; }
    case GGUF_U32: { uint32_t x; memcpy(&x, p, 4); *v = x; return 1; }
    case GGUF_I32: { int32_t x; memcpy(&x, p, 4); *v = x; return 1; }
    case GGUF_U64: { uint64_t x; memcpy(&x, p, 8); *v = x > INT64_MAX ? INT64_MAX : (int64_t)x; return 1; }
    case GGUF_I64: { int64_t x; memcpy(&x, p, 8); *v = x; return 1; }
    default: return 0;
    }
}

static int absent(const Gguf *g, const char *key, int required, Err *e) {
    return required ? err_set(e, "%s: key '%s' is missing", g->path, key) : 1;
}

int gguf_get_u32(const Gguf *g, const char *key, int required, uint32_t *out, Err *e) {
    const GgufKv *kv = gguf_find_kv(g, key);
    if (!kv) return absent(g, key, required, e);
    int64_t v;
    if (kv->type == GGUF_BOOL || !read_int(kv->type, kv->data, &v)) return err_set(e, "%s: key '%s': expected an integer", g->path, key);
    if (v < 0 || v > UINT32_MAX) return err_set(e, "%s: key '%s': %lld is out of range", g->path, key, (long long)v);
    *out = (uint32_t)v;
    return 0;
}

int gguf_get_float(const Gguf *g, const char *key, int required, double *out, Err *e) {
    const GgufKv *kv = gguf_find_kv(g, key);
    if (!kv) return absent(g, key, required, e);
    int64_t v;
    if (kv->type == GGUF_F32) { float f; memcpy(&f, kv->data, 4); *out = f; return 0; }
    if (kv->type == GGUF_F64) { double f; memcpy(&f, kv->data, 8); *out = f; return 0; }
    if (kv->type != GGUF_BOOL && read_int(kv->type, kv->data, &v)) { *out = (double)v; return 0; }
    return err_set(e, "%s: key '%s': expected a number", g->path, key);
}

int gguf_get_bool(const Gguf *g, const char *key, int required, int *out, Err *e) {
    const GgufKv *kv = gguf_find_kv(g, key);
    if (!kv) return absent(g, key, required, e);
    if (kv->type != GGUF_BOOL) return err_set(e, "%s: key '%s': expected a bool", g->path, key);
    *out = kv->data[0] != 0;
    return 0;
}

int gguf_get_str(const Gguf *g, const char *key, int required, const char **s, size_t *len, Err *e) {
    const GgufKv *kv = gguf_find_kv(g, key);
    if (!kv) return absent(g, key, required, e);
    if (kv->type != GGUF_STRING) return err_set(e, "%s: key '%s': expected a string", g->path, key);
    *s = (const char *)kv->data;
    *len = kv->n;
    return 0;
}

const char *gguf_arr_str(const GgufKv *kv, uint64_t i, size_t *len) {
    CHECK(kv->type == GGUF_ARRAY && kv->arr_type == GGUF_STRING && i < kv->n);
    const uint8_t *p = kv->data + kv->str_off[i];
    uint64_t n;
    memcpy(&n, p, 8);
    *len = n;
    return (const char *)p + 8;
}

int64_t gguf_arr_int(const GgufKv *kv, uint64_t i) {
    CHECK(kv->type == GGUF_ARRAY && i < kv->n && value_size(kv->arr_type));
    int64_t v = 0;
    CHECK(read_int(kv->arr_type, kv->data + i * value_size(kv->arr_type), &v));
    return v;
}

void gguf_q8_0_dequantize(const uint8_t *blocks, float *x, size_t n) {
    for (size_t b = 0; b < n / GGUF_Q8_0_BLOCK; b++) {
        const uint8_t *blk = blocks + b * (2 + GGUF_Q8_0_BLOCK);
        uint16_t h;
        memcpy(&h, blk, 2);
        float d = st_f16_to_f32(h);
        for (int j = 0; j < GGUF_Q8_0_BLOCK; j++) x[b * GGUF_Q8_0_BLOCK + j] = d * (float)(int8_t)blk[2 + j];
    }
}

void gguf_tensor_to_f32(const GgufTensor *t, float *dst) {
    const uint8_t *p = t->data;
    switch (t->type) {
    case GGML_TYPE_F32: memcpy(dst, p, t->numel * 4); break;
    case GGML_TYPE_F16:
        for (uint64_t i = 0; i < t->numel; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = st_f16_to_f32(h); }
        break;
    case GGML_TYPE_BF16:
        for (uint64_t i = 0; i < t->numel; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = st_bf16_to_f32(h); }
        break;
    case GGML_TYPE_Q8_0: gguf_q8_0_dequantize(p, dst, t->numel); break;
    }
}
