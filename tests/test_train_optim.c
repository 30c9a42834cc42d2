/* AdamW, learning-rate schedules and gradient clipping, against values computed by hand. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/threads.h"
#include "test.h"
#include "train/adamw.h"
#include "train/clip.h"
#include "train/schedule.h"

/* A hand-made table: a linear [3, 40000] (spans two chunks), a norm [5], an embedding [4, 3],
 * a router bias [4]; 16-element aligned offsets with padding between. */
static void tiny_table(ParamTable *pt) {
    static const struct { const char *name; int ndim; int64_t s0, s1; ParamKind kind; } spec[] = {
        {"model.layers.0.mlp.up_proj.weight", 2, 3, 40000, PARAM_LINEAR},
        {"model.layers.0.input_layernorm.weight", 1, 5, 0, PARAM_NORM},
        {"model.embed_tokens.weight", 2, 4, 3, PARAM_EMBED},
        {"model.layers.1.mlp.gate.e_score_correction_bias", 1, 4, 0, PARAM_ROUTER_BIAS},
    };
    pt->n = 4;
    pt->t = calloc(4, sizeof *pt->t);
    size_t off = 0, count = 0;
    for (int i = 0; i < 4; i++) {
        ParamInfo *p = &pt->t[i];
        snprintf(p->name, sizeof p->name, "%s", spec[i].name);
        p->ndim = spec[i].ndim;
        p->shape[0] = spec[i].s0;
        p->shape[1] = spec[i].s1;
        p->numel = (size_t)spec[i].s0 * (spec[i].ndim == 2 ? (size_t)spec[i].s1 : 1);
        p->kind = spec[i].kind;
        p->offset = off;
        p->layer = -1;
        off += (p->numel + 15) / 16 * 16;
        count += p->numel;
    }
    pt->total = off;
    pt->count = count;
}

