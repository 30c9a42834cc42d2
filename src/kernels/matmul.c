/* gemm and the Linear layer (see matmul.h): OpenBLAS for large products, our own AVX-512 kernel
 * for small ones where it wins. The crossover was picked from bench/bench_kernels.c. */
#include "kernels/matmul.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "base/error.h"
#include "kernels/gemm_bf16.h"
#include "kernels/ops.h"

/* Products with M·N·K below gemm_blas_min_flops(trans_a, trans_b) take gemm_loop. Measured with
 * bench/bench_kernels (1 thread, see PERF.md): OpenBLAS 0.3.21's small-matrix kernels win NN and TN
 * from 8³ up; for NT ours wins up to 256³ single-threaded, so BLAS only takes NT products large
 * enough to use its threads; TT is rare and crosses near 64³. The double build uses BLAS from 32³. */
static double min_flops(int ta, int tb) {
#if !REAL_IS_DOUBLE && defined(__AVX512F__)
    if (!ta && tb) return 128.0 * 128 * 128;
    if (ta && tb) return 64.0 * 64 * 64;
    return 0;
#else
    (void)ta; (void)tb;
    return 32.0 * 32 * 32;
#endif
}

#if !REAL_IS_DOUBLE && defined(__AVX512F__)
#include <immintrin.h>

#include "kernels/acc_tile.h"

/* The AVX-512 small-matrix kernel. op(B) is packed, GEMM_KB rows × 32 columns at a time, into a
 * contiguous stack panel (this is where both B layouts become one); op(A) is read in place by
 * element strides (a_rs between rows, a_cs between columns), broadcast one value at a time. The
 * micro-kernel keeps a 12×32 tile of C in 24 registers; ragged edges use masks / fewer rows. */
#define GEMM_KB 256
#define GEMM_NT_DOT_MAX_M 16  /* NT with at most this many rows: dot products (measured) */

static void pack_b(float *Bp, int tb, const float *B, int ldb, int p0, int kb, int j0, int nb) {
    if (!tb) {
        for (int p = 0; p < kb; p++) {
            const float *src = B + (size_t)(p0 + p) * ldb + j0;
            float *dst = Bp + (size_t)p * 32;
            int j = 0;
            for (; j < nb; j++) dst[j] = src[j];
            for (; j < 32; j++) dst[j] = 0;
        }
    } else {
        for (int j = 0; j < nb; j++) {
            const float *src = B + (size_t)(j0 + j) * ldb + p0;
            for (int p = 0; p < kb; p++) Bp[(size_t)p * 32 + j] = src[p];
        }
        for (int j = nb; j < 32; j++)
            for (int p = 0; p < kb; p++) Bp[(size_t)p * 32 + j] = 0;
    }
}

/* C[R, nb] = alpha·A[R, kb]·Bp[kb, 32] + beta·C for a compile-time R (so the accumulators stay
 * in registers: no run-time indexing of them anywhere). */
#define DEFINE_MICRO(R)                                                                           \
static void micro##R(int nb, int kb, const float *A, size_t a_rs, size_t a_cs, const float *Bp, \
                     float alpha, float beta, float *C, int ldc) {                               \
    __m512 c0[R], c1[R];                                                                          \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) c0[r] = c1[r] = _mm512_setzero_ps();     \
    for (int p = 0; p < kb; p++) {                                                                \
        const __m512 b0 = _mm512_load_ps(Bp + (size_t)p * 32);                                    \
        const __m512 b1 = _mm512_load_ps(Bp + (size_t)p * 32 + 16);                               \
        const float *a = A + p * a_cs;                                                            \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                                    \
            const __m512 av = _mm512_set1_ps(a[r * a_rs]);                                        \
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                               \
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                               \
        }                                                                                         \
    }                                                                                             \
    const __mmask16 m0 = (__mmask16)(nb >= 16 ? 0xFFFF : (1u << nb) - 1);                         \
    const __mmask16 m1 = (__mmask16)(nb >= 32 ? 0xFFFF : nb > 16 ? (1u << (nb - 16)) - 1 : 0);    \
    const __m512 va = _mm512_set1_ps(alpha);                                                      \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                          \
        acc_store_pair(C + (size_t)r * ldc, c0[r], c1[r], va, beta, m0, m1);                      \
}
DEFINE_MICRO(12)
DEFINE_MICRO(8)
DEFINE_MICRO(4)
DEFINE_MICRO(2)
DEFINE_MICRO(1)

