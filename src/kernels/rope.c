/* RoPE tables (plain and YaRN) and the interleaved rotation (see rope.h). */
#include "kernels/rope.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"

static double yarn_get_mscale(double s, double m) { return s <= 1 ? 1.0 : 0.1 * m * log(s) + 1.0; }

double rope_yarn_mscale(const ModelConfig *cfg) {
    const RopeScaling *r = &cfg->rope_scaling;
    if (!r->enabled) return 1.0;
    return yarn_get_mscale(r->factor, r->mscale) / yarn_get_mscale(r->factor, r->mscale_all_dim);
}

/* YaRN's correction dimension: the index whose wavelength fits `rot` rotations in L0 tokens. */
static double corr_dim(double rot, int dim, double base, int L0) {
    return dim * log(L0 / (2 * M_PI * rot)) / (2 * log(base));
}

void rope_inv_freq(double *inv_freq, const ModelConfig *cfg) {
    const int dim = cfg->qk_rope_head_dim, half = dim / 2;
    const double base = cfg->rope_theta;
    for (int j = 0; j < half; j++) inv_freq[j] = pow(base, -2.0 * j / dim);
    const RopeScaling *r = &cfg->rope_scaling;
    if (!r->enabled) return;
    const int L0 = r->original_max_position_embeddings;
    double low = floor(corr_dim(r->beta_fast, dim, base, L0));
    double high = ceil(corr_dim(r->beta_slow, dim, base, L0));
    if (low < 0) low = 0;
    if (high > dim - 1) high = dim - 1;
    if (low == high) high += 0.001;
    for (int j = 0; j < half; j++) {
        double ramp = (j - low) / (high - low);
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        inv_freq[j] = inv_freq[j] / r->factor * ramp + inv_freq[j] * (1 - ramp);
    }
}

void rope_table_init(RopeTable *t, const ModelConfig *cfg, int max_pos) {
    CHECK(cfg->qk_rope_head_dim > 0 && cfg->qk_rope_head_dim % 2 == 0 && max_pos > 0);
    t->max_pos = max_pos;
    t->half = cfg->qk_rope_head_dim / 2;
    t->inv_freq = xmalloc((size_t)t->half * sizeof *t->inv_freq);
    t->cos = xmalloc((size_t)max_pos * t->half * sizeof *t->cos);
    t->sin = xmalloc((size_t)max_pos * t->half * sizeof *t->sin);
    t->mscale = rope_yarn_mscale(cfg);
    rope_inv_freq(t->inv_freq, cfg);
    for (int p = 0; p < max_pos; p++)
        for (int j = 0; j < t->half; j++) {
            double a = (double)p * t->inv_freq[j];
            t->cos[(size_t)p * t->half + j] = (real)(cos(a) * t->mscale);
            t->sin[(size_t)p * t->half + j] = (real)(sin(a) * t->mscale);
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
    const int half = t->half;
    #pragma omp parallel for schedule(dynamic, 64) if ((long)n * n_heads * half > 32768)
    for (int i = 0; i < n; i++) {
        CHECK(pos[i] >= 0 && pos[i] < t->max_pos);
        const real *c = t->cos + (size_t)pos[i] * half, *s = t->sin + (size_t)pos[i] * half;
        for (int h = 0; h < n_heads; h++) {
            real *v = x + (size_t)i * ld + (size_t)h * head_stride;
            for (int j = 0; j < half; j++) {
                real a = v[2 * j], b = v[2 * j + 1], sj = sign * s[j];
                v[2 * j] = a * c[j] - b * sj;
                v[2 * j + 1] = a * sj + b * c[j];
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
