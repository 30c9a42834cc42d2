/* Llama-3 RoPE scaling as llama.cpp stores it: not metadata but a tensor rope_freqs.weight {Dh/2}
 * of per-frequency divisors, θ_j(scaled) = θ_j / ff_j. Export computes them from the config; import
 * finds llama3 parameters that give the same divisors back.
 *
 * The divisors do not determine (L0, low_freq_factor, high_freq_factor) alone: the rule depends on
 * the wavelengths λ_lo = L0/low and λ_hi = L0/high only. Between them 1/ff = (1 − a)/s + a with
 * a = P/λ − Q (P = L0/(high − low), Q = low/(high − low)), so two frequencies inside the band give
 * P and Q, hence λ_lo = P/Q and λ_hi = P/(Q + 1); with fewer, the band is placed in the gap the
 * divisors leave (in 1/λ, where a is linear). L0 is then the integer nearest λ_lo (Llama 3.x: 8192, low 1, high 4 come back
 * exactly), and the parameters are kept only if they reproduce every divisor. */
#include <math.h>
#include <stdlib.h>

#include "model/gguf_arch.h"

void gguf_rope_factors(const ModelConfig *c, float *ff) {
    RopeParams p = config_rope_params(c), base = p;
    base.scaling = ROPE_SCALING_NONE;
    const int half = p.dim / 2;
    double *a = xmalloc((size_t)half * sizeof *a), *b = xmalloc((size_t)half * sizeof *b);
    rope_inv_freq(a, &base);
    rope_inv_freq(b, &p);
    for (int j = 0; j < half; j++) ff[j] = (float)(a[j] / b[j]);
    free(a);
    free(b);
}

enum { FIT_HALF_MAX = CONFIG_MAX_HEAD_DIM / 2 };
static const double FIT_TOL = 1e-6;   /* relative; the divisors are f32 (2^-24) */

/* Do parameters r reproduce ff[0..half)? */
static int reproduces(const RopeScaling *r, const float *ff, int dim, double theta) {
    RopeParams p = {.dim = dim, .layout = ROPE_HALVES, .theta = theta, .scaling = ROPE_SCALING_LLAMA3,
                    .factor = r->factor, .original_max_pos = r->original_max_position_embeddings,
                    .low_freq_factor = r->low_freq_factor, .high_freq_factor = r->high_freq_factor};
    RopeParams base = p;
    base.scaling = ROPE_SCALING_NONE;
    double a[FIT_HALF_MAX], b[FIT_HALF_MAX];
    rope_inv_freq(a, &base);
    rope_inv_freq(b, &p);
    for (int j = 0; j < dim / 2; j++)
        if (!(fabs(a[j] / b[j] - ff[j]) <= FIT_TOL * ff[j])) return 0;
    return 1;
}

/* Parameters from the band [λ_hi, λ_lo]: snapped to 1/1000 first (the released values), else exact. */
static int from_band(double s, double lam_hi, double lam_lo, const float *ff, int dim, double theta, RopeScaling *out) {
    if (!(lam_hi > 0 && lam_lo > lam_hi && isfinite(lam_lo))) return -1;
    double L0 = fmin(fmax(round(lam_lo), 1), CONFIG_MAX_POSITIONS);
    RopeScaling r = {.kind = ROPE_SCALING_LLAMA3, .factor = s, .original_max_position_embeddings = (int)L0};
    for (int snap = 1; snap >= 0; snap--) {
        r.low_freq_factor = L0 / lam_lo;
        r.high_freq_factor = L0 / lam_hi;
        if (snap) {
            r.low_freq_factor = round(r.low_freq_factor * 1000) / 1000;
            r.high_freq_factor = round(r.high_freq_factor * 1000) / 1000;
        }
        if (r.low_freq_factor > 0 && r.high_freq_factor > r.low_freq_factor && reproduces(&r, ff, dim, theta)) {
            *out = r;
            return 0;
        }
    }
    return -1;
}

int gguf_rope_fit_llama3(const float *ff, int dim, double theta, RopeScaling *out) {
    const int half = dim / 2;
    if (half < 1 || half > FIT_HALF_MAX) return -1;
    for (int j = 0; j < half; j++)
        if (!(ff[j] >= 1 - FIT_TOL && ff[j] <= 1e6)) return -1;
    const double s = ff[half - 1];   /* the longest wavelength is scaled by the full factor */
    if (s <= 1 + FIT_TOL) {          /* no scaling at all */
        for (int j = 0; j < half; j++)
            if (fabs(ff[j] - 1) > FIT_TOL) return -1;
        *out = (RopeScaling){.kind = ROPE_SCALING_NONE};
        return 0;
    }
    /* wavelengths, and the last "kept" (ff 1) and first "scaled" (ff s) ones around the band */
    double lam[FIT_HALF_MAX] = {0}, lam_one = 0, lam_full = 0;
    int band[FIT_HALF_MAX], nb = 0;
    for (int j = 0; j < half; j++) {
        lam[j] = 2 * M_PI / pow(theta, -2.0 * j / dim);
        if (fabs(ff[j] - 1) <= FIT_TOL) lam_one = lam[j];
        else if (fabs(ff[j] - s) <= FIT_TOL * s) { if (lam_full == 0) lam_full = lam[j]; }
        else band[nb++] = j;
    }
    const double span = 1 - 1 / s;
#define A(j) ((1 / (double)ff[j] - 1 / s) / span)
    if (nb >= 2) {   /* a = P/λ − Q through the band's first and last frequencies */
        const int i = band[0], k = band[nb - 1];
        const double P = (A(i) - A(k)) / (1 / lam[i] - 1 / lam[k]), Q = P / lam[i] - A(i);
        return Q > 0 ? from_band(s, P / (Q + 1), P / Q, ff, dim, theta, out) : -1;
    }
    /* fewer: the band's edges in 1/λ, x_lo = 1/λ_lo in (x_full, x_t], x_hi = 1/λ_hi in [x_t, x_one) */
    const double x_one = lam_one > 0 ? 1 / lam_one : 2 / lam[0], x_full = 1 / lam_full;
    if (nb == 1) {   /* a(x) = (x − x_lo)/(x_hi − x_lo) through (x_t, a_t) with x_hi < x_one */
        const int i = band[0];
        const double x_t = 1 / lam[i], a_t = A(i), bound = fmax((x_t - a_t * x_one) / (1 - a_t), x_full);
        const double x_lo = (bound + x_t) / 2, x_hi = x_lo + (x_t - x_lo) / a_t;
        return from_band(s, 1 / x_hi, 1 / x_lo, ff, dim, theta, out);
    }
#undef A
    /* none inside: a band splitting the gap in thirds */
    return from_band(s, 1 / (x_one - (x_one - x_full) / 3), 1 / (x_full + (x_one - x_full) / 3), ff, dim, theta, out);
}
