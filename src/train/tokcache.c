#include "train/tokcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"
#include "io/json.h"

#define TOKCACHE_MAGIC "R1TOKS01"
#define TOKCACHE_VERSION 1u
#define TEXT_PIECE (1u << 20)       /* text files are encoded ~1 MiB at a time */
#define TEXT_PIECE_MAX (16u << 20)  /* a piece with no newline is cut here */

typedef struct TokCacheHeader {
    char magic[8];
    uint32_t version;
    uint32_t eos_id;
    uint64_t header_bytes;
    uint64_t tokenizer_hash;
    uint64_t n_sources;
    uint64_t n_tokens;
    uint64_t n_docs;
    uint64_t n_bad;
} TokCacheHeader;
_Static_assert(sizeof(TokCacheHeader) == 64, "header is 64 bytes");

uint64_t tokcache_hash_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* ---- source descriptions: path, size, mtime ---- */

typedef struct SourceStat {
    uint64_t size;
    int64_t mtime_ns;
} SourceStat;

static int source_stat(const char *path, SourceStat *s, Err *e) {
    struct stat st;
    if (stat(path, &st) != 0) return err_set(e, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return err_set(e, "%s: not a regular file", path);
    s->size = (uint64_t)st.st_size;
    s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* Serialises the source list (after the fixed header), padded so the total is a multiple of 64. */
static unsigned char *sources_blob(const char *const *sources, const SourceStat *st, int n,
                                   size_t *len_out) {
    size_t len = sizeof(TokCacheHeader);
    for (int i = 0; i < n; i++) len += 8 + 8 + 4 + strlen(sources[i]);
    size_t padded = (len + 63) / 64 * 64;
    unsigned char *b = xcalloc(padded, 1), *p = b + sizeof(TokCacheHeader);
    for (int i = 0; i < n; i++) {
        uint32_t pl = (uint32_t)strlen(sources[i]);
        memcpy(p, &st[i].size, 8); p += 8;
        memcpy(p, &st[i].mtime_ns, 8); p += 8;
        memcpy(p, &pl, 4); p += 4;
        memcpy(p, sources[i], pl); p += pl;
    }
    *len_out = padded;
    return b;
}

/* 1 when `path` is a complete cache of exactly these sources and this encoder. */
static int cache_is_fresh(const char *path, const unsigned char *blob, size_t blob_len,
                          const TextEncoder *enc, TokCacheInfo *info) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    int fresh = 0;
    struct stat st;
    unsigned char *have = xmalloc(blob_len);
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= blob_len &&
        pread(fd, have, blob_len, 0) == (ssize_t)blob_len) {
        TokCacheHeader h;
        memcpy(&h, have, sizeof h);
        fresh = !memcmp(h.magic, TOKCACHE_MAGIC, 8) && h.version == TOKCACHE_VERSION &&
                h.header_bytes == blob_len && h.tokenizer_hash == enc->hash &&
                h.eos_id == enc->eos_id &&
                ((uint64_t)st.st_size - blob_len) / 4 == h.n_tokens && ((uint64_t)st.st_size - blob_len) % 4 == 0 &&
                !memcmp(have + sizeof h, blob + sizeof h, blob_len - sizeof h);
        if (fresh) {
            info->n_tokens = h.n_tokens;
            info->n_docs = h.n_docs;
            info->n_bad = h.n_bad;
        }
    }
    free(have);
    close(fd);
    return fresh;
}

/* ---- building ---- */

typedef struct Writer {
    FILE *f;
    const char *path;
    uint64_t n_tokens, n_docs, n_bad;
} Writer;

static int write_ids(Writer *w, const TokIds *ids, Err *e) {
    if (ids->n && fwrite(ids->v, 4, ids->n, w->f) != ids->n)
        return err_set(e, "%s: write failed: %s", w->path, strerror(errno));
    w->n_tokens += ids->n;
    return 0;
}

static int is_jsonl(const char *path) {
    size_t n = strlen(path);
    return n >= 6 && !strcasecmp(path + n - 6, ".jsonl");
}

