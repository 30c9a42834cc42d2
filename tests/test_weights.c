/* Weights as stored (model/model_lowp.h), on the fixture models (DeepSeek-V3 with MoE, q-LoRA
 * and MTP; llama with tied embeddings and biases; qwen2 with GQA):
 *   - an FP8 folder laid out as DeepSeek ships it (Linear weights F8_E4M3 with 128×128
 *     weight_scale_inv blocks, kv_b_proj included; embedding, lm_head, router and norms BF16),
 *     and BF16 and F16 folders, kept as stored, give the decode engine's logits of the same
 *     weights dequantised to f32 BIT FOR BIT (bound 0: the products widen each weight exactly
 *     and run the f32 kernel's FMA chains), prefill and one-token steps alike;
 *   - `r1 logits` on the FP8 folder (engine) vs on its dequantised f32 copy (training forward):
 *     within 1e-4·(1 + |logit|), the order of f32 sums and the absorbed vs naive attention;
 *   - `--weights bf16` (every matrix bf16, bf16 products) against f32 logits: within 0.05 of the
 *     logits' range (measured: about 0.006 on these models; bf16 rounds each operand by 2^-9
 *     relative, a few dozen products deep);
 *   - every weight the engine multiplies is packed in its stored format and no f32 copy of it is
 *     written; `r1 generate` reports the bytes per parameter (about 2 for a BF16 folder, 4 with
 *     --weights f32) and the peak RSS;
 *   - an FP8 tensor without its scales is a one-line error naming the tensor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp_formats.h"
#include "infer/decode.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/model_io.h"
#include "model/model_lowp.h"
#include "test.h"
#include "test_util.h"
#include "fixture_params.h"

static char tmp_root[] = "/tmp/r1_weights_XXXXXX";   /* short: the CLI model's paths must fit 512 bytes */

/* f32 -> e4m3fn, nearest (ties to even), saturating at ±448: by search over the 127 magnitudes. */
static uint8_t to_e4m3(float f) {
    const uint8_t sign = signbit(f) ? 0x80 : 0;
    const float a = fabsf(f);
    int lo = 0, hi = 0x7e;                     /* codes 0..0x7e increase with their value */
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (e4m3_to_f32((uint8_t)mid) <= a) lo = mid; else hi = mid - 1;
    }
    int c = lo;
    if (c < 0x7e) {
        const float d0 = a - e4m3_to_f32((uint8_t)c), d1 = e4m3_to_f32((uint8_t)(c + 1)) - a;
        if (d1 < d0 || (d1 == d0 && (c & 1))) c++;
    }
    return (uint8_t)(sign | c);
}

static int is_router(const char *name) {
    size_t n = strlen(name), k = strlen("mlp.gate.weight");
    return n >= k && !strcmp(name + n - k, "mlp.gate.weight");
}

/* DeepSeek's FP8 layout of model m in dir: F8 + scales for the Linear weights but lm_head and the
 * router, BF16 for those, the embedding and the norms, F32 for the rest. skip_scale: leave out the
 * scales of the tensor of that name (an error case). */
