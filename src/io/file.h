/* Files: whole-file reads, and atomic writes (temporary name, fsync, rename, fsync the folder),
 * so an interrupted write never leaves a half-written file under the final name. */
#ifndef R1_IO_FILE_H
#define R1_IO_FILE_H

#include <stddef.h>

#include "base/error.h"

/* Reads the whole file; the buffer has a NUL after the last byte. Caller frees. */
char *file_read_all(const char *path, size_t *n_out, Err *e);
#include <stdio.h>

/* A file written piece by piece under the temporary name path.tmp and put in place by
 * file_out_commit: a failed write (a full disk) or a kill leaves any earlier file whole, and a
 * failure leaves no temporary file. */
typedef struct FileOut {
    FILE *f;
    char *path, *tmp;
    int err;                /* errno of the first failed write */
} FileOut;
int file_out_open(FileOut *o, const char *path, Err *e);
/* Appends s (file_out_line: and a newline); a failure is kept for file_out_commit. */
void file_out_puts(FileOut *o, const char *s);
void file_out_line(FileOut *o, const char *s);
/* Flushes, fsyncs, closes and renames into place (the folder fsync'ed); errors name the path and
 * the cause ("No space left on device"). Always releases o. */
int file_out_commit(FileOut *o, Err *e);
/* Closes and removes the temporary file (o may be unopened). */
void file_out_abort(FileOut *o);

/* Writes n bytes to path via path.tmp + fsync + rename. */
int file_write_atomic(const char *path, const void *data, size_t n, Err *e);
/* Ends a write to tmp (open as fd) that will become path: fsync, close, rename, fsync of the folder;
 * with rc != 0 (the write failed) or any step failing, tmp is removed. Returns the first error. */
int file_finish_atomic(int fd, const char *tmp, const char *path, int rc, Err *e);
/* Writes all of buf to fd, retrying short writes; errno-based message naming `what`. */
int file_write_fd(int fd, const void *buf, size_t n, const char *what, Err *e);
/* fsyncs a folder so a rename inside it is durable. */
int file_fsync_dir(const char *dir, Err *e);
/* mkdir -p. */
int file_mkdirs(const char *path, Err *e);
int file_exists(const char *path);
/* Removes a folder and everything in it (for temporary checkpoint folders). */
int file_remove_tree(const char *path, Err *e);

#endif
