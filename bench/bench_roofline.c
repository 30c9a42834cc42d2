/* Roofline: the machine's peaks (bench/roof_peaks.h: FMA and bf16-dot instruction loops, STREAM-like
 * memory bandwidth, the clock) and each main kernel's achieved rate against the roof that bounds it,
 * with the kernel's arithmetic intensity (flops per byte of the operands it touches) so that the
 * reader sees which roof applies. Shapes are the bench config's (/work/shared/bench/bench_config.json:
 * D 256, H 8, Dqk 48 = 32 + 16 rope, Dv 32, T 256, V 4096, dense FFN 768):
 *
 *   tile_mm          attention's per-head tiles (8 query rows × keys × head dims), operands in L1/L2
 *   tile_mm_pairs    the same tiles in bf16 pairs (P·V), --precision bf16's attention
 *   kn_weight_gemm   decode products C [M, 1536] = A [M, 256]·Wᵀ over 256 MB of packed weights
 *                    (f32 = gemm_small_kn, and bf16 as stored): M 1 is weight streaming (GB/s
 *                    against the read bandwidth), M 64 is arithmetic (GFLOP/s against the FMA peak)
 *   OpenBLAS sgemm   the training products of bench_kernels, 1 and 2 threads
 *   gemm_bf16        the forward training product in bf16 (the dot kernel with AVX512-BF16, its FMA
 *                    fallback with AVX-512 only, plain loops without AVX-512)
 *
 * Each kernel's roof is the lower of its compute peak and its flops per byte × the bandwidth its
 * operands come from (L2 for the attention tiles, which stay there; memory for the others). Prints
 * BENCH lines (bench.h; a kernel's ratio is its fraction of that roof) and a table.
 *
 *   build/bench/bench_roofline [--quick]
 */
#include <math.h>
#include <string.h>

#include "base/fp_formats.h"
#include "base/rng.h"
#include "base/threads.h"
#include "bench.h"
#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/kn_lowp.h"
#include "kernels/matmul.h"
#include "kernels/tile_bf16.h"
#include "kernels/tile_mm.h"
#include "roof_peaks.h"

/* ---- the roofs and the table ---- */

typedef struct Roofs {
    double fma[3], dot[3], read[3];   /* GFLOP/s, GFLOP/s, GB/s by thread count (1, 2) */
    double l2read;                    /* GB/s, 1 thread */
    const char *fma_base;             /* "fma_avx512" or "fma_avx2": the widest the kernels use */
} Roofs;

typedef struct Roof { double value; char name[40]; } Roof;

/* The roof over a kernel of `ai` flops per byte on nt threads: the compute peak (the bf16 dot peak
 * when dot, else the FMA peak), or ai × the bandwidth of where its operands come from (L2 when
 * in_l2, else memory) when that is lower. */
static Roof roof_for(const Roofs *rf, double ai, int nt, int dot, int in_l2) {
    Roof r;
    r.value = dot ? rf->dot[nt] : rf->fma[nt];
    snprintf(r.name, sizeof r.name, "%s_%dt", dot ? "dot_bf16" : rf->fma_base, nt);
    const double bw = in_l2 ? rf->l2read * nt : rf->read[nt];
    if (ai * bw < r.value) {
        r.value = ai * bw;
        snprintf(r.name, sizeof r.name, "%.1f x %s_%dt", ai, in_l2 ? "l2_read" : "read", nt);
    }
    return r;
}


typedef struct RoofRow {
    char what[48], shape[32];
    int nt;
    double ai, value, roof;   /* ai < 0: not applicable */
    const char *unit;
    char roof_name[40];
} RoofRow;

typedef struct RoofTable { RoofRow rows[48]; int n; } RoofTable;

/* One BENCH line (roofline_<id>_<nt>t, the roof as its reference) and one row of the table. */
static void roof_add(RoofTable *tab, const char *id, const char *what, const char *shape, int nt, double ai,
                     double value, const char *unit, const char *roof_name, double roof) {
    char name[80];
    snprintf(name, sizeof name, "roofline_%s_%dt", id, nt);
    bench_record(name, value, unit, roof > 0 ? roof_name : NULL, roof);
    if (tab->n == (int)(sizeof tab->rows / sizeof *tab->rows)) return;
    RoofRow *r = &tab->rows[tab->n++];
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->shape, sizeof r->shape, "%s", shape);
    snprintf(r->roof_name, sizeof r->roof_name, "%s", roof > 0 ? roof_name : "-");
    r->nt = nt; r->ai = ai; r->value = value; r->roof = roof; r->unit = unit;
}