static void test_adamw_hand_values(void) {
    ParamTable pt;
    tiny_table(&pt);
    AdamWConfig c = {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
    AdamW o;
    adamw_init(&o, &pt, &c);
    float *p = calloc(pt.total, sizeof(float)), *g = calloc(pt.total, sizeof(float));
    for (size_t i = 0; i < pt.total; i++) p[i] = 1.0f;
    const ParamInfo *lin = &pt.t[0], *nrm = &pt.t[1], *emb = &pt.t[2], *bias = &pt.t[3];
    /* step 1: g = 0.5 everywhere; lr 0.1 */
    for (size_t i = 0; i < pt.total; i++) g[i] = 0.5f;
    adamw_step(&o, p, g, 0.1, 1.0);
    /* by hand: m = .05, v = .0125, m̂ = .5, v̂ = .25, update = .1·.5/(.5+1e-8);
     * decayed p = 1·(1 − .1·.1) − .1 = .89; undecayed p = .9 */
    EXPECT_NEAR(p[lin->offset], 0.89, 1e-6, 0);
    EXPECT_NEAR(p[lin->offset + lin->numel - 1], 0.89, 1e-6, 0);
    EXPECT_NEAR(p[nrm->offset], 0.9, 1e-6, 0);
    EXPECT_NEAR(p[emb->offset + 11], 0.9, 1e-6, 0);
    EXPECT(p[bias->offset] == 1.0f);                   /* router bias: never updated */
    EXPECT(p[nrm->offset + nrm->numel] == 1.0f);       /* padding untouched */
    EXPECT(o.m[bias->offset] == 0.0f);
    EXPECT_NEAR(o.m[lin->offset], 0.05, 1e-8, 0);
    EXPECT_NEAR(o.v[lin->offset], 0.0125, 1e-8, 0);
    /* step 2: g = −0.5 given as −0.25 × grad_scale 2 */
    for (size_t i = 0; i < pt.total; i++) g[i] = -0.25f;
    adamw_step(&o, p, g, 0.1, 2.0);
    /* m = .9·.05 − .1·.5 = −.005, v = .95·.0125 + .05·.25 = .024375,
     * m̂ = −.005/.19, v̂ = .024375/.0975 = .25, update = .1·(−.0263158)/.5 = −.00526316 */
    EXPECT_NEAR(o.m[lin->offset], -0.005, 1e-8, 0);
    EXPECT_NEAR(o.v[lin->offset], 0.024375, 1e-8, 0);
    EXPECT_NEAR(p[lin->offset], 0.89 * 0.99 + 0.1 * 0.005 / 0.19 / 0.5, 2e-6, 0);
    EXPECT_NEAR(p[nrm->offset], 0.9 + 0.1 * 0.005 / 0.19 / 0.5, 2e-6, 0);
    EXPECT(o.t == 2);
    adamw_free(&o);
    /* decay_norms / decay_embed switch those kinds on */
    AdamWConfig c2 = c;
    c2.decay_norms = 1;
    c2.decay_embed = 1;
    adamw_init(&o, &pt, &c2);
    for (size_t i = 0; i < pt.total; i++) { p[i] = 1.0f; g[i] = 0.5f; }
    adamw_step(&o, p, g, 0.1, 1.0);
    EXPECT_NEAR(p[nrm->offset], 0.89, 1e-6, 0);
    EXPECT_NEAR(p[emb->offset], 0.89, 1e-6, 0);
    EXPECT(p[bias->offset] == 1.0f);
    adamw_free(&o);
    free(p);
    free(g);
    param_table_free(&pt);
}

/* Many steps with varied gradients against a double-precision transcription of the formula;
 * and the same bits with 1 and 2 threads. */
static void test_adamw_vs_double_and_threads(void) {
    ParamTable pt;
    tiny_table(&pt);
    AdamWConfig c = {.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
    float *pa = malloc(pt.total * sizeof(float)), *pb = malloc(pt.total * sizeof(float));
    float *g = malloc(pt.total * sizeof(float));
    double *pd = malloc(pt.total * sizeof(double)), *md = calloc(pt.total, sizeof(double)),
           *vd = calloc(pt.total, sizeof(double));
    Rng r = rng_make(1, RNG_TEST, 7, 0);
    for (size_t i = 0; i < pt.total; i++) pa[i] = pb[i] = (float)(pd[i] = (float)rng_normal(&r));
    AdamW oa, ob;
    adamw_init(&oa, &pt, &c);
    adamw_init(&ob, &pt, &c);
    int saved = threads_count();
    for (int s = 1; s <= 6; s++) {
        for (size_t i = 0; i < pt.total; i++) g[i] = (float)rng_normal(&r);
        double lr = 0.01 * s;
        threads_set(1);
        adamw_step(&oa, pa, g, lr, 0.7);
        threads_set(2);
        adamw_step(&ob, pb, g, lr, 0.7);
        for (int k = 0; k < pt.n; k++) {
            const ParamInfo *q = &pt.t[k];
            if (!param_is_trainable(q)) continue;
            double wd = q->kind == PARAM_LINEAR ? c.weight_decay : 0;
            for (size_t i = q->offset; i < q->offset + q->numel; i++) {
                double gi = (double)g[i] * 0.7;
                md[i] = c.beta1 * md[i] + (1 - c.beta1) * gi;
                vd[i] = c.beta2 * vd[i] + (1 - c.beta2) * gi * gi;
                double mh = md[i] / (1 - pow(c.beta1, s)), vh = vd[i] / (1 - pow(c.beta2, s));
                pd[i] = pd[i] * (1 - lr * wd) - lr * mh / (sqrt(vh) + c.eps);
            }
        }
    }
    threads_set(saved);
    float *pdf = malloc(pt.total * sizeof(float));
    for (size_t i = 0; i < pt.total; i++) pdf[i] = (float)pd[i];
    expect_close_f32("adamw vs double", pa, pdf, pt.total, 1e-5, 1e-5);
    EXPECT(memcmp(pa, pb, pt.total * sizeof(float)) == 0);
    EXPECT(memcmp(oa.v, ob.v, pt.total * sizeof(float)) == 0);
    adamw_free(&oa);
    adamw_free(&ob);
    free(pa); free(pb); free(g); free(pd); free(md); free(vd); free(pdf);
    param_table_free(&pt);
}

static void test_schedule_values(void) {
    Schedule s = {.kind = SCHED_COSINE, .lr = 1e-3, .warmup = 10, .total = 110, .min_ratio = 0.1};
    EXPECT_NEAR(schedule_lr(&s, 0), 1e-4, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&s, 4), 5e-4, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&s, 9), 1e-3, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&s, 10), 1e-3, 1e-12, 0);
    /* halfway through the 99-step cosine span (step 10 + 49.5): lr = lo + (hi-lo)/2 */
    EXPECT_NEAR(schedule_lr(&s, 109), 1e-4, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&s, 10 + 33), 1e-4 + 9e-4 * 0.5 * (1 + cos(M_PI / 3)), 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&s, 500), 1e-4, 1e-12, 0);   /* clamps past the end */
    for (int i = 11; i < 110; i++) EXPECT(schedule_lr(&s, i) <= schedule_lr(&s, i - 1));

    Schedule w = {.kind = SCHED_WSD, .lr = 2.0, .warmup = 0, .total = 100, .min_ratio = 0.0,
                  .decay_frac = 0.2};
    EXPECT_NEAR(schedule_lr(&w, 0), 2.0, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&w, 79), 2.0, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&w, 80), 2.0, 1e-12, 0);     /* decay starts at step 80 ... */
    EXPECT_NEAR(schedule_lr(&w, 99), 0.0, 1e-12, 0);     /* ... reaching lr·min_ratio at 99 */
    EXPECT_NEAR(schedule_lr(&w, 89), 2.0 * (1 - 9.0 / 19.0), 1e-12, 0);

    Schedule k = {.kind = SCHED_CONSTANT, .lr = 0.5, .warmup = 4, .total = 10};
    EXPECT_NEAR(schedule_lr(&k, 1), 0.25, 1e-12, 0);
    EXPECT_NEAR(schedule_lr(&k, 7), 0.5, 1e-12, 0);

    ScheduleKind kind;
    Err e = {{0}};
    EXPECT(schedule_parse_kind("wsd", &kind, &e) == 0 && kind == SCHED_WSD);
    EXPECT(schedule_parse_kind("linear", &kind, &e) == -1 && strstr(e.msg, "linear"));
}

