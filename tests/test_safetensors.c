/* safetensors reader and writer (src/io/safetensors.h): round trips in F32 and BF16, the scalar
 * conversions against known bit patterns (BF16 rounding, F16 decoding and encoding of every half,
 * F8 e4m3 decoding and 128×128 block dequantisation), shards, and every bad input of a safetensors file —
 * truncated file (at every length), header length past the end, invalid JSON, unknown dtype,
 * offsets out of range / overlapping, shape-size mismatch — each an error naming the tensor. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "test.h"
#include "test_util.h"

static char tmpdir[256] = "/tmp/r1-test-st-XXXXXX";

static const char *tmp_path(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* A file image: u64 header length, the header text, then `data_len` bytes 0..255 repeating. */
static uint8_t *image(const char *header, size_t data_len, size_t *n) {
    size_t h = strlen(header);
    *n = 8 + h + data_len;
    uint8_t *b = xmalloc(*n + 1);
    uint64_t hl = h;
    memcpy(b, &hl, 8);
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (uint8_t)(i * 7 + 1);
    return b;
}

/* Parses an image expected to be refused; returns the error message (static). */
static const char *refused(const uint8_t *buf, size_t n) {
    static Err e;
    memset(&e, 0, sizeof e);
    Safetensors st;
    int rc = st_open_mem(&st, buf, n, "x.safetensors", &e);
    st_free(&st);
    if (rc == 0) return NULL;
    return e.msg;
}

static void expect_refused_naming(const char *header, size_t data_len, const char *needle) {
    size_t n;
    uint8_t *b = image(header, data_len, &n);
    const char *msg = refused(b, n);
    EXPECTF(msg != NULL, "accepted: %s", header);
    if (msg) EXPECTF(strstr(msg, needle) != NULL, "error '%s' does not mention %s", msg, needle);
    free(b);
}

static void test_roundtrip_f32(void) {
    float a[6] = {1.5f, -2.25f, 3e-38f, 1e30f, 0.0f, -0.0f};
    double b[3] = {0.1, -7.0, 1e-300};
    int32_t ids[4] = {1, -2, 2147483647, 0};
    StWriteTensor w[4] = {
        {"a.weight", ST_F32, 2, {2, 3}, a, ST_F32},
        {"b", ST_F32, 1, {3}, b, ST_F64},           /* f64 source, f32 on disk */
        {"ids", ST_I32, 1, {4}, ids, ST_I32},
        {"scalar", ST_F32, 0, {0}, a, ST_F32},     /* a 0-d tensor holds one element */
    };
    Err e = {{0}};
    const char *p = tmp_path("rt.safetensors");
    EXPECTF(st_write(p, w, 4, &e) == 0, "%s", e.msg);
    Safetensors st;
    EXPECTF(st_open_file(&st, p, &e) == 0, "%s", e.msg);
    EXPECT(st.n == 4);
    EXPECT(st.metadata_format && !strcmp(st.metadata_format, "pt"));
    const StTensor *t = st_find(&st, "a.weight");
    EXPECT(t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    float ra[6] = {0};
    if (t) EXPECT(st_read(&st, t, ra, ST_F32, &e) == 0);
    EXPECT(memcmp(ra, a, sizeof a) == 0);
    t = st_find(&st, "b");
    float rb[3];
    if (t) EXPECT(st_read(&st, t, rb, ST_F32, &e) == 0);
    for (int i = 0; i < 3; i++) EXPECT(f2u(rb[i]) == f2u((float)b[i]));
    int64_t rid[4];
    t = st_find(&st, "ids");
    EXPECT(t && st_read(&st, t, rid, ST_I64, &e) == 0);
    for (int i = 0; i < 4; i++) EXPECT(rid[i] == ids[i]);
    EXPECT(t && st_read(&st, t, ra, ST_F32, &e) != 0 && strstr(e.msg, "'ids'"));
    t = st_find(&st, "scalar");
    EXPECT(t && t->numel == 1 && t->ndim == 0);
    EXPECT(st_find(&st, "nope") == NULL);
    st_free(&st);

    /* the header itself: 8-byte aligned data start, space padding, metadata, contiguous offsets */
    size_t n;
    char *raw = file_read_all(p, &n, &e);
    uint64_t hl;
    memcpy(&hl, raw, 8);
    EXPECT((8 + hl) % 8 == 0);
    cJSON *j = cJSON_ParseWithLength(raw + 8, hl);
    EXPECT(j != NULL);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "__metadata__");
    EXPECT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(md, "format")));
    uint64_t total = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, j) {
        if (!strcmp(v->string, "__metadata__")) continue;
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(v, "data_offsets");
        total += (uint64_t)(cJSON_GetArrayItem(of, 1)->valuedouble - cJSON_GetArrayItem(of, 0)->valuedouble);
    }
    EXPECT(total == n - 8 - hl);   /* no holes: the data section is entirely indexed */
    cJSON_Delete(j);
    free(raw);
}

