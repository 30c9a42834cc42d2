/* Every `r1` subcommand: int cmd_NAME(int argc, char **argv), argv[0] being the subcommand.
 * Returns the process exit status. One file per subcommand in src/cli/. */
#ifndef R1_CLI_COMMANDS_H
#define R1_CLI_COMMANDS_H

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

/* Prints "r1: error: <msg>" to stderr and returns 1 (use as `return cli_fail(&e)`). Under
 * mpirun: an error the ranks agreed on (base/dist.h) is printed by rank 0 only; any other ends
 * the whole job (MPI_Abort), naming the rank. */
struct Err;
int cli_fail(const struct Err *e);

/* This process's ranks (base/dist.h): a world of one without mpirun. */
struct Dist;
struct Dist *cli_world(void);
/* Whether this process prints a command's closing summary (rank 0 under mpirun; the other
 * ranks' stdout goes to /dev/null). */
int cli_reports(void);
/* This build's version (`r1 version` prints it; ranks of one job must share it). */
const char *cli_version(void);

#endif
