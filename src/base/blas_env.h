/* OpenBLAS kernel selection.
 *
 * Debian 12's OpenBLAS (0.3.21, DYNAMIC_ARCH) does not recognise some recent AVX-512 CPUs —
 * this machine's included — and falls back to its oldest x86-64 kernels ("Prescott"), several
 * times slower (measured: SGEMM ~16 vs ~100+ GFLOP/s). The kernel set is chosen when the library
 * loads, from $OPENBLAS_CORETYPE, before any code of ours runs; so a program that finds the
 * fallback on a CPU with AVX-512 (or AVX2) sets the variable and re-executes itself once.
 * OpenMP's waiting is set the same way (read when libgomp loads): OMP_WAIT_POLICY=PASSIVE, idle
 * workers sleep at once instead of spinning on a core another thread may share. Nothing changes
 * when the user set the variables, when detection worked, or with R1_BLAS_NO_REEXEC=1. */
#ifndef R1_BASE_BLAS_ENV_H
#define R1_BASE_BLAS_ENV_H

/* Call first thing in main(). Returns only when no re-exec was needed (or it failed). */
void blas_env_fix(char **argv);
/* The kernel set OpenBLAS is using, e.g. "SkylakeX". */
const char *blas_core_name(void);

#endif
