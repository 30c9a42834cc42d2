/* bfloat16 compute: what the low-precision kernels share.
 *
 * AVX512-BF16's vdpbf16ps multiplies pairs of bf16 values and adds both products to an fp32
 * lane: c[i] += a[2i]·b[2i] + a[2i+1]·b[2i+1]. Its operands are therefore laid out in PAIRS along
 * the reduction axis: one uint32 holds (x[k], x[k+1]) as two bf16, k even, x[k] in the low half.
 * A product of two bf16 values is exact in fp32, so every kernel here accumulates in fp32 and the
 * only losses are the operands' rounding to bf16 (relative 2^-8 each) and the fp32 sums.
 *
 * CPUs: AMD Zen 4, Intel Cooper Lake and Sapphire Rapids have AVX512-BF16. Every kernel that uses
 * it is compiled for it whatever -march says and chosen at run time (bf16_cpu_has_dot); on a CPU
 * without it the same packed data goes through fp32 FMAs on the bf16 values instead (two
 * roundings per pair, like the instruction: the same bound). Without AVX-512 at all, plain loops.
 *
 * Conversions to bf16 round to nearest even in software (never the CPU's VCVTNEPS2BF16, which
 * flushes subnormals), so packed operands have the same bits on every CPU. */
#ifndef R1_KERNELS_BF16_H
#define R1_KERNELS_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "base/fp_formats.h"

/* 1 when this CPU executes vdpbf16ps (and the OS saves the AVX-512 state). */
int bf16_cpu_has_dot(void);

/* dst[i] = bf16(src[i]) for n values (round to nearest even). */
void bf16_from_f32_n(uint16_t *dst, const float *src, size_t n);

/* A row of pairs: dst[t] = (bf16(src[2t]), bf16(src[2t+1])) for t < ceil(n/2), a missing last
 * element 0. (The same bytes as bf16_from_f32_n plus a zero half when n is odd.) */
void bf16_pairs_from_f32(uint32_t *dst, const float *src, int n);

#endif
