/* Finite-difference gradient checks of every kernel's backward, in double precision.
 *
 * Built against the -DR1_DOUBLE copy of src/kernels (see src/kernels/real.h), so `real` is
 * double here and the same source is under test. For each op we take a random linear read-out
 * L = Σ c ⊙ f(inputs), get the analytic gradient from op_backward with dout = c, and compare it
 * entry by entry with the fourth-order central difference
 *   (−L(x+2h) + 8L(x+h) − 8L(x−h) + L(x−2h)) / 12h,  h = 1e-3
 * (truncation ~h⁴, rounding noise ~1e-16/h: both far below the tolerance). The error of an
 * entry is |num − ana| / max(|num|, |ana|, 1e-3·‖ana‖∞, 1e-6); an op passes when the worst error is
 * below 1e-6. Two deliberately wrong gradients (one perturbed entry; a formula with a term
 * missing) must be flagged, proving the checker can fail. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/embed.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "test.h"

#if !REAL_IS_DOUBLE
#error "dtest_* must be built with -DR1_DOUBLE"
#endif

#define TOL 1e-6
#define FD_H 1e-3
#define MAX_PROBES 400   /* entries probed per tensor (all of them when fewer) */

static uint64_t seq;

static real *randn(size_t n, double sd) {
    real *x = malloc((n ? n : 1) * sizeof *x);
    Rng r = rng_make(99, RNG_TEST, ++seq, 1);
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(&r) * sd;
    return x;
}

/* Σ a·b with compensated (Neumaier) summation: the read-out's own rounding must stay far below
 * what the finite differences resolve, or large outputs drown small gradient entries. */
static double dot(const real *a, const real *b, size_t n) {
    double s = 0, comp = 0;
    for (size_t i = 0; i < n; i++) {
        double t = a[i] * b[i], u = s + t;
        comp += fabs(s) >= fabs(t) ? (s - u) + t : (t - u) + s;
        s = u;
    }
    return s + comp;
}

typedef double (*LossFn)(void *ctx);

/* Worst error of `ana` (gradient of f w.r.t. x[0..n)) against central differences. */
static double grad_error(real *x, size_t n, const real *ana, LossFn f, void *ctx) {
    double amax = 0, worst = 0;
    for (size_t i = 0; i < n; i++) amax = fabs(ana[i]) > amax ? fabs(ana[i]) : amax;
    size_t step = n > MAX_PROBES ? n / MAX_PROBES : 1;
    for (size_t i = 0; i < n; i += step) {
        real keep = x[i];
        x[i] = keep + 2 * FD_H;
        double lp2 = f(ctx);
        x[i] = keep + FD_H;
        double lp = f(ctx);
        x[i] = keep - FD_H;
        double lm = f(ctx);
        x[i] = keep - 2 * FD_H;
        double lm2 = f(ctx);
        x[i] = keep;
        double num = (-lp2 + 8 * lp - 8 * lm + lm2) / (12 * FD_H);
        double den = fmax(fmax(fmax(fabs(num), fabs(ana[i])), 1e-3 * amax), 1e-6);
        double err = den > 0 ? fabs(num - ana[i]) / den : 0;
        worst = err > worst ? err : worst;
    }
    return worst;
}

#define CHECK_GRAD(what, x, n, ana, f, ctx) \
    do { double e_ = grad_error(x, n, ana, f, ctx); \
         EXPECTF(e_ < TOL, "%s: worst relative error %.3g", what, e_); } while (0)

/* ---- matmul ---- */

typedef struct { real *x, *w, *c; int n, in, out; } MatmulCtx;
static double matmul_loss(void *p) {
    MatmulCtx *m = p;
    real *y = calloc((size_t)m->n * m->out, sizeof *y);
    matmul_forward(y, m->x, m->w, m->n, m->in, m->out, 0);
    double l = dot(y, m->c, (size_t)m->n * m->out);
    free(y);
    return l;
}

static void test_grad_matmul(void) {
    const int sz[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 20}, {70, 64, 80}};   /* last one via BLAS */
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        MatmulCtx m = {randn((size_t)sz[s][0] * sz[s][1], 1), randn((size_t)sz[s][2] * sz[s][1], 1),
                       randn((size_t)sz[s][0] * sz[s][2], 1), sz[s][0], sz[s][1], sz[s][2]};
        real *dx = calloc((size_t)m.n * m.in, sizeof *dx), *dw = calloc((size_t)m.out * m.in, sizeof *dw);
        matmul_backward(dx, dw, m.c, m.x, m.w, m.n, m.in, m.out, 0);
        CHECK_GRAD("matmul dx", m.x, (size_t)m.n * m.in, dx, matmul_loss, &m);
        CHECK_GRAD("matmul dw", m.w, (size_t)m.out * m.in, dw, matmul_loss, &m);
        free(m.x); free(m.w); free(m.c); free(dx); free(dw);
    }
}

