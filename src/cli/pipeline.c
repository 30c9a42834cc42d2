/* r1 pipeline: the whole R1 recipe on a preset (src/pipeline/pipeline.h). */
#include <stdio.h>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "pipeline/pipeline.h"

int cmd_pipeline(int argc, char **argv);

int cmd_pipeline(int argc, char **argv) {
    Err e = {0};
    PipelineOptions o = {.preset = "tiny", .seed = 1};
    long threads = 0, ranks = 1;
    int resume = 0;
    const Flag flags[] = {
        {"preset", FLAG_STRING, &o.preset, "nano (wiring check, minutes), tiny (default, ~20 min), small (hours)"},
        {"out", FLAG_STRING, &o.out, "run folder (default: runs/<preset>)"},
        {"seed", FLAG_INT, &o.seed, "seed of every stage"},
        {"threads", FLAG_INT, &threads, "threads per stage (0: $R1_THREADS or all cores)"},
        {"ranks", FLAG_INT, &ranks, "run the training stages data-parallel under mpirun -np N (a power of two)"},
        {"resume", FLAG_BOOL, &resume, "continue a run (the default behaviour: finished stages are skipped)"},
        {"dry-run", FLAG_BOOL, &o.dry_run, "print the stage commands without running them"},
        {"r1", FLAG_STRING, &o.r1, "the r1 binary that runs the stages (default: this one)"},
    };
    int rc = flags_parse("usage: r1 pipeline [--preset nano|tiny|small] [--out runs/NAME] [--resume]\n"
                         "The DeepSeek-R1 recipe end to end; writes runs/NAME/report.html and report.md.",
                         flags, (int)(sizeof flags / sizeof flags[0]), argc, argv, NULL, 0, NULL, &e);
    if (rc) return rc > 0 ? 0 : cli_fail(&e);
    if (ranks < 1 || ranks > 4096 || (ranks & (ranks - 1))) {
        err_set(&e, "--ranks: %ld: must be a power of two (1, 2, 4, ...)", ranks);
        return cli_fail(&e);
    }
    o.threads = (int)threads;
    o.ranks = (int)ranks;
    return pipeline_run(&o, &e) ? cli_fail(&e) : 0;
}
