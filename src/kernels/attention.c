/* Causal softmax attention, forward and backward (see attention.h).
 *
 * Work is split over (b, h) pairs, one OpenMP task each; a pair is processed by one thread with
 * its own tiles from `scratch`, so the result does not depend on the thread count. Within a pair,
 * queries go in tiles of ATT_TR rows and a tile only touches keys up to its last row: the masked
 * upper triangle costs one ATT_TR-wide diagonal band, not a block. Every product is a tile_mm on
 * views of q/k/v in place ([B, T, H, D] rows have stride H·D): no BLAS call, no packing — at
 * head sizes of 16..64 a BLAS call per tile spends as long on dispatch and packing as on the
 * arithmetic (measured: PERF.md). K and V are transposed once per pair so that score products
 * read contiguous key rows. Backward keeps P and dS of the whole pair (T×T each, in L2 at
 * T = 256) so dK and dV are products over the query rows of each key tile. Keys may come in two
 * column blocks of different tensors (MLA: k_nope and the shared rope key) and K, V, dK, dV are
 * read and written through views (attention.h), so MLA never assembles per-head K and V.
 */
#include "kernels/attention.h"

#include <math.h>
#include <omp.h>
#include <string.h>
#if !REAL_IS_DOUBLE && defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "base/error.h"
#include "kernels/ops.h"
#include "kernels/tile_bf16.h"
#include "kernels/tile_mm.h"

#define ATT_TR 8    /* query rows (and key rows in backward) per tile: tile_mm's register tile */

/* Row stride of the per-pair T×T and D×T buffers: T rounded up to 16 floats (64-byte rows). */
static size_t row_stride(int T) { return ((size_t)T + 15) & ~(size_t)15; }

/* bf16 (prec MAT_BF16): the pair layouts of one (b, h) pair (tile_bf16.h), in 32-bit words:
 * Vᵀ as pair rows along Dv [⌈Dv/2⌉, Tp]; V, K, Q, dO as pair rows along the sequence
 * [⌈T/2⌉, D]; one tile's A operand [ATT_TR, ⌈max(T, Dqk, Dv)/2⌉]; backward's P and dS as pair
 * rows along the queries [⌈T/2⌉, Tp] (the A operands of dV = Pᵀ·dO and dK = dSᵀ·Q, read by
 * columns: converted once, not once per key tile by strided reads). The scores q·k stay fp32:
 * they feed the exponential, and bf16 operands there moved the bench config's gradient five times
 * more than every other product of the model together (tests/test_bf16_train.c). */
typedef struct PairBufs { uint32_t *vt, *v, *k, *q, *dO, *a, *pc, *dsc; size_t lda; } PairBufs;

static size_t pair_words(int T, int Dqk, int Dv, PairBufs *pb, uint32_t *base) {
    const size_t Tp = ((size_t)T + 15) & ~(size_t)15, Th = ((size_t)T + 1) / 2;
    size_t mx = (size_t)T > (size_t)Dqk ? (size_t)T : (size_t)Dqk;
    if ((size_t)Dv > mx) mx = (size_t)Dv;
    const size_t lda = (mx + 1) / 2;
    const size_t sz[8] = {((size_t)Dv + 1) / 2 * Tp, Th * Dv, Th * Dqk, Th * Dqk, Th * Dv, ATT_TR * lda,
                          Th * Tp, Th * Tp};
    size_t off = 0;
    uint32_t **dst[8] = {&pb->vt, &pb->v, &pb->k, &pb->q, &pb->dO, &pb->a, &pb->pc, &pb->dsc};
    for (int i = 0; i < 8; i++) {
        if (base) *dst[i] = base + off;
        off += (sz[i] + 15) & ~(size_t)15;
    }
    pb->lda = lda;
    return off;
}

/* Per thread: P and dS [T, Tp] (forward uses the first ATT_TR rows of P), Kᵀ [Dqk, Tp], Vᵀ [Dv, Tp],
 * K [T, Dqk] (backward's dQ product reads key rows), one key tile of dK [ATT_TR, Dqk], and the bf16
 * pair layouts. */