static int write_fp8_folder(const Model *m, const char *dir, const char *skip_scale) {
    Err e = {{0}};
    if (file_mkdirs(dir, &e) || config_save(&m->cfg, tu_path(dir, "config.json"), &e)) { printf("  %s\n", e.msg); return -1; }
    const ParamTable *pt = &m->table;
    StWriteTensor *w = calloc((size_t)pt->n * 2, sizeof *w);
    void **bufs = calloc((size_t)pt->n * 2, sizeof *bufs);
    char (*names)[128] = calloc((size_t)pt->n, sizeof *names);
    int n = 0;
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        const float *v = m->params + p->offset;
        StWriteTensor *t = &w[n++];
        *t = (StWriteTensor){p->name, ST_F32, p->ndim, {p->shape[0], p->shape[1]}, v, ST_F32};
        if (p->kind == PARAM_LINEAR && !is_router(p->name) && strcmp(p->name, "lm_head.weight")) {
            const int R = (int)p->shape[0], C = (int)p->shape[1], br = (R + 127) / 128, bc = (C + 127) / 128;
            uint8_t *q = malloc((size_t)R * C);
            float *sc = malloc(sizeof(float) * (size_t)br * bc);
            for (int bi = 0; bi < br; bi++)
                for (int bj = 0; bj < bc; bj++) {
                    float amax = 0;
                    for (int r = bi * 128; r < R && r < bi * 128 + 128; r++)
                        for (int c = bj * 128; c < C && c < bj * 128 + 128; c++) amax = fmaxf(amax, fabsf(v[(size_t)r * C + c]));
                    const float s = amax > 0 ? amax / 448 : 1;
                    sc[bi * bc + bj] = s;
                    for (int r = bi * 128; r < R && r < bi * 128 + 128; r++)
                        for (int c = bj * 128; c < C && c < bj * 128 + 128; c++) q[(size_t)r * C + c] = to_e4m3(v[(size_t)r * C + c] / s);
                }
            t->dtype = t->src_type = ST_F8_E4M3;
            t->data = q;
            bufs[2 * i] = q;
            bufs[2 * i + 1] = sc;
            if (!skip_scale || strcmp(skip_scale, p->name)) {
                snprintf(names[i], sizeof names[i], "%s_scale_inv", p->name);
                w[n++] = (StWriteTensor){names[i], ST_F32, 2, {br, bc}, sc, ST_F32};
            }
        } else if (p->kind != PARAM_ROUTER_BIAS && p->kind != PARAM_BIAS) {
            t->dtype = ST_BF16;
        }
    }
    int rc = st_write(tu_path(dir, "model.safetensors"), w, n, &e);
    if (rc) printf("  %s\n", e.msg);
    for (int i = 0; i < 2 * pt->n; i++) free(bufs[i]);
    free(bufs); free(w); free(names);
    return rc;
}

/* The fixture model `name` written as a folder of the given kind: "fp8", "bfloat16", "float16",
 * "float32". */
static int write_folder(const char *name, const char *kind, const char *dir) {
    Model m;
    Err e = {{0}};
    if (fixture_load_model(&m, name, &e)) { printf("  %s\n", e.msg); return -1; }
    int rc;
    if (!strcmp(kind, "fp8")) {
        rc = write_fp8_folder(&m, dir, NULL);
    } else {
        snprintf(m.cfg.torch_dtype, sizeof m.cfg.torch_dtype, "%s", kind);
        rc = file_mkdirs(dir, &e) || model_write_dir(&m, dir, &e);
        if (rc) printf("  %s\n", e.msg);
    }
    model_free(&m);
    return rc;
}

/* Engine logits over T tokens: a prefill of `chunk` rows, then one row at a time; out [T, V]. */
static void engine_logits_as(const Model *m, KnFormat fmt, const int *toks, int T, int chunk, float *out) {
    Engine g;
    engine_init_as(&g, m, 1, T, T, 0, fmt);
    const int V = m->cfg.vocab_size;
    int slot[64] = {0};
    for (int t = 0; t < T;) {
        const int n = t == 0 ? chunk : 1;
        engine_forward(&g, toks + t, slot, n, NULL);
        memcpy(out + (size_t)t * V, g.logits, (size_t)n * V * sizeof *out);
        t += n;
    }
    engine_free(&g);
}

static void engine_logits(const Model *m, const int *toks, int T, int chunk, float *out) {
    engine_logits_as(m, KN_F32, toks, T, chunk, out);
}

/* Every matrix the engine multiplies has a stored pack. */
static int all_packed(const Model *m) {
    const int n = model_linear_weights(m, NULL, m->cfg.num_nextn_predict_layers);
    LinearWeight *ws = malloc(sizeof *ws * (size_t)n);
    model_linear_weights(m, ws, m->cfg.num_nextn_predict_layers);
    int ok = m->packs && linear_packs_find(m->packs, m->w.embed) != NULL;
    for (int i = 0; i < n; i++) ok &= linear_packs_find(m->packs, ws[i].w) != NULL;
    free(ws);
    return ok;
}

/* The packs are in the stored formats, and the f32 params of the packed matrices are all zero:
 * nothing ever wrote an f32 copy of them. */
