/* Threads: OpenMP for our loops, and OpenBLAS (its OpenMP build) for large GEMMs.
 * threads_set() is the one place the thread count is decided; both follow it. */
#ifndef R1_BASE_THREADS_H
#define R1_BASE_THREADS_H

/* n <= 0 means: $R1_THREADS if set, else the number of cores. Returns the count in use. */
int threads_set(int n);
int threads_count(void);

#endif
