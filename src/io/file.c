#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *file_read_all(const char *path, size_t *n_out, Err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) { err_set(e, "%s: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        cap *= 2;
        buf = xrealloc(buf, cap + 1);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); err_set(e, "%s: read error", path); return NULL; }
    buf[n] = 0;
    if (n_out) *n_out = n;
    return buf;
}

int file_write_fd(int fd, const void *buf, size_t n, const char *what, Err *e) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return err_set(e, "%s: write failed: %s", what, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int file_fsync_dir(const char *dir, Err *e) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return err_set(e, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? 0 : err_set(e, "%s: fsync failed: %s", dir, strerror(errno));
}

int file_finish_atomic(int fd, const char *tmp, const char *path, int rc, Err *e) {
    if (rc == 0 && fsync(fd) != 0) rc = err_set(e, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = err_set(e, "%s: close failed: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0) rc = err_set(e, "%s: rename failed: %s", path, strerror(errno));
    if (rc != 0) unlink(tmp);
    if (rc == 0) {
        char *copy = xstrdup(path);
        rc = file_fsync_dir(dirname(copy), e);
        free(copy);
    }
    return rc;
}

int file_write_atomic(const char *path, const void *data, size_t n, Err *e) {
    size_t len = strlen(path);
    char *tmp = xmalloc(len + 5);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { err_set(e, "%s: %s", tmp, strerror(errno)); free(tmp); return -1; }
    int rc = file_finish_atomic(fd, tmp, path, file_write_fd(fd, data, n, path, e), e);
    free(tmp);
    return rc;
}

int file_out_open(FileOut *o, const char *path, Err *e) {
    o->path = xstrdup(path);
    o->tmp = xmalloc(strlen(path) + 5);
    sprintf(o->tmp, "%s.tmp", path);
    o->f = fopen(o->tmp, "w");
    if (o->f) return 0;
    int rc = err_set(e, "%s: cannot write: %s", o->path, strerror(errno));
    file_out_abort(o);
    return rc;
}

void file_out_puts(FileOut *o, const char *s) {
    if (o->err) return;
    errno = 0;
    if (fputs(s, o->f) == EOF) o->err = errno ? errno : EIO;
}

void file_out_line(FileOut *o, const char *s) {
    file_out_puts(o, s);
    file_out_puts(o, "\n");
}

void file_out_abort(FileOut *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

int file_out_commit(FileOut *o, Err *e) {
    int err = o->err;
    errno = 0;
    if (!err && (fflush(o->f) != 0 || ferror(o->f))) err = errno ? errno : EIO;
    int fd = dup(fileno(o->f));   /* the stream goes; its file is finished by descriptor */
    if (fd < 0 && !err) err = errno;
    fclose(o->f);
    o->f = NULL;
    int rc = err ? err_set(e, "%s: write failed: %s", o->path, strerror(err)) : 0;
    if (fd >= 0) rc = file_finish_atomic(fd, o->tmp, o->path, rc, e);   /* removes tmp on failure */
    if (fd >= 0) { free(o->tmp); o->tmp = NULL; }
    file_out_abort(o);
    return rc;
}

int file_mkdirs(const char *path, Err *e) {
    char *p = xstrdup(path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                err_set(e, "%s: cannot create folder: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return 0;
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

int file_remove_tree(const char *path, Err *e) {
    if (!file_exists(path)) return 0;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return err_set(e, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}