static int only_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static int add_jsonl(Writer *w, FILE *in, const char *path, const TextEncoder *enc, int skip_bad,
                     TokIds *ids, Err *e) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (only_space(line, (size_t)len)) continue;
        Err je = {{0}};
        cJSON *j = json_parse_n(line, (size_t)len, &je);
        const cJSON *t = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
        if (!j || !cJSON_IsString(t)) {
            cJSON_Delete(j);
            if (skip_bad) { w->n_bad++; continue; }
            rc = j ? err_set(e, "%s:%llu: no string field \"text\"", path, (unsigned long long)lineno)
                   : err_set(e, "%s:%llu: not JSON (%s)", path, (unsigned long long)lineno, je.msg);
            break;
        }
        ids->n = 0;
        const char *s = t->valuestring;
        if (enc->encode(enc->ctx, s, strlen(s), ids, e) != 0) {
            cJSON_Delete(j);
            rc = err_prefix(e, "%s:%llu", path, (unsigned long long)lineno);
            break;
        }
        cJSON_Delete(j);
        tokids_push(ids, enc->eos_id);
        if ((rc = write_ids(w, ids, e)) != 0) break;
        w->n_docs++;
    }
    if (rc == 0 && ferror(in)) rc = err_set(e, "%s: read error", path);
    free(line);
    return rc;
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n) {
    size_t i = n;
    while (i > 0 && i > n - 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
    if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) i--;   /* a lead byte: cut before it */
    return i ? i : n;
}

static int add_text(Writer *w, FILE *in, const char *path, const TextEncoder *enc, TokIds *ids,
                    Err *e) {
    size_t cap = TEXT_PIECE_MAX, have = 0;
    char *buf = xmalloc(cap);
    int rc = 0, eof = 0, any = 0;
    while (!eof || have > 0) {
        while (!eof && have < TEXT_PIECE) {
            size_t got = fread(buf + have, 1, TEXT_PIECE - have, in);
            have += got;
            if (got == 0) eof = 1;
        }
        if (ferror(in)) { rc = err_set(e, "%s: read error", path); break; }
        size_t cut = have;
        if (!eof) {   /* cut after the last newline; without one, read on up to the maximum */
            while (cut > 0 && buf[cut - 1] != '\n') cut--;
            if (cut == 0) {
                if (have < cap) {
                    size_t got = fread(buf + have, 1, cap - have < TEXT_PIECE ? cap - have : TEXT_PIECE, in);
                    have += got;
                    if (got == 0) eof = 1;
                    continue;
                }
                cut = utf8_cut(buf, have);
            }
        }
        ids->n = 0;
        if (cut > 0 && enc->encode(enc->ctx, buf, cut, ids, e) != 0) { rc = err_prefix(e, "%s", path); break; }
        if ((rc = write_ids(w, ids, e)) != 0) break;
        any = any || cut > 0;
        memmove(buf, buf + cut, have - cut);
        have -= cut;
    }
    free(buf);
    if (rc == 0 && any) {
        ids->n = 0;
        tokids_push(ids, enc->eos_id);
        rc = write_ids(w, ids, e);
        w->n_docs++;
    }
    return rc;
}