static void test_roundtrip_bf16(void) {
    enum { N = 1000 };
    float x[N], r[N];
    for (int i = 0; i < N; i++) x[i] = (float)((i - 500) * 0.0137) * (i % 3 ? 1.0f : 1e-3f);
    StWriteTensor w[2] = {{"w", ST_BF16, 2, {10, 100}, x, ST_F32}, {"bias", ST_F32, 1, {7}, x, ST_F32}};
    Err e = {{0}};
    const char *p = tmp_path("bf16.safetensors");
    EXPECTF(st_write(p, w, 2, &e) == 0, "%s", e.msg);
    Safetensors st;
    EXPECTF(st_open_file(&st, p, &e) == 0, "%s", e.msg);
    const StTensor *t = st_find(&st, "w");
    EXPECT(t && t->dtype == ST_BF16 && t->nbytes == 2 * N);
    /* F32 tensors are placed first so each tensor's offset is a multiple of its element size */
    const StTensor *b = st_find(&st, "bias");
    EXPECT(b && ((uintptr_t)b->data - (uintptr_t)st.shards[0].base) % 4 == 0);
    if (t) EXPECT(st_read(&st, t, r, ST_F32, &e) == 0);
    for (int i = 0; i < N; i++) {
        EXPECT(r[i] == st_bf16_to_f32(st_f32_to_bf16(x[i])));
        EXPECT(fabsf(r[i] - x[i]) <= fabsf(x[i]) * (1.0f / 256));   /* 8 significant bits */
    }
    /* reading BF16 -> f64 and writing f64 back as BF16 gives identical bytes */
    double d[N];
    if (t) EXPECT(st_read(&st, t, d, ST_F64, &e) == 0);
    StWriteTensor w2[2] = {{"w", ST_BF16, 2, {10, 100}, d, ST_F64}, {"bias", ST_F32, 1, {7}, x, ST_F32}};
    EXPECT(st_write(tmp_path("bf16b.safetensors"), w2, 2, &e) == 0);
    size_t n1, n2;
    char *a1 = file_read_all(p, &n1, &e), *a2 = file_read_all(tmp_path("bf16b.safetensors"), &n2, &e);
    EXPECT(a1 && a2 && n1 == n2 && memcmp(a1, a2, n1) == 0);
    free(a1);
    free(a2);
    st_free(&st);
}

static void test_bf16_rounding(void) {
    EXPECT(st_f32_to_bf16(1.0f) == 0x3f80);
    EXPECT(st_f32_to_bf16(u2f(0x3f808000)) == 0x3f80);   /* tie, even below */
    EXPECT(st_f32_to_bf16(u2f(0x3f818000)) == 0x3f82);   /* tie, odd below: up */
    EXPECT(st_f32_to_bf16(u2f(0x3f808001)) == 0x3f81);   /* just above the tie */
    EXPECT(st_f32_to_bf16(u2f(0x3f807fff)) == 0x3f80);
    EXPECT(st_f32_to_bf16(u2f(0xbf818000)) == 0xbf82);   /* sign symmetric */
    EXPECT(st_f32_to_bf16(u2f(0x7f7fffff)) == 0x7f80);   /* FLT_MAX rounds to inf */
    EXPECT(st_f32_to_bf16(INFINITY) == 0x7f80);
    uint16_t q = st_f32_to_bf16(u2f(0x7f800001));         /* signalling NaN stays NaN */
    EXPECT((q & 0x7f80) == 0x7f80 && (q & 0x7f) != 0);
    EXPECT(isnan(st_bf16_to_f32(q)));
    EXPECT(st_bf16_to_f32(0x4049) == u2f(0x40490000));
    EXPECT(st_bf16_to_f32(0xc000) == -2.0f);
}

