/* safetensors reader and writer; see safetensors.h for the format and the guarantees. */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/fp_formats.h"
#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader assumes a little-endian host"
#endif

static const char *const dtype_names[ST_DTYPE_COUNT] = {"F32", "F64", "BF16", "F16", "F8_E4M3", "I32", "I64"};
static const size_t dtype_sizes[ST_DTYPE_COUNT] = {4, 8, 2, 2, 1, 4, 8};

const char *st_dtype_name(StDtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtype_names[d] : "?"; }
size_t st_dtype_size(StDtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtype_sizes[d] : 0; }

int st_dtype_parse(const char *s, StDtype *out) {
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (!strcmp(s, dtype_names[i])) { *out = (StDtype)i; return 0; }
    return -1;
}

static int is_float_dtype(StDtype d) { return d <= ST_F8_E4M3; }

/* ---- scalar conversions (base/fp_formats.h) ---- */

float st_bf16_to_f32(uint16_t h) { return bf16_to_f32(h); }
uint16_t st_f32_to_bf16(float f) { return f32_to_bf16(f); }
float st_f16_to_f32(uint16_t h) { return f16_to_f32(h); }
uint16_t st_f32_to_f16(float f) { return f32_to_f16(f); }
float st_f8e4m3_to_f32(uint8_t b) { return e4m3_to_f32(b); }

/* ---- parsing ---- */

static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static void add_tensor(Safetensors *st, int *cap, const StTensor *t) {
    if (st->n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        st->t = xrealloc(st->t, (size_t)*cap * sizeof *st->t);
    }
    st->t[st->n++] = *t;
}