/* ---- rmsnorm (strided rows) ---- */

/* eps = 1e-2: with d = 1 and eps = 1e-6 the gradient is ~eps/|x|³, too small for the probe */
typedef struct { real *x, *w, *c; int n, d, ldx, ldy; } RmsCtx;
#define RMS_EPS 1e-2
static double rms_loss(void *p) {
    RmsCtx *r = p;
    real *y = calloc((size_t)r->n * r->ldy, sizeof *y);
    rmsnorm_forward(y, r->ldy, NULL, r->x, r->ldx, r->w, r->n, r->d, RMS_EPS);
    double l = dot(y, r->c, (size_t)r->n * r->ldy);
    free(y);
    return l;
}

static void test_grad_rmsnorm(void) {
    const int sz[][2] = {{1, 1}, {4, 7}, {9, 33}};
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        RmsCtx r = {0};
        r.n = sz[s][0]; r.d = sz[s][1]; r.ldx = r.d + 3; r.ldy = r.d + 2;
        r.x = randn((size_t)r.n * r.ldx, 1); r.w = randn(r.d, 1); r.c = randn((size_t)r.n * r.ldy, 1);
        for (int i = 0; i < r.n; i++) for (int j = r.d; j < r.ldy; j++) r.c[(size_t)i * r.ldy + j] = 0;
        real *rstd = calloc(r.n, sizeof *rstd), *y = calloc((size_t)r.n * r.ldy, sizeof *y);
        rmsnorm_forward(y, r.ldy, rstd, r.x, r.ldx, r.w, r.n, r.d, RMS_EPS);
        real *dx = calloc((size_t)r.n * r.ldx, sizeof *dx), *dw = calloc(r.d, sizeof *dw);
        rmsnorm_backward(dx, r.ldx, dw, r.c, r.ldy, r.x, r.ldx, r.w, rstd, r.n, r.d);
        CHECK_GRAD("rmsnorm dx", r.x, (size_t)r.n * r.ldx, dx, rms_loss, &r);
        CHECK_GRAD("rmsnorm dw", r.w, r.d, dw, rms_loss, &r);
        free(r.x); free(r.w); free(r.c); free(rstd); free(y); free(dx); free(dw);
    }
}

/* ---- rope (both layouts; plain, YaRN with a non-unit magnitude, llama3) ---- */

typedef struct { real *x, *c; int n, H, ld, hs; const int *pos; const RopeTable *t; } RopeCtx;
static double rope_loss(void *p) {
    RopeCtx *r = p;
    size_t N = (size_t)r->n * r->ld;
    real *y = malloc(N * sizeof *y);
    memcpy(y, r->x, N * sizeof *y);
    rope_forward(y, r->ld, r->hs, r->H, r->pos, r->n, r->t);
    double l = dot(y, r->c, N);
    free(y);
    return l;
}

static void test_grad_rope(void) {
    /* interleaved plain, interleaved YaRN with a non-unit magnitude, halves with llama3 scaling */
    for (int variant = 0; variant < 3; variant++) {
        RopeParams cfg = {.dim = 8, .theta = 10000};
        if (variant == 1) {
            cfg.scaling = ROPE_SCALING_YARN; cfg.factor = 4; cfg.original_max_pos = 64;
            cfg.beta_fast = 32; cfg.beta_slow = 1; cfg.mscale = 1; cfg.mscale_all_dim = 0;
        } else if (variant == 2) {
            cfg.layout = ROPE_HALVES; cfg.scaling = ROPE_SCALING_LLAMA3; cfg.factor = 8;
            cfg.original_max_pos = 64; cfg.low_freq_factor = 1; cfg.high_freq_factor = 4;
        }
        RopeTable t;
        rope_table_init(&t, &cfg, 300);
        int pos[5] = {0, 1, 7, 123, 299};
        RopeCtx r = {0};
        r.n = 5; r.H = 2; r.hs = 11; r.ld = 2 * 11 + 1; r.pos = pos; r.t = &t;
        r.x = randn((size_t)r.n * r.ld, 1); r.c = randn((size_t)r.n * r.ld, 1);
        real *g = malloc((size_t)r.n * r.ld * sizeof *g);
        memcpy(g, r.c, (size_t)r.n * r.ld * sizeof *g);
        rope_backward(g, r.ld, r.hs, r.H, pos, r.n, &t);   /* untouched entries pass c through */
        CHECK_GRAD("rope dx", r.x, (size_t)r.n * r.ld, g, rope_loss, &r);
        free(r.x); free(r.c); free(g);
        rope_table_free(&t);
    }
}

/* ---- attention ---- */