static size_t per_thread(int T, int Dqk, int Dv) {
    PairBufs pb;
    return (2 * (size_t)T + (size_t)Dqk + Dv) * row_stride(T) + ((size_t)T + ATT_TR) * Dqk + 16 +
           pair_words(T, Dqk, Dv, &pb, NULL);
}

/* The pair layouts inside a thread's scratch block (after the f32 buffers). */
static PairBufs pair_bufs(real *block, int T, int Dqk, int Dv) {
    PairBufs pb;
    const size_t f32 = (2 * (size_t)T + (size_t)Dqk + Dv) * row_stride(T) + ((size_t)T + ATT_TR) * Dqk + 16;
    pair_words(T, Dqk, Dv, &pb, (uint32_t *)(void *)(block + f32));
    return pb;
}

size_t attention_scratch_size(int B, int T, int H, int Dqk, int Dv, int n_threads) {
    if (n_threads < 1) n_threads = 1;
    return (size_t)n_threads * per_thread(T, Dqk, Dv) + 64;
}

/* dst[D, Tp] = src[T, D]ᵀ, src rows of stride ld. */
static void transpose(real *dst, size_t Tp, const real *src, int T, int D, int ld) {
    int t0 = 0;
#if !REAL_IS_DOUBLE && defined(__AVX512F__)
    /* 16 rows at a time: one gather per column (strided loads are what a transpose is) */
    CHECK((long long)ld * 15 <= 0x7fffffff);   /* gather offsets are 32-bit */
    const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32(ld));
    for (; t0 + 16 <= T; t0 += 16)
        for (int j = 0; j < D; j++)
            _mm512_storeu_ps(dst + (size_t)j * Tp + t0,
                             _mm512_i32gather_ps(rows, src + (size_t)t0 * ld + j, 4));
#endif
    for (; t0 < T; t0 += 16) {
        const int t1 = t0 + 16 < T ? t0 + 16 : T;
        for (int j = 0; j < D; j++)
            for (int t = t0; t < t1; t++) dst[(size_t)j * Tp + t] = src[(size_t)t * ld + j];
    }
}

/* Asks for rows t0..t1-1 of a [T, ld]-strided head view (D values each) to be brought into
 * cache. Each (b, h) pair reads only its own D-value slice of every row, 1–2 KB apart, so the
 * hardware prefetcher rarely has them ready; the tiles below prefetch the next tile's rows. */
static void prefetch_rows(const real *x, int t0, int t1, int ld, int D) {
    for (int t = t0; t < t1; t++)
        for (int j = 0; j < D; j += 64 / (int)sizeof(real)) __builtin_prefetch(x + (size_t)t * ld + j);
}

/* Threads used: the same count attention_scratch_size was (by contract) sized with. */
static int att_threads(int B, int H) {
    int nt = omp_get_max_threads();
    return nt > B * H ? (B * H > 0 ? B * H : 1) : nt;
}

/* The (b, h) pair's start in a view. */
static const real *at_in(HeadsView v, int b, int T, int h) {
    return v.p + (size_t)b * T * v.ld + (size_t)h * v.hs;
}
static real *at_out(HeadsGrad v, int b, int T, int h) {
    return v.p + (size_t)b * T * v.ld + (size_t)h * v.hs;
}

/* The key/value head query head h reads. */
static int kv_head(const AttKV *kv, int h) { return kv->group > 1 ? h / kv->group : h; }
static int q_stride(const AttKV *kv, int H) { return kv->ldq ? (int)kv->ldq : H * (kv->D1 + kv->D2); }

