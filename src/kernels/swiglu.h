/* SwiGLU activation on the fused [gate | up] projection output.
 *   gu [n, 2F]: columns 0..F-1 are a = x·gate_projᵀ, columns F..2F-1 are u = x·up_projᵀ
 *   h  [n, F]  = silu(a) ⊙ u,  silu(a) = a·σ(a)
 * Backward (= into dgu):
 *   da = dh ⊙ u ⊙ σ(a)(1 + a(1 − σ(a)))      du = dh ⊙ silu(a)
 * `row_scale` (may be NULL) multiplies row i of h (forward) and of dh (backward) — the routed
 * expert's gate weight, folded in so the expert output needs no extra pass. */
#ifndef R1_KERNELS_SWIGLU_H
#define R1_KERNELS_SWIGLU_H

#include "kernels/real.h"

void swiglu_forward(real *h, const real *gu, const real *row_scale, int n, int F);
void swiglu_backward(real *dgu, const real *dh, const real *gu, const real *row_scale, int n, int F);

/* The pair a backward pass uses, so σ(a) is computed once: swiglu_forward_keep_sigmoid writes h
 * as swiglu_forward does and leaves σ(a) in the gate half of dgu ([n, 2F], columns 0..F-1);
 * swiglu_backward_from_sigmoid then reads it there instead of recomputing it. Same bits as
 * swiglu_forward followed by swiglu_backward. */
void swiglu_forward_keep_sigmoid(real *h, real *dgu, const real *gu, const real *row_scale, int n,
                                 int F);
void swiglu_backward_from_sigmoid(real *dgu, const real *dh, const real *gu, const real *row_scale,
                                  int n, int F);

/* The gated (routed expert) backward in one pass over each row, where y = (s·h_u)·downᵀ with
 * h_u = silu(a)⊙u and s_i = row_scale[i] (NULL: 1): from dh = dL/dh, h = s·h_u, writes h itself
 * (for d down = dyᵀ·h), dscale[i] = Σ_j dh·h_u (dL/ds_i, summed in double in j order) and dgu as
 * swiglu_backward. Same bits as swiglu_forward_keep_sigmoid (row_scale NULL), that sum, h *= s
 * and swiglu_backward_from_sigmoid as separate passes, which stream n rows through memory four
 * times where this keeps each row in L1. */
void swiglu_backward_gated(real *h, real *dscale, real *dgu, const real *dh, const real *gu,
                           const real *row_scale, int n, int F);

void swiglu_forward_ref(real *h, const real *gu, const real *row_scale, int n, int F);
void swiglu_backward_ref(real *dgu, const real *dh, const real *gu, const real *row_scale, int n, int F);

#endif
