/* JSON through cJSON: load a file, and typed getters whose errors name the key.
 *
 * Getters return 0 on success, 1 when the key is absent and `required` is 0 (out untouched),
 * and -1 with an Err "key 'NAME': ..." otherwise. Callers prefix the file name. */
#ifndef R1_IO_JSON_H
#define R1_IO_JSON_H

#include <stdint.h>

#include <cJSON.h>

#include "base/error.h"

/* Parses a whole file. Caller frees with cJSON_Delete. NULL + Err on failure. */
cJSON *json_load_file(const char *path, Err *e);
/* Parses a buffer of n bytes (need not be NUL-terminated). */
cJSON *json_parse_n(const char *buf, size_t n, Err *e);

/* The lines of a JSON Lines text, blank ones (spaces, tabs, CR) skipped:
 *   JsonlIter it = jsonl_iter(buf, n); const char *s; size_t len;
 *   while (jsonl_next(&it, &s, &len)) ... it.line is the 1-based number of line s ... */
typedef struct JsonlIter {
    const char *p, *end;
    int line;
} JsonlIter;
static inline JsonlIter jsonl_iter(const char *buf, size_t n) { return (JsonlIter){buf, buf + n, 0}; }
/* The next non-blank line into s[0..len) (without its newline); 0 at the end of the text. */
int jsonl_next(JsonlIter *it, const char **s, size_t *len);

int json_get_int(const cJSON *obj, const char *key, int required, int64_t *out, Err *e);
int json_get_double(const cJSON *obj, const char *key, int required, double *out, Err *e);
int json_get_bool(const cJSON *obj, const char *key, int required, int *out, Err *e);
/* *out points into obj (not copied). */
int json_get_string(const cJSON *obj, const char *key, int required, const char **out, Err *e);

/* A JSON number that reads back as exactly v (cJSON prints doubles with 15 digits when they are
 * merely close; checkpoints need the bits): the shortest of %.15g, %.16g, %.17g that round-trips.
 * NaN and infinities become null. */
cJSON *json_exact_number(double v);

/* The one-line JSON text of `obj` (a JSONL record), made valid UTF-8: cJSON copies string bytes
 * as they are, so every ill-formed sequence (model output can end mid-character) becomes U+FFFD.
 * Every JSON writer goes through this or json_save_file. Caller frees; never NULL. */
char *json_print_line(const cJSON *obj);

/* Writes the JSON text of `obj` (pretty-printed, valid UTF-8 as above) to path atomically. */
int json_save_file(const cJSON *obj, const char *path, Err *e);

#endif