/* Parses one entry of the header into t (name set by the caller); data_len bounds the offsets. */
static int parse_entry(StTensor *t, const cJSON *v, uint64_t data_len, const char *path, Err *e) {
    const char *name = t->name;
    if (!cJSON_IsObject(v)) return err_set(e, "%s: tensor '%s': entry is not an object", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(v, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(v, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(v, "data_offsets");
    if (!cJSON_IsString(dt)) return err_set(e, "%s: tensor '%s': 'dtype' missing or not a string", path, name);
    if (st_dtype_parse(dt->valuestring, &t->dtype)) {
        char shown[33];
        size_t k = 0;
        for (const char *c = dt->valuestring; *c && k < 32; c++) shown[k++] = (unsigned char)*c < 0x20 ? '?' : *c;
        shown[k] = 0;
        return err_set(e, "%s: tensor '%s': unknown dtype '%s'", path, name, shown);
    }
    if (!cJSON_IsArray(sh)) return err_set(e, "%s: tensor '%s': 'shape' missing or not an array", path, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS) return err_set(e, "%s: tensor '%s': %d dimensions (at most %d)", path, name, nd, ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, sh) {
        uint64_t d;
        if (json_uint(it, &d) || d > INT64_MAX)
            return err_set(e, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, i);
        t->shape[i++] = (int64_t)d;
        if (__builtin_mul_overflow(numel, d, &numel))
            return err_set(e, "%s: tensor '%s': shape overflows", path, name);
    }
    t->numel = numel;
    if (__builtin_mul_overflow(numel, (uint64_t)st_dtype_size(t->dtype), &t->nbytes))
        return err_set(e, "%s: tensor '%s': shape overflows", path, name);
    uint64_t b, en;
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || json_uint(cJSON_GetArrayItem(of, 0), &b) ||
        json_uint(cJSON_GetArrayItem(of, 1), &en))
        return err_set(e, "%s: tensor '%s': 'data_offsets' must be two non-negative integers", path, name);
    if (en < b) return err_set(e, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", path, name,
                               (unsigned long long)b, (unsigned long long)en);
    if (en - b != t->nbytes)
        return err_set(e, "%s: tensor '%s': data_offsets span %llu bytes but shape and dtype %s need %llu",
                       path, name, (unsigned long long)(en - b), dt->valuestring, (unsigned long long)t->nbytes);
    if (en > data_len)
        return err_set(e, "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data (%llu bytes; truncated file?)",
                       path, name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
    t->data = (const uint8_t *)(uintptr_t)b;   /* offset for now; rebased by the caller */
    return 0;
}

static int cmp_by_offset(const void *a, const void *b) {
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

/* Parses the shard st->shards[si] (base/size set) and appends its tensors to st->t. */
static int parse_shard(Safetensors *st, int si, int *cap, Err *e) {
    const StShard *sh = &st->shards[si];
    const char *path = sh->path;
    if (sh->size < 8)
        return err_set(e, "%s: truncated: %zu bytes, too short for the 8-byte header length", path, sh->size);
    uint64_t hlen;
    memcpy(&hlen, sh->base, 8);
    if (hlen > sh->size - 8)
        return err_set(e, "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", path,
                       (unsigned long long)hlen, sh->size);
    const char *hdr = (const char *)sh->base + 8;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!j) {
        size_t at = end && end >= hdr ? (size_t)(end - hdr) : 0;
        return err_set(e, "%s: invalid header JSON near byte %zu of %llu", path, at, (unsigned long long)hlen);
    }
    int rc = 0;
    for (const char *p = end; p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != 0) {
            rc = err_set(e, "%s: invalid header JSON: trailing bytes after the object", path);
            break;
        }
    if (rc == 0 && !cJSON_IsObject(j)) rc = err_set(e, "%s: invalid header JSON: not an object", path);
    const uint64_t data_len = sh->size - 8 - hlen;
    const uint8_t *data0 = sh->base + 8 + hlen;
    int first = st->n;
    const cJSON *v;
    if (rc == 0) cJSON_ArrayForEach(v, j) {
        const char *name = v->string ? v->string : "";
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(v) && !cJSON_IsNull(v)) { rc = err_set(e, "%s: '__metadata__' is not an object", path); break; }
            const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(v, "format");
            if (cJSON_IsString(fmt) && !st->metadata_format) st->metadata_format = xstrdup(fmt->valuestring);
            continue;
        }
        if (!name[0]) { rc = err_set(e, "%s: a tensor has an empty name", path); break; }
        int ctrl = 0;
        for (const char *c = name; *c && !ctrl; c++) ctrl = (unsigned char)*c < 0x20;
        if (ctrl) { rc = err_set(e, "%s: a tensor name contains a control character", path); break; }
        StTensor t = {0};
        t.name = xstrdup(name);
        t.shard = si;
        if (parse_entry(&t, v, data_len, path, e)) { free(t.name); rc = -1; break; }
        add_tensor(st, cap, &t);
    }
    cJSON_Delete(j);
    if (rc) return rc;
    /* no two tensors of this file may share bytes */
    int n = st->n - first;
    StTensor **by_off = xmalloc((size_t)(n ? n : 1) * sizeof *by_off);
    for (int i = 0; i < n; i++) by_off[i] = &st->t[first + i];
    qsort(by_off, (size_t)n, sizeof *by_off, cmp_by_offset);
    uint64_t prev_end = 0;
    const StTensor *prev = NULL;
    for (int i = 0; i < n && rc == 0; i++) {
        uint64_t b = (uint64_t)(uintptr_t)by_off[i]->data;
        if (by_off[i]->nbytes == 0) continue;
        if (prev && b < prev_end)
            rc = err_set(e, "%s: tensor '%s': data_offsets overlap those of tensor '%s'", path, by_off[i]->name, prev->name);
        prev = by_off[i];
        prev_end = b + by_off[i]->nbytes;
    }
    free(by_off);
    for (int i = first; i < st->n; i++) st->t[i].data = data0 + (uintptr_t)st->t[i].data;
    return rc;
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

/* Sorts the tensors by name and refuses duplicates. */
static int finish(Safetensors *st, Err *e) {
    if (st->n > 1) qsort(st->t, (size_t)st->n, sizeof *st->t, cmp_by_name);
    for (int i = 1; i < st->n; i++)
        if (!strcmp(st->t[i - 1].name, st->t[i].name)) {
            const char *a = st->shards[st->t[i - 1].shard].path, *b = st->shards[st->t[i].shard].path;
            if (!strcmp(a, b)) return err_set(e, "%s: tensor '%s': appears twice in the header", a, st->t[i].name);
            return err_set(e, "tensor '%s': in both %s and %s", st->t[i].name, a, b);
        }
    return 0;
}

static int add_shard(Safetensors *st, const char *path, Err *e) {
    StShard sh = {0};
    sh.path = xstrdup(path);
    st->shards = xrealloc(st->shards, (size_t)(st->n_shards + 1) * sizeof *st->shards);
    st->shards[st->n_shards++] = sh;
    StShard *s = &st->shards[st->n_shards - 1];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fd, &stt) != 0) { close(fd); return err_set(e, "%s: %s", path, strerror(errno)); }
    if (!S_ISREG(stt.st_mode)) { close(fd); return err_set(e, "%s: not a regular file", path); }
    s->size = (size_t)stt.st_size;
    if (s->size == 0) { close(fd); return err_set(e, "%s: truncated: empty file", path); }
    void *m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return err_set(e, "%s: mmap failed: %s", path, strerror(errno));
    s->base = m;
    s->mapped = 1;
    return 0;
}