static void test_clip(void) {
    ParamTable pt;
    tiny_table(&pt);
    ParamChunks pc;
    param_chunks_build(&pc, &pt, 0, 0);
    EXPECT(pc.n == 6);   /* 120000 elements → 4 chunks of 32768; norm, embed; no router bias */
    EXPECT(pc.numel == 120000 + 5 + 12);
    float *g = calloc(pt.total, sizeof(float));
    double *part = malloc((size_t)pc.n * sizeof(double));
    /* 3² + 4² = 25 in trainable tensors; the router bias and padding must not count */
    g[pt.t[0].offset + 40001] = 3;
    g[pt.t[1].offset + 4] = 4;
    g[pt.t[3].offset] = 100;
    g[pt.t[1].offset + pt.t[1].numel] = 100;   /* padding after the norm */
    EXPECT_NEAR(grad_global_norm(&pc, g, 1.0, part), 5.0, 1e-12, 0);
    EXPECT_NEAR(grad_global_norm(&pc, g, -0.5, part), 2.5, 1e-12, 0);
    EXPECT_NEAR(clip_factor(5.0, 1.0), 1.0 / (5.0 + 1e-6), 1e-15, 0);
    EXPECT(clip_factor(0.5, 1.0) == 1.0);
    EXPECT(clip_factor(5.0, 0.0) == 1.0);
    /* clipped norm is the max norm */
    EXPECT_NEAR(grad_global_norm(&pc, g, clip_factor(5.0, 1.0), part), 1.0, 1e-6, 0);
    /* NaN anywhere trainable → non-finite norm (the guard's signal) */
    g[pt.t[2].offset + 7] = NAN;
    EXPECT(!isfinite(grad_global_norm(&pc, g, 1.0, part)));
    g[pt.t[2].offset + 7] = INFINITY;
    EXPECT(!isfinite(grad_global_norm(&pc, g, 1.0, part)));
    /* same bits at 1 and 2 threads on random data */
    Rng r = rng_make(3, RNG_TEST, 1, 0);
    for (size_t i = 0; i < pt.total; i++) g[i] = (float)rng_normal(&r);
    int saved = threads_count();
    threads_set(1);
    double n1 = grad_global_norm(&pc, g, 1.0, part);
    threads_set(2);
    double n2 = grad_global_norm(&pc, g, 1.0, part);
    threads_set(saved);
    EXPECT(n1 == n2);
    double ref = 0;
    for (int k = 0; k < pt.n; k++)
        if (param_is_trainable(&pt.t[k]))
            for (size_t i = 0; i < pt.t[k].numel; i++) ref += (double)g[pt.t[k].offset + i] * g[pt.t[k].offset + i];
    EXPECT_NEAR(n1, sqrt(ref), 0, 1e-12);
    free(g);
    free(part);
    param_chunks_free(&pc);
    param_table_free(&pt);
}

int main(void) {
    RUN(test_adamw_hand_values);
    RUN(test_adamw_vs_double_and_threads);
    RUN(test_schedule_values);
    RUN(test_clip);
    return TEST_EXIT();
}