int tokcache_ensure(const char *cache_path, const char *const *sources, int n_sources,
                    const TextEncoder *enc, int skip_bad, TokCacheInfo *info, Err *e) {
    memset(info, 0, sizeof *info);
    if (n_sources <= 0) return err_set(e, "no data files given");
    SourceStat *st = xcalloc((size_t)n_sources, sizeof *st);
    for (int i = 0; i < n_sources; i++)
        if (source_stat(sources[i], &st[i], e) != 0) { free(st); return -1; }
    size_t blob_len;
    unsigned char *blob = sources_blob(sources, st, n_sources, &blob_len);
    free(st);
    if (cache_is_fresh(cache_path, blob, blob_len, enc, info)) { free(blob); return 0; }

    size_t plen = strlen(cache_path);
    char *tmp = xmalloc(plen + 5);
    memcpy(tmp, cache_path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    Writer w = {.path = cache_path};
    w.f = fopen(tmp, "wb");
    if (!w.f) { err_set(e, "%s: %s", tmp, strerror(errno)); free(tmp); free(blob); return -1; }
    int rc = 0;
    if (fwrite(blob, 1, blob_len, w.f) != blob_len) rc = err_set(e, "%s: write failed: %s", tmp, strerror(errno));
    TokIds ids = {0};
    for (int i = 0; rc == 0 && i < n_sources; i++) {
        FILE *in = fopen(sources[i], "rb");
        if (!in) { rc = err_set(e, "%s: %s", sources[i], strerror(errno)); break; }
        rc = is_jsonl(sources[i]) ? add_jsonl(&w, in, sources[i], enc, skip_bad, &ids, e)
                                  : add_text(&w, in, sources[i], enc, &ids, e);
        fclose(in);
    }
    tokids_free(&ids);
    if (rc == 0) {
        TokCacheHeader h = {.version = TOKCACHE_VERSION, .eos_id = enc->eos_id,
                            .header_bytes = blob_len, .tokenizer_hash = enc->hash,
                            .n_sources = (uint64_t)n_sources, .n_tokens = w.n_tokens,
                            .n_docs = w.n_docs, .n_bad = w.n_bad};
        memcpy(h.magic, TOKCACHE_MAGIC, 8);
        if (fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, w.f) != 1 || fflush(w.f) != 0 ||
            fsync(fileno(w.f)) != 0)
            rc = err_set(e, "%s: write failed: %s", tmp, strerror(errno));
    }
    if (fclose(w.f) != 0 && rc == 0) rc = err_set(e, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, cache_path) != 0) rc = err_set(e, "%s: rename failed: %s", cache_path, strerror(errno));
    if (rc != 0) unlink(tmp);
    free(tmp);
    free(blob);
    if (rc == 0) {
        info->n_tokens = w.n_tokens;
        info->n_docs = w.n_docs;
        info->n_bad = w.n_bad;
        info->rebuilt = 1;
    }
    return rc;
}

int tokcache_write(const char *path, const uint32_t *tok, uint64_t n, uint64_t tokenizer_hash,
                   uint32_t eos_id, Err *e) {
    TokCacheHeader h = {.version = TOKCACHE_VERSION, .eos_id = eos_id, .header_bytes = 64,
                        .tokenizer_hash = tokenizer_hash, .n_tokens = n};
    memcpy(h.magic, TOKCACHE_MAGIC, 8);
    size_t bytes = sizeof h + (size_t)n * 4;
    unsigned char *buf = xmalloc(bytes);
    memcpy(buf, &h, sizeof h);
    if (n) memcpy(buf + sizeof h, tok, (size_t)n * 4);
    int rc = file_write_atomic(path, buf, bytes, e);
    free(buf);
    return rc;
}

int tokfile_open(TokFile *f, const char *path, Err *e) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    struct stat st;
    TokCacheHeader h;
    if (fstat(fd, &st) != 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        close(fd);
        return err_set(e, "%s: not a token cache (too short)", path);
    }
    /* sizes compared without overflow: a corrupt count must not wrap around to the file size */
    if (memcmp(h.magic, TOKCACHE_MAGIC, 8) || h.version != TOKCACHE_VERSION || h.header_bytes % 64 ||
        h.header_bytes < sizeof h || h.header_bytes > (uint64_t)st.st_size ||
        ((uint64_t)st.st_size - h.header_bytes) / 4 != h.n_tokens || ((uint64_t)st.st_size - h.header_bytes) % 4) {
        close(fd);
        return err_set(e, "%s: not a token cache of this version, or truncated", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return err_set(e, "%s: mmap failed: %s", path, strerror(errno));
    madvise(map, (size_t)st.st_size, MADV_RANDOM);
    f->map = map;
    f->map_len = (size_t)st.st_size;
    f->tok = (const uint32_t *)((const char *)map + h.header_bytes);
    f->n_tokens = h.n_tokens;
    f->n_docs = h.n_docs;
    f->n_bad = h.n_bad;
    f->tokenizer_hash = h.tokenizer_hash;
    f->eos_id = h.eos_id;
    return 0;
}

void tokfile_close(TokFile *f) {
    if (f->map) munmap(f->map, f->map_len);
    memset(f, 0, sizeof *f);
}
