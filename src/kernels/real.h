/* `real`: the floating-point type of model math.
 *
 * float in r1.c proper. The gradient-check tests compile src/kernels and src/model a second time
 * with -DR1_DOUBLE, so finite differences of the whole model run in double precision through the
 * very same source. Code under src/kernels and src/model therefore writes `real`, keeps SIMD fast
 * paths under `#ifndef R1_DOUBLE`, and calls BLAS through the wrappers in kernels/matmul.h. */
#ifndef R1_KERNELS_REAL_H
#define R1_KERNELS_REAL_H

#ifdef R1_DOUBLE
typedef double real;
#define REAL_IS_DOUBLE 1
#define REAL_FMA fma
#else
typedef float real;
#define REAL_IS_DOUBLE 0
#define REAL_FMA fmaf
#endif

#endif
