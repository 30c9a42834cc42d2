/* The machine's roofs, measured by loops that do nothing else (bench/bench_roofline.c):
 *
 *   clock      a chain of dependent integer adds (one cycle each): the core's actual clock, which
 *              under a hypervisor /proc/cpuinfo's "cpu MHz" (the TSC rate) need not be
 *   FMA peak   ROOF_CHAINS independent vector FMA chains (enough to cover latency × units: 4 × 2
 *              on Zen 3/4 and Skylake-X), AVX2 + FMA and, when the CPU has it, AVX-512;
 *              2 flops per lane per instruction
 *   bf16 dot   the same chains of vdpbf16ps (AVX512-BF16 only): 4 flops per fp32 lane
 *   memory     STREAM's copy (c = a) and triad (a = b + s·c) on doubles, plus a read-only sum (what
 *              a decode product does to its weights), arrays far larger than the L3; bytes counted
 *              as STREAM counts them (copy 16, triad 24, read 8 per element: no write-allocate);
 *              and the read-only sum over a buffer that stays in L2 (the roof of in-cache tiles)
 *
 * Every loop runs on 1..n threads (OpenMP) and reports the best of several timed repetitions. */
#ifndef R1_BENCH_ROOF_PEAKS_H
#define R1_BENCH_ROOF_PEAKS_H

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench.h"

#define ROOF_CHAINS 12

/* "cpu MHz" of /proc/cpuinfo's first processor, 0 when absent. */
static double roof_cpuinfo_mhz(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "cpu MHz", 7) == 0) {
            const char *c = strchr(line, ':');
            if (c) mhz = atof(c + 1);
            break;
        }
    fclose(f);
    return mhz;
}

/* The clock in MHz from 16 dependent adds per iteration (the loop's own decrement and branch run
 * beside them on the other ALUs): the best of `runs` runs of ~16M cycles (5 ms at 3 GHz) — short,
 * so that on a shared machine some run goes unpreempted; 0 off x86-64. */
static double roof_clock_mhz(int runs) {
#if defined(__x86_64__)
    const long iters = 1000000;
    double best = 0;
    for (int r = 0; r < runs; r++) {
        unsigned long x = (unsigned long)r;
        const double t0 = bench_now();
        for (long i = 0; i < iters; i++)
            __asm__ volatile(".rept 16\n\tadd $1, %0\n\t.endr" : "+r"(x));
        const double mhz = 16.0 * iters / (bench_now() - t0) * 1e-6;
        best = mhz > best ? mhz : best;
    }
    return best;
#else
    (void)runs;
    return 0;
#endif
}

/* One FMA-chain loop: ROOF_CHAINS accumulators c ← c·m + a (m just below 1: every chain settles
 * near a/(1−m), no overflow, no subnormals) for `iters` rounds; returns a lane of the sum so that
 * nothing is dead code. Each chain starts from its own value (set1(k)), or the compiler would
 * see twelve equal chains and keep one. */
#define ROOF_CHAIN_LOOP(fn, tgt, V, init_m, init_a, set1, op, first)                     \
    __attribute__((target(tgt))) static float fn(long iters) {                           \
        const V m = init_m, a = init_a;                                                  \
        V c0 = set1(0), c1 = set1(1), c2 = set1(2), c3 = set1(3), c4 = set1(4), c5 = set1(5), \
          c6 = set1(6), c7 = set1(7), c8 = set1(8), c9 = set1(9), c10 = set1(10), c11 = set1(11); \
        for (long i = 0; i < iters; i++) {                                               \
            c0 = op(c0, m, a); c1 = op(c1, m, a); c2 = op(c2, m, a); c3 = op(c3, m, a);     \
            c4 = op(c4, m, a); c5 = op(c5, m, a); c6 = op(c6, m, a); c7 = op(c7, m, a);     \
            c8 = op(c8, m, a); c9 = op(c9, m, a); c10 = op(c10, m, a); c11 = op(c11, m, a); \
        }                                                                                \
        return first(c0) + first(c1) + first(c2) + first(c3) + first(c4) + first(c5) +   \
               first(c6) + first(c7) + first(c8) + first(c9) + first(c10) + first(c11);   \
    }

#if defined(__x86_64__)
#define ROOF_FMA256(c, m, a) _mm256_fmadd_ps(c, m, a)
#define ROOF_FIRST256(c) _mm256_cvtss_f32(c)
#define ROOF_SET256(k) _mm256_set1_ps(0.5f + 0.01f * (k))
ROOF_CHAIN_LOOP(roof_fma_avx2, "avx2,fma", __m256, _mm256_set1_ps(0.9999999f), _mm256_set1_ps(1e-7f),
                ROOF_SET256, ROOF_FMA256, ROOF_FIRST256)
#define ROOF_FMA512(c, m, a) _mm512_fmadd_ps(c, m, a)
#define ROOF_FIRST512(c) _mm512_cvtss_f32(c)
#define ROOF_SET512(k) _mm512_set1_ps(0.5f + 0.01f * (k))
ROOF_CHAIN_LOOP(roof_fma_avx512, "avx512f", __m512, _mm512_set1_ps(0.9999999f), _mm512_set1_ps(1e-7f),
                ROOF_SET512, ROOF_FMA512, ROOF_FIRST512)
