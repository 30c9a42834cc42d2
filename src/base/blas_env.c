#include "base/blas_env.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);

const char *blas_core_name(void) { return openblas_get_corename(); }

void blas_env_fix(char **argv) {
    if (getenv("R1_BLAS_NO_REEXEC")) return;
    int reexec = 0;
    /* A training step forks ~1700 parallel regions: a worker that sleeps at once (PASSIVE) must
     * be woken through the kernel — and, in a VM, the hypervisor — every time, while one that
     * spins forever (plain ACTIVE) takes the core from everything else. Spin ~0.1 ms (libgomp
     * counts ~100 spins per µs), then sleep; libgomp cuts the spin to 1000 itself when it has
     * more threads than CPUs. Measured in PERF.md. */
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
        setenv("GOMP_SPINCOUNT", "10000", 1);
        reexec = 1;
    }
    if (!getenv("OPENBLAS_CORETYPE")) {
        const char *core = openblas_get_corename();
        if (core && (!strcmp(core, "Prescott") || !strcmp(core, "Unknown"))) {
            __builtin_cpu_init();
            const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                             : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
            if (want) { setenv("OPENBLAS_CORETYPE", want, 1); reexec = 1; }
        }
    }
    if (!reexec) return;
    setenv("R1_BLAS_NO_REEXEC", "1", 1);   /* never loop, even if a library ignores the variables */
    execv("/proc/self/exe", argv);
    /* exec failed: carry on as we are */
}
