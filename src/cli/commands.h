/* Every `r1` subcommand: int cmd_NAME(int argc, char **argv), argv[0] being the subcommand.
 * Returns the process exit status. One file per subcommand in src/cli/. */
#ifndef R1_CLI_COMMANDS_H
#define R1_CLI_COMMANDS_H

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

/* Prints "r1: error: <msg>" to stderr and returns 1 (use as `return cli_fail(&e)`). */
struct Err;
int cli_fail(const struct Err *e);

#endif