int st_open_file(Safetensors *st, const char *path, Err *e) {
    memset(st, 0, sizeof *st);
    int cap = 0;
    if (add_shard(st, path, e)) return -1;
    if (parse_shard(st, 0, &cap, e)) return -1;
    return finish(st, e);
}

int st_open_mem(Safetensors *st, const void *buf, size_t n, const char *where, Err *e) {
    memset(st, 0, sizeof *st);
    st->shards = xcalloc(1, sizeof *st->shards);
    st->n_shards = 1;
    st->shards[0].path = xstrdup(where);
    st->shards[0].base = buf;
    st->shards[0].size = n;
    int cap = 0;
    if (parse_shard(st, 0, &cap, e)) return -1;
    return finish(st, e);
}

int st_open_folder(Safetensors *st, const char *dir, Err *e) {
    memset(st, 0, sizeof *st);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    if (!file_exists(path)) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        if (!file_exists(path)) return err_set(e, "%s: no model.safetensors or model.safetensors.index.json", dir);
        return st_open_file(st, path, e);
    }
    cJSON *idx = json_load_file(path, e);
    if (!idx) return -1;
    int rc = 0, cap = 0;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
    if (!cJSON_IsObject(wm)) rc = err_set(e, "%s: key 'weight_map': missing or not an object", path);
    const cJSON *v;
    if (rc == 0) cJSON_ArrayForEach(v, wm) {
        const char *f = cJSON_IsString(v) ? v->valuestring : NULL;
        if (!f || !f[0] || strchr(f, '/') || f[0] == '.' || strlen(f) > 255) {
            rc = err_set(e, "%s: weight_map: tensor '%s': bad shard file name", path, v->string);
            break;
        }
        char sp[4400];
        snprintf(sp, sizeof sp, "%s/%s", dir, f);
        int known = 0;
        for (int i = 0; i < st->n_shards && !known; i++) known = !strcmp(st->shards[i].path, sp);
        if (known) continue;
        if (add_shard(st, sp, e) || parse_shard(st, st->n_shards - 1, &cap, e)) { rc = -1; break; }
    }
    if (rc == 0) rc = finish(st, e);
    if (rc == 0) cJSON_ArrayForEach(v, wm) {
        const StTensor *t = st_find(st, v->string);
        char sp[4400];
        snprintf(sp, sizeof sp, "%s/%s", dir, v->valuestring);
        if (!t || strcmp(st_path(st, t), sp)) {
            rc = err_set(e, "%s: tensor '%s': listed in weight_map under %s, which does not hold it", path,
                         v->string, v->valuestring);
            break;
        }
    }
    cJSON_Delete(idx);
    return rc;
}

