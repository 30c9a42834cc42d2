#include "base/blas_env.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);

const char *blas_core_name(void) { return openblas_get_corename(); }

void blas_env_fix(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || getenv("R1_BLAS_NO_REEXEC")) return;
    const char *core = openblas_get_corename();
    if (!core || (strcmp(core, "Prescott") != 0 && strcmp(core, "Unknown") != 0)) return;
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                     : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    if (!want) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("R1_BLAS_NO_REEXEC", "1", 1);   /* never loop, even if the library ignores it */
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slow kernels */
}