/* Kt [Dqk, Tp] = (k1 | k2)ᵀ of one pair (h: the key head). */
static void transpose_keys(real *Kt, size_t Tp, const AttKV *kv, int b, int T, int h) {
    transpose(Kt, Tp, at_in(kv->k1, b, T, h), T, kv->D1, (int)kv->k1.ld);
    if (kv->D2 > 0) transpose(Kt + (size_t)kv->D1 * Tp, Tp, at_in(kv->k2, b, T, h), T, kv->D2, (int)kv->k2.ld);
}

/* bf16 products are for the float build (the double build's checks run in f64 throughout). */
static int use_bf16(const AttKV *kv) { return !REAL_IS_DOUBLE && kv->prec == MAT_BF16; }

/* C [M, N] (+)= alpha·A·B in bf16: A's rows (strides rs, cs) converted into pb->a, B already in pairs. */
static void tile_bf16(const PairBufs *pb, int M, int N, int K, real alpha, const real *A, size_t rs, size_t cs,
                      const uint32_t *Bp, size_t ldbp, real *C, size_t ldc) {
#if REAL_IS_DOUBLE
    (void)pb; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)rs; (void)cs; (void)Bp; (void)ldbp; (void)C; (void)ldc;
    CHECK(0);
#else
    pairs_of_rows(pb->a, pb->lda, A, rs, cs, M, K);
    tile_mm_pairs(M, N, K, alpha, pb->a, pb->lda, Bp, ldbp, C, ldc, 0);
#endif
}

/* pairs_of_cols for the float build. */
static void to_pairs(uint32_t *dst, size_t ld, const real *B, size_t ldb, int K, int N) {
#if REAL_IS_DOUBLE
    (void)dst; (void)ld; (void)B; (void)ldb; (void)K; (void)N;
    CHECK(0);
#else
    pairs_of_cols(dst, ld, B, ldb, K, N);
#endif
}

/* dst pair row t (query rows 2t, 2t+1) = those rows of X [T, Tp], columns up to the end of their
 * query tile (what the row pass wrote; a tile of ATT_TR rows starts at an even row). */
static void pairs_of_tiles(uint32_t *dst, size_t Tp, const real *X, int T) {
#if REAL_IS_DOUBLE
    (void)dst; (void)Tp; (void)X; (void)T;
    CHECK(0);
#else
    for (int t = 0; 2 * t < T; t++) {
        const int end = (2 * t / ATT_TR + 1) * ATT_TR, n = end < T ? end : T;
        pairs_of_cols(dst + (size_t)t * Tp, Tp, X + (size_t)(2 * t) * Tp, Tp, 2 * t + 1 < T ? 2 : 1, n);
    }
#endif
}

/* C [M, N] = alpha·A·B in bf16, A by its pair columns (pairs_of_tiles), B in pairs. */
static void tile_bf16_cols(int M, int N, int K, real alpha, const uint32_t *Ac, size_t ldac, const uint32_t *Bp,
                           size_t ldbp, real *C, size_t ldc) {
#if REAL_IS_DOUBLE
    (void)M; (void)N; (void)K; (void)alpha; (void)Ac; (void)ldac; (void)Bp; (void)ldbp; (void)C; (void)ldc;
    CHECK(0);
#else
    tile_mm_pairs_cols_with(0, M, N, K, alpha, Ac, ldac, Bp, ldbp, C, ldc, 0);
#endif
}

static void check_kv(const AttKV *kv) {
    CHECK(kv->D1 > 0 && kv->D2 >= 0 && kv->Dv > 0);
    CHECK(kv->k1.ld <= 0x7fffffff && kv->k2.ld <= 0x7fffffff && kv->v.ld <= 0x7fffffff);
    CHECK(kv->group >= 0 && kv->ldq <= 0x7fffffff);
}