void st_free(Safetensors *st) {
    for (int i = 0; i < st->n; i++) free(st->t[i].name);
    free(st->t);
    for (int i = 0; i < st->n_shards; i++) {
        if (st->shards[i].mapped) munmap((void *)(uintptr_t)st->shards[i].base, st->shards[i].size);
        free(st->shards[i].path);
    }
    free(st->shards);
    free(st->metadata_format);
    memset(st, 0, sizeof *st);
}

const StTensor *st_find(const Safetensors *st, const char *name) {
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(st->t[mid].name, name);
        if (c == 0) return &st->t[mid];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

void st_scale_inv_name(const char *name, char *out, size_t cap) { snprintf(out, cap, "%s_scale_inv", name); }

/* ---- reading ---- */

static inline void put(void *dst, StDtype dt, uint64_t i, double v) {
    if (dt == ST_F32) ((float *)dst)[i] = (float)v;
    else ((double *)dst)[i] = v;
}

/* Float conversion of a non-F8 float tensor. */
static void convert_float(const StTensor *t, void *dst, StDtype dt) {
    const uint8_t *p = t->data;
    const uint64_t n = t->numel;
    if (t->dtype == dt) { memcpy(dst, p, t->nbytes); return; }
    #pragma omp parallel for schedule(static) if (n > (1u << 18))
    for (uint64_t i = 0; i < n; i++) {
        double v;
        switch (t->dtype) {
        case ST_F32: { float f; memcpy(&f, p + 4 * i, 4); v = f; break; }
        case ST_F64: { memcpy(&v, p + 8 * i, 8); break; }
        case ST_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); v = st_bf16_to_f32(h); break; }
        default: { uint16_t h; memcpy(&h, p + 2 * i, 2); v = st_f16_to_f32(h); break; }   /* F16 */
        }
        put(dst, dt, i, v);
    }
}

int st_f8_scales(const Safetensors *st, const StTensor *t, float **scale, Err *e) {
    const char *path = st_path(st, t);
    *scale = NULL;
    if (t->dtype != ST_F8_E4M3) return err_set(e, "%s: tensor '%s': not F8_E4M3", path, t->name);
    if (t->ndim != 2) return err_set(e, "%s: tensor '%s': F8_E4M3 tensors must be 2-D (got %d dimensions)", path, t->name, t->ndim);
    char sname[512];
    st_scale_inv_name(t->name, sname, sizeof sname);
    const StTensor *s = st_find(st, sname);
    if (!s) return err_set(e, "%s: tensor '%s': F8_E4M3 without its scale tensor '%s'", path, t->name, sname);
    const int64_t R = t->shape[0], C = t->shape[1], br = (R + 127) / 128, bc = (C + 127) / 128;
    if (!is_float_dtype(s->dtype) || s->dtype == ST_F8_E4M3 || s->ndim != 2 || s->shape[0] != br || s->shape[1] != bc)
        return err_set(e, "%s: tensor '%s': must be a float tensor of shape [%lld, %lld] for %s [%lld, %lld]",
                       st_path(st, s), sname, (long long)br, (long long)bc, t->name, (long long)R, (long long)C);
    for (uint64_t i = 0; i < t->numel; i++)
        if (e4m3_is_nan(t->data[i]))
            return err_set(e, "%s: tensor '%s': element %llu holds the e4m3 NaN byte (corrupt weights?)", path, t->name,
                           (unsigned long long)i);
    *scale = xmalloc((size_t)(br * bc + 1) * sizeof **scale);
    convert_float(s, *scale, ST_F32);
    return 0;
}

