/* Linear layers y [n, out] (+)= x [n, in]·Wᵀ (W [out, in]), run one of two ways:
 *
 *   NULL executor   matmul_forward: training and long prefills, where one GEMM has rows enough
 *                   for BLAS to use the threads itself;
 *   a LinearExec    inference steps of few rows (a GEMV for one stream), where one gemm call runs
 *                   on one thread:
 *     - with a transposed copy of W (packed once by linear_exec_init, kernels/gemm_small.h) and
 *       n <= LINEAR_MAX_ROWS: column panels of KN_PANEL over the threads;
 *     - else n <= LINEAR_MAX_ROWS: column blocks of LINEAR_BLOCK over the threads, 2-3 rows
 *       padded to 4 with zeros (the small-matrix kernel reads the weights once per 4 rows but
 *       once per row for a remainder, so 4 padded rows cost what 1 does);
 *     - more rows: matmul_forward.
 *   Every y element is one FMA chain whichever thread computes it and however the columns are
 *   split, so the bits do not depend on the thread count; with a packed copy they do not depend
 *   on n either (a row's result is the same in a batch of 1 or 64).
 * Products smaller than LINEAR_PAR_MIN multiply-adds stay on the calling thread (waking a
 * passive-waiting thread costs more than it saves), and inside a parallel region everything does.
 */
#ifndef R1_KERNELS_LINEAR_H
#define R1_KERNELS_LINEAR_H

#include <stddef.h>

#include "kernels/real.h"

#define LINEAR_MAX_ROWS 64
#define LINEAR_KN_MIN_ROWS 4        /* executors for at least this many rows pack the copies */
#define LINEAR_PAR_MIN (1 << 18)    /* multiply-adds below which one thread does it all */

typedef struct LinearWeight { const real *w; int out, in; } LinearWeight;
typedef struct LinearPacked { const real *w; real *t; } LinearPacked;

typedef struct LinearExec {
    LinearPacked *wt;       /* [n_wt], sorted by w: the packed transposes */
    int n_wt;
    real *wt_mem;
    size_t pad_dim;         /* widest side of the weights (the 2-3 row padding's buffers) */
    real *padx, *pady;      /* [4, pad_dim] */
} LinearExec;

/* An executor for the n weights ws, for products of up to max_rows rows (the transposed copies
 * are made when max_rows >= LINEAR_KN_MIN_ROWS). Weights listed twice are packed once. */
void linear_exec_init(LinearExec *lx, const LinearWeight *ws, int n, int max_rows);
void linear_exec_free(LinearExec *lx);

/* y [n, out] (+)= x [n, in]·wᵀ (acc = 1: +=); lx NULL: matmul_forward. */
void linear_forward(const LinearExec *lx, real *y, const real *x, const real *w, int n, int in,
                    int out, int acc);

#endif