static int packs_as_stored(const Model *m, const char *kind) {
    int ok = 1;
    for (int k = 0; k < m->packs->n; k++) {
        const LinearPacked *p = &m->packs->t[k];
        const int embed_like = p->w == m->w.embed || p->w == m->w.lm_head;
        const KnFormat want = !strcmp(kind, "fp8") ? (embed_like ? KN_BF16 : KN_F8)
                            : !strcmp(kind, "float16") ? KN_F16 : KN_BF16;
        ok &= p->kw.fmt == want;
        for (size_t i = 0; i < (size_t)p->kw.N * p->kw.K; i++) ok &= p->w[i] == 0;
    }
    return ok;
}

static void stored_vs_dequantised(const char *fixture, const char *kind) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s_%s", tmp_root, fixture, kind);
    if (write_folder(fixture, kind, dir)) { test_fail(__FILE__, __LINE__, "%s %s: writing the folder", fixture, kind); return; }
    Model ms, mf;
    Err e = {{0}};
    if (model_load_dir_as(&ms, dir, WEIGHTS_AUTO, &e)) { test_fail(__FILE__, __LINE__, "%s", e.msg); return; }
    if (model_load_dir_as(&mf, dir, WEIGHTS_F32, &e)) { test_fail(__FILE__, __LINE__, "%s", e.msg); model_free(&ms); return; }
    EXPECTF(all_packed(&ms), "%s %s: a matrix the engine multiplies is not kept as stored", fixture, kind);
    EXPECT(mf.packs == NULL);
    EXPECTF(packs_as_stored(&ms, kind), "%s %s: a pack not in the stored format, or an f32 copy written", fixture, kind);
    const int T = 24, V = ms.cfg.vocab_size;
    int toks[24];
    fixture_tokens(toks, 1, T, V, 5);
    float *a = malloc(sizeof(float) * (size_t)T * V), *b = malloc(sizeof(float) * (size_t)T * V);
    for (int chunk = 1; chunk <= 16; chunk += 15) {
        engine_logits(&ms, toks, T, chunk, a);
        engine_logits(&mf, toks, T, chunk, b);
        EXPECTF(tu_same_bits(a, b, (size_t)T * V), "%s %s chunk %d: stored weights' logits differ from the dequantised f32",
                fixture, kind, chunk);
    }
    free(a); free(b);
    model_free(&ms);
    model_free(&mf);
}

static void test_fp8_folders(void) {
    stored_vs_dequantised("c_yarn_mtp", "fp8");
    stored_vs_dequantised("d_llama", "fp8");
    stored_vs_dequantised("e_qwen2", "fp8");
    stored_vs_dequantised("b_bench", "fp8");     /* dimensions of several 128×128 scale blocks */
}

static void test_bf16_f16_folders(void) {
    stored_vs_dequantised("c_yarn_mtp", "bfloat16");
    stored_vs_dequantised("e_qwen2", "bfloat16");
    stored_vs_dequantised("d_llama", "float16");
}

/* An f32 model in memory decoded with the engine's bf16 copies (GRPO's --rollout-precision bf16):
 * not the f32 bits, within the --weights bf16 bound, the same whatever the row count. */
static void test_engine_bf16_copies(void) {
    Model m;
    Err e = {{0}};
    if (fixture_load_model(&m, "c_yarn_mtp", &e)) { test_fail(__FILE__, __LINE__, "%s", e.msg); return; }
    const int T = 24, V = m.cfg.vocab_size;
    int toks[24];
    fixture_tokens(toks, 1, T, V, 6);
    float *f = malloc(sizeof(float) * (size_t)T * V), *b = malloc(sizeof(float) * (size_t)T * V);
    float *b1 = malloc(sizeof(float) * (size_t)T * V);
    engine_logits_as(&m, KN_F32, toks, T, 16, f);
    engine_logits_as(&m, KN_BF16_DOT, toks, T, 16, b);
    engine_logits_as(&m, KN_BF16_DOT, toks, T, 1, b1);
    double lo = INFINITY, hi = -INFINITY, worst = 0;
    for (int i = 0; i < T * V; i++) { lo = fmin(lo, f[i]); hi = fmax(hi, f[i]); worst = fmax(worst, fabs((double)b[i] - f[i])); }
    EXPECTF(worst > 0 && worst <= 0.05 * (hi - lo), "bf16 copies: max |dlogit| %.4g of a range %.4g", worst, hi - lo);
    EXPECTF(tu_same_bits(b, b1, (size_t)T * V), "bf16 copies: a prefill of 16 rows and one row at a time differ");
    free(f); free(b); free(b1);
    model_free(&m);
}