static int read_f8(const Safetensors *st, const StTensor *t, void *dst, StDtype dt, Err *e) {
    float *scale;
    if (st_f8_scales(st, t, &scale, e)) return -1;
    const int64_t R = t->shape[0], C = t->shape[1], bc = (C + 127) / 128;
    float lut[256];
    for (int b = 0; b < 256; b++) lut[b] = e4m3_to_f32((uint8_t)b);
    for (int64_t r = 0; r < R; r++) {
        const uint8_t *row = t->data + r * C;
        const float *srow = scale + (r / 128) * bc;
        for (int64_t c = 0; c < C; c++) put(dst, dt, (uint64_t)(r * C + c), (double)(lut[row[c]] * srow[c / 128]));
    }
    free(scale);
    return 0;
}

int st_read(const Safetensors *st, const StTensor *t, void *dst, StDtype dt, Err *e) {
    const char *path = st_path(st, t);
    if (dt == ST_F32 || dt == ST_F64) {
        if (!is_float_dtype(t->dtype))
            return err_set(e, "%s: tensor '%s': dtype %s is not a floating-point type", path, t->name, st_dtype_name(t->dtype));
        if (t->dtype == ST_F8_E4M3) return read_f8(st, t, dst, dt, e);
        convert_float(t, dst, dt);
        return 0;
    }
    if (dt == ST_I32 || dt == ST_I64) {
        if (t->dtype != ST_I32 && t->dtype != ST_I64)
            return err_set(e, "%s: tensor '%s': dtype %s is not an integer type", path, t->name, st_dtype_name(t->dtype));
        if (t->dtype == dt) { memcpy(dst, t->data, t->nbytes); return 0; }
        for (uint64_t i = 0; i < t->numel; i++) {
            if (t->dtype == ST_I32) {
                int32_t v; memcpy(&v, t->data + 4 * i, 4); ((int64_t *)dst)[i] = v;
            } else {
                int64_t v; memcpy(&v, t->data + 8 * i, 8);
                if (v < INT32_MIN || v > INT32_MAX)
                    return err_set(e, "%s: tensor '%s': element %llu does not fit in 32 bits", path, t->name, (unsigned long long)i);
                ((int32_t *)dst)[i] = (int32_t)v;
            }
        }
        return 0;
    }
    return err_set(e, "%s: tensor '%s': cannot read into %s", path, t->name, st_dtype_name(dt));
}

/* ---- writing ---- */

static void json_escape(StrBuf *b, const char *s) {
    sb_append(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { char x[3] = {'\\', (char)c, 0}; sb_append(b, x); }
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_append_n(b, (const char *)&c, 1);
    }
    sb_append(b, "\"");
}

static uint64_t wt_numel(const StWriteTensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
    return n;
}

/* Converts elements [i0, i0+n) of t into out (n elements of t->dtype). */
static void wt_convert(const StWriteTensor *t, uint64_t i0, size_t n, uint8_t *out) {
    size_t es = st_dtype_size(t->dtype);
    if (t->src_type == t->dtype) { memcpy(out, (const uint8_t *)t->data + i0 * es, n * es); return; }
    const float *f = t->src_type == ST_F32 ? (const float *)t->data + i0 : NULL;
    const double *d = t->src_type == ST_F64 ? (const double *)t->data + i0 : NULL;
    for (size_t i = 0; i < n; i++) {
        double v = f ? f[i] : d[i];
        switch (t->dtype) {
        case ST_F32: { float x = (float)v; memcpy(out + 4 * i, &x, 4); break; }
        case ST_F64: memcpy(out + 8 * i, &v, 8); break;
        case ST_BF16: { uint16_t h = st_f32_to_bf16((float)v); memcpy(out + 2 * i, &h, 2); break; }
        default: { uint16_t h = st_f32_to_f16((float)v); memcpy(out + 2 * i, &h, 2); break; }   /* F16 */
        }
    }
}