typedef struct { real *q, *k, *v, *c, *scr; int B, T, H, Dqk, Dv; real scale; } AttCtx;
static double att_loss(void *p) {
    AttCtx *a = p;
    size_t nv = (size_t)a->B * a->T * a->H * a->Dv;
    real *o = calloc(nv, sizeof *o), *l = calloc((size_t)a->B * a->H * a->T, sizeof *l);
    attention_forward(o, l, a->q, a->k, a->v, a->B, a->T, a->H, a->Dqk, a->Dv, a->scale, a->scr);
    double r = dot(o, a->c, nv);
    free(o); free(l);
    return r;
}

static void att_grads(AttCtx *a, real *dq, real *dk, real *dv) {
    size_t nv = (size_t)a->B * a->T * a->H * a->Dv;
    real *o = calloc(nv, sizeof *o), *l = calloc((size_t)a->B * a->H * a->T, sizeof *l);
    attention_forward(o, l, a->q, a->k, a->v, a->B, a->T, a->H, a->Dqk, a->Dv, a->scale, a->scr);
    attention_backward(dq, dk, dv, a->c, o, l, a->q, a->k, a->v, a->B, a->T, a->H, a->Dqk, a->Dv,
                       a->scale, a->scr);
    free(o); free(l);
}

static AttCtx att_make(int B, int T, int H, int Dqk, int Dv) {
    AttCtx a = {0};
    a.B = B; a.T = T; a.H = H; a.Dqk = Dqk; a.Dv = Dv; a.scale = 1 / sqrt((double)Dqk);
    size_t nq = (size_t)B * T * H * Dqk, nv = (size_t)B * T * H * Dv;
    a.q = randn(nq, 1); a.k = randn(nq, 1); a.v = randn(nv, 1); a.c = randn(nv, 1);
    a.scr = malloc(attention_scratch_size(B, T, H, Dqk, Dv, 64) * sizeof *a.scr);
    return a;
}

static void att_free(AttCtx *a) { free(a->q); free(a->k); free(a->v); free(a->c); free(a->scr); }

static void test_grad_attention(void) {
    const int sz[][5] = {{1, 1, 1, 1, 1}, {2, 5, 3, 4, 3}, {1, 70, 2, 9, 5}};   /* T=70 spans 2 row blocks */
    for (size_t s = 0; s < sizeof sz / sizeof *sz; s++) {
        AttCtx a = att_make(sz[s][0], sz[s][1], sz[s][2], sz[s][3], sz[s][4]);
        size_t nq = (size_t)a.B * a.T * a.H * a.Dqk, nv = (size_t)a.B * a.T * a.H * a.Dv;
        real *dq = calloc(nq, sizeof *dq), *dk = calloc(nq, sizeof *dk), *dv = calloc(nv, sizeof *dv);
        att_grads(&a, dq, dk, dv);
        CHECK_GRAD("attention dq", a.q, nq, dq, att_loss, &a);
        CHECK_GRAD("attention dk", a.k, nq, dk, att_loss, &a);
        CHECK_GRAD("attention dv", a.v, nv, dv, att_loss, &a);
        free(dq); free(dk); free(dv);
        att_free(&a);
    }
}

/* The probe loss Σ h·c of a forward output h [n], which it frees. */
static double probe_loss(real *h, const real *c, size_t n) {
    double l = dot(h, c, n);
    free(h);
    return l;
}

/* ---- swiglu (with and without row scales) ---- */

typedef struct { real *gu, *rs, *c; int n, F; } SwiCtx;
static double swi_loss(void *p) {
    SwiCtx *s = p;
    real *h = calloc((size_t)s->n * s->F, sizeof *h);
    swiglu_forward(h, s->gu, s->rs, s->n, s->F);
    return probe_loss(h, s->c, (size_t)s->n * s->F);
}

/* A plausible mistake: da = dh ⊙ u ⊙ σ(a), forgetting that silu's own a factor varies too. */
static void swiglu_backward_wrong(real *dgu, const real *dh, const real *gu, int n, int F) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < F; j++) {
            double a = gu[(size_t)i * 2 * F + j], u = gu[(size_t)i * 2 * F + F + j], sg = 1 / (1 + exp(-a));
            dgu[(size_t)i * 2 * F + j] = dh[(size_t)i * F + j] * u * sg;
            dgu[(size_t)i * 2 * F + F + j] = dh[(size_t)i * F + j] * a * sg;
        }
}

static void test_grad_swiglu(void) {
    for (int scaled = 0; scaled < 2; scaled++) {
        SwiCtx s = {0};
        s.n = 6; s.F = 19;
        s.gu = randn((size_t)s.n * 2 * s.F, 2); s.c = randn((size_t)s.n * s.F, 1);
        s.rs = scaled ? randn(s.n, 1) : NULL;
        real *d = calloc((size_t)s.n * 2 * s.F, sizeof *d);
        swiglu_backward(d, s.c, s.gu, s.rs, s.n, s.F);
        CHECK_GRAD("swiglu dgu", s.gu, (size_t)s.n * 2 * s.F, d, swi_loss, &s);
        free(s.gu); free(s.c); free(s.rs); free(d);
    }
}

