/* Model folders (src/model/model_io.h) and the r1 init / r1 logits commands:
 *  - init -> save -> load -> save gives identical bytes (F32 and BF16 folders, with and without
 *    q-LoRA, with two MTP modules whose embed/head copies equal the main tensors);
 *  - a folder another tool could have written loads too: shards with an index, F8_E4M3 weights
 *    with 128×128 _scale_inv blocks, no MTP layers (-> num_nextn_predict_layers 0);
 *  - refused with the tensor's name: a shape that disagrees with config.json, a missing tensor,
 *    an unexpected tensor, an integer dtype, MTP layers partly present, a truncated file;
 *  - saving over an existing folder keeps its other files (tokenizer.json), drops stale shards,
 *    and refuses a path that is a file;
 *  - through the binary (env R1, default build/r1): r1 init is deterministic per seed, and
 *    r1 logits on a folder holding the fixture parameters reproduces the PyTorch reference logits
 *    of tests/fixtures/model (tolerance as in test_model_fixture: 2e-5·max|ref| + 1e-4·|ref|),
 *    and, live when /usr/bin/python3 has torch, r1 logits on a BF16 folder from r1 init equals
 *    tools/folder_logits.py (independent reader + our PyTorch reference), for deepseek_v3, llama
 *    (tied embeddings: no lm_head tensor) and qwen2. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "fixture_params.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "model/model_io.h"
#include "test.h"
#include "test_util.h"

#if REAL_IS_DOUBLE
#error "test_checkpoint runs the float build"
#endif

static char tmpdir[256] = "/tmp/r1-test-ckpt-XXXXXX";

static const char *tpath(const char *name) { return tu_path(tmpdir, name); }

static int load_cfg(ModelConfig *c, const char *fixture, const char *dtype) {
    char p[512];
    snprintf(p, sizeof p, "tests/fixtures/model/%s/config.json", fixture);
    Err e = {{0}};
    if (config_load(c, p, &e)) { printf("  %s\n", e.msg); return -1; }
    if (dtype) snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dtype);
    return 0;
}

static int same_folder(const char *a, const char *b) {
    static const char *const files[] = {"config.json", "model.safetensors", "generation_config.json"};
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        char pa[600], pb[600];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        if (!tu_same_file(pa, pb)) { printf("  %s differs\n", files[i]); ok = 0; }
    }
    return ok;
}

/* init (param_init, seed) -> save d1 -> load -> save d2: identical bytes; returns the loaded
 * model's parameters compared with the saved ones (exact for F32, BF16-rounded otherwise). */
