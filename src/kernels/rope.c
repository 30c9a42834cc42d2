/* RoPE tables (plain, YaRN, llama3) and the rotation in both layouts (see rope.h). */
#include "kernels/rope.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"

static double yarn_get_mscale(double s, double m) { return s <= 1 ? 1.0 : 0.1 * m * log(s) + 1.0; }

double rope_yarn_mscale(const RopeParams *p) {
    if (p->scaling != ROPE_SCALING_YARN) return 1.0;
    return yarn_get_mscale(p->factor, p->mscale) / yarn_get_mscale(p->factor, p->mscale_all_dim);
}

/* YaRN's correction dimension: the index whose wavelength fits `rot` rotations in L0 tokens. */
static double corr_dim(double rot, int dim, double base, int L0) {
    return dim * log(L0 / (2 * M_PI * rot)) / (2 * log(base));
}

static void yarn_blend(double *inv_freq, const RopeParams *p) {
    const int dim = p->dim, half = dim / 2, L0 = p->original_max_pos;
    double low = floor(corr_dim(p->beta_fast, dim, p->theta, L0));
    double high = ceil(corr_dim(p->beta_slow, dim, p->theta, L0));
    if (low < 0) low = 0;
    if (high > dim - 1) high = dim - 1;
    if (low == high) high += 0.001;
    for (int j = 0; j < half; j++) {
        double ramp = (j - low) / (high - low);
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        inv_freq[j] = inv_freq[j] / p->factor * ramp + inv_freq[j] * (1 - ramp);
    }
}

static void llama3_blend(double *inv_freq, const RopeParams *p) {
    const double L0 = p->original_max_pos, lo = p->low_freq_factor, hi = p->high_freq_factor;
    const double low_wavelen = L0 / lo, high_wavelen = L0 / hi;
    for (int j = 0; j < p->dim / 2; j++) {
        const double f = inv_freq[j], wavelen = 2 * M_PI / f;
        if (wavelen < high_wavelen) continue;                      /* high frequency: kept */
        if (wavelen > low_wavelen) { inv_freq[j] = f / p->factor; continue; }   /* low: scaled */
        const double a = (L0 / wavelen - lo) / (hi - lo);
        inv_freq[j] = (1 - a) * f / p->factor + a * f;
    }
}

void rope_inv_freq(double *inv_freq, const RopeParams *p) {
    const int dim = p->dim, half = dim / 2;
    for (int j = 0; j < half; j++) inv_freq[j] = pow(p->theta, -2.0 * j / dim);
    if (p->scaling == ROPE_SCALING_YARN) yarn_blend(inv_freq, p);
    else if (p->scaling == ROPE_SCALING_LLAMA3) llama3_blend(inv_freq, p);
}

void rope_table_init(RopeTable *t, const RopeParams *p, int max_pos) {
    CHECK(p->dim > 0 && p->dim % 2 == 0 && max_pos > 0);
    t->max_pos = max_pos;
    t->half = p->dim / 2;
    t->layout = p->layout;
    t->inv_freq = xmalloc((size_t)t->half * sizeof *t->inv_freq);
    t->cos = xmalloc((size_t)max_pos * t->half * sizeof *t->cos);
    t->sin = xmalloc((size_t)max_pos * t->half * sizeof *t->sin);
    t->mscale = rope_yarn_mscale(p);
    rope_inv_freq(t->inv_freq, p);
    for (int q = 0; q < max_pos; q++)
        for (int j = 0; j < t->half; j++) {
            double a = (double)q * t->inv_freq[j];
            t->cos[(size_t)q * t->half + j] = (real)(cos(a) * t->mscale);
            t->sin[(size_t)q * t->half + j] = (real)(sin(a) * t->mscale);
        }
}

void rope_table_free(RopeTable *t) {
    free(t->cos);
    free(t->sin);
    free(t->inv_freq);
    t->cos = t->sin = NULL;
    t->inv_freq = NULL;
}

/* sign = +1: rotate by +pos·θ (forward); −1: by −pos·θ (the transpose, for backward). */
static void rotate(real *x, int ld, int head_stride, int n_heads, const int *pos, int n,
                   const RopeTable *t, real sign) {
    const int half = t->half, halves = t->layout == ROPE_HALVES;
    #pragma omp parallel for schedule(dynamic, 64) if ((long)n * n_heads * half > 32768)
    for (int i = 0; i < n; i++) {
        CHECK(pos[i] >= 0 && pos[i] < t->max_pos);
        const real *c = t->cos + (size_t)pos[i] * half, *s = t->sin + (size_t)pos[i] * half;
        for (int h = 0; h < n_heads; h++) {
            real *v = x + (size_t)i * ld + (size_t)h * head_stride;
            if (halves) {
                for (int j = 0; j < half; j++) {
                    real a = v[j], b = v[j + half], sj = sign * s[j];
                    v[j] = a * c[j] - b * sj;
                    v[j + half] = a * sj + b * c[j];
                }
            } else {
                for (int j = 0; j < half; j++) {
                    real a = v[2 * j], b = v[2 * j + 1], sj = sign * s[j];
                    v[2 * j] = a * c[j] - b * sj;
                    v[2 * j + 1] = a * sj + b * c[j];
                }
            }
        }
    }
}

void rope_forward(real *x, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t) {
    rotate(x, ld, head_stride, n_heads, pos, n, t, 1);
}

void rope_backward(real *dx, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t) {
    rotate(dx, ld, head_stride, n_heads, pos, n, t, -1);
}