/* c += m·a over pairs: m = (1.0, 1.0) in bf16, a = (2^-20, 2^-20); each lane grows by 2^-19 per
 * instruction (far from overflow for the counts run here). The pair operands are kept as __m512
 * and cast at the instruction. */
#define ROOF_DP512(c, m, a) _mm512_dpbf16_ps(c, (__m512bh)(m), (__m512bh)(a))
ROOF_CHAIN_LOOP(roof_dot_bf16, "avx512f,avx512bw,avx512bf16", __m512,
                _mm512_castsi512_ps(_mm512_set1_epi32(0x3f803f80)),
                _mm512_castsi512_ps(_mm512_set1_epi32(0x35803580)), ROOF_SET512, ROOF_DP512, ROOF_FIRST512)
#endif

typedef float (*RoofChainFn)(long iters);

/* GFLOP/s of `fn` on nt threads (each thread its own chains), flops_per_round = flops of one
 * round of the ROOF_CHAINS instructions; best of `reps` runs of about min_s each. */
static double roof_chain_gflops(RoofChainFn fn, double flops_per_round, int nt, int reps, double min_s) {
    long iters = 1 << 16;
    volatile float sink = 0;
    for (double t = 0; t < min_s; iters *= 2) {   /* calibrate: one run of >= min_s on 1 thread */
        const double t0 = bench_now();
        sink += fn(iters);
        t = bench_now() - t0;
        if (t >= min_s) break;
    }
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = 0, t1 = 0;
        #pragma omp parallel num_threads(nt)
        {
            #pragma omp barrier
            #pragma omp master
            t0 = bench_now();
            const float s = fn(iters);
            #pragma omp atomic
            sink += s;
            #pragma omp barrier
            #pragma omp master
            t1 = bench_now();
        }
        const double g = flops_per_round * (double)iters * nt / (t1 - t0) * 1e-9;
        best = g > best ? g : best;
    }
    (void)sink;
    return best;
}

/* ---- memory ---- */

typedef enum RoofStream { ROOF_COPY = 0, ROOF_TRIAD, ROOF_READ } RoofStream;
static const char *const ROOF_STREAM_NAMES[] = {"copy", "triad", "read"};
static const int ROOF_STREAM_BYTES[] = {16, 24, 8};   /* per element, as STREAM counts */

typedef double RoofV4 __attribute__((vector_size(32)));

/* Sum of a[0..n) (n a multiple of 16) with four vector accumulators: bandwidth, not add latency. */
static double roof_sum(const double *a, size_t n) {
    RoofV4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, v;
    for (size_t i = 0; i < n; i += 16) {
        memcpy(&v, a + i, 32); s0 += v;
        memcpy(&v, a + i + 4, 32); s1 += v;
        memcpy(&v, a + i + 8, 32); s2 += v;
        memcpy(&v, a + i + 12, 32); s3 += v;
    }
    const RoofV4 s = s0 + s1 + s2 + s3;
    return s[0] + s[1] + s[2] + s[3];
}

/* Best GB/s of `reps` passes of `kind` over three arrays of n doubles (n a multiple of 16·nt),
 * each thread its own contiguous share (also first-touched by it). */
static double roof_stream_gbs(RoofStream kind, double *a, double *b, double *c, size_t n, int nt, int reps) {
    const size_t share = n / (size_t)nt;
    volatile double sink = 0;
    double best = 0;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now();
        #pragma omp parallel num_threads(nt)
        {
            const size_t lo = (size_t)omp_get_thread_num() * share, hi = lo + share;
            if (kind == ROOF_COPY) {
                for (size_t i = lo; i < hi; i++) c[i] = a[i];
            } else if (kind == ROOF_TRIAD) {
                const double s = 3.0;
                for (size_t i = lo; i < hi; i++) a[i] = b[i] + s * c[i];
            } else {
                const double s = roof_sum(a + lo, share);
                #pragma omp atomic
                sink += s;
            }
        }
        const double g = (double)ROOF_STREAM_BYTES[kind] * (double)n / (bench_now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    (void)sink;
    return best;
}

/* Best GB/s of reading a buffer of `bytes` (a multiple of 128) that stays in a cache level, one
 * thread: `reps` runs of enough passes for ~5 ms each. */
static double roof_cache_read_gbs(size_t bytes, int reps) {
    const size_t n = bytes / 8;
    double *a = aligned_alloc(64, bytes);
    for (size_t i = 0; i < n; i++) a[i] = 1.0;
    const long passes = (long)(2e8 / (double)bytes) + 1;   /* ~200 MB read per run */
    volatile double sink = roof_sum(a, n);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now();
        for (long p = 0; p < passes; p++) sink += roof_sum(a, n);
        const double g = (double)bytes * (double)passes / (bench_now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    (void)sink;
    free(a);
    return best;
}

/* Three arrays of n doubles, first touched by the threads that will stream them (nt shares). */
static void roof_stream_init(double *a, double *b, double *c, size_t n, int nt) {
    const size_t share = n / (size_t)nt;
    #pragma omp parallel num_threads(nt)
    {
        const size_t lo = (size_t)omp_get_thread_num() * share, hi = lo + share;
        for (size_t i = lo; i < hi; i++) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.5; }
    }
}

#endif
