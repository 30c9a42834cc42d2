/* Decode products against weights packed in low precision: the KN panels of gemm_small.h (column
 * panels of KN_PANEL outputs, each streamed front to back while a tile of rows stays in
 * registers), holding the weight in one of these formats:
 *
 *   KN_F32       float panels [K, 64]: gemm_small_kn itself
 *   KN_BF16      bf16 panels [K, 64]       } weights as stored (BF16, F16, or FP8 E4M3 with
 *   KN_F16       f16 panels [K, 64]        } 128×128 block scales); each weight is widened to
 *   KN_F8        e4m3 bytes [K, 64] + each } the f32 value a full dequantisation gives
 *                output's scale per 128 k  } (e4m3 · scale rounded once) as its panel streams by,
 *                                            and multiplies f32 activations in the f32 kernel's
 *                                            FMA chain: bit for bit gemm_small_kn on the
 *                                            dequantised weights (tests/test_kn_lowp.c).
 *   KN_BF16_DOT  bf16 PAIRS [⌈K/2⌉, 64] (bf16.h): bf16 compute. The activations are rounded to
 *                bf16 too (pairs, made once per call by the caller: bf16_pairs_from_f32) and
 *                vdpbf16ps sums each pair into the fp32 accumulator (FMA fallback, bf16.h).
 *                Bound per output: (2u + u²)·Σ|x||w| for the roundings (u = 2^-8) plus
 *                (K + 2)·2^-24·(Σ|x||w| + |C₀|) for the fp32 sums.
 *
 * Each output is one fp32 chain over k in order (KN_BF16_DOT: over the pairs), from 0 or from C:
 * the bits do not depend on the row count or on how the panels are split over threads.
 * Single-threaded; no allocation (packing writes into the caller's kn_weight_bytes()).
 */
#ifndef R1_KERNELS_KN_LOWP_H
#define R1_KERNELS_KN_LOWP_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gemm_small.h"

typedef enum KnFormat { KN_F32 = 0, KN_BF16, KN_F16, KN_F8, KN_BF16_DOT } KnFormat;

/* A weight W [N, K] (Linear layout: N outputs, K inputs) as it is stored in memory or a file:
 * row-major elements of `type`; for LOWP_F8 also scale [⌈N/128⌉, ⌈K/128⌉] (weight_scale_inv:
 * W[n, k] = e4m3[n, k] · scale[n/128, k/128]). */
typedef enum LowpType { LOWP_F32 = 0, LOWP_BF16, LOWP_F16, LOWP_F8 } LowpType;
typedef struct LowpMatrix {
    LowpType type;
    const void *data;
    const float *scale;
    int N, K;
} LowpMatrix;

/* Row n of W as f32 values (the dequantised weights: e4m3 · scale rounded once). */
void lowp_row_f32(const LowpMatrix *src, int n, float *out);
/* Bytes per element of a type (LOWP_F8: 1, scales apart). */
size_t lowp_type_size(LowpType t);

/* A packed weight. data holds the panels, then (KN_F8) each output's scales: per panel, per 128
 * k, 64 floats — per output rather than per 128×128 block, so that matrices stacked from several
 * tensors (gate|up, q|k|v) whose row counts are not multiples of 128 keep every tensor's own
 * blocks. */
typedef struct KnWeight {
    KnFormat fmt;
    int N, K;
    const void *data;
} KnWeight;

/* Bytes kn_weight_pack writes (a multiple of 64). */
size_t kn_weight_bytes(KnFormat fmt, int N, int K);
/* The format that keeps src's precision: KN_F32, KN_BF16, KN_F16 or KN_F8. */
KnFormat kn_format_of(LowpType t);

/* Packs the parts (stacked along N: the rows of parts[0], then of parts[1], ...; all of one K)
 * into mem (kn_weight_bytes(fmt, ΣN, K) bytes, 64-byte aligned) as fmt, described in *w.
 * KN_BF16/KN_F16/KN_F8 need parts of that very type (the bits are copied); KN_F32 and
 * KN_BF16_DOT take any type (KN_BF16_DOT rounds the dequantised values to bf16). */
void kn_weight_pack(KnWeight *w, KnFormat fmt, const LowpMatrix *parts, int n_parts, void *mem);

/* Row n of W (= column n of the packed product) as f32: what the kernel multiplies by
 * (embedding lookups from a packed, tied lm_head). */
void kn_weight_row(const KnWeight *w, int n, float *out);

/* C [M, N] (+)= A [M, K]·Wᵀ for columns p0·KN_PANEL .. +N of w (as gemm_small_kn). A is f32
 * (row stride lda); KN_BF16_DOT reads Ap instead: A's rows as bf16 pairs (row stride ldap pairs),
 * and A may be NULL. kern: the bf16 inner kernel (gemm_bf16.h's Bf16Kernel; 0 = the best). */
void kn_weight_gemm(int M, int N, int K, const float *A, int lda, const uint32_t *Ap, int ldap,
                    const KnWeight *w, int p0, float *C, int ldc, int acc, int kern);

#endif
