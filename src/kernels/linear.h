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
 *
 * Low precision (kernels/kn_lowp.h): an executor may pack its copies as bf16 pairs (KN_BF16_DOT:
 * bf16 compute, the activations rounded to bf16 as well) instead of f32, and may be handed a
 * model's STORED packs: weights kept only in their file's precision (BF16, F16, FP8), whose f32
 * view holds no values. A weight with a low-precision pack always goes through it, at any row
 * count (its product converts the panel as it streams by); an f32 pack serves up to
 * LINEAR_MAX_ROWS rows and matmul_forward the rest, as above.
 */
#ifndef R1_KERNELS_LINEAR_H
#define R1_KERNELS_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kn_lowp.h"
#include "kernels/matmul.h"
#include "kernels/real.h"

#define LINEAR_MAX_ROWS 64
#define LINEAR_KN_MIN_ROWS 4        /* executors for at least this many rows pack f32 copies */
#define LINEAR_PAR_MIN (1 << 18)    /* multiply-adds below which one thread does it all */

typedef struct LinearWeight { const real *w; int out, in; } LinearWeight;

/* Packed weights, found by the address of their f32 view (the key: a model's view pointer). */
typedef struct LinearPacked { const real *w; KnWeight kw; } LinearPacked;
typedef struct LinearPacks {
    LinearPacked *t;        /* [n], sorted by w */
    int n;
    void *mem;              /* owned: every pack */
    size_t bytes;
} LinearPacks;

/* One weight to pack: its key, the format, and its values as one or more stored matrices stacked
 * along the outputs (kn_weight_pack). */
typedef struct LinearSource {
    const real *w;
    KnFormat fmt;
    const LowpMatrix *parts;
    int n_parts;
} LinearSource;

/* Packs n sources (distinct keys). Free with linear_packs_free. */
void linear_packs_build(LinearPacks *lp, const LinearSource *src, int n);
void linear_packs_free(LinearPacks *lp);
/* NULL when w has no pack (lp may be NULL). */
const KnWeight *linear_packs_find(const LinearPacks *lp, const real *w);

typedef struct LinearExec {
    const LinearPacks *stored;  /* the model's stored-precision weights (not owned), or NULL */
    LinearPacks own;            /* the copies this executor packed */
    size_t pad_dim;             /* widest side of the weights (the 2-3 row padding's buffers) */
    real *padx, *pady;          /* [4, pad_dim] */
    uint32_t *xpairs;           /* [threads, max_rows, pad_dim/2 + 1]: rows as bf16 pairs */
    int max_rows, threads;
} LinearExec;

/* An executor for the n weights ws, for products of up to max_rows rows. Weights in `stored`
 * (may be NULL) use those packs; the others get copies packed as fmt: KN_F32 (when max_rows >=
 * LINEAR_KN_MIN_ROWS; otherwise none) or KN_BF16_DOT. Weights listed twice are packed once. */
void linear_exec_init(LinearExec *lx, const LinearWeight *ws, int n, int max_rows, KnFormat fmt,
                      const LinearPacks *stored);
void linear_exec_free(LinearExec *lx);

/* y [n, out] (+)= x [n, in]·wᵀ (acc = 1: +=); lx NULL: matmul_forward. */
void linear_forward(const LinearExec *lx, real *y, const real *x, const real *w, int n, int in,
                    int out, int acc);

/* linear_forward, with lx NULL running matmul_forward_p in precision prec (training). */
void linear_forward_p(const LinearExec *lx, MatPrec prec, real *y, const real *x, const real *w, int n,
                      int in, int out, int acc);

/* h [n, D] = rows tok[i] of table [V, D] (an embedding): read back from the stored packs when the
 * table is kept there (lx may be NULL: f32 rows). */
void linear_rows(const LinearExec *lx, real *h, const real *table, const int *tok, int n, int D);

#endif
