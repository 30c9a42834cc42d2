/* Errors.
 *
 * Two kinds, kept apart on purpose:
 *  - programmer bugs (a broken invariant inside r1.c): CHECK(cond) prints file:line and aborts;
 *  - anything from outside (files, flags, data, model-generated text): the function returns -1 and
 *    fills an Err with one line naming the object ("config.json: key 'n_group': must be > 0").
 *    Only src/cli/ turns an Err into "r1: error: ..." and a non-zero exit.
 */
#ifndef R1_BASE_ERROR_H
#define R1_BASE_ERROR_H

#include <stdio.h>
#include <stdlib.h>

typedef struct Err {
    char msg[1024];     /* one line, no trailing newline; empty when no error was set */
} Err;

/* Sets e->msg from the format (if e is not NULL) and returns -1, so callers can write
 * `return err_set(e, "...")`. Control bytes in the result (a newline inside a quoted role or
 * line of data) are escaped, so the message stays one line whatever it quotes. */
int err_set(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "<prefix>: <old message>". Returns -1. */
int err_prefix(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void check_failed(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

#define CHECK(cond) \
    do { if (!(cond)) check_failed(__FILE__, __LINE__, #cond, NULL); } while (0)
#define CHECKF(cond, ...) \
    do { if (!(cond)) check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

/* malloc/calloc that abort on out-of-memory (out-of-memory is not recoverable here). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
