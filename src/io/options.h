/* Typed option tables: every trainer's options struct is described once, field by field —
 * name, type, where it lives, whether it changes the maths, help — and everything else is read
 * from that table: the command-line flags (cli/flags.h: --name with '-' for '_', parsed straight
 * into the struct, --help printing the values the library's defaults function set), the options
 * a checkpoint records, the refusal of a resume whose maths would differ, the errors that name an
 * option, and the stage commands of `r1 pipeline`.
 *
 * A set is a few parts, each a table of specs at an offset inside the struct (a trainer's own
 * options, then the optimizer's and the run engine's shared tables, train/run.h), so a shared
 * setting has one name everywhere.
 *
 * Kinds of option (flags):
 *   OPT_MATH    changes the numbers a run produces: recorded in every checkpoint; a resume with
 *               another value is refused, naming the option;
 *   OPT_LENGTH  the run's length (steps, tokens, epochs): recorded; a resume may change it;
 *   0           paths, cadence, reporting: neither.
 */
#ifndef R1_IO_OPTIONS_H
#define R1_IO_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/error.h"
#include "base/strbuf.h"

typedef enum OptType {
    OPT_STR,        /* const char * (the text stays owned by the caller: argv, a checkpoint) */
    OPT_INT,        /* int */
    OPT_I64,        /* int64_t */
    OPT_U64,        /* uint64_t: seeds, recorded as a decimal string to stay exact above 2^53 */
    OPT_DOUBLE,     /* double */
    OPT_BOOL,       /* int 0/1; a flag without a value */
    OPT_ENUM,       /* an enum 0..n-1 named by choices[] */
    OPT_CUSTOM,     /* parsed and formatted by the spec's functions (e.g. a reward list) */
} OptType;

enum { OPT_MATH = 1u, OPT_LENGTH = 2u };

typedef struct OptSpec {
    const char *name;                       /* snake_case; the flag is --name, '_' written '-' */
    OptType type;
    size_t offset;                          /* of the field in its part's struct */
    unsigned flags;                         /* OPT_MATH, OPT_LENGTH */
    const char *help;
    const char *const *choices;             /* OPT_ENUM: names of 0, 1, ..., NULL-terminated */
    int (*parse)(void *field, const char *text, Err *e);   /* OPT_CUSTOM; errors say what is wrong */
    void (*format)(const void *field, StrBuf *out);        /* OPT_CUSTOM */
} OptSpec;

/* A table entry: OPT(name, type, offset, flags, help[, .choices = ... | .parse = ..., .format = ...]) */
#define OPT(n, t, off, fl, ...) {.name = (n), .type = (t), .offset = (off), .flags = (fl), .help = __VA_ARGS__}

typedef struct OptTable {
    const OptSpec *spec;
    int n;
} OptTable;

#define OPT_TABLE(specs) {(specs), (int)(sizeof(specs) / sizeof((specs)[0]))}

typedef struct OptPart {
    const OptTable *table;
    size_t offset;                          /* of the table's struct inside the whole options struct */
} OptPart;

enum { OPT_MAX_PARTS = 6 };

typedef struct OptSet {
    const char *name;                       /* the command: "pretrain", "grpo", ... */
    OptPart part[OPT_MAX_PARTS];
    int n_parts;
} OptSet;

/* The spec named `name` (snake_case or flag spelling) and the address of its field inside opts
 * (NULL when opts is NULL); NULL when the set has no such option. */
const OptSpec *optset_find(const OptSet *set, const char *name, size_t name_len, const void *opts,
                           void **field);

/* Calls fn for every spec with its field, in table order. */
void optset_each(const OptSet *set, const void *opts,
                 void (*fn)(void *ctx, const OptSpec *s, void *field), void *ctx);

/* "--learning-rate" for "learning_rate", into buf. */
const char *opt_flag(const char *name, char *buf, size_t cap);

/* The index of s in a NULL-terminated list of names, into *out; otherwise -1 with
 * "<what>: unknown value 's' (a, b or c)". Every enum that is an option parses through this. */
int opt_choice(const char *const *choices, const char *what, const char *s, int *out, Err *e);

/* Parses text into the field ("--name: expected ..." on a bad value). OPT_BOOL takes "true",
 * "false", "1" or "0". */
int opt_parse(const OptSpec *s, void *field, const char *text, Err *e);
/* The field's value as text, as --help shows it and as a flag takes it back ("" for NULL). */
void opt_format(const OptSpec *s, const void *field, StrBuf *out);

/* {name: value} of the options whose flags intersect `mask`. Caller frees. */
cJSON *optset_to_json(const OptSet *set, const void *opts, unsigned mask);
/* Sets the field of spec s from its recorded JSON value. */
int opt_from_json(const OptSpec *s, void *field, const cJSON *v, Err *e);
/* Refuses (-1, naming the first option) when an OPT_MATH option of opts differs from the value
 * recorded in `saved` (a checkpoint's options); an option the checkpoint lacks is refused too. */
int optset_check_same(const OptSet *set, const void *opts, const cJSON *saved, const char *where, Err *e);

/* err_set(e, "--NAME: <fmt>"), NAME being an option of the set (CHECKed: a misspelt name is a
 * bug). Library code names options this way, so its messages follow the table. */
int opt_err(const OptSet *set, Err *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