static void test_f16_known_values(void) {
    EXPECT(st_f16_to_f32(0x3c00) == 1.0f);
    EXPECT(st_f16_to_f32(0xc000) == -2.0f);
    EXPECT(st_f16_to_f32(0x7bff) == 65504.0f);
    EXPECT(st_f16_to_f32(0x0001) == ldexpf(1, -24));
    EXPECT(st_f16_to_f32(0x0400) == ldexpf(1, -14));
    EXPECT(st_f16_to_f32(0x3555) == 0.333251953125f);
    EXPECT(st_f16_to_f32(0x7c00) == INFINITY && st_f16_to_f32(0xfc00) == -INFINITY);
    EXPECT(isnan(st_f16_to_f32(0x7e00)));
    EXPECT(f2u(st_f16_to_f32(0x8000)) == 0x80000000u);
    /* every non-NaN half survives f16 -> f32 -> f16 exactly */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = st_f16_to_f32((uint16_t)h);
        if (isnan(f)) { bad += !isnan(st_f16_to_f32(st_f32_to_f16(f))); continue; }
        bad += st_f32_to_f16(f) != h;
    }
    EXPECTF(bad == 0, "%d halves do not round trip", bad);
    /* rounding: ties to even, overflow */
    EXPECT(st_f32_to_f16(1.0f + ldexpf(1, -11)) == 0x3c00);              /* tie, even below */
    EXPECT(st_f32_to_f16(1.0f + 3 * ldexpf(1, -11)) == 0x3c02);          /* tie, odd below: up */
    EXPECT(st_f32_to_f16(65519.0f) == 0x7bff && st_f32_to_f16(65520.0f) == 0x7c00);
    EXPECT(st_f32_to_f16(ldexpf(1, -25)) == 0x0000);                     /* tie to even (0) */
    EXPECT(st_f32_to_f16(ldexpf(3, -25)) == 0x0002);                     /* 1.5 units: up to 2 */
}

static void test_f8_known_values(void) {
    EXPECT(st_f8e4m3_to_f32(0x00) == 0.0f);
    EXPECT(st_f8e4m3_to_f32(0x38) == 1.0f);
    EXPECT(st_f8e4m3_to_f32(0x3c) == 1.5f);
    EXPECT(st_f8e4m3_to_f32(0x40) == 2.0f);
    EXPECT(st_f8e4m3_to_f32(0xc0) == -2.0f);
    EXPECT(st_f8e4m3_to_f32(0x7e) == 448.0f);
    EXPECT(st_f8e4m3_to_f32(0xfe) == -448.0f);
    EXPECT(st_f8e4m3_to_f32(0x01) == ldexpf(1, -9));     /* smallest subnormal 2^-6 · 1/8 */
    EXPECT(st_f8e4m3_to_f32(0x07) == 7 * ldexpf(1, -9));
    EXPECT(st_f8e4m3_to_f32(0x08) == ldexpf(1, -6));     /* smallest normal */
    EXPECT(st_f8e4m3_to_f32(0x78) == 256.0f);            /* exponent 15 is a number in e4m3fn */
    EXPECT(isnan(st_f8e4m3_to_f32(0x7f)) && isnan(st_f8e4m3_to_f32(0xff)));
    /* monotonic over the positive codes */
    for (int b = 1; b < 0x7f; b++) EXPECT(st_f8e4m3_to_f32((uint8_t)b) > st_f8e4m3_to_f32((uint8_t)(b - 1)));
}

/* A 130×200 F8 weight with a [2, 2] scale_inv: each 128×128 block (edge blocks partial) has its
 * own multiplier. */
