/* What the fuzz targets share: a property check that names itself when it fails, a private
 * temporary folder (in /dev/shm when there is one: the readers under test take file paths) with
 * the input written to a file there, the shape every error message must have, and DeepSeek-V3's
 * tokenizer (the pruned fixture). Header-only: each target is one .c file (see the Makefile). */
#ifndef R1_FUZZ_UTIL_H
#define R1_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "io/file.h"
#include "tokenizer/tokenizer.h"

#define FZ_UNUSED __attribute__((unused))

/* Aborts (a finding for libFuzzer) with the property that failed. */
#define FZ_ASSERT(cond) \
    do { if (!(cond)) { fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

static char fz_dir_path[64];

static void fz_cleanup(void) {
    Err e = {{0}};
    if (fz_dir_path[0]) file_remove_tree(fz_dir_path, &e);
}

/* The target's temporary folder, made on first use and removed at exit. */
static FZ_UNUSED const char *fz_dir(void) {
    if (!fz_dir_path[0]) {
        snprintf(fz_dir_path, sizeof fz_dir_path, "%s/r1_fuzz_XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(fz_dir_path)) { perror("mkdtemp"); abort(); }
        atexit(fz_cleanup);
    }
    return fz_dir_path;
}

/* <dir>/<name> holding data[0..n); the path stays valid until the next call with the same slot. */
static FZ_UNUSED const char *fz_file(int slot, const char *name, const void *data, size_t n) {
    static char path[4][256];
    snprintf(path[slot], sizeof path[slot], "%s/%s", fz_dir(), name);
    FILE *f = fopen(path[slot], "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) { perror(path[slot]); abort(); }
    return path[slot];
}

/* An error must be one non-empty line starting with `prefix`. */
static FZ_UNUSED void fz_check_msg(const Err *e, const char *prefix) {
    if (!e->msg[0] || strchr(e->msg, '\n') || strncmp(e->msg, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "bad error message (want one line starting '%s'): '%s'\n", prefix, e->msg);
        abort();
    }
}

/* An error of a line-oriented reader: "<path>:<line>: ..." with 1 <= line <= n_lines, or one of
 * the file-level messages "<path>: ..." that `file_level` allows. Returns the line (0 if none). */
static FZ_UNUSED long fz_check_line_msg(const Err *e, const char *path, long n_lines, int file_level) {
    fz_check_msg(e, path);
    const char *s = e->msg + strlen(path);
    if (s[0] == ':' && s[1] >= '0' && s[1] <= '9') {
        char *end;
        long line = strtol(s + 1, &end, 10);
        if (line < 1 || line > n_lines || end[0] != ':') {
            fprintf(stderr, "error names line %ld of %ld: '%s'\n", line, n_lines, e->msg);
            abort();
        }
        return line;
    }
    if (!file_level || s[0] != ':' || s[1] != ' ') {
        fprintf(stderr, "error names no line: '%s'\n", e->msg);
        abort();
    }
    return 0;
}

/* The records of a JSONL input as the readers see them: lines split at '\n' (a last line without
 * one counts), blank ones (only ' ', '\t', '\r') skipped. */
typedef struct FzLines {
    const uint8_t *data;
    size_t size, pos;
    long line;          /* number of the line last returned, from 1 */
} FzLines;

/* The next non-blank line: 1 with it in [*s, *s + *n), or 0 at the end. */
static FZ_UNUSED int fz_next_record(FzLines *it, const char **s, size_t *n) {
    while (it->pos < it->size) {
        const uint8_t *p = it->data + it->pos, *nl = memchr(p, '\n', it->size - it->pos);
        size_t len = nl ? (size_t)(nl - p) : it->size - it->pos;
        it->pos += len + 1;
        it->line++;
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        if (k < len) {
            *s = (const char *)p;
            *n = len;
            return 1;
        }
    }
    return 0;
}

/* Lines as the JSONL readers count them: split at '\n', a last line without one counts. */
static FZ_UNUSED long fz_count_lines(const uint8_t *data, size_t size) {
    long n = 0;
    for (size_t i = 0; i < size; i++) n += data[i] == '\n';
    return n + (size > 0 && data[size - 1] != '\n');
}

/* DeepSeek-V3's tokenizer (the pruned fixture; the fuzz targets run from the repository root). */
static FZ_UNUSED Tokenizer *fz_v3(void) {
    static Tokenizer *tok;
    if (!tok) {
        Err e = {{0}};
        tok = tokenizer_load("tests/fixtures/tokenizer/v3_pruned.tokenizer.json", &e);
        if (!tok) { fprintf(stderr, "fuzz: %s (run from the repository root)\n", e.msg); abort(); }
    }
    return tok;
}

/* decode(ids) == text[0..n)? */
static FZ_UNUSED int fz_decodes_to(const Tokenizer *tok, const uint32_t *ids, size_t n_ids, const char *text, size_t n) {
    StrBuf b = {0};
    Err e = {{0}};
    int ok = tokenizer_decode(tok, ids, n_ids, 0, &b, &e) == 0 && b.len == n && (n == 0 || memcmp(b.s, text, n) == 0);
    sb_free(&b);
    return ok;
}

#endif