void attention_forward_kv(real *out, real *lse, const real *q, const AttKV *kv, int B, int T, int H,
                          real scale, real *scratch) {
    check_kv(kv);
    const int Dqk = kv->D1 + kv->D2, Dv = kv->Dv, ldq = q_stride(kv, H), ldo = H * Dv, ldv = (int)kv->v.ld;
    const int nt = att_threads(B, H);
    const size_t Tp = row_stride(T);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H, kh = kv_head(kv, h);
        real *S = scratch + (size_t)omp_get_thread_num() * per_thread(T, Dqk, Dv);   /* [ATT_TR, Tp] */
        real *Kt = S + 2 * (size_t)T * Tp;                                          /* [Dqk, Tp] */
        const real *Q = q + (size_t)b * T * ldq + (size_t)h * Dqk;
        const real *V = at_in(kv->v, b, T, kh);
        real *O = out + (size_t)b * T * ldo + (size_t)h * Dv;
        real *L = lse + (size_t)bh * T;
        transpose_keys(Kt, Tp, kv, b, T, kh);
        const int bf = use_bf16(kv);
        const PairBufs pb = pair_bufs(S, T, Dqk, Dv);
        if (bf) to_pairs(pb.v, (size_t)Dv, V, (size_t)ldv, T, Dv);
        for (int t0 = 0; t0 < T; t0 += ATT_TR) {
            const int t1 = t0 + ATT_TR < T ? t0 + ATT_TR : T, n = t1;   /* keys 0..t1-1 */
            const int t2 = t1 + ATT_TR < T ? t1 + ATT_TR : T;
            prefetch_rows(Q, t1, t2, ldq, Dqk);
            prefetch_rows(V, t1, t2, ldv, Dv);
            tile_mm(t1 - t0, n, Dqk, scale, Q + (size_t)t0 * ldq, ldq, 1, Kt, Tp, S, Tp, 0);   /* fp32 scores */
            real inv_sum[ATT_TR];
            for (int t = t0; t < t1; t++) {   /* S row ← exp(score − max), masked part 0 */
                real sum;
                const real m = ops_exp_row(S + (size_t)(t - t0) * Tp, t + 1, n, &sum);
                L[t] = m + (real)log((double)sum);
                inv_sum[t - t0] = 1 / sum;
            }
            /* O = softmax·V = (exp·V) / sum: the division on Dv outputs, not on t + 1 scores */
            if (bf) tile_bf16(&pb, t1 - t0, Dv, n, 1, S, Tp, 1, pb.v, (size_t)Dv, O + (size_t)t0 * ldo, ldo);
            else tile_mm(t1 - t0, Dv, n, 1, S, Tp, 1, V, ldv, O + (size_t)t0 * ldo, ldo, 0);
            for (int t = t0; t < t1; t++)
                for (int j = 0; j < Dv; j++) O[(size_t)t * ldo + j] *= inv_sum[t - t0];
        }
    }
}