static void save_load_save(const char *fixture, const char *dtype, const char *tag) {
    ModelConfig c;
    if (load_cfg(&c, fixture, dtype)) { EXPECT(0); return; }
    Model m, m2;
    model_init(&m, &c);
    param_init(&m.table, &m.cfg, m.params, 7);
    char d1[300], d2[300];
    snprintf(d1, sizeof d1, "%s/%s-1", tmpdir, tag);
    snprintf(d2, sizeof d2, "%s/%s-2", tmpdir, tag);
    Err e = {{0}};
    EXPECTF(model_save_dir(&m, d1, &e) == 0, "%s", e.msg);
    EXPECTF(model_load_dir(&m2, d1, &e) == 0, "%s", e.msg);
    if (!m2.params) { model_free(&m); return; }
    EXPECT(m2.table.total == m.table.total && m2.cfg.num_nextn_predict_layers == c.num_nextn_predict_layers);
    int bf16 = dtype && !strcmp(dtype, "bfloat16"), bad = 0;
    for (int i = 0; i < m.table.n; i++) {
        const ParamInfo *p = &m.table.t[i];
        for (size_t j = 0; j < p->numel; j++) {
            float want = m.params[p->offset + j];
            if (bf16 && p->kind != PARAM_ROUTER_BIAS) want = st_bf16_to_f32(st_f32_to_bf16(want));
            bad += memcmp(&want, &m2.params[p->offset + j], 4) != 0;
        }
    }
    EXPECTF(bad == 0, "%s: %d loaded values differ", tag, bad);
    EXPECTF(model_save_dir(&m2, d2, &e) == 0, "%s", e.msg);
    EXPECTF(same_folder(d1, d2), "%s: save -> load -> save changed bytes", tag);

    /* the file itself: dtypes, metadata, and the MTP copies of embed_tokens / lm_head */
    Safetensors st;
    EXPECT(st_open_folder(&st, d1, &e) == 0);
    EXPECT(st.metadata_format && !strcmp(st.metadata_format, "pt"));
    const StTensor *emb = st_find(&st, "model.embed_tokens.weight"), *head = st_find(&st, "lm_head.weight");
    EXPECT(emb && emb->dtype == (bf16 ? ST_BF16 : ST_F32));
    EXPECT(c.tie_word_embeddings ? head == NULL : head != NULL);   /* tied: the embedding is the head */
    if (c.tie_word_embeddings) head = emb;
    const int L = c.num_hidden_layers;
    EXPECT(st.n == m.table.n + 2 * c.num_nextn_predict_layers);
    for (int k = 0; k < c.num_nextn_predict_layers && emb && head; k++) {
        char n1[96], n2[96];
        snprintf(n1, sizeof n1, "model.layers.%d.embed_tokens.weight", L + k);
        snprintf(n2, sizeof n2, "model.layers.%d.shared_head.head.weight", L + k);
        const StTensor *a = st_find(&st, n1), *b = st_find(&st, n2);
        EXPECT(a && a->nbytes == emb->nbytes && !memcmp(a->data, emb->data, emb->nbytes));
        EXPECT(b && b->nbytes == head->nbytes && !memcmp(b->data, head->data, head->nbytes));
    }
    for (int i = 0; i < st.n; i++)
        if (strstr(st.t[i].name, "e_score_correction_bias")) EXPECT(st.t[i].dtype == ST_F32);
    st_free(&st);
    /* config.json keeps the dtype; generation_config.json has R1's sampling values */
    char p[600];
    snprintf(p, sizeof p, "%s/generation_config.json", d1);
    cJSON *g = json_load_file(p, &e);
    EXPECT(g && cJSON_GetObjectItem(g, "temperature")->valuedouble == 0.6 &&
           cJSON_GetObjectItem(g, "top_p")->valuedouble == 0.95 && cJSON_GetObjectItem(g, "eos_token_id")->valuedouble == c.eos_token_id);
    cJSON_Delete(g);
    ModelConfig c2;
    snprintf(p, sizeof p, "%s/config.json", d1);
    EXPECT(config_load(&c2, p, &e) == 0 && !memcmp(&c2, &c, sizeof c));
    model_free(&m);
    model_free(&m2);
}

static void test_save_load_save_f32(void) { save_load_save("c_yarn_mtp", NULL, "f32"); }
static void test_save_load_save_bf16(void) { save_load_save("c_yarn_mtp", "bfloat16", "bf16"); }
static void test_save_load_save_plain(void) { save_load_save("a_plain", NULL, "plain"); }
static void test_save_load_save_dense(void) {
    save_load_save("d_llama", "bfloat16", "llama");     /* tied, biases on q/k/v/o, llama3 RoPE */
    save_load_save("e_qwen2", NULL, "qwen2");
}

/* ---- folders rewritten tensor by tensor, as another tool might have written them ---- */

typedef struct Edit {
    const char *drop;            /* tensor names to leave out: exact, or a prefix ending in '.' */
    const char *drop2;
    const char *reshape;         /* tensor written with a transposed/odd shape */
    const char *as_int;          /* tensor written as I32 */
    const char *f8;              /* 2-D tensor written as F8_E4M3 + _scale_inv */
    const char *extra;           /* an extra tensor's name */
} Edit;

static int dropped(const char *name, const char *pat) {
    if (!pat) return 0;
    size_t n = strlen(pat);
    return pat[n - 1] == '.' ? !strncmp(name, pat, n) : !strcmp(name, pat);
}