static void roof_print(const RoofTable *tab) {
    printf("# %-34s %-22s %3s %7s %14s   %-26s %5s\n", "kernel", "shape", "thr", "flop/B", "achieved",
           "roof (same run)", "frac");
    for (int i = 0; i < tab->n; i++) {
        const RoofRow *r = &tab->rows[i];
        char ai[16] = "-", roof[48] = "-", frac[16] = "-";
        if (r->ai >= 0) snprintf(ai, sizeof ai, "%.1f", r->ai);
        if (r->roof > 0) {
            snprintf(roof, sizeof roof, "%s %.1f", r->roof_name, r->roof);
            snprintf(frac, sizeof frac, "%.2f", r->value / r->roof);
        }
        printf("# %-34s %-22s %3d %7s %7.1f %-7s   %-26s %5s\n", r->what, r->shape, r->nt, ai, r->value, r->unit,
               roof, frac);
    }
}

static void load_average(char *out, size_t n) {
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(out, (int)n, f)) snprintf(out, n, "unknown\n");
    if (f) fclose(f);
}

/* ---- timing ---- */

/* Many short timed runs, the best kept: other jobs on a shared machine only ever slow a run down,
 * and a short run is more likely to go unpreempted. */
#define RUNS(quick) ((quick) ? 5 : 15)
#define RUN_S(quick) ((quick) ? 0.01 : 0.02)

/* Best rate (work per second) of runs of fn(ctx), each run repeated until >= min_s, `reps` runs
 * after one warm-up call. */
static double best_rate(void (*fn)(void *), void *ctx, double work, int reps, double min_s) {
    fn(ctx);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        long calls = 0;
        double t0 = bench_now(), t;
        do {
            fn(ctx);
            calls++;
        } while ((t = bench_now() - t0) < min_s);
        const double rate = work * (double)calls / t;
        best = rate > best ? rate : best;
    }
    return best;
}