void attention_backward_kv(real *dq, const AttKVGrad *dkv, const real *dout, const real *out,
                           const real *lse, const real *q, const AttKV *kv, int B, int T, int H,
                           real scale, real *scratch) {
    check_kv(kv);
    const int D1 = kv->D1, D2 = kv->D2, Dqk = D1 + D2, Dv = kv->Dv;
    const int ldq = q_stride(kv, H), ldo = H * Dv;
    /* each head writes its own gradient columns */
    CHECK(dkv->k1.hs >= (size_t)D1 && (D2 == 0 || dkv->k2.hs >= (size_t)D2) && dkv->v.hs >= (size_t)Dv);
    const int nt = att_threads(B, H);
    const size_t Tp = row_stride(T);
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H, kh = kv_head(kv, h);
        real *P = scratch + (size_t)omp_get_thread_num() * per_thread(T, Dqk, Dv);   /* [T, Tp] */
        real *dS = P + (size_t)T * Tp;                                      /* [T, Tp] dscore */
        real *Kt = dS + (size_t)T * Tp, *Vt = Kt + (size_t)Dqk * Tp;         /* [Dqk, Tp], [Dv, Tp] */
        real *Kr = Vt + (size_t)Dv * Tp, *dKt = Kr + (size_t)T * Dqk;       /* [T, Dqk], [ATT_TR, Dqk] */
        const size_t oq = (size_t)b * T * ldq + (size_t)h * Dqk, oo = (size_t)b * T * ldo + (size_t)h * Dv;
        const real *Q = q + oq, *O = out + oo, *dO = dout + oo;
        const real *K1 = at_in(kv->k1, b, T, kh), *K2 = D2 > 0 ? at_in(kv->k2, b, T, kh) : NULL;
        const real *L = lse + (size_t)bh * T;
        transpose_keys(Kt, Tp, kv, b, T, kh);
        transpose(Vt, Tp, at_in(kv->v, b, T, kh), T, Dv, (int)kv->v.ld);
        /* key rows for dQ = dS·K: in place when K is one block, else assembled (Dqk each) */
        const real *Krows = K1;
        size_t ldk = kv->k1.ld;
        if (D2 > 0) {
            for (int t = 0; t < T; t++) {
                memcpy(Kr + (size_t)t * Dqk, K1 + (size_t)t * kv->k1.ld, (size_t)D1 * sizeof *Kr);
                memcpy(Kr + (size_t)t * Dqk + D1, K2 + (size_t)t * kv->k2.ld, (size_t)D2 * sizeof *Kr);
            }
            Krows = Kr;
            ldk = (size_t)Dqk;
        }
        const int bf = use_bf16(kv);
        const PairBufs pb = pair_bufs(P, T, Dqk, Dv);
        if (bf) {
            to_pairs(pb.vt, Tp, Vt, Tp, Dv, T);
            to_pairs(pb.k, (size_t)Dqk, Krows, ldk, T, Dqk);
            to_pairs(pb.q, (size_t)Dqk, Q, (size_t)ldq, T, Dqk);
            to_pairs(pb.dO, (size_t)Dv, dO, (size_t)ldo, T, Dv);
        }
        for (int t0 = 0; t0 < T; t0 += ATT_TR) {
            const int t1 = t0 + ATT_TR < T ? t0 + ATT_TR : T, rb = t1 - t0, n = t1;
            real *Pb = P + (size_t)t0 * Tp, *dSb = dS + (size_t)t0 * Tp;
            const int t2 = t1 + ATT_TR < T ? t1 + ATT_TR : T;
            prefetch_rows(Q, t1, t2, ldq, Dqk);
            prefetch_rows(dO, t1, t2, ldo, Dv);
            prefetch_rows(O, t1, t2, ldo, Dv);
            tile_mm(rb, n, Dqk, scale, Q + (size_t)t0 * ldq, ldq, 1, Kt, Tp, Pb, Tp, 0);       /* fp32 scores */
            if (bf) tile_bf16(&pb, rb, n, Dv, 1, dO + (size_t)t0 * ldo, ldo, 1, pb.vt, Tp, dSb, Tp);
            else tile_mm(rb, n, Dv, 1, dO + (size_t)t0 * ldo, ldo, 1, Vt, Tp, dSb, Tp, 0);
            for (int t = t0; t < t1; t++) {   /* P row ← p, dS row ← p·(dP − Σ p·dP) */
                const real delta = ops_dot(dO + (size_t)t * ldo, O + (size_t)t * ldo, Dv);
                ops_softmax_grad_row(P + (size_t)t * Tp, dS + (size_t)t * Tp, t + 1, n, L[t], delta);
            }
            /* dq[tile] = scale · dS[tile, 0:n] · K[0:n] */
            if (bf) tile_bf16(&pb, rb, Dqk, n, scale, dSb, Tp, 1, pb.k, (size_t)Dqk, dq + oq + (size_t)t0 * ldq, ldq);
            else tile_mm(rb, Dqk, n, scale, dSb, Tp, 1, Krows, ldk, dq + oq + (size_t)t0 * ldq, ldq, 0);
        }
        /* key tile s0.. sees query rows t >= s0 only; P and dS are read down their columns
         * (every entry read was written above: tiles of keys and queries share boundaries) */
        real *dV = at_out(dkv->v, b, T, h), *dK1 = at_out(dkv->k1, b, T, h);
        real *dK2 = D2 > 0 ? at_out(dkv->k2, b, T, h) : NULL;
        if (bf) {
            pairs_of_tiles(pb.pc, Tp, P, T);
            pairs_of_tiles(pb.dsc, Tp, dS, T);
        }
        for (int s0 = 0; s0 < T; s0 += ATT_TR) {
            const int sb = s0 + ATT_TR < T ? ATT_TR : T - s0, nr = T - s0;
            const size_t at = (size_t)s0 * Tp + s0;
            /* (s0 is even: the pair rows of dO and Q start at s0 / 2) */
            const size_t atp = (size_t)s0 / 2 * Tp + s0;   /* (s0, s0) in the pair-row layouts */
            if (bf) tile_bf16_cols(sb, Dv, nr, 1, pb.pc + atp, Tp, pb.dO + (size_t)s0 / 2 * Dv, (size_t)Dv,
                                   dV + (size_t)s0 * dkv->v.ld, dkv->v.ld);
            else tile_mm(sb, Dv, nr, 1, P + at, 1, Tp, dO + (size_t)s0 * ldo, ldo, dV + (size_t)s0 * dkv->v.ld,
                         dkv->v.ld, 0);
            /* dK tile = scale · dSᵀ · Q; with two key blocks, computed aside and then split */
            real *dK = D2 == 0 ? dK1 + (size_t)s0 * dkv->k1.ld : dKt;
            const size_t lddk = D2 == 0 ? dkv->k1.ld : (size_t)Dqk;
            if (bf) tile_bf16_cols(sb, Dqk, nr, scale, pb.dsc + atp, Tp, pb.q + (size_t)s0 / 2 * Dqk, (size_t)Dqk, dK, lddk);
            else tile_mm(sb, Dqk, nr, scale, dS + at, 1, Tp, Q + (size_t)s0 * ldq, ldq, dK, lddk, 0);
            if (D2 == 0) continue;
            for (int s = 0; s < sb; s++) {
                memcpy(dK1 + (size_t)(s0 + s) * dkv->k1.ld, dKt + (size_t)s * Dqk, (size_t)D1 * sizeof *dKt);
                memcpy(dK2 + (size_t)(s0 + s) * dkv->k2.ld, dKt + (size_t)s * Dqk + D1, (size_t)D2 * sizeof *dKt);
            }
        }
    }
}