/* Copies folder src to dst (config.json + model.safetensors) applying ed. */
static int rewrite(const char *src, const char *dst, const Edit *ed, float *f8_scale_used) {
    Err e = {{0}};
    Safetensors st;
    if (st_open_folder(&st, src, &e)) { printf("  %s\n", e.msg); return -1; }
    StWriteTensor *w = xcalloc((size_t)st.n + 2, sizeof *w);
    void *bufs[3] = {NULL, NULL, NULL};
    int n = 0;
    float extra[3] = {1, 2, 3};
    for (int i = 0; i < st.n; i++) {
        const StTensor *t = &st.t[i];
        if (dropped(t->name, ed->drop) || dropped(t->name, ed->drop2)) continue;
        StWriteTensor *x = &w[n++];
        x->name = t->name;
        x->dtype = x->src_type = t->dtype;
        x->ndim = t->ndim;
        memcpy(x->shape, t->shape, sizeof x->shape);
        x->data = t->data;
        if (ed->reshape && !strcmp(t->name, ed->reshape)) {
            if (t->ndim == 2) { x->shape[0] = t->shape[1]; x->shape[1] = t->shape[0]; }
            if (t->ndim == 1 || t->shape[0] == t->shape[1]) { x->ndim = 2; x->shape[0] = 1; x->shape[1] = (int64_t)t->numel; }
        }
        if (ed->as_int && !strcmp(t->name, ed->as_int)) { x->dtype = x->src_type = ST_I32; }   /* same byte size as F32 */
        if (ed->f8 && !strcmp(t->name, ed->f8)) {
            /* quantise: per 128×128 block, scale = max|w|/448, bytes = nearest e4m3 code of w/scale */
            const int64_t R = t->shape[0], C = t->shape[1], br = (R + 127) / 128, bc = (C + 127) / 128;
            float *v = xmalloc((size_t)t->numel * sizeof *v);
            st_read(&st, t, v, ST_F32, &e);
            float *scale = xcalloc((size_t)(br * bc), sizeof *scale);
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++) {
                    float *s = &scale[(r / 128) * bc + c / 128];
                    if (fabsf(v[r * C + c]) / 448 > *s) *s = fabsf(v[r * C + c]) / 448;
                }
            uint8_t *q = xmalloc((size_t)t->numel);
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++) {
                    float s = scale[(r / 128) * bc + c / 128], y = s > 0 ? v[r * C + c] / s : 0, best = INFINITY;
                    for (int b = 0; b < 256; b++) {
                        float d = fabsf(st_f8e4m3_to_f32((uint8_t)b) - y);
                        if (d < best) { best = d; q[r * C + c] = (uint8_t)b; }
                    }
                }
            if (f8_scale_used) f8_scale_used[0] = scale[0];
            x->dtype = x->src_type = ST_F8_E4M3;
            x->data = q;
            StWriteTensor *s = &w[n++];
            static char sname[160];
            st_scale_inv_name(t->name, sname, sizeof sname);
            *s = (StWriteTensor){sname, ST_F32, 2, {br, bc}, scale, ST_F32};
            free(v);
            bufs[0] = q;
            bufs[1] = scale;
        }
    }
    if (ed->extra) w[n++] = (StWriteTensor){ed->extra, ST_F32, 1, {3}, extra, ST_F32};
    int rc = file_mkdirs(dst, &e);
    char p[600], q2[600];
    snprintf(p, sizeof p, "%s/model.safetensors", dst);
    if (rc == 0) rc = st_write(p, w, n, &e);
    snprintf(p, sizeof p, "%s/config.json", src);
    snprintf(q2, sizeof q2, "%s/config.json", dst);
    size_t len;
    char *cfg = file_read_all(p, &len, &e);
    if (rc == 0 && cfg) rc = file_write_atomic(q2, cfg, len, &e);
    if (rc) printf("  rewrite: %s\n", e.msg);
    free(cfg);
    for (int i = 0; i < 3; i++) free(bufs[i]);
    free(w);
    st_free(&st);
    return rc;
}

/* Loads dir; expects a refusal whose message holds both needles. */
static void expect_refused(const char *dir, const char *needle, const char *needle2) {
    Model m;
    Err e = {{0}};
    int rc = model_load_dir(&m, dir, &e);
    EXPECTF(rc != 0, "%s loaded", dir);
    if (rc == 0) { model_free(&m); return; }
    EXPECTF(strstr(e.msg, needle) && (!needle2 || strstr(e.msg, needle2)) && !strchr(e.msg, '\n'),
            "message '%s' lacks '%s' / '%s'", e.msg, needle, needle2 ? needle2 : "");
}

static const char *base_folder(void) {
    /* c_yarn_mtp config (L=2, M=2, q-LoRA, MoE with groups), param_init seed 11 */
    static char d[300];
    if (d[0]) return d;
    snprintf(d, sizeof d, "%s/base", tmpdir);
    ModelConfig c;
    CHECK(load_cfg(&c, "c_yarn_mtp", NULL) == 0);
    Model m;
    model_init(&m, &c);
    param_init(&m.table, &m.cfg, m.params, 11);
    Err e = {{0}};
    CHECKF(model_save_dir(&m, d, &e) == 0, "%s", e.msg);
    model_free(&m);
    return d;
}