static float *randn(size_t n, float sd, uint64_t k) {
    float *x = malloc(n * sizeof *x);
    Rng r = rng_make(7, RNG_TEST, k, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal(&r) * sd;
    return x;
}

/* ---- tile_mm: one attention head's tiles, as attention.c calls them ---- */

enum { T_ = 256, DQK = 48, DV = 32, HEADS = 8, TR = 8, TP = 256 };

typedef struct TileCall {
    int M, N, K;
    float alpha;
    const float *A, *B;
    size_t a_rs, a_cs, ldb, ldc;
    float *C;
} TileCall;

typedef struct TileList { TileCall c[5 * T_ / TR]; int n; double flops, bytes; } TileList;

static void tl_add(TileList *l, int M, int N, int K, float alpha, const float *A, size_t a_rs, size_t a_cs,
                   const float *B, size_t ldb, float *C, size_t ldc) {
    l->c[l->n++] = (TileCall){M, N, K, alpha, A, B, a_rs, a_cs, ldb, ldc, C};
    l->flops += 2.0 * M * N * K;
    l->bytes += 4.0 * ((double)M * K + (double)K * N + (double)M * N);
}

static void tl_run(void *ctx) {
    const TileList *l = ctx;
    for (int i = 0; i < l->n; i++) {
        const TileCall *c = &l->c[i];
        tile_mm(c->M, c->N, c->K, c->alpha, c->A, c->a_rs, c->a_cs, c->B, c->ldb, c->C, c->ldc, 0);
    }
}

/* One head's buffers: q [T, H·Dqk] and o, dO [T, H·Dv] rows as in the model (this head's columns),
 * Kᵀ [Dqk, Tp], Vᵀ [Dv, Tp], key rows K [T, Dqk], P and dS [T, Tp], outputs. */
typedef struct HeadBufs { float *q, *o, *dO, *kt, *vt, *k, *v, *p, *ds, *dq, *dk, *dv; } HeadBufs;

static HeadBufs head_bufs(void) {
    HeadBufs b;
    const size_t ldq = HEADS * DQK, ldo = HEADS * DV;
    b.q = randn(T_ * ldq, 1, 10); b.o = randn(T_ * ldo, 1, 11); b.dO = randn(T_ * ldo, 1, 12);
    b.kt = randn(DQK * TP, 1, 13); b.vt = randn(DV * TP, 1, 14); b.k = randn(T_ * DQK, 1, 15);
    b.v = randn(T_ * ldo, 1, 16); b.p = randn(T_ * TP, 0.1f, 17); b.ds = randn(T_ * TP, 0.1f, 18);
    b.dq = malloc(sizeof(float) * T_ * ldq); b.dk = malloc(sizeof(float) * T_ * DQK);
    b.dv = malloc(sizeof(float) * T_ * ldo);
    return b;
}

static void head_free(HeadBufs *b) {
    float *all[] = {b->q, b->o, b->dO, b->kt, b->vt, b->k, b->v, b->p, b->ds, b->dq, b->dk, b->dv};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

/* Forward: per 8-row query tile, scores S = scale·Q·Kᵀ [8, n] (K 48) and O = S·V [8, 32] (K n). */
static void head_forward(TileList *l, const HeadBufs *b) {
    const size_t ldq = HEADS * DQK, ldo = HEADS * DV;
    const float sc = 1 / sqrtf(DQK);
    for (int t0 = 0; t0 < T_; t0 += TR) {
        const int n = t0 + TR;
        tl_add(l, TR, n, DQK, sc, b->q + t0 * ldq, ldq, 1, b->kt, TP, b->p, TP);
        tl_add(l, TR, DV, n, 1, b->p, TP, 1, b->v, ldo, b->o + t0 * ldo, ldo);
    }
}

/* Backward: per query tile the scores, dP = dO·Vᵀ and dQ = scale·dS·K; per key tile
 * dV = Pᵀ·dO and dK = scale·dSᵀ·Q (A read down columns). */
static void head_backward(TileList *l, const HeadBufs *b) {
    const size_t ldq = HEADS * DQK, ldo = HEADS * DV;
    const float sc = 1 / sqrtf(DQK);
    for (int t0 = 0; t0 < T_; t0 += TR) {
        const int n = t0 + TR;
        tl_add(l, TR, n, DQK, sc, b->q + t0 * ldq, ldq, 1, b->kt, TP, b->p + t0 * TP, TP);
        tl_add(l, TR, n, DV, 1, b->dO + t0 * ldo, ldo, 1, b->vt, TP, b->ds + t0 * TP, TP);
        tl_add(l, TR, DQK, n, sc, b->ds + t0 * TP, TP, 1, b->k, DQK, b->dq + t0 * ldq, ldq);
    }
    for (int s0 = 0; s0 < T_; s0 += TR) {
        const int nr = T_ - s0;
        const size_t at = (size_t)s0 * TP + s0;
        tl_add(l, TR, DV, nr, 1, b->p + at, 1, TP, b->dO + s0 * ldo, ldo, b->dv + s0 * ldo, ldo);
        tl_add(l, TR, DQK, nr, sc, b->ds + at, 1, TP, b->q + s0 * ldq, ldq, b->dk + s0 * DQK, DQK);
    }
}

static void bench_tiles(RoofTable *tab, const Roofs *rf, int quick) {
    HeadBufs b = head_bufs();
    TileList *l = calloc(1, sizeof *l);
    head_forward(l, &b);
    double g = best_rate(tl_run, l, l->flops, RUNS(quick), RUN_S(quick)) * 1e-9;
    Roof r = roof_for(rf, l->flops / l->bytes, 1, 0, 1);
    roof_add(tab, "tile_mm_attn_fwd", "tile_mm attention fwd tiles", "8x(8..256)x48,8x32x..", 1,
             l->flops / l->bytes, g, "GFLOP/s", r.name, r.value);
    memset(l, 0, sizeof *l);
    head_backward(l, &b);
    g = best_rate(tl_run, l, l->flops, RUNS(quick), RUN_S(quick)) * 1e-9;
    r = roof_for(rf, l->flops / l->bytes, 1, 0, 1);
    roof_add(tab, "tile_mm_attn_bwd", "tile_mm attention bwd tiles", "5 kinds, 8-row tiles", 1,
             l->flops / l->bytes, g, "GFLOP/s", r.name, r.value);
    free(l);
    head_free(&b);
}

/* tile_mm_pairs: forward's O = P·V per query tile, P rows and V as bf16 pairs. */
typedef struct PairTiles { uint32_t *ap, *vp; float *o; } PairTiles;

static void pairs_run(void *ctx) {
    const PairTiles *p = ctx;
    const size_t ldap = TP / 2;
    for (int t0 = 0; t0 < T_; t0 += TR)
        tile_mm_pairs(TR, DV, t0 + TR, 1, p->ap + (size_t)t0 * ldap, ldap, p->vp, DV, p->o + (size_t)t0 * DV, DV, 0);
}

static void bench_pair_tiles(RoofTable *tab, const Roofs *rf, int dot, const char *kind, int quick) {
    float *pm = randn((size_t)T_ * TP, 0.1f, 20), *v = randn((size_t)T_ * DV, 1, 21);
    PairTiles p = {malloc(sizeof(uint32_t) * T_ * TP / 2), malloc(sizeof(uint32_t) * T_ / 2 * DV),
                   malloc(sizeof(float) * T_ * DV)};
    pairs_of_rows(p.ap, TP / 2, pm, TP, 1, T_, TP);
    pairs_of_cols(p.vp, DV, v, DV, T_, DV);
    double flops = 0, bytes = 0;
    for (int t0 = 0; t0 < T_; t0 += TR) {
        const int n = t0 + TR;
        flops += 2.0 * TR * DV * n;
        bytes += 2.0 * TR * n + 2.0 * n * DV + 4.0 * TR * DV;
    }
    const double g = best_rate(pairs_run, &p, flops, RUNS(quick), RUN_S(quick)) * 1e-9;
    const Roof r = roof_for(rf, flops / bytes, 1, dot, 1);
    char what[48];
    snprintf(what, sizeof what, "tile_mm_pairs P.V (%s)", kind);
    roof_add(tab, "tile_mm_pairs_attn_pv", what, "8x32x(8..256)", 1, flops / bytes, g, "GFLOP/s", r.name, r.value);
    free(pm); free(v); free(p.ap); free(p.vp); free(p.o);
}

/* ---- decode products over more packed weight bytes than the L3 ---- */

typedef struct KnStream {
    KnWeight *w;
    int copies, M, N, K, nt;
    int group, next;   /* copies per call, from `next` on (round the ring) */
    const float *A;
    float *C;
} KnStream;

/* The products of `group` copies in turn, each copy's panels split in halves over the threads (as
 * the engine splits them); the next call goes on from where this one stopped. */
static void kn_pass(void *ctx) {
    KnStream *s = ctx;
    const int panels = (s->N + KN_PANEL - 1) / KN_PANEL;
    #pragma omp parallel num_threads(s->nt)
    {
        const int t = omp_get_thread_num(), per = (panels + s->nt - 1) / s->nt;
        const int p0 = t * per, p1 = p0 + per < panels ? p0 + per : panels;
        const int c0 = p0 * KN_PANEL, c1 = p1 * KN_PANEL < s->N ? p1 * KN_PANEL : s->N;
        for (int i = 0; p0 < p1 && i < s->group; i++)
            kn_weight_gemm(s->M, c1 - c0, s->K, s->A, s->K, NULL, 0, &s->w[(s->next + i) % s->copies], p0, s->C + c0,
                           s->N, 0, 0);
    }
    s->next = (s->next + s->group) % s->copies;
}

/* Packs W [N, K] as fmt (f32 or bf16 as stored) and copies it until `bytes` are filled. */
static KnStream kn_stream_make(KnFormat fmt, int N, int K, size_t bytes, void **mem) {
    float *w = randn((size_t)N * K, 0.05f, 30);
    uint16_t *w16 = NULL;
    LowpMatrix m = {LOWP_F32, w, NULL, N, K};
    if (fmt == KN_BF16) {
        w16 = malloc(sizeof *w16 * (size_t)N * K);
        for (size_t i = 0; i < (size_t)N * K; i++) w16[i] = f32_to_bf16(w[i]);
        m = (LowpMatrix){LOWP_BF16, w16, NULL, N, K};
    }
    const size_t one = kn_weight_bytes(fmt, N, K);
    KnStream s = {0};
    s.copies = (int)((bytes + one - 1) / one);
    s.N = N; s.K = K;
    *mem = aligned_alloc(64, one * (size_t)s.copies);
    s.w = malloc(sizeof *s.w * (size_t)s.copies);
    kn_weight_pack(&s.w[0], fmt, &m, 1, *mem);
    for (int i = 1; i < s.copies; i++) {
        memcpy((char *)*mem + one * (size_t)i, *mem, one);
        s.w[i] = s.w[0];
        s.w[i].data = (char *)*mem + one * (size_t)i;
    }
    free(w); free(w16);
    return s;
}

static void bench_decode(RoofTable *tab, const Roofs *rf, KnFormat fmt, const char *fname, int quick) {
    const int N = 1536, K = 256, Mmax = 64;
    void *mem;
    KnStream s = kn_stream_make(fmt, N, K, (size_t)256 << 20, &mem);
    float *A = randn((size_t)Mmax * K, 1, 31);
    s.A = A;
    s.C = malloc(sizeof(float) * Mmax * N);
    const double wbytes = (double)kn_weight_bytes(fmt, N, K) * s.copies;
    char id[48], what[48], shape[32];
    for (int nt = 1; nt <= 2; nt++) {   /* M 1: weight streaming, a run = one pass over all copies */
        s.M = 1; s.nt = nt; s.group = s.copies;
        const double gbs = best_rate(kn_pass, &s, wbytes, RUNS(quick), 0) * 1e-9;
        const double bytes = wbytes + 4.0 * s.copies * (K + N), flops = 2.0 * N * K * s.copies;
        snprintf(id, sizeof id, "decode_kn_%s_1row", fname);
        snprintf(what, sizeof what, "kn_weight_gemm %s M1 (weights)", fname);
        snprintf(shape, sizeof shape, "1x1536x256 x%d", s.copies);
        roof_add(tab, id, what, shape, nt, flops / bytes, gbs, "GB/s", nt == 1 ? "read_1t" : "read_2t", rf->read[nt]);
    }
    s.M = Mmax; s.nt = 1; s.group = 8;   /* M 64: arithmetic, 8 copies a call (still streamed) */
    const double flops = 2.0 * Mmax * N * K * s.copies;
    const double g = best_rate(kn_pass, &s, flops / s.copies * s.group, RUNS(quick), RUN_S(quick)) * 1e-9;
    snprintf(id, sizeof id, "decode_kn_%s_64rows", fname);
    snprintf(what, sizeof what, "kn_weight_gemm %s M64", fname);
    snprintf(shape, sizeof shape, "64x1536x256 x%d", s.copies);
    const double ai = flops / (wbytes + 4.0 * s.copies * Mmax * (K + N));
    const Roof r = roof_for(rf, ai, 1, 0, 0);
    roof_add(tab, id, what, shape, 1, ai, g, "GFLOP/s", r.name, r.value);
    free(mem); free(s.w); free(A); free(s.C);
}

/* ---- big products: OpenBLAS sgemm, gemm_bf16 ---- */

typedef void (*GemmFn)(int, int, int, int, int, real, const real *, int, const real *, int, real, real *, int);
typedef struct GemmCall { GemmFn f; int ta, tb, M, N, K; const float *A, *B; float *C; } GemmCall;

static void gemm_run(void *ctx) {
    const GemmCall *g = ctx;
    g->f(g->ta, g->tb, g->M, g->N, g->K, 1, g->A, g->ta ? g->M : g->K, g->B, g->tb ? g->K : g->N, 0, g->C, g->N);
}

static double gemm_rate(GemmFn f, const int *z, int reps, double min_s) {
    GemmCall g = {f, z[0], z[1], z[2], z[3], z[4], randn((size_t)z[2] * z[4], 1, 1), randn((size_t)z[4] * z[3], 1, 2),
                  malloc(sizeof(float) * (size_t)z[2] * z[3])};
    const double r = best_rate(gemm_run, &g, 2.0 * z[2] * z[3] * z[4], reps, min_s) * 1e-9;
    free((void *)g.A); free((void *)g.B); free(g.C);
    return r;
}

static double gemm_ai(const int *z) {
    const double M = z[2], N = z[3], K = z[4];
    return 2 * M * N * K / (4 * (M * K + K * N + M * N));
}

static void gemm_shape(char *out, size_t n, const int *z) {
    snprintf(out, n, "%s%s %dx%dx%d", z[0] ? "T" : "N", z[1] ? "T" : "N", z[2], z[3], z[4]);
}

static void bench_sgemm(RoofTable *tab, const Roofs *rf, int quick) {
    const int big[][5] = {{0, 1, 4096, 768, 256}, {0, 0, 4096, 256, 768}, {1, 0, 768, 256, 4096}, {0, 1, 4096, 4096, 256}};
    for (int nt = 1; nt <= 2; nt++) {
        threads_set(nt);
        for (size_t s = 0; s < sizeof big / sizeof *big; s++) {
            char shape[32], id[64];
            gemm_shape(shape, sizeof shape, big[s]);
            snprintf(id, sizeof id, "sgemm_%s%s_%dx%dx%d", big[s][0] ? "T" : "N", big[s][1] ? "T" : "N", big[s][2],
                     big[s][3], big[s][4]);
            const double g = gemm_rate(gemm_blas, big[s], RUNS(quick), RUN_S(quick));
            const Roof r = roof_for(rf, gemm_ai(big[s]), nt, 0, 0);
            roof_add(tab, id, "OpenBLAS sgemm (training)", shape, nt, gemm_ai(big[s]), g, "GFLOP/s", r.name, r.value);
        }
    }
    threads_set(1);
}

static void bench_gemm_bf16(RoofTable *tab, const Roofs *rf, int dot, const char *kind, int portable, int quick) {
    const int z[5] = {0, 1, 4096, 768, 256};
    char shape[32], what[48];
    gemm_shape(shape, sizeof shape, z);
    snprintf(what, sizeof what, "gemm_bf16 (%s)", kind);
    /* the plain loops take seconds per call: one timed call */
    const double g = gemm_rate(gemm_bf16, z, portable ? 1 : RUNS(quick), portable ? 0 : RUN_S(quick));
    const Roof r = roof_for(rf, gemm_ai(z), 1, dot, 0);
    roof_add(tab, "gemm_bf16_NT_4096x768x256", what, shape, 1, gemm_ai(z), g, "GFLOP/s", r.name, r.value);
}

/* ---- the peaks ---- */

static void bench_peaks(RoofTable *tab, Roofs *rf, int quick) {
    const int reps = RUNS(quick) + 5;
    const double min_s = RUN_S(quick);
    const double cpuinfo = roof_cpuinfo_mhz();
    double clock = roof_clock_mhz(quick ? 10 : 40);
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int avx512 = __builtin_cpu_supports("avx512f");
    struct { int on, lanes; RoofChainFn fn; const char *name, *what; double flops_per_lane; } kinds[] = {
        {avx2, 8, roof_fma_avx2, "fma_avx2", "FMA peak AVX2 (12 chains)", 2},
        {avx512, 16, roof_fma_avx512, "fma_avx512", "FMA peak AVX-512 (12 chains)", 2},
        {bf16_cpu_has_dot(), 16, roof_dot_bf16, "dot_bf16", "bf16 dot peak vdpbf16ps", 4},
    };
    rf->fma_base = avx512 ? "fma_avx512" : "fma_avx2";
    double g[3][3] = {{0}};   /* [kind][threads] */
    for (int k = 0; k < 3; k++) {
        if (!kinds[k].on) {
            fprintf(stderr, "bench_roofline: this CPU has no %s: no %s figure\n",
                    k == 2 ? "AVX512-BF16" : k == 1 ? "AVX-512" : "AVX2+FMA", kinds[k].name);
            continue;
        }
        for (int nt = 1; nt <= 2; nt++) {
            g[k][nt] = roof_chain_gflops(kinds[k].fn, ROOF_CHAINS * kinds[k].lanes * kinds[k].flops_per_lane, nt,
                                         reps, min_s);
            const double c2 = roof_clock_mhz(quick ? 10 : 40);   /* the clock as the peaks ran */
            clock = c2 > clock ? c2 : clock;
        }
    }
    printf("# clock: /proc/cpuinfo %.0f MHz, dependent-add chain %.0f MHz (best of its runs before and after\n"
           "#   each peak); x/cycle = instructions per cycle per thread at the add-chain clock\n", cpuinfo, clock);
    bench_record("roofline_clock_mhz", clock, "MHz", "cpuinfo_mhz", cpuinfo);
    for (int k = 0; k < 3; k++)
        for (int nt = 1; nt <= 2 && kinds[k].on; nt++) {
            /* per thread and cycle: lanes × flops per lane × 2 units (Zen 3/4, Skylake-X: 2 FMA pipes) */
            const double per_cycle = kinds[k].lanes * kinds[k].flops_per_lane;
            char ref[48], shape[32];
            snprintf(ref, sizeof ref, "clockx%dx%.0fx2u", kinds[k].lanes, kinds[k].flops_per_lane);
            snprintf(shape, sizeof shape, "%d lanes, %.2f/cycle", kinds[k].lanes, g[k][nt] / (clock * 1e-3 * per_cycle * nt));
            roof_add(tab, kinds[k].name, kinds[k].what, shape, nt, -1, g[k][nt], "GFLOP/s", ref,
                     clock * 1e-3 * per_cycle * 2 * nt);
            if (k < 2 && strcmp(kinds[k].name, rf->fma_base) == 0) rf->fma[nt] = g[k][nt];
            if (k == 2) rf->dot[nt] = g[k][nt];
        }

    const size_t n = (size_t)16 << 20;   /* 128 MB per array, 384 MB in all */
    double *a = aligned_alloc(64, n * 8), *b = aligned_alloc(64, n * 8), *c = aligned_alloc(64, n * 8);
    roof_stream_init(a, b, c, n, 2);
    for (int nt = 1; nt <= 2; nt++)
        for (int kind = 0; kind < 3; kind++) {
            const double gbs = roof_stream_gbs((RoofStream)kind, a, b, c, n, nt, RUNS(quick));
            char id[32], what[48];
            snprintf(id, sizeof id, "stream_%s", ROOF_STREAM_NAMES[kind]);
            snprintf(what, sizeof what, "memory %s (STREAM bytes)", ROOF_STREAM_NAMES[kind]);
            roof_add(tab, id, what, "3 x 128 MB doubles", nt, -1, gbs, "GB/s", NULL, 0);
            if (kind == ROOF_READ) rf->read[nt] = gbs;
        }
    free(a); free(b); free(c);
    rf->l2read = roof_cache_read_gbs((size_t)256 << 10, RUNS(quick));
    roof_add(tab, "l2_read", "L2 read (256 KB, sum)", "256 KB doubles", 1, -1, rf->l2read, "GB/s", NULL, 0);
}

int main(int argc, char **argv) {
    bench_init(argv);
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    char load0[128], load1[128];
    load_average(load0, sizeof load0);
    printf("# OpenBLAS core: %s; load average at start: %s", blas_core_name(), load0);
    RoofTable *tab = calloc(1, sizeof *tab);
    Roofs rf = {{0}, {0}, {0}, 0, NULL};
    bench_peaks(tab, &rf, quick);

    threads_set(1);
    bench_tiles(tab, &rf, quick);
    const int dot = bf16_cpu_has_dot();
#if defined(__AVX512F__)
    const int portable = 0;
    const char *bf_kind = dot ? "vdpbf16ps" : "FMA fallback";
#else
    const int portable = 1;
    const char *bf_kind = "plain loops";
#endif
    printf("# bf16 kernels run: %s (AVX512-BF16 %s)\n", bf_kind, dot ? "present" : "absent");
    bench_pair_tiles(tab, &rf, dot, bf_kind, quick);
    bench_decode(tab, &rf, KN_F32, "f32", quick);
    bench_decode(tab, &rf, KN_BF16, "bf16", quick);
    bench_sgemm(tab, &rf, quick);
    bench_gemm_bf16(tab, &rf, dot, bf_kind, portable, quick);

    load_average(load1, sizeof load1);
    printf("#\n# roofline (frac = achieved / roof; flop/B = flops per byte of the operands each call touches;\n"
           "#   machine balance, 1 thread: %s peak / memory read = %.1f flop/B, / L2 read = %.1f flop/B)\n",
           rf.fma_base, rf.fma[1] / rf.read[1], rf.fma[1] / rf.l2read);
    roof_print(tab);
    printf("# load average at end: %s", load1);
    free(tab);
    return 0;
}