static void test_f8_block_dequant(void) {
    enum { R = 130, C = 200 };
    static uint8_t q[R * C];
    for (int i = 0; i < R * C; i++) q[i] = (uint8_t)((i * 37) % 0x7f);   /* never 0x7f */
    float scale[4] = {0.5f, 2.0f, -1.0f, 0.125f};
    StWriteTensor w[2] = {
        {"l.weight", ST_F8_E4M3, 2, {R, C}, q, ST_F8_E4M3},
        {"l.weight_scale_inv", ST_F32, 2, {2, 2}, scale, ST_F32},
    };
    Err e = {{0}};
    const char *p = tmp_path("f8.safetensors");
    EXPECTF(st_write(p, w, 2, &e) == 0, "%s", e.msg);
    Safetensors st;
    EXPECTF(st_open_file(&st, p, &e) == 0, "%s", e.msg);
    static float out[R * C];
    const StTensor *t = st_find(&st, "l.weight");
    EXPECT(t && st_read(&st, t, out, ST_F32, &e) == 0);
    int bad = 0;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            bad += out[r * C + c] != st_f8e4m3_to_f32(q[r * C + c]) * scale[(r / 128) * 2 + c / 128];
    EXPECTF(bad == 0, "%d elements dequantised wrong", bad);
    EXPECT(out[129 * C + 199] == st_f8e4m3_to_f32(q[129 * C + 199]) * 0.125f);
    st_free(&st);

    /* the NaN byte is refused, naming the tensor */
    q[5 * C + 150] = 0xff;
    EXPECT(st_write(p, w, 2, &e) == 0 && st_open_file(&st, p, &e) == 0);
    t = st_find(&st, "l.weight");
    EXPECT(t && st_read(&st, t, out, ST_F32, &e) != 0 && strstr(e.msg, "'l.weight'") && strstr(e.msg, "NaN"));
    st_free(&st);
    q[5 * C + 150] = 0;

    /* without its scale, or with a scale of the wrong shape: refused */
    EXPECT(st_write(p, w, 1, &e) == 0 && st_open_file(&st, p, &e) == 0);
    t = st_find(&st, "l.weight");
    EXPECT(t && st_read(&st, t, out, ST_F32, &e) != 0 && strstr(e.msg, "l.weight_scale_inv"));
    st_free(&st);
    w[1].shape[1] = 1;
    w[1].shape[0] = 4;
    EXPECT(st_write(p, w, 2, &e) == 0 && st_open_file(&st, p, &e) == 0);
    t = st_find(&st, "l.weight");
    EXPECT(t && st_read(&st, t, out, ST_F32, &e) != 0 && strstr(e.msg, "l.weight_scale_inv"));
    st_free(&st);
}

static void test_bad_inputs(void) {
    const char *ok = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                     "\"v\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[16,24]}}";
    size_t n;
    uint8_t *good = image(ok, 24, &n);
    EXPECT(refused(good, n) == NULL);

    /* truncated at every length: an error, never a crash; a cut in the data names the tensor */
    int silent = 0, unnamed = 0;
    size_t hdr_end = 8 + strlen(ok);
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = xmalloc(k + 1);
        memcpy(cut, good, k);
        const char *msg = refused(cut, k);
        if (!msg) silent++;
        else if (k >= hdr_end && !strstr(msg, "'w'") && !strstr(msg, "'v'")) unnamed++;
        else if (k < hdr_end && !strstr(msg, "truncated") && !strstr(msg, "past the end")) unnamed++;
        free(cut);
    }
    EXPECTF(silent == 0, "%d truncations accepted", silent);
    EXPECTF(unnamed == 0, "%d truncation errors without the tensor or 'truncated'", unnamed);

    /* header length past the end */
    uint8_t *b = xmalloc(n);
    memcpy(b, good, n);
    uint64_t big = (uint64_t)n;
    memcpy(b, &big, 8);
    const char *msg = refused(b, n);
    EXPECT(msg && strstr(msg, "header length"));
    big = UINT64_MAX;
    memcpy(b, &big, 8);
    msg = refused(b, n);
    EXPECT(msg && strstr(msg, "header length"));
    free(b);
    free(good);

    /* refused, each naming what is wrong: the header, the data size, a word the error holds */
    static const struct { const char *header; size_t data_len; const char *needle; } BAD[] = {
        /* invalid header JSON */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]", 16, "invalid header JSON"},
        {"[1,2]", 0, "invalid header JSON"},
        {"{} x", 0, "invalid header JSON"},
        /* unknown dtype */
        {"{\"w\":{\"dtype\":\"Q7\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"Q7\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, "unknown dtype"},
        {"{\"w\":{\"dtype\":7,\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, "'w'"},
        /* offsets out of range */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,0]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[-1,15]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,1e300]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0]}}", 16, "'w'"},
        /* overlapping */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 24, "overlap"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 24, "'u'"},
        /* shape and size disagree */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 24, "'w'"},
        {"{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, "need 8"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,16]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,16]}}", 16, "'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16, "'w'"},
        {"{\"w\":[1]}", 16, "'w'"},
        /* duplicate names, bad metadata */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "'w'"},
        {"{\"__metadata__\":5}", 0, "__metadata__"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        expect_refused_naming(BAD[i].header, BAD[i].data_len, BAD[i].needle);
    /* accepted: holes-free empty file, zero-size tensors, whitespace padding */
    uint8_t *e0 = image("{}      ", 0, &n);
    EXPECT(refused(e0, n) == NULL);
    free(e0);
    e0 = image("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
               "\"w\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}  ", 8, &n);
    EXPECT(refused(e0, n) == NULL);
    free(e0);
}