/* `r1 logits` on the FP8 folder and on the f32 folder of its dequantised weights. */
static void test_cli_logits_fp8(void) {
    char fp8[600], f32[600];
    snprintf(fp8, sizeof fp8, "%s/cli_fp8", tmp_root);
    snprintf(f32, sizeof f32, "%s/cli_f32", tmp_root);
    if (write_folder("c_yarn_mtp", "fp8", fp8)) { test_fail(__FILE__, __LINE__, "writing"); return; }
    Model m;
    Err e = {{0}};
    if (model_load_dir_as(&m, fp8, WEIGHTS_F32, &e) || file_mkdirs(f32, &e) || model_write_dir(&m, f32, &e)) {
        test_fail(__FILE__, __LINE__, "%s", e.msg);
        return;
    }
    model_free(&m);
    StrBuf o = {0};
    const char *toks = "3,9,27,17,51,25,11,33,36,44,2,6,18,54";
    int rc = tu_runf(&o, "%s logits --model %s --tokens %s --out %s/a.safetensors && %s logits --model %s --tokens %s "
                     "--out %s/b.safetensors && %s logits --model %s --weights bf16 --tokens %s --out %s/c.safetensors",
                     tu_r1_bin(), fp8, toks, tmp_root, tu_r1_bin(), f32, toks, tmp_root, tu_r1_bin(), f32, toks, tmp_root);
    EXPECTF(rc == 0, "%s", o.s);
    Safetensors sa, sb, sc;
    if (rc == 0 && st_open_file(&sa, tu_path(tmp_root, "a.safetensors"), &e) == 0 &&
        st_open_file(&sb, tu_path(tmp_root, "b.safetensors"), &e) == 0 &&
        st_open_file(&sc, tu_path(tmp_root, "c.safetensors"), &e) == 0) {
        const StTensor *ta = st_find(&sa, "logits"), *tb = st_find(&sb, "logits"), *tc = st_find(&sc, "logits");
        EXPECT(ta && tb && tc && ta->numel == tb->numel && tc->numel == tb->numel);
        if (ta && tb && tc && ta->numel == tb->numel && tc->numel == tb->numel) {
            const float *x = (const float *)ta->data, *y = (const float *)tb->data, *z = (const float *)tc->data;
            double lo = INFINITY, hi = -INFINITY, worst = 0;
            for (size_t i = 0; i < tb->numel; i++) { lo = fmin(lo, y[i]); hi = fmax(hi, y[i]); }
            expect_close_f32("fp8 stored (engine) vs dequantised f32 (training forward)", x, y, tb->numel, 1e-4, 1e-4);
            for (size_t i = 0; i < tb->numel; i++) worst = fmax(worst, fabs((double)z[i] - y[i]));
            EXPECTF(worst <= 0.05 * (hi - lo), "--weights bf16: max |Δlogit| %.4g, range %.4g", worst, hi - lo);
            printf("  --weights bf16 vs f32: max |dlogit| %.4g of a range %.4g\n", worst, hi - lo);
        }
        st_free(&sa); st_free(&sb); st_free(&sc);
    } else {
        test_fail(__FILE__, __LINE__, "%s", e.msg);
    }
    sb_free(&o);
}

/* `r1 generate` on a stored folder reports bytes per parameter and the peak RSS. The model has the
 * bench config's shapes (matrices 128 to 1024 wide): the decode panels' padding to 64 columns is
 * then small, so a bf16 folder takes close to 2 bytes a parameter (the tiny CLI model's 12-wide
 * experts would take more, padded). */
