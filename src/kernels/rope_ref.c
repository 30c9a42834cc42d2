/* Naive twin of the RoPE rotation: angles computed in double per element, no tables. */
#include <stddef.h>

#include "kernels/rope.h"

#include <math.h>

static void rotate_ref(real *x, int ld, int head_stride, int n_heads, const int *pos, int n,
                       const RopeTable *t, double sign) {
    for (int i = 0; i < n; i++)
        for (int h = 0; h < n_heads; h++) {
            real *v = x + (size_t)i * ld + (size_t)h * head_stride;
            for (int j = 0; j < t->half; j++) {
                double a = (double)pos[i] * t->inv_freq[j];
                double c = cos(a) * t->mscale, s = sign * sin(a) * t->mscale;
                const int ia = t->layout == ROPE_HALVES ? j : 2 * j;
                const int ib = t->layout == ROPE_HALVES ? j + t->half : 2 * j + 1;
                double x0 = v[ia], x1 = v[ib];
                v[ia] = (real)(x0 * c - x1 * s);
                v[ib] = (real)(x0 * s + x1 * c);
            }
        }
}

void rope_forward_ref(real *x, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t) {
    rotate_ref(x, ld, head_stride, n_heads, pos, n, t, 1);
}

void rope_backward_ref(real *dx, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t) {
    rotate_ref(dx, ld, head_stride, n_heads, pos, n, t, -1);
}
