#include "base/blas_env.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);

const char *blas_core_name(void) { return openblas_get_corename(); }

void blas_env_fix(char **argv) {
    if (getenv("R1_BLAS_NO_REEXEC")) return;
    int reexec = 0;
    /* Idle OpenMP workers sleep at once (PASSIVE). Spinning first (ACTIVE with a spin count)
     * won 2-13 % on one machine's big training step, but where the two vCPUs share a physical
     * core — common in cloud VMs, and invisible to the guest — a spinning worker takes the core
     * from the one doing the work: the tiny preset's GRPO stage 1.8x and its pretraining 1.5x
     * slower than PASSIVE. Measured in PERF.md; the user's own setting always wins. */
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
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