static void test_generate_reports_memory(void) {
    char dir[64];
    if (tu_cli_model_in(dir, sizeof dir, tmp_root, "gen", 128)) return;
    StrBuf o = {0};
    char m16[700], cfg_path[700];
    snprintf(m16, sizeof m16, "%s/mb", dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/bench_cfg.json", dir);
    char *cfg = tu_slurp("tests/fixtures/model/b_bench/config.json");
    char *v = cfg ? strstr(cfg, "\"vocab_size\": 4096") : NULL;
    EXPECTF(v != NULL, "b_bench config: no vocab_size 4096");
    if (!v) { free(cfg); sb_free(&o); return; }
    memcpy(v, "\"vocab_size\":  320", 18);
    Err e = {{0}};
    EXPECT(file_write_atomic(cfg_path, cfg, strlen(cfg), &e) == 0);
    free(cfg);
    int rc = tu_runf(&o, "%s init --config %s --seed 5 --out %s && cp %s/tok/* %s/", tu_r1_bin(), cfg_path, m16, dir, m16);
    EXPECTF(rc == 0, "init: %s", o.s);
    /* that model re-saved in bf16 */
    Model m;
    if (model_load_dir(&m, m16, &e) == 0) {
        snprintf(m.cfg.torch_dtype, sizeof m.cfg.torch_dtype, "bfloat16");
        EXPECT(model_save_dir(&m, m16, &e) == 0);
        model_free(&m);
    }
    rc = tu_runf(&o, "%s generate --model %s --prompt 'two plus three' --max-tokens 8 --temperature 0", tu_r1_bin(), m16);
    EXPECTF(rc == 0 && strstr(o.s, "weights (--weights auto): ") && strstr(o.s, "bytes/parameter") && strstr(o.s, "peak RSS"),
            "%s", o.s);
    const char *b = strstr(o.s, "weights (--weights auto): ");
    double bpp = b ? atof(b + strlen("weights (--weights auto): ")) : 0;
    EXPECTF(bpp > 1.9 && bpp < 2.6, "bf16 folder: %.3f bytes per parameter", bpp);
    rc = tu_runf(&o, "%s generate --model %s --prompt 'two plus three' --max-tokens 8 --temperature 0 --weights f32", tu_r1_bin(), m16);
    b = strstr(o.s, "weights (--weights f32): ");
    bpp = b ? atof(b + strlen("weights (--weights f32): ")) : 0;
    EXPECTF(rc == 0 && bpp == 4.0, "f32: %s", o.s);
    rc = tu_runf(&o, "%s generate --model %s --prompt 'x' --weights f8", tu_r1_bin(), m16);
    EXPECTF(rc != 0 && strstr(o.s, "--weights: unknown value 'f8'"), "%s", o.s);
    sb_free(&o);
}

static void test_fp8_without_scales(void) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/noscale", tmp_root);
    Model m;
    Err e = {{0}};
    if (fixture_load_model(&m, "c_yarn_mtp", &e)) { test_fail(__FILE__, __LINE__, "%s", e.msg); return; }
    const char *bad = "model.layers.1.mlp.experts.3.down_proj.weight";
    EXPECT(write_fp8_folder(&m, dir, bad) == 0);
    model_free(&m);
    for (int mode = 0; mode < 3; mode++) {
        Model x;
        Err e2 = {{0}};
        const int rc = model_load_dir_as(&x, dir, (WeightMode)mode, &e2);
        EXPECTF(rc != 0 && strstr(e2.msg, bad) && strstr(e2.msg, "without its scale tensor") && !strchr(e2.msg, '\n'),
                "mode %d: %s", mode, e2.msg);
        if (rc == 0) model_free(&x);
    }
}

int main(void) {
    if (tu_mkdtemp(tmp_root)) return 1;
    RUN(test_fp8_folders);
    RUN(test_bf16_f16_folders);
    RUN(test_engine_bf16_copies);
    RUN(test_cli_logits_fp8);
    RUN(test_generate_reports_memory);
    RUN(test_fp8_without_scales);
    return tu_finish(tmp_root);
}