/* The contiguous layout as a pair of views. */
static AttKV plain_kv(const real *k, const real *v, int H, int Dqk, int Dv) {
    AttKV kv = {.k1 = {k, (size_t)H * Dqk, (size_t)Dqk}, .k2 = {NULL, 0, 0},
                .v = {v, (size_t)H * Dv, (size_t)Dv}, .D1 = Dqk, .D2 = 0, .Dv = Dv};
    return kv;
}

void attention_forward(real *out, real *lse, const real *q, const real *k, const real *v, int B,
                       int T, int H, int Dqk, int Dv, real scale, real *scratch) {
    const AttKV kv = plain_kv(k, v, H, Dqk, Dv);
    attention_forward_kv(out, lse, q, &kv, B, T, H, scale, scratch);
}

void attention_backward(real *dq, real *dk, real *dv, const real *dout, const real *out,
                        const real *lse, const real *q, const real *k, const real *v, int B, int T,
                        int H, int Dqk, int Dv, real scale, real *scratch) {
    const AttKV kv = plain_kv(k, v, H, Dqk, Dv);
    const AttKVGrad g = {.k1 = {dk, (size_t)H * Dqk, (size_t)Dqk}, .k2 = {NULL, 0, 0},
                         .v = {dv, (size_t)H * Dv, (size_t)Dv}};
    attention_backward_kv(dq, &g, dout, out, lse, q, &kv, B, T, H, scale, scratch);
}