/* Rows i0.. of one packed panel, in tiles of 12 then 8/4/2/1 for the ragged end. */
static void panel(int M, int nb, int kb, const float *A, size_t a_rs, size_t a_cs, const float *Bp,
                  float alpha, float beta, float *C, int ldc) {
    int i = 0;
    for (; i + 12 <= M; i += 12) micro12(nb, kb, A + i * a_rs, a_rs, a_cs, Bp, alpha, beta, C + (size_t)i * ldc, ldc);
    if (i + 8 <= M) { micro8(nb, kb, A + i * a_rs, a_rs, a_cs, Bp, alpha, beta, C + (size_t)i * ldc, ldc); i += 8; }
    if (i + 4 <= M) { micro4(nb, kb, A + i * a_rs, a_rs, a_cs, Bp, alpha, beta, C + (size_t)i * ldc, ldc); i += 4; }
    if (i + 2 <= M) { micro2(nb, kb, A + i * a_rs, a_rs, a_cs, Bp, alpha, beta, C + (size_t)i * ldc, ldc); i += 2; }
    if (i < M) micro1(nb, kb, A + i * a_rs, a_rs, a_cs, Bp, alpha, beta, C + (size_t)i * ldc, ldc);
}

/* One 16-wide chunk of K at p: the four B rows and each of the R rows of A loaded by LOAD, four
 * FMAs per row into s. */
#define NT_DOTS_STEP(R, LOAD)                                                                     \
    const __m512 b0 = LOAD(b[0] + p), b1 = LOAD(b[1] + p);                                        \
    const __m512 b2 = LOAD(b[2] + p), b3 = LOAD(b[3] + p);                                        \
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                         \
        const __m512 av = LOAD(A + (size_t)r * lda + p);                                          \
        s[r][0] = _mm512_fmadd_ps(av, b0, s[r][0]);                                               \
        s[r][1] = _mm512_fmadd_ps(av, b1, s[r][1]);                                               \
        s[r][2] = _mm512_fmadd_ps(av, b2, s[r][2]);                                               \
        s[r][3] = _mm512_fmadd_ps(av, b3, s[r][3]);                                               \
    }
#define NT_LOAD_TAIL(x) _mm512_maskz_loadu_ps(mk, x)   /* the last K % 16 columns */

/* NT with few rows (decoding a handful of tokens): packing B would cost more than the product, so
 * each C[i, j] is a dot product of two contiguous rows; R rows of A against four rows of B at a
 * time, so each B chunk loaded serves R rows. Fixed reduction order: deterministic. */
#define DEFINE_NT_DOTS(R)                                                                         \
static void nt_dots##R(int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, \
                       float beta, float *C, int ldc) {                                           \
    const int kt = K & 15;                                                                        \
    const __mmask16 mk = (__mmask16)((1u << kt) - 1);                                            \
    int j = 0;                                                                                    \
    for (; j < N; j += 4) {                                                                       \
        const int nj = N - j < 4 ? N - j : 4;                                                     \
        const float *b[4];                                                                        \
        for (int q = 0; q < 4; q++) b[q] = B + (size_t)(j + (q < nj ? q : 0)) * ldb;              \
        __m512 s[R][4];                                                                           \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                       \
            _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) s[r][q] = _mm512_setzero_ps();    \
        int p = 0;                                                                                \
        for (; p + 16 <= K; p += 16) { NT_DOTS_STEP(R, _mm512_loadu_ps) }                         \
        if (kt) { NT_DOTS_STEP(R, NT_LOAD_TAIL) }                                                 \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                     \
            float *c = C + (size_t)r * ldc + j;                                                   \
            const float v[4] = {_mm512_reduce_add_ps(s[r][0]), _mm512_reduce_add_ps(s[r][1]),     \
                                _mm512_reduce_add_ps(s[r][2]), _mm512_reduce_add_ps(s[r][3])};   \
            for (int q = 0; q < nj; q++) c[q] = alpha * v[q] + (beta == 0 ? 0 : beta * c[q]);     \
        }                                                                                         \
    }                                                                                             \
}
DEFINE_NT_DOTS(4)
DEFINE_NT_DOTS(1)

static void gemm_nt_dots(int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                         int ldb, float beta, float *C, int ldc) {
    int i = 0;
    for (; i + 4 <= M; i += 4)
        nt_dots4(N, K, alpha, A + (size_t)i * lda, lda, B, ldb, beta, C + (size_t)i * ldc, ldc);
    for (; i < M; i++)
        nt_dots1(N, K, alpha, A + (size_t)i * lda, lda, B, ldb, beta, C + (size_t)i * ldc, ldc);
}