static int cmp_write_order(const void *a, const void *b) {
    /* larger elements first (keeps every tensor aligned to its element size), then given order */
    const StWriteTensor *x = *(const StWriteTensor *const *)a, *y = *(const StWriteTensor *const *)b;
    size_t sx = st_dtype_size(x->dtype), sy = st_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int cmp_name_ptr(const void *a, const void *b) {
    return strcmp((*(const StWriteTensor *const *)a)->name, (*(const StWriteTensor *const *)b)->name);
}

int st_write(const char *path, const StWriteTensor *ts, int n, Err *e) {
    const StWriteTensor **order = xmalloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) {
        const StWriteTensor *t = &ts[i];
        order[i] = t;
        int conv = (t->src_type == ST_F32 || t->src_type == ST_F64) &&
                   (t->dtype == ST_F32 || t->dtype == ST_F64 || t->dtype == ST_BF16 || t->dtype == ST_F16);
        if (!t->name || !t->name[0] || !strcmp(t->name, "__metadata__") || t->ndim < 0 || t->ndim > ST_MAX_DIMS ||
            (!conv && t->src_type != t->dtype) || (unsigned)t->dtype >= ST_DTYPE_COUNT) {
            free(order);
            return err_set(e, "%s: tensor '%s': cannot be written (name, rank or dtype %s from %s)", path,
                           t->name ? t->name : "", st_dtype_name(t->dtype), st_dtype_name(t->src_type));
        }
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] < 0) { free(order); return err_set(e, "%s: tensor '%s': negative shape", path, t->name); }
    }
    qsort(order, (size_t)n, sizeof *order, cmp_name_ptr);
    for (int i = 1; i < n; i++)
        if (!strcmp(order[i - 1]->name, order[i]->name)) {
            int rc = err_set(e, "%s: tensor '%s': given twice", path, order[i]->name);
            free(order);
            return rc;
        }
    qsort(order, (size_t)n, sizeof *order, cmp_write_order);

    StrBuf h = {0};
    sb_append(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const StWriteTensor *t = order[i];
        uint64_t nb = wt_numel(t) * st_dtype_size(t->dtype);
        sb_append(&h, ",");
        json_escape(&h, t->name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) sb_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + nb));
        off += nb;
    }
    sb_append(&h, "}");
    while ((8 + h.len) % 8) sb_append(&h, " ");
    uint64_t hlen = h.len;

    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 5);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) rc = err_set(e, "%s: %s", tmp, strerror(errno));
    if (rc == 0) rc = file_write_fd(fd, &hlen, 8, path, e);
    if (rc == 0) rc = file_write_fd(fd, h.s, h.len, path, e);
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = xmalloc(CHUNK * 8);
    for (int i = 0; i < n && rc == 0; i++) {
        const StWriteTensor *t = order[i];
        uint64_t ne = wt_numel(t);
        for (uint64_t i0 = 0; i0 < ne && rc == 0; i0 += CHUNK) {
            size_t k = (size_t)(ne - i0 < CHUNK ? ne - i0 : CHUNK);
            wt_convert(t, i0, k, buf);
            rc = file_write_fd(fd, buf, k * st_dtype_size(t->dtype), path, e);
        }
    }
    free(buf);
    sb_free(&h);
    free(order);
    if (fd >= 0) {
        if (rc == 0 && fsync(fd) != 0) rc = err_set(e, "%s: fsync failed: %s", path, strerror(errno));
        if (close(fd) != 0 && rc == 0) rc = err_set(e, "%s: close failed: %s", path, strerror(errno));
        if (rc == 0 && rename(tmp, path) != 0) rc = err_set(e, "%s: rename failed: %s", path, strerror(errno));
        if (rc != 0) unlink(tmp);
    }
    free(tmp);
    if (rc == 0) {
        char *copy = xstrdup(path);
        rc = file_fsync_dir(dirname(copy), e);
        free(copy);
    }
    return rc;
}
