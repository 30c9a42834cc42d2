/* Flag parsing shared by every subcommand: `--name value` or `--name=value`, `--help`.
 * Each Flag points at a variable holding its default; `--help` prints every flag with its
 * default, so the documentation cannot drift from the code. */
#ifndef R1_CLI_FLAGS_H
#define R1_CLI_FLAGS_H

#include "base/error.h"

typedef enum FlagKind {
    FLAG_STRING,   /* const char ** */
    FLAG_INT,      /* long * */
    FLAG_DOUBLE,   /* double * */
    FLAG_BOOL,     /* int *; takes no value */
} FlagKind;

typedef struct Flag {
    const char *name;   /* without the leading dashes */
    FlagKind kind;
    void *dest;
    const char *help;
} Flag;

/* Parses argv[1..argc-1] (argv[0] is the subcommand). Positional arguments are collected into
 * positional[] (up to max_positional) when positional is not NULL, otherwise refused.
 * Returns 0 on success, 1 when --help was printed (the caller exits 0), -1 with an Err. */
int flags_parse(const char *usage, const Flag *flags, int n_flags, int argc, char **argv,
                const char **positional, int max_positional, int *n_positional, Err *e);

#endif