void gemm_loop(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
    if (!ta && tb && M <= GEMM_NT_DOT_MAX_M && K > 0) {
        gemm_nt_dots(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (K == 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    float Bp[GEMM_KB * 32] __attribute__((aligned(64)));
    const size_t a_rs = ta ? 1 : (size_t)lda, a_cs = ta ? (size_t)lda : 1;
    for (int j0 = 0; j0 < N; j0 += 32) {
        const int nb = N - j0 < 32 ? N - j0 : 32;
        for (int p0 = 0; p0 < K; p0 += GEMM_KB) {
            const int kb = K - p0 < GEMM_KB ? K - p0 : GEMM_KB;
            const float bet = p0 == 0 ? beta : 1;
            pack_b(Bp, tb, B, ldb, p0, kb, j0, nb);
            panel(M, nb, kb, A + p0 * a_cs, a_rs, a_cs, Bp, alpha, bet, C + j0, ldc);
        }
    }
}

#else   /* portable loops (and the double-precision build) */

/* C = alpha·op(A)·op(B) + beta·C by rows; single-threaded (callers parallelise outside). */
void gemm_loop(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc) {
    for (int i = 0; i < M; i++) {
        real *c = C + (size_t)i * ldc;
        if (!tb) {
            if (beta == 0) memset(c, 0, (size_t)N * sizeof *c);
            else if (beta != 1) for (int j = 0; j < N; j++) c[j] *= beta;
            for (int p = 0; p < K; p++) {
                real a = alpha * (ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p]);
                const real *b = B + (size_t)p * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else if (!ta) {
            const real *a = A + (size_t)i * lda;
            for (int j = 0; j < N; j++) {
                real d = alpha * ops_dot(a, B + (size_t)j * ldb, K);
                c[j] = beta == 0 ? d : beta * c[j] + d;
            }
        } else {
            for (int j = 0; j < N; j++) {
                const real *b = B + (size_t)j * ldb;
                real d = 0;
                for (int p = 0; p < K; p++) d += A[(size_t)p * lda + i] * b[p];
                d *= alpha;
                c[j] = beta == 0 ? d : beta * c[j] + d;
            }
        }
    }
}

#endif

double gemm_blas_min_flops(int trans_a, int trans_b) { return min_flops(trans_a, trans_b); }

void gemm(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    if ((double)M * N * K < min_flops(trans_a, trans_b) || K == 0)
        gemm_loop(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        gemm_blas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_blas(int trans_a, int trans_b, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
    /* beta = 0: OpenBLAS's beta kernels store zeros rather than 0·C, so NaNs in C do not leak
     * (test_gemm_vs_ref fills C with NaN to hold it to that). */
#if REAL_IS_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char *const MAT_PREC_NAMES[] = {"f32", "bf16", NULL};

/* ---- the Linear layer ----
 *
 * On exactly two threads (this machine's case, measured there) the Linear layer's products are
 * not threaded inside OpenBLAS: they are cut into row blocks of C, each a whole single-threaded
 * product, and the blocks are handed out one at a time to whichever thread is free. OpenBLAS
 * splits one product into a fixed grid and makes its threads wait on each other's packed panels,
 * which at these sizes (K = 64..512) costs more than it saves. Handing out blocks rather than
 * fixed halves matters because the two cores are not equally fast: measured here, one core ran
 * SGEMM at 90-100 GFLOP/s and the other at 144 while both were busy, so a fixed half left the
 * faster core idle for a quarter of every product.
 * - forward (and any product of at least TWO_WAY_MIN_ROWS rows): row blocks of C;
 * - backward: dW = dyᵀ·x and dX = dy·W, independent and equally large, as one list of blocks:
 *   dW in DW_BLOCKS row blocks (each packs all of x once, so few), dX in row blocks.
 * Each C element is still summed by one single-threaded kernel over the whole K, whichever
 * thread runs its block: the same bits on every run, and the one-thread result up to OpenBLAS
 * picking another kernel for a block's size (tests/test_matmul_threads.c). Inside a parallel
 * region, on one thread, or on more than two (not measured), the products go to gemm()
 * unchanged. */
#define TWO_WAY_MIN_ROWS 256
#define BLOCK_MIN_ROWS 512    /* a block's packing of the other operand stays small beside its work */
#define MAX_BLOCKS 8
#define DW_BLOCKS 2

static int two_way(void) { return omp_get_max_threads() == 2 && !omp_in_parallel(); }

/* Row blocks of an M-row product: count and rows per block (a multiple of 16). */
static int row_blocks(int M, int *rows) {
    int nb = M / BLOCK_MIN_ROWS;
    nb = nb < 2 ? 2 : nb > MAX_BLOCKS ? MAX_BLOCKS : nb;
    *rows = ((M + nb - 1) / nb + 15) & ~15;
    return (M + *rows - 1) / *rows;
}

/* gemm, or gemm_bf16 (bf16 operands, fp32 sums) when prec says so; the double build is f64. */
static void gemm_prec(MatPrec prec, int ta, int tb, int M, int N, int K, real alpha, const real *A,
                      int lda, const real *B, int ldb, real beta, real *C, int ldc) {
#if !REAL_IS_DOUBLE
    if (prec == MAT_BF16) {
        gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
    (void)prec;
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Rows [i0, i0 + mi) of C = alpha·op(A)·op(B) + beta·C. */
static void gemm_rows(MatPrec prec, int ta, int tb, int i0, int mi, int N, int K, real alpha,
                      const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc) {
    gemm_prec(prec, ta, tb, mi, N, K, alpha, ta ? A + i0 : A + (size_t)i0 * lda, lda, B, ldb, beta,
              C + (size_t)i0 * ldc, ldc);
}

static void gemm_two_way(MatPrec prec, int ta, int tb, int M, int N, int K, real alpha, const real *A,
                         int lda, const real *B, int ldb, real beta, real *C, int ldc) {
    if (M < TWO_WAY_MIN_ROWS || !two_way()) {
        gemm_prec(prec, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int rows;
    const int nb = row_blocks(M, &rows);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(2)
    for (int b = 0; b < nb; b++) {
        const int i0 = b * rows, mi = M - i0 < rows ? M - i0 : rows;
        gemm_rows(prec, ta, tb, i0, mi, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}

static int overlap(const real *p, size_t np, const real *q, size_t nq) {
    return p && q && p < q + nq && q < p + np;
}

void matmul_forward(real *y, const real *x, const real *w, int n, int in, int out, int accumulate) {
    matmul_forward_p(MAT_F32, y, x, w, n, in, out, accumulate);
}

void matmul_backward(real *dx, real *dw, const real *dy, const real *x, const real *w, int n,
                     int in, int out, int accumulate_dx) {
    matmul_backward_p(MAT_F32, dx, dw, dy, x, w, n, in, out, accumulate_dx);
}

void matmul_forward_p(MatPrec prec, real *y, const real *x, const real *w, int n, int in, int out,
                      int accumulate) {
    gemm_two_way(prec, 0, 1, n, out, in, 1, x, in, w, in, accumulate ? 1 : 0, y, out);
}

void matmul_backward_p(MatPrec prec, real *dx, real *dw, const real *dy, const real *x, const real *w,
                       int n, int in, int out, int accumulate_dx) {
    /* one block list unless dx overlaps an input (then dW must read x/dy before dX is written) */
    const size_t nx = (size_t)n * in;
    if (dw && dx && two_way() && !overlap(dx, nx, x, nx) && !overlap(dx, nx, dy, (size_t)n * out)) {
        int wrows = (out / DW_BLOCKS + 15) & ~15, xrows;
        if (wrows < 16) wrows = out;
        const int nw = (out + wrows - 1) / wrows, nxb = row_blocks(n, &xrows);
        /* dW's blocks first: the larger ones go out first, so the last to finish is small */
        #pragma omp parallel for schedule(dynamic, 1) num_threads(2)
        for (int b = 0; b < nw + nxb; b++) {
            if (b < nw) {
                const int i0 = b * wrows, mi = out - i0 < wrows ? out - i0 : wrows;
                gemm_rows(prec, 1, 0, i0, mi, in, n, 1, dy, out, x, in, 1, dw, in);
            } else {
                const int i0 = (b - nw) * xrows, mi = n - i0 < xrows ? n - i0 : xrows;
                gemm_rows(prec, 0, 0, i0, mi, in, out, 1, dy, out, w, in, accumulate_dx ? 1 : 0, dx, in);
            }
        }
        return;
    }
    if (dw) gemm_two_way(prec, 1, 0, out, in, n, 1, dy, out, x, in, 1, dw, in);
    if (dx) gemm_two_way(prec, 0, 0, n, in, out, 1, dy, out, w, in, accumulate_dx ? 1 : 0, dx, in);
}
