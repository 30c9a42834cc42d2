/* Vector helpers for the kernels (see ops.h). */
#include "kernels/ops.h"

#include <math.h>
#include <stddef.h>

#if !REAL_IS_DOUBLE && defined(__AVX512F__)
#include <immintrin.h>
#define OPS_AVX512 1

/* exp(x) for 16 floats: x = k·ln2 + r, |r| <= ln2/2, exp(r) by a degree-7 Taylor polynomial
 * (truncation error < 1.5e-8 relative), times 2^k built in the exponent bits. Inputs below
 * −87.3 flush to 0, above 88.7 saturate to +inf; NaN stays NaN. */
static inline __m512 exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.33654f), hi = _mm512_set1_ps(88.72283f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    __mmask16 over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* r = x − k·ln2 in two steps (Cody–Waite) */
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512 y = _mm512_scalef_ps(p, k);
    y = _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
    y = _mm512_mask_mov_ps(y, over, _mm512_set1_ps(INFINITY));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(y, nan, x);
}
#endif

double ops_exp_shift_sum(real *y, const real *x, real shift, int n) {
    int i = 0;
    double sum = 0;
#ifdef OPS_AVX512
    __m512 acc = _mm512_setzero_ps(), s = _mm512_set1_ps(shift);
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
        _mm512_storeu_ps(y + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
        _mm512_mask_storeu_ps(y + i, m, e);
        acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(m, e));
        i = n;
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, acc);
    for (int l = 0; l < 16; l++) sum += lanes[l];
#endif
    for (; i < n; i++) {
        real e = (real)exp((double)(x[i] - shift));
        y[i] = e;
        sum += e;
    }
    return sum;
}

void ops_exp_shift_scale(real *y, const real *x, real shift, real mul, int n) {
    int i = 0;
#ifdef OPS_AVX512
    __m512 s = _mm512_set1_ps(shift), m = _mm512_set1_ps(mul);
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s)), m));
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), s));
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(e, m));
        i = n;
    }
#endif
    for (; i < n; i++) y[i] = (real)exp((double)(x[i] - shift)) * mul;
}

real ops_max(const real *x, int n) {
    int i = 0;
    real m = -INFINITY;
#ifdef OPS_AVX512
    if (n >= 16) {
        __m512 acc = _mm512_set1_ps(-INFINITY);
        for (; i + 16 <= n; i += 16) acc = _mm512_max_ps(acc, _mm512_loadu_ps(x + i));
        m = _mm512_reduce_max_ps(acc);
    }
#endif
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

real ops_dot(const real *a, const real *b, int n) {
    real acc[16] = {0};
    int i = 0;
#ifdef OPS_AVX512
    /* the same 16 partial sums (lane l takes i ≡ l mod 16), as fused multiply-adds */
    __m512 v = _mm512_setzero_ps();
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i), v);
    }
    _mm512_storeu_ps(acc, v);
#else
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) acc[l] += a[i + l] * b[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += a[i] * b[i];
#endif
    real s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

void ops_sigmoid(real *y, const real *x, int n) {
    int i = 0;
#ifdef OPS_AVX512
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_loadu_ps(x + i)));
        _mm512_storeu_ps(y + i, _mm512_div_ps(one, _mm512_add_ps(one, e)));
    }
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_maskz_loadu_ps(k, x + i)));
        _mm512_mask_storeu_ps(y + i, k, _mm512_div_ps(one, _mm512_add_ps(one, e)));
        i = n;
    }
#endif
    for (; i < n; i++) y[i] = (real)(1.0 / (1.0 + exp(-(double)x[i])));
}

#ifdef OPS_AVX512
/* Lanes i..i+15 that lie below n_pad. */
static inline __mmask16 pad_mask(int i, int n_pad) {
    return n_pad - i >= 16 ? 0xFFFF : n_pad > i ? (__mmask16)((1u << (n_pad - i)) - 1) : 0;
}
#endif

real ops_exp_row(real *x, int n, int n_pad, real *sum) {
    const real m = ops_max(x, n);
    int i = 0;
    real total = 0;
#ifdef OPS_AVX512
    const __m512 s = _mm512_set1_ps(m);
    __m512 acc = _mm512_setzero_ps();
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), s)));
        acc = _mm512_add_ps(acc, e);
        _mm512_mask_storeu_ps(x + i, pad_mask(i, n_pad), e);   /* lanes in [n, n_pad) get 0 */
    }
    total = _mm512_reduce_add_ps(acc);
    if (i > n_pad) i = n_pad;
#else
    for (; i < n; i++) total += x[i] = (real)exp((double)(x[i] - m));
#endif
    for (; i < n_pad; i++) x[i] = 0;
    *sum = total;
    return m;
}

void ops_softmax_grad_row(real *x, real *y, int n, int n_pad, real lse, real delta) {
    int i = 0;
#ifdef OPS_AVX512
    const __m512 l = _mm512_set1_ps(lse), d = _mm512_set1_ps(delta);
    for (; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 p = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), l)));
        const __m512 g = _mm512_mul_ps(p, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, y + i), d));
        _mm512_mask_storeu_ps(x + i, pad_mask(i, n_pad), p);
        _mm512_mask_storeu_ps(y + i, pad_mask(i, n_pad), g);
    }
    if (i > n_pad) i = n_pad;
#else
    for (; i < n; i++) {
        x[i] = (real)exp((double)(x[i] - lse));
        y[i] = x[i] * (y[i] - delta);
    }
#endif
    for (; i < n_pad; i++) x[i] = y[i] = 0;
}

void ops_add_bias(real *y, int ld, const real *b, int n, int m) {
    for (int i = 0; i < n; i++) {
        real *yi = y + (size_t)i * ld;
        for (int j = 0; j < m; j++) yi[j] += b[j];
    }
}

void ops_bias_grad(real *db, const real *dy, int ld, int n, int m) {
    for (int i = 0; i < n; i++) {
        const real *di = dy + (size_t)i * ld;
        for (int j = 0; j < m; j++) db[j] += di[j];
    }
}
