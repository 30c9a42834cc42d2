/* Flag parsing shared by every subcommand: `--name value` or `--name=value`, `--help`.
 * Each Flag points at a variable holding its default; `--help` prints every flag with its
 * default, so the documentation cannot drift from the code. The trainers' flags come from their
 * option tables (io/options.h) and parse straight into the options struct (flags_parse_set). */
#ifndef R1_CLI_FLAGS_H
#define R1_CLI_FLAGS_H

#include "base/error.h"
#include "io/options.h"
#include "model/model_lowp.h"

typedef enum FlagKind {
    FLAG_STRING,   /* const char ** */
    FLAG_INT,      /* long * */
    FLAG_DOUBLE,   /* double * */
    FLAG_BOOL,     /* int *; takes no value */
    FLAG_OPT,      /* OptField *: a table option (an OPT_BOOL takes no value) */
} FlagKind;

typedef struct Flag {
    const char *name;   /* without the leading dashes ('_' and '-' are the same letter) */
    FlagKind kind;
    void *dest;
    const char *help;
} Flag;

typedef struct OptField {
    const OptSpec *spec;
    void *field;
} OptField;

/* Parses argv[1..argc-1] (argv[0] is the subcommand). Positional arguments are collected into
 * positional[] (up to max_positional) when positional is not NULL, otherwise refused.
 * Returns 0 on success, 1 when --help was printed (the caller exits 0), -1 with an Err. */
int flags_parse(const char *usage, const Flag *flags, int n_flags, int argc, char **argv,
                const char **positional, int max_positional, int *n_positional, Err *e);

/* The specs a command line set, in order. */
enum { FLAGS_MAX_GIVEN = 128 };
typedef struct FlagsGiven {
    const OptSpec *spec[FLAGS_MAX_GIVEN];
    int n;
} FlagsGiven;

/* flags_parse over every option of `set` (fields of opts) followed by the plain flags extra[];
 * given (may be NULL) receives the options the command line set. */
int flags_parse_set(const char *usage, const OptSet *set, void *opts, const Flag *extra, int n_extra,
                    int argc, char **argv, const char **positional, int max_positional, int *n_positional,
                    FlagsGiven *given, Err *e);

/* --weights of the inference commands (model/model_lowp.h): its help, and the parse of its value
 * ("--weights: unknown value ..." otherwise). */
#define FLAG_WEIGHTS_HELP "weights in memory: auto (BF16, F16, FP8 matrices stay so; products convert them), " \
                          "f32, or bf16 (every matrix as bf16, bf16 products with fp32 sums)"
int flags_weights(const char *s, WeightMode *mode, Err *e);

/* --model help of the commands that read a whole model folder */
#define MODEL_DIR_HELP "model folder (config.json, model.safetensors, tokenizer.json)"

/* The model of the inference commands: --model DIR and --weights MODE, the first two flags. */
typedef struct ModelFlags {
    const char *dir;        /* --model; NULL when not given */
    const char *weights;    /* --weights as given; NULL: "auto" */
    WeightMode mode;        /* weights, parsed */
} ModelFlags;

/* flags_parse (no positional arguments) over --model (help model_help) and --weights into mf,
 * followed by flags[]; then --weights parsed into mf->mode. Returns as flags_parse. */
int flags_parse_model(const char *usage, ModelFlags *mf, const char *model_help, const Flag *flags, int n_flags,
                      int argc, char **argv, Err *e);

#endif
