#include <omp.h>
#include <stdio.h>

#include "base/blas_env.h"
#include "base/error.h"
#include "cli/commands.h"
#include "cli/flags.h"

int cmd_version(int argc, char **argv);

const char *cli_version(void) { return R1_VERSION; }

int cmd_version(int argc, char **argv) {
    Err e = {0};
    int rc = flags_parse("usage: r1 version", NULL, 0, argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    printf("r1.c %s (gcc %d.%d, OpenMP %d, %d threads available, OpenBLAS kernels %s)\n", cli_version(),
           __GNUC__, __GNUC_MINOR__, _OPENMP, omp_get_num_procs(), blas_core_name());
    return 0;
}