static void test_sharded_folder(void) {
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    StWriteTensor w1 = {"x.a", ST_F32, 1, {4}, a, ST_F32}, w2 = {"x.b", ST_BF16, 1, {2}, b, ST_F32};
    Err e = {{0}};
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sharded", tmpdir);
    EXPECT(file_mkdirs(dir, &e) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", dir);
    EXPECT(st_write(p, &w1, 1, &e) == 0);
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", dir);
    EXPECT(st_write(p, &w2, 1, &e) == 0);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    const char *idx = "{\"metadata\":{\"total_size\":20},\"weight_map\":{\"x.a\":\"model-00001-of-00002.safetensors\","
                      "\"x.b\":\"model-00002-of-00002.safetensors\"}}";
    EXPECT(file_write_atomic(p, idx, strlen(idx), &e) == 0);
    Safetensors st;
    EXPECTF(st_open_folder(&st, dir, &e) == 0, "%s", e.msg);
    EXPECT(st.n == 2 && st.n_shards == 2);
    float r[2];
    const StTensor *t = st_find(&st, "x.b");
    EXPECT(t && st_read(&st, t, r, ST_F32, &e) == 0 && r[0] == 5 && r[1] == 6);
    st_free(&st);
    /* an index that puts a tensor in the wrong shard, or names a missing file */
    idx = "{\"weight_map\":{\"x.a\":\"model-00002-of-00002.safetensors\",\"x.b\":\"model-00002-of-00002.safetensors\"}}";
    EXPECT(file_write_atomic(p, idx, strlen(idx), &e) == 0);
    EXPECT(st_open_folder(&st, dir, &e) != 0 && strstr(e.msg, "'x.a'"));
    st_free(&st);
    idx = "{\"weight_map\":{\"x.a\":\"gone.safetensors\"}}";
    EXPECT(file_write_atomic(p, idx, strlen(idx), &e) == 0);
    EXPECT(st_open_folder(&st, dir, &e) != 0 && strstr(e.msg, "gone.safetensors"));
    st_free(&st);
    idx = "{\"weight_map\":{\"x.a\":\"../model-00001-of-00002.safetensors\"}}";
    EXPECT(file_write_atomic(p, idx, strlen(idx), &e) == 0);
    EXPECT(st_open_folder(&st, dir, &e) != 0 && strstr(e.msg, "'x.a'"));
    st_free(&st);
}

static void test_write_refuses_bad_requests(void) {
    float a[2] = {0};
    Err e = {{0}};
    StWriteTensor dup[2] = {{"d", ST_F32, 1, {2}, a, ST_F32}, {"d", ST_F32, 1, {2}, a, ST_F32}};
    EXPECT(st_write(tmp_path("dup.safetensors"), dup, 2, &e) != 0 && strstr(e.msg, "'d'"));
    EXPECT(!file_exists(tmp_path("dup.safetensors")));
    StWriteTensor conv = {"c", ST_I32, 1, {2}, a, ST_F32};
    EXPECT(st_write(tmp_path("c.safetensors"), &conv, 1, &e) != 0 && strstr(e.msg, "'c'"));
    StWriteTensor ok = {"o", ST_F32, 1, {2}, a, ST_F32};
    EXPECT(st_write("/nonexistent-dir/x.safetensors", &ok, 1, &e) != 0 && strstr(e.msg, "nonexistent"));
}

int main(void) {
    if (tu_mkdtemp(tmpdir)) return 1;
    RUN(test_roundtrip_f32);
    RUN(test_roundtrip_bf16);
    RUN(test_bf16_rounding);
    RUN(test_f16_known_values);
    RUN(test_f8_known_values);
    RUN(test_f8_block_dequant);
    RUN(test_bad_inputs);
    RUN(test_sharded_folder);
    RUN(test_write_refuses_bad_requests);
    return tu_finish(tmpdir);
}
