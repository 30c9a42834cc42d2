#include "base/threads.h"

#include <omp.h>
#include <stdlib.h>

void openblas_set_num_threads(int num_threads);

int threads_set(int n) {
    if (n <= 0) {
        const char *env = getenv("R1_THREADS");
        n = env ? atoi(env) : 0;
    }
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    return n;
}

int threads_count(void) { return omp_get_max_threads(); }