static void test_refuses_bad_folders(void) {
    const char *b = base_folder();
    Edit ed;
    ed = (Edit){.reshape = "model.layers.1.self_attn.kv_b_proj.weight"};
    if (rewrite(b, tpath("shape"), &ed, NULL) == 0)
        expect_refused(tpath("shape"), "'model.layers.1.self_attn.kv_b_proj.weight'", "shape [16, 28]");
    ed = (Edit){.reshape = "model.norm.weight"};
    if (rewrite(b, tpath("shape1"), &ed, NULL) == 0) expect_refused(tpath("shape1"), "'model.norm.weight'", "config.json implies [32]");
    ed = (Edit){.drop = "model.layers.0.mlp.down_proj.weight"};
    if (rewrite(b, tpath("missing"), &ed, NULL) == 0)
        expect_refused(tpath("missing"), "'model.layers.0.mlp.down_proj.weight'", "missing");
    ed = (Edit){.extra = "model.layers.0.mlp.experts.0.up_proj.weight"};   /* layer 0 is dense */
    if (rewrite(b, tpath("unexpected"), &ed, NULL) == 0)
        expect_refused(tpath("unexpected"), "'model.layers.0.mlp.experts.0.up_proj.weight'", "unexpected");
    ed = (Edit){.extra = "model.layers.5.input_layernorm.weight"};         /* beyond L + M */
    if (rewrite(b, tpath("unexpected2"), &ed, NULL) == 0)
        expect_refused(tpath("unexpected2"), "'model.layers.5.input_layernorm.weight'", "unexpected");
    ed = (Edit){.as_int = "model.layers.1.mlp.gate.weight"};
    if (rewrite(b, tpath("int"), &ed, NULL) == 0)
        expect_refused(tpath("int"), "'model.layers.1.mlp.gate.weight'", "dtype I32");
    /* MTP partly present: one module complete, the other missing a tensor */
    ed = (Edit){.drop = "model.layers.3.self_attn.o_proj.weight"};
    if (rewrite(b, tpath("mtp_part"), &ed, NULL) == 0)
        expect_refused(tpath("mtp_part"), "'model.layers.3.self_attn.o_proj.weight'", "missing");
    ed = (Edit){.drop = "model.layers.3."};
    if (rewrite(b, tpath("mtp_half"), &ed, NULL) == 0)
        expect_refused(tpath("mtp_half"), "'model.layers.3.", "missing");
    /* model.safetensors cut short: the tensor whose bytes run past the end is named */
    Err e = {{0}};
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/model.safetensors", b);
    size_t size;
    char *bytes = file_read_all(src, &size, &e);
    ed = (Edit){0};
    if (bytes && rewrite(b, tpath("truncated"), &ed, NULL) == 0) {
        snprintf(dst, sizeof dst, "%s/model.safetensors", tpath("truncated"));
        EXPECT(file_write_atomic(dst, bytes, size - 10, &e) == 0);
        expect_refused(tpath("truncated"), "tensor '", "truncated");
        EXPECT(file_write_atomic(dst, bytes, 5, &e) == 0);
        expect_refused(tpath("truncated"), "model.safetensors", "truncated");
    }
    free(bytes);
    /* no weights file, bad config */
    EXPECT(file_mkdirs(tpath("empty"), &e) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", b);
    size_t len;
    char *cfg = file_read_all(p, &len, &e);
    snprintf(p, sizeof p, "%s/config.json", tpath("empty"));
    EXPECT(cfg && file_write_atomic(p, cfg, len, &e) == 0);
    free(cfg);
    expect_refused(tpath("empty"), "model.safetensors", NULL);
    expect_refused(tpath("nothing-here"), "config.json", NULL);
}

/* The model with MTP removed: loads with M = 0, main parameters equal; the logits of the main
 * model do not depend on the MTP modules. */
static void test_mtp_absent_folder(void) {
    const char *b = base_folder();
    Edit ed = {.drop = "model.layers.2.", .drop2 = "model.layers.3."};
    if (rewrite(b, tpath("nomtp"), &ed, NULL)) { EXPECT(0); return; }
    Model full, cut;
    Err e = {{0}};
    EXPECTF(model_load_dir(&full, b, &e) == 0, "%s", e.msg);
    EXPECTF(model_load_dir(&cut, tpath("nomtp"), &e) == 0, "%s", e.msg);
    if (!full.params || !cut.params) return;
    EXPECT(full.cfg.num_nextn_predict_layers == 2 && cut.cfg.num_nextn_predict_layers == 0);
    int bad = 0;
    for (int i = 0; i < cut.table.n; i++) {
        const ParamInfo *p = &cut.table.t[i], *q = param_find(&full.table, p->name);
        if (!q || memcmp(cut.params + p->offset, full.params + q->offset, p->numel * sizeof(float))) bad++;
    }
    EXPECT(bad == 0);
    int tok[5] = {3, 1, 4, 1, 5};
    ModelActs a1, a2;
    model_acts_init(&a1, &full, 1, 5);
    model_acts_init(&a2, &cut, 1, 5);
    ModelOptions opt = {0};
    model_forward(&full, &a1, tok, NULL, 1, 5, &opt);
    model_forward(&cut, &a2, tok, NULL, 1, 5, &opt);
    EXPECT(memcmp(a1.logits, a2.logits, 5 * (size_t)full.cfg.vocab_size * sizeof(float)) == 0);
    model_acts_free(&a1);
    model_acts_free(&a2);
    /* saving the cut model writes M = 0 */
    EXPECT(model_save_dir(&cut, tpath("nomtp-saved"), &e) == 0);
    ModelConfig c;
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", tpath("nomtp-saved"));
    EXPECT(config_load(&c, p, &e) == 0 && c.num_nextn_predict_layers == 0);
    model_free(&full);
    model_free(&cut);
}

/* A folder with one F8_E4M3 weight (+ _scale_inv) and one with the tensors spread over shards. */
static void test_f8_and_sharded_folders(void) {
    const char *b = base_folder();
    const char *wname = "model.layers.1.mlp.shared_experts.gate_proj.weight";   /* [12, 32] */
    Edit ed = {.f8 = wname};
    float scale = 0;
    if (rewrite(b, tpath("f8"), &ed, &scale)) { EXPECT(0); return; }
    Model ref, m;
    Err e = {{0}};
    EXPECTF(model_load_dir(&ref, b, &e) == 0, "%s", e.msg);
    EXPECTF(model_load_dir(&m, tpath("f8"), &e) == 0, "%s", e.msg);
    if (!ref.params || !m.params) return;
    const ParamInfo *p = param_find(&m.table, wname);
    double worst = 0;
    for (size_t j = 0; j < p->numel; j++) {
        double d = fabs((double)m.params[p->offset + j] - ref.params[p->offset + j]);
        if (d > worst) worst = d;
    }
    /* e4m3 keeps 3 mantissa bits: error <= half a step of the block's largest exponent */
    EXPECTF(worst > 0 && worst <= 448 * scale / 16, "worst %.3g, scale %.3g", worst, scale);
    int others = 0;
    for (int i = 0; i < m.table.n; i++) {
        const ParamInfo *q = &m.table.t[i];
        if (q != p) others += memcmp(m.params + q->offset, ref.params + q->offset, q->numel * sizeof(float)) != 0;
    }
    EXPECT(others == 0);
    model_free(&m);

    /* shards: tensors alternately in two files, mapped by model.safetensors.index.json */
    Safetensors st;
    EXPECT(st_open_folder(&st, b, &e) == 0);
    StWriteTensor *w[2] = {xcalloc((size_t)st.n, sizeof(StWriteTensor)), xcalloc((size_t)st.n, sizeof(StWriteTensor))};
    int n[2] = {0, 0};
    cJSON *idx = cJSON_CreateObject(), *wm = cJSON_AddObjectToObject(idx, "weight_map");
    const char *fn[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    for (int i = 0; i < st.n; i++) {
        const StTensor *t = &st.t[i];
        StWriteTensor *x = &w[i % 2][n[i % 2]++];
        *x = (StWriteTensor){t->name, t->dtype, t->ndim, {0}, t->data, t->dtype};
        memcpy(x->shape, t->shape, sizeof x->shape);
        cJSON_AddStringToObject(wm, t->name, fn[i % 2]);
    }
    const char *d = tpath("sharded");
    EXPECT(file_mkdirs(d, &e) == 0);
    char path[700];
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s", d, fn[s]);
        EXPECT(st_write(path, w[s], n[s], &e) == 0);
        free(w[s]);
    }
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", d);
    EXPECT(json_save_file(idx, path, &e) == 0);
    cJSON_Delete(idx);
    st_free(&st);
    char cp[600];
    snprintf(cp, sizeof cp, "%s/config.json", b);
    snprintf(path, sizeof path, "%s/config.json", d);
    size_t len;
    char *cfg = file_read_all(cp, &len, &e);
    EXPECT(cfg && file_write_atomic(path, cfg, len, &e) == 0);
    free(cfg);
    EXPECTF(model_load_dir(&m, d, &e) == 0, "%s", e.msg);
    if (m.params) {
        EXPECT(m.table.total == ref.table.total && !memcmp(m.params, ref.params, m.table.total * sizeof(float)));
        /* saving over the sharded folder: one model.safetensors, no stale shards or index, other
         * files kept */
        snprintf(path, sizeof path, "%s/tokenizer.json", d);
        EXPECT(file_write_atomic(path, "{}", 2, &e) == 0);
        EXPECTF(model_save_dir(&m, d, &e) == 0, "%s", e.msg);
        EXPECT(file_exists(path));
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", d);
        EXPECT(!file_exists(path));
        snprintf(path, sizeof path, "%s/%s", d, fn[0]);
        EXPECT(!file_exists(path));
        EXPECTF(same_folder(d, b), "re-saved sharded folder differs from the original single-file save");
        model_free(&m);
    }
    model_free(&ref);
    /* a path that is a file, or a folder holding a subfolder, is not replaced */
    snprintf(path, sizeof path, "%s/sub/x", d);
    EXPECT(file_mkdirs(path, &e) == 0);
    EXPECT(model_load_dir(&m, b, &e) == 0);
    EXPECT(model_save_dir(&m, d, &e) != 0 && strstr(e.msg, "sub"));
    snprintf(path, sizeof path, "%s/config.json", d);
    EXPECT(file_exists(path));
    EXPECT(model_save_dir(&m, path, &e) != 0 && strstr(e.msg, "not a folder"));
    model_free(&m);
}

/* r1 init through the binary: same seed, same bytes; another seed, other bytes; BF16 config. */
static void test_cli_init(void) {
    char cmd[2048];
    StrBuf out = {0};
    const char *cfgp = "tests/fixtures/model/c_yarn_mtp/config.json";
    snprintf(cmd, sizeof cmd, "%s init --config %s --seed 5 --out %s && %s init --config %s --seed 5 --out %s && "
             "%s init --config %s --seed 6 --out %s", tu_r1_bin(), cfgp, tpath("cli-a"), tu_r1_bin(), cfgp, tpath("cli-b"),
             tu_r1_bin(), cfgp, tpath("cli-c"));
    int st = tu_run(cmd, &out);
    EXPECTF(st == 0, "status %d: %s", st, out.s);
    EXPECT(same_folder(tpath("cli-a"), tpath("cli-b")));
    char a[600], c[600];
    snprintf(a, sizeof a, "%s/model.safetensors", tpath("cli-a"));
    snprintf(c, sizeof c, "%s/model.safetensors", tpath("cli-c"));
    EXPECT(!tu_same_file(a, c));
    /* the library's save of param_init(seed 5) is the same folder */
    ModelConfig cfg;
    Err e = {{0}};
    EXPECT(config_load(&cfg, cfgp, &e) == 0);
    Model m;
    model_init(&m, &cfg);
    param_init(&m.table, &m.cfg, m.params, 5);
    EXPECT(model_save_dir(&m, tpath("lib-a"), &e) == 0);
    EXPECT(same_folder(tpath("cli-a"), tpath("lib-a")));
    /* "DIR/" names the folder DIR (the temporary folder is its sibling, not inside it) */
    char slash[600];
    snprintf(slash, sizeof slash, "%s/", tpath("lib-a"));
    EXPECT(model_save_dir(&m, slash, &e) == 0 && same_folder(tpath("cli-a"), tpath("lib-a")));
    model_free(&m);
    sb_free(&out);
    /* missing flags: one error line */
    snprintf(cmd, sizeof cmd, "%s init --seed 1", tu_r1_bin());
    st = tu_run(cmd, &out);
    EXPECT(st != 0 && strstr(out.s, "r1: error:") && strstr(out.s, "--config"));
    sb_free(&out);
}

/* r1 logits on a folder holding the fixture parameters equals the PyTorch reference logits. */
static void logits_vs_fixture(const char *fixture) {
    char fx[300], p[600];
    snprintf(fx, sizeof fx, "tests/fixtures/model/%s", fixture);
    ModelConfig cfg;
    Err e = {{0}};
    if (load_cfg(&cfg, fixture, NULL)) { EXPECT(0); return; }
    snprintf(p, sizeof p, "%s/meta.json", fx);
    cJSON *meta = json_load_file(p, &e);
    EXPECTF(meta != NULL, "%s", e.msg);
    if (!meta) return;
    const int seed = (int)cJSON_GetObjectItem(meta, "seed")->valuedouble;
    const int T = (int)cJSON_GetObjectItem(meta, "seq")->valuedouble;
    cJSON_Delete(meta);
    Model m;
    model_init(&m, &cfg);
    fixture_init_params(&m.table, m.params, (uint64_t)seed);
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tpath(fixture));
    EXPECT(model_save_dir(&m, dir, &e) == 0);
    const int V = cfg.vocab_size;
    model_free(&m);

    Safetensors ref;
    snprintf(p, sizeof p, "%s/ref.safetensors", fx);
    if (st_open_file(&ref, p, &e)) { printf("  %s\n", e.msg); EXPECT(0); return; }
    const StTensor *tt = st_find(&ref, "tokens"), *lt = st_find(&ref, "logits");
    EXPECTF(tt && lt, "%s: no tokens/logits", p);
    if (!tt || !lt) { st_free(&ref); return; }
    int64_t *tok = xmalloc((size_t)tt->numel * sizeof *tok);
    float *rl = xmalloc((size_t)lt->numel * sizeof *rl);
    EXPECT(st_read(&ref, tt, tok, ST_I64, &e) == 0 || st_read(&ref, tt, tok, ST_I64, &e) == 0);
    EXPECT(st_read(&ref, lt, rl, ST_F32, &e) == 0);
    StrBuf cmd = {0}, out = {0};
    sb_printf(&cmd, "%s logits --model %s --out %s --tokens ", tu_r1_bin(), dir, tpath("logits.safetensors"));
    for (int t = 0; t < T; t++) sb_printf(&cmd, "%s%lld", t ? "," : "", (long long)tok[t]);   /* sequence 0 */
    int st = tu_run(cmd.s, &out);
    EXPECTF(st == 0, "status %d: %s", st, out.s);
    Safetensors got;
    if (st == 0 && st_open_file(&got, tpath("logits.safetensors"), &e) == 0) {
        const StTensor *g = st_find(&got, "logits");
        EXPECT(g && g->dtype == ST_F32 && g->ndim == 2 && g->shape[0] == T && g->shape[1] == V);
        if (g && g->numel == (uint64_t)T * V) {
            float *gl = xmalloc((size_t)g->numel * sizeof *gl);
            EXPECT(st_read(&got, g, gl, ST_F32, &e) == 0);
            double mx = 0;
            for (size_t i = 0; i < (size_t)T * V; i++) mx = fmax(mx, fabs(rl[i]));
            expect_close_f32("logits vs PyTorch reference", gl, rl, (size_t)T * V, 2e-5 * mx, 1e-4);
            free(gl);
        }
        st_free(&got);
    } else {
        EXPECT(0);
    }
    /* bad tokens: one error line */
    sb_clear(&out);
    sb_clear(&cmd);
    sb_printf(&cmd, "%s logits --model %s --out %s --tokens 1,%d", tu_r1_bin(), dir, tpath("x.safetensors"), V);
    st = tu_run(cmd.s, &out);
    EXPECT(st != 0 && strstr(out.s, "r1: error:") && strstr(out.s, "vocabulary"));
    sb_clear(&out);
    sb_clear(&cmd);
    sb_printf(&cmd, "%s logits --model %s --out %s --tokens 1,,2", tu_r1_bin(), dir, tpath("x.safetensors"));
    st = tu_run(cmd.s, &out);
    EXPECTF(st != 0 && strstr(out.s, "r1: error:") && strstr(out.s, "--tokens"), "status %d: %s", st, out.s);
    sb_free(&out);
    sb_free(&cmd);
    free(tok);
    free(rl);
    st_free(&ref);
}