/* ---- embed ---- */

typedef struct { real *tab, *c; const int *tok; int n, D; } EmbCtx;
static double emb_loss(void *p) {
    EmbCtx *e = p;
    real *h = calloc((size_t)e->n * e->D, sizeof *h);
    embed_forward(h, e->tab, e->tok, e->n, e->D);
    return probe_loss(h, e->c, (size_t)e->n * e->D);
}

static void test_grad_embed(void) {
    int tok[9] = {3, 0, 3, 7, 1, 3, 0, 9, 2};   /* repeats: the scatter must add */
    EmbCtx e = {0};
    e.n = 9; e.D = 5; e.tok = tok;
    e.tab = randn(10 * 5, 1); e.c = randn(9 * 5, 1);
    real *dt = calloc(10 * 5, sizeof *dt);
    embed_backward(dt, e.c, tok, e.n, e.D);
    CHECK_GRAD("embed dtable", e.tab, 50, dt, emb_loss, &e);
    free(e.tab); free(e.c); free(dt);
}

/* ---- cross-entropy (weights, ignored targets) ---- */

typedef struct { real *x, *rw; const int *tg; real scale; int n, V; } CeCtx;
static double ce_loss(void *p) {
    CeCtx *c = p;
    real *loss = calloc(c->n, sizeof *loss), *lse = calloc(c->n, sizeof *lse);
    cross_entropy_forward(loss, lse, c->x, c->tg, c->n, c->V);
    double l = 0;
    for (int i = 0; i < c->n; i++) l += (c->rw ? c->rw[i] : 1) * c->scale * loss[i];
    free(loss); free(lse);
    return l;
}

static void test_grad_cross_entropy(void) {
    int tg[5] = {2, -1, 0, 16, 5};
    for (int weighted = 0; weighted < 2; weighted++) {
        CeCtx c = {0};
        c.n = 5; c.V = 17; c.tg = tg; c.scale = 0.2;
        c.x = randn(5 * 17, 2); c.rw = weighted ? randn(5, 1) : NULL;
        real *loss = calloc(5, sizeof *loss), *lse = calloc(5, sizeof *lse), *d = calloc(5 * 17, sizeof *d);
        cross_entropy_forward(loss, lse, c.x, tg, c.n, c.V);
        cross_entropy_backward(d, c.x, lse, tg, c.rw, c.scale, c.n, c.V);
        CHECK_GRAD("cross_entropy dlogits", c.x, 5 * 17, d, ce_loss, &c);
        free(c.x); free(c.rw); free(loss); free(lse); free(d);
    }
}

/* ---- the checker catches wrong gradients ---- */

static void test_checker_flags_wrong_gradients(void) {
    /* (1) attention dq with one entry off by 1e-4 of the largest */
    AttCtx a = att_make(1, 6, 2, 4, 3);
    size_t nq = (size_t)a.T * a.H * a.Dqk, nv = (size_t)a.T * a.H * a.Dv;
    real *dq = calloc(nq, sizeof *dq), *dk = calloc(nq, sizeof *dk), *dv = calloc(nv, sizeof *dv);
    att_grads(&a, dq, dk, dv);
    double ok = grad_error(a.q, nq, dq, att_loss, &a);
    double amax = 0;
    for (size_t i = 0; i < nq; i++) amax = fmax(amax, fabs(dq[i]));
    dq[nq / 2] += 1e-4 * amax;
    double bad = grad_error(a.q, nq, dq, att_loss, &a);
    EXPECTF(ok < TOL, "correct gradient rejected: %.3g", ok);
    EXPECTF(bad >= TOL, "perturbed attention gradient accepted: %.3g", bad);
    free(dq); free(dk); free(dv);
    att_free(&a);

    /* (2) a wrong SwiGLU formula */
    SwiCtx s = {0};
    s.n = 3; s.F = 5;
    s.gu = randn(30, 2); s.c = randn(15, 1);
    real *d = calloc(30, sizeof *d);
    swiglu_backward_wrong(d, s.c, s.gu, s.n, s.F);
    double e = grad_error(s.gu, 30, d, swi_loss, &s);
    EXPECTF(e >= TOL, "wrong SwiGLU gradient accepted: %.3g", e);
    free(s.gu); free(s.c); free(d);
}

int main(void) {
    RUN(test_grad_matmul);
    RUN(test_grad_rmsnorm);
    RUN(test_grad_rope);
    RUN(test_grad_attention);
    RUN(test_grad_swiglu);
    RUN(test_grad_embed);
    RUN(test_grad_cross_entropy);
    RUN(test_checker_flags_wrong_gradients);
    return TEST_EXIT();
}