/* Live, when /usr/bin/python3 has torch: r1 init a BF16 folder (real init), then r1 logits vs
 * tools/folder_logits.py, which reads the folder with its own parser into our PyTorch reference
 * (float64). Same tolerance as the fixtures. */
static void live_torch_bf16_folder(const char *fixture) {
    StrBuf out = {0}, cmd = {0};
    Err e = {{0}};
    char fx[300];
    snprintf(fx, sizeof fx, "tests/fixtures/model/%s/config.json", fixture);
    cJSON *j = json_load_file(fx, &e);
    EXPECT(j != NULL);
    if (!j) return;
    cJSON_ReplaceItemInObjectCaseSensitive(j, "torch_dtype", cJSON_CreateString("bfloat16"));
    char cfgp[600], dir[600], c_out[600], py_out[600];
    snprintf(cfgp, sizeof cfgp, "%s", tpath("bf16-config.json"));
    snprintf(dir, sizeof dir, "%s", tpath("live-bf16"));
    snprintf(c_out, sizeof c_out, "%s", tpath("live-c.safetensors"));
    snprintf(py_out, sizeof py_out, "%s", tpath("live-py.safetensors"));
    EXPECT(json_save_file(j, cfgp, &e) == 0);
    cJSON_Delete(j);
    const char *toks = "5,9,2,33,1,0,63,17,17,40,8,3";
    sb_printf(&cmd, "%s init --config %s --seed 9 --out %s && %s logits --model %s --tokens %s --out %s && "
              "/usr/bin/python3 tools/folder_logits.py %s %s %s", tu_r1_bin(), cfgp, dir, tu_r1_bin(), dir, toks, c_out,
              dir, toks, py_out);
    int st = tu_run(cmd.s, &out);
    EXPECTF(st == 0, "status %d: %s", st, out.s);
    Safetensors a, b;
    if (st == 0 && st_open_file(&a, c_out, &e) == 0) {
        if (st_open_file(&b, py_out, &e) == 0) {
            const StTensor *ta = st_find(&a, "logits"), *tb = st_find(&b, "logits");
            EXPECT(ta && tb && ta->numel == tb->numel && ta->numel == 12 * 64);
            if (ta && tb && ta->numel == tb->numel) {
                float *x = xmalloc((size_t)ta->numel * 4), *y = xmalloc((size_t)ta->numel * 4);
                EXPECT(st_read(&a, ta, x, ST_F32, &e) == 0 && st_read(&b, tb, y, ST_F32, &e) == 0);
                double mx = 0;
                for (size_t i = 0; i < ta->numel; i++) mx = fmax(mx, fabs(y[i]));
                EXPECT(mx > 0);
                expect_close_f32("r1 logits vs torch on a BF16 folder", x, y, (size_t)ta->numel, 2e-5 * mx, 1e-4);
                free(x);
                free(y);
            }
            st_free(&b);
        } else {
            EXPECTF(0, "%s", e.msg);
        }
        st_free(&a);
    }
    sb_free(&out);
    sb_free(&cmd);
}

static void test_live_torch_bf16_folder(void) {
    SKIP_IF(tu_no_torch());
    live_torch_bf16_folder("c_yarn_mtp");
    live_torch_bf16_folder("d_llama");
    live_torch_bf16_folder("e_qwen2");
}

static void test_cli_logits_a_plain(void) { logits_vs_fixture("a_plain"); }
static void test_cli_logits_c_yarn_mtp(void) { logits_vs_fixture("c_yarn_mtp"); }
static void test_cli_logits_dense(void) {
    logits_vs_fixture("d_llama");
    logits_vs_fixture("e_qwen2");
}

int main(void) {
    if (tu_mkdtemp(tmpdir)) return 1;
    RUN(test_save_load_save_f32);
    RUN(test_save_load_save_bf16);
    RUN(test_save_load_save_plain);
    RUN(test_save_load_save_dense);
    RUN(test_refuses_bad_folders);
    RUN(test_mtp_absent_folder);
    RUN(test_f8_and_sharded_folders);
    RUN(test_cli_init);
    RUN(test_cli_logits_a_plain);
    RUN(test_cli_logits_c_yarn_mtp);
    RUN(test_cli_logits_dense);
    RUN(test_live_torch_bf16_folder);
    return tu_finish(tmpdir);
}
