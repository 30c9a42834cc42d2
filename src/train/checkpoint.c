#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "io/file.h"
#include "io/json.h"
#include "model/config.h"
#include "model/model_io.h"

#define STATE_VERSION 2

void trainer_state_free(TrainerState *st) {
    cJSON_Delete(st->options);
    cJSON_Delete(st->trainer);
    st->options = st->trainer = NULL;
}

/* ---- hashing: 4 lanes of a 64-bit multiply-xorshift over 32-byte blocks, streamed ---- */

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

int file_hash64(const char *path, uint64_t *hash, uint64_t *size, Err *e) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    enum { BUF = 1 << 20 };
    unsigned char *buf = xmalloc(BUF);
    uint64_t lane[4] = {0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull, 1};
    uint64_t total = 0;
    size_t have = 0;   /* bytes carried in buf (< 32) */
    int rc = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, BUF - have);
        if (got < 0) {
            if (errno == EINTR) continue;
            rc = err_set(e, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        have += (size_t)got;
        total += (uint64_t)got;
        size_t full = got == 0 ? have : have / 32 * 32;
        size_t i = 0;
        for (; i + 32 <= full; i += 32)
            for (int k = 0; k < 4; k++) {
                uint64_t w;
                memcpy(&w, buf + i + 8 * k, 8);
                lane[k] = (lane[k] ^ w) * 0x100000001b3ull + (lane[k] >> 29);
            }
        if (got == 0) {   /* tail (< 32 bytes), zero-padded */
            unsigned char tail[32] = {0};
            memcpy(tail, buf + i, have - i);
            for (int k = 0; k < 4; k++) {
                uint64_t w;
                memcpy(&w, tail + 8 * k, 8);
                lane[k] = (lane[k] ^ w) * 0x100000001b3ull + (lane[k] >> 29);
            }
            break;
        }
        memmove(buf, buf + full, have - full);
        have -= full;
    }
    close(fd);
    free(buf);
    if (rc) return rc;
    *hash = mix(mix(mix(mix(lane[0]) ^ lane[1]) ^ lane[2]) ^ lane[3] ^ total);
    *size = total;
    return 0;
}

/* ---- small helpers ---- */

static int fsync_path(const char *path, Err *e) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    int rc = fsync(fd) == 0 ? 0 : err_set(e, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static int copy_file(const char *from, const char *to, Err *e) {
    size_t n;
    char *buf = file_read_all(from, &n, e);
    if (!buf) return -1;
    int rc = file_write_atomic(to, buf, n, e);
    free(buf);
    return rc;
}

/* ---- the optimizer moments: a safetensors file of F32 tensors, streamed ---- */

/* A safetensors file of F32 tensors laid out by the table, streamed from `data` (no copy): group g
 * writes "<prefix[g]>.<name>" (or just the name when prefix[g] is NULL), for every tensor, or only
 * the trainable ones when trainable_only[g]; data->get is asked for each tensor's elements in file
 * order. fsync'ed. fault_half: fail half-way through the data (test hook). */
static int write_table_tensors(const char *path, const ParamTable *pt, int n_groups,
                               const char *const *prefix, const int *trainable_only,
                               const MomentSource *data, int fault_half, Err *e) {
    StrBuf h = {0};
    sb_append(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (int g = 0; g < n_groups; g++)
        for (int i = 0; i < pt->n; i++) {
            const ParamInfo *p = &pt->t[i];
            if (trainable_only[g] && !param_is_trainable(p)) continue;
            uint64_t bytes = (uint64_t)p->numel * 4;
            sb_printf(&h, ",\"%s%s%s\":{\"dtype\":\"F32\",\"shape\":[%" PRId64,
                      prefix[g] ? prefix[g] : "", prefix[g] ? "." : "", p->name, p->shape[0]);
            if (p->ndim == 2) sb_printf(&h, ",%" PRId64, p->shape[1]);
            sb_printf(&h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + bytes);
            off += bytes;
        }
    sb_append(&h, "}");
    while ((h.len + 8) % 8) sb_append(&h, " ");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { sb_free(&h); return err_set(e, "%s: %s", path, strerror(errno)); }
    uint64_t hlen = h.len;
    int rc = file_write_fd(fd, &hlen, 8, path, e);
    if (rc == 0) rc = file_write_fd(fd, h.s, h.len, path, e);
    sb_free(&h);
    uint64_t written = 0;
    for (int g = 0; rc == 0 && g < n_groups; g++)
        for (int i = 0; rc == 0 && i < pt->n; i++) {
            const ParamInfo *p = &pt->t[i];
            if (trainable_only[g] && !param_is_trainable(p)) continue;
            for (size_t done = 0; rc == 0 && done < p->numel;) {
                const float *src;
                size_t k = data->get(data->ctx, g, p->offset + done, p->numel - done, &src);
                CHECKF(k >= 1 && k <= p->numel - done, "%s: %zu of %zu elements", p->name, k, p->numel - done);
                rc = file_write_fd(fd, src, k * 4, path, e);
                done += k;
            }
            written += p->numel * 4;
            if (rc == 0 && fault_half && written >= off / 2)
                rc = err_set(e, "%s: write failed: simulated interruption half-way", path);
        }
    if (rc == 0 && fsync(fd) != 0) rc = err_set(e, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0) rc = err_set(e, "%s: close failed: %s", path, strerror(errno));
    return rc;
}

/* The groups of the moments file from flat buffers laid out by the table, the moments (g < 2)
 * from `moments` when given. */
typedef struct FlatSource {
    const float *bufs[3];
    const MomentSource *moments;
} FlatSource;

static size_t flat_get(void *ctx, int g, size_t first, size_t n, const float **out) {
    const FlatSource *f = ctx;
    if (g < 2 && f->moments) return f->moments->get(f->moments->ctx, g, first, n, out);
    *out = f->bufs[g] + first;
    return n;
}

/* exp_avg.*, exp_avg_sq.* and, when `master` is given (the model file is not f32), master.*:
 * the f32 parameters, so that resuming is exact whatever dtype the model folder holds. */
static int write_moments(const char *path, const AdamW *opt, const MomentSource *moments, const float *master,
                         int fault_half, Err *e) {
    static const char *const prefix[3] = {"exp_avg", "exp_avg_sq", "master"};
    static const int trainable[3] = {1, 1, 0};
    FlatSource f = {{opt->m, opt->v, master}, moments};
    if (!moments) CHECK(opt->mom_first == 0 && opt->mom_n == opt->pt->total);   /* all the moments */
    MomentSource data = {flat_get, &f};
    return write_table_tensors(path, opt->pt, master ? 3 : 2, prefix, trainable, &data, fault_half, e);
}

/* ---- reading safetensors files laid out by a table ---- */

static int pread_full(int fd, void *buf, size_t n, uint64_t at) {
    for (size_t done = 0; done < n;) {
        ssize_t got = pread(fd, (char *)buf + done, n - done, (off_t)(at + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        done += (size_t)got;
    }
    return 0;
}

/* Opens a safetensors file: fd, the parsed header, where the data starts and how long it is. */
static int st_open(const char *path, int *fd_out, cJSON **header, uint64_t *data0, uint64_t *data_len, Err *e) {
    *header = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(e, "%s: %s", path, strerror(errno));
    struct stat st;
    uint64_t hlen = 0;
    if (fstat(fd, &st) != 0 || pread(fd, &hlen, 8, 0) != 8 || hlen > (uint64_t)st.st_size - 8 || hlen > (64u << 20)) {
        close(fd);
        return err_set(e, "%s: not a safetensors file (bad header length)", path);
    }
    char *hbuf = xmalloc(hlen + 1);
    int rc = 0;
    Err je;
    if (pread_full(fd, hbuf, hlen, 8) != 0) rc = err_set(e, "%s: truncated header", path);
    else if (!(*header = json_parse_n(hbuf, hlen, &je))) rc = err_set(e, "%s: header: %s", path, je.msg);
    free(hbuf);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *data0 = 8 + hlen;
    *data_len = (uint64_t)st.st_size - *data0;
    return 0;
}

enum { NOT_IN_FILE = -1 };

/* Where "<prefix>.<name>" (or the name) of every tensor (all) or every trainable one starts in the
 * file, into at[pt->n] (NOT_IN_FILE for the others), each checked: F32, the table's shape, its
 * data inside the file. */
static int st_index(const char *path, const cJSON *j, uint64_t data0, uint64_t data_len, const ParamTable *pt,
                    const char *prefix, int all, int64_t *at, Err *e) {
    char key[160];
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        at[i] = NOT_IN_FILE;
        if (!all && !param_is_trainable(p)) continue;
        if (prefix) snprintf(key, sizeof key, "%s.%s", prefix, p->name);
        else snprintf(key, sizeof key, "%s", p->name);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, key);
        const cJSON *dt = t ? cJSON_GetObjectItemCaseSensitive(t, "dtype") : NULL;
        const cJSON *sh = t ? cJSON_GetObjectItemCaseSensitive(t, "shape") : NULL;
        const cJSON *of = t ? cJSON_GetObjectItemCaseSensitive(t, "data_offsets") : NULL;
        if (!t) return err_set(e, "%s: tensor '%s' missing", path, key);
        if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32"))
            return err_set(e, "%s: tensor '%s': dtype must be F32", path, key);
        int ok = cJSON_IsArray(sh) && cJSON_GetArraySize(sh) == p->ndim;
        for (int d = 0; ok && d < p->ndim; d++) ok = cJSON_GetArrayItem(sh, d)->valuedouble == (double)p->shape[d];
        if (!ok) return err_set(e, "%s: tensor '%s': shape does not match the config", path, key);
        if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
            return err_set(e, "%s: tensor '%s': bad data_offsets", path, key);
        uint64_t a = (uint64_t)cJSON_GetArrayItem(of, 0)->valuedouble, b = (uint64_t)cJSON_GetArrayItem(of, 1)->valuedouble;
        if (b < a || b - a != (uint64_t)p->numel * 4 || b > data_len)
            return err_set(e, "%s: tensor '%s': data_offsets outside the file (truncated?)", path, key);
        at[i] = (int64_t)(data0 + a);
    }
    return 0;
}

/* Elements [first, first + n) of the table into dst [n] from the tensors of at[] (indexed with
 * st_index); elements of other tensors are left as they are. */
static int st_read_range(int fd, const char *path, const ParamTable *pt, const char *prefix, const int64_t *at,
                         size_t first, size_t n, float *dst, Err *e) {
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        size_t lo = p->offset > first ? p->offset : first;
        size_t hi = p->offset + p->numel < first + n ? p->offset + p->numel : first + n;
        if (at[i] == NOT_IN_FILE || lo >= hi) continue;
        if (pread_full(fd, dst + (lo - first), (hi - lo) * 4, (uint64_t)at[i] + (lo - p->offset) * 4) != 0)
            return err_set(e, "%s: tensor '%s%s%s': read failed", path, prefix ? prefix : "", prefix ? "." : "", p->name);
    }
    return 0;
}

/* Reads F32 tensors "<prefix>.<name>" of a safetensors file into dst (laid out by the table),
 * for every trainable tensor (moments) or every tensor (params). The header is checked against
 * the file size and the table's shapes. */
static int read_tensors(const char *path, const ParamTable *pt, const char *prefix, int all, float *dst, Err *e) {
    int fd;
    cJSON *j;
    uint64_t data0, data_len;
    if (st_open(path, &fd, &j, &data0, &data_len, e) != 0) return -1;
    int64_t *at = xmalloc(sizeof(int64_t) * (size_t)(pt->n > 0 ? pt->n : 1));
    int rc = st_index(path, j, data0, data_len, pt, prefix, all, at, e);
    if (rc == 0) rc = st_read_range(fd, path, pt, prefix, at, 0, pt->total, dst, e);
    free(at);
    cJSON_Delete(j);
    close(fd);
    return rc;
}

int checkpoint_moments_open(MomentReader *mr, const char *dir, const ParamTable *pt, Err *e) {
    memset(mr, 0, sizeof *mr);
    mr->fd = -1;
    mr->pt = pt;
    snprintf(mr->path, sizeof mr->path, "%s/trainer_state/optimizer.safetensors", dir);
    cJSON *j;
    uint64_t data0, data_len;
    if (st_open(mr->path, &mr->fd, &j, &data0, &data_len, e) != 0) return -1;
    mr->at = xmalloc(sizeof(int64_t) * 2 * (size_t)(pt->n > 0 ? pt->n : 1));
    int rc = st_index(mr->path, j, data0, data_len, pt, "exp_avg", 0, mr->at, e);
    if (rc == 0) rc = st_index(mr->path, j, data0, data_len, pt, "exp_avg_sq", 0, mr->at + pt->n, e);
    cJSON_Delete(j);
    if (rc != 0) checkpoint_moments_close(mr);
    return rc;
}

int checkpoint_moments_read(MomentReader *mr, int g, size_t first, size_t n, float *dst, Err *e) {
    CHECK((g == 0 || g == 1) && first + n <= mr->pt->total);
    memset(dst, 0, n * sizeof *dst);
    return st_read_range(mr->fd, mr->path, mr->pt, g ? "exp_avg_sq" : "exp_avg", mr->at + g * mr->pt->n, first, n,
                         dst, e);
}

void checkpoint_moments_close(MomentReader *mr) {
    if (mr->fd >= 0) close(mr->fd);
    free(mr->at);
    mr->fd = -1;
    mr->at = NULL;
}

/* ---- the model folder ---- */

int checkpoint_write_model_folder(const char *dir, const CkptModel *cm, Err *e) {
    char path[4096];
    /* config, weights (+MTP copies), generation config */
    if ((cm->write ? cm->write(cm->ctx, dir, e) : model_write_dir(cm->m, dir, e)) != 0) return -1;
    for (int i = 0; i < cm->n_files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, cm->files[i].name);
        if (copy_file(cm->files[i].src, path, e) != 0) return -1;
    }
    static const char *const written[] = {"config.json", "model.safetensors", "generation_config.json"};
    for (size_t i = 0; i < sizeof written / sizeof *written; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, written[i]);
        if (file_exists(path) && fsync_path(path, e) != 0) return -1;
    }
    return file_fsync_dir(dir, e);
}

/* ---- save ---- */

static int add_file_entry(cJSON *files, const char *dir, const char *rel, Err *e) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    uint64_t h, n;
    if (file_hash64(path, &h, &n, e) != 0) return -1;
    char hex[24];
    snprintf(hex, sizeof hex, "%016" PRIx64, h);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "path", rel);
    cJSON_AddNumberToObject(f, "size", (double)n);
    cJSON_AddStringToObject(f, "hash", hex);
    cJSON_AddItemToArray(files, f);
    return 0;
}

int checkpoint_save(const char *root, const CkptModel *cm, const AdamW *opt, const MomentSource *moments,
                    const TrainerState *st, int fault, char *dir_out, size_t dir_cap, Err *e) {
    const Model *m = cm->m;
    char tmp[4096], fin[4096], old[4096], path[4200];
    snprintf(tmp, sizeof tmp, "%s/.tmp-step-%" PRId64, root, st->step);
    snprintf(fin, sizeof fin, "%s/step-%" PRId64, root, st->step);
    snprintf(old, sizeof old, "%s/.old-step-%" PRId64, root, st->step);
    if (file_remove_tree(tmp, e) != 0 || file_mkdirs(tmp, e) != 0) return -1;
    int rc = checkpoint_write_model_folder(tmp, cm, e);
    if (rc == 0 && fault == 1) rc = err_set(e, "%s: write failed: simulated failure after the model folder", tmp);
    snprintf(path, sizeof path, "%s/trainer_state", tmp);
    if (rc == 0) rc = file_mkdirs(path, e);
    snprintf(path, sizeof path, "%s/trainer_state/optimizer.safetensors", tmp);
    const int f32 = !strcmp(m->cfg.torch_dtype, "float32");
    if (rc == 0) rc = write_moments(path, opt, moments, f32 ? NULL : m->params, fault == 2, e);
    cJSON *state = NULL;
    if (rc == 0) {
        state = cJSON_CreateObject();
        cJSON_AddNumberToObject(state, "version", STATE_VERSION);
        cJSON_AddNumberToObject(state, "step", (double)st->step);
        cJSON_AddNumberToObject(state, "adamw_step", (double)opt->t);
        cJSON_AddNumberToObject(state, "skipped", (double)st->skipped);
        cJSON_AddNumberToObject(state, "train_tokens", (double)st->train_tokens);
        cJSON_AddItemToObject(state, "options", cJSON_Duplicate(st->options, 1));
        cJSON_AddItemToObject(state, "trainer", st->trainer ? cJSON_Duplicate(st->trainer, 1) : cJSON_CreateObject());
        cJSON *files = cJSON_AddArrayToObject(state, "files");
        static const char *const mine[] = {"config.json", "model.safetensors",
                                           "trainer_state/optimizer.safetensors"};
        for (size_t i = 0; rc == 0 && i < sizeof mine / sizeof *mine; i++) rc = add_file_entry(files, tmp, mine[i], e);
        for (int i = 0; rc == 0 && i < cm->n_files; i++) rc = add_file_entry(files, tmp, cm->files[i].name, e);
    }
    snprintf(path, sizeof path, "%s/trainer_state/state.json", tmp);
    if (rc == 0) rc = json_save_file(state, path, e);
    cJSON_Delete(state);
    snprintf(path, sizeof path, "%s/trainer_state", tmp);
    if (rc == 0) rc = file_fsync_dir(path, e);
    if (rc == 0) rc = file_fsync_dir(tmp, e);
    if (rc == 0 && fault == 3) rc = err_set(e, "%s: simulated failure before the rename", tmp);
    if (rc == 0 && file_exists(fin)) {   /* re-saving a step (e.g. resumed and stopped again) */
        if (file_remove_tree(old, e) != 0 || rename(fin, old) != 0) rc = err_set(e, "%s: cannot replace: %s", fin, strerror(errno));
    }
    if (rc == 0 && rename(tmp, fin) != 0) rc = err_set(e, "%s: rename failed: %s", fin, strerror(errno));
    if (rc == 0) rc = file_fsync_dir(root, e);
    if (rc != 0) {
        Err ignore;
        file_remove_tree(tmp, &ignore);   /* best effort: a leftover .tmp folder is never read */
        return -1;
    }
    Err ignore;
    file_remove_tree(old, &ignore);
    if (dir_out) snprintf(dir_out, dir_cap, "%s", fin);
    return 0;
}

/* ---- find, read, load, prune ---- */

static int parse_step_name(const char *name, int64_t *step) {
    if (strncmp(name, "step-", 5) || !name[5]) return 0;
    char *end;
    long long v = strtoll(name + 5, &end, 10);
    if (*end || v < 0) return 0;
    *step = v;
    return 1;
}

/* Steps of complete checkpoints (with trainer_state/state.json), ascending. Caller frees. */
static int list_steps(const char *root, int64_t **out, int *n_out, Err *e) {
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(root);
    if (!d) {
        if (errno == ENOENT) return 0;
        return err_set(e, "%s: %s", root, strerror(errno));
    }
    int n = 0, cap = 16;
    int64_t *v = xmalloc((size_t)cap * sizeof *v);
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        int64_t s;
        if (!parse_step_name(de->d_name, &s)) continue;
        snprintf(path, sizeof path, "%s/%s/trainer_state/state.json", root, de->d_name);
        if (!file_exists(path)) continue;
        if (n == cap) { cap *= 2; v = xrealloc(v, (size_t)cap * sizeof *v); }
        v[n++] = s;
    }
    closedir(d);
    for (int i = 1; i < n; i++)   /* insertion sort: few entries */
        for (int k = i; k > 0 && v[k - 1] > v[k]; k--) { int64_t t = v[k]; v[k] = v[k - 1]; v[k - 1] = t; }
    *out = v;
    *n_out = n;
    return 0;
}

int checkpoint_latest(const char *root, char *dir, size_t cap, int64_t *step, Err *e) {
    int64_t *v;
    int n;
    if (list_steps(root, &v, &n, e) != 0) return -1;
    int found = n > 0;
    if (found) {
        *step = v[n - 1];
        snprintf(dir, cap, "%s/step-%" PRId64, root, v[n - 1]);
    }
    free(v);
    return found;
}

int checkpoint_in_run(const char *out_dir) {
    char root[4200], dir[4300];
    snprintf(root, sizeof root, "%s/checkpoints", out_dir);
    int64_t step;
    Err ignore;
    return checkpoint_latest(root, dir, sizeof dir, &step, &ignore) == 1;
}

int checkpoint_prune(const char *root, int keep, Err *e) {
    DIR *d = opendir(root);
    char path[4096];
    if (d) {   /* leftovers of interrupted saves */
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strncmp(de->d_name, ".tmp-step-", 10) && strncmp(de->d_name, ".old-step-", 10)) continue;
            snprintf(path, sizeof path, "%s/%s", root, de->d_name);
            Err ignore;
            file_remove_tree(path, &ignore);
        }
        closedir(d);
    }
    if (keep <= 0) return 0;
    int64_t *v;
    int n;
    if (list_steps(root, &v, &n, e) != 0) return -1;
    int rc = 0;
    char gone[4096];
    for (int i = 0; rc == 0 && i < n - keep; i++) {
        /* renamed away first, so a kill during the removal never leaves a half-deleted step-N */
        snprintf(path, sizeof path, "%s/step-%" PRId64, root, v[i]);
        snprintf(gone, sizeof gone, "%s/.old-step-%" PRId64, root, v[i]);
        if (file_remove_tree(gone, e) != 0) { rc = -1; break; }
        if (rename(path, gone) != 0) { rc = err_set(e, "%s: cannot remove: %s", path, strerror(errno)); break; }
        rc = file_remove_tree(gone, e);
    }
    free(v);
    return rc;
}

static int get_i64(const cJSON *j, const char *key, int64_t *out, const char *where, Err *e) {
    if (json_get_int(j, key, 1, out, e) < 0) return err_prefix(e, "%s", where);
    return 0;
}

int checkpoint_read_state(const char *dir, TrainerState *st, Err *e) {
    memset(st, 0, sizeof *st);
    char path[4200];
    snprintf(path, sizeof path, "%s/trainer_state/state.json", dir);
    cJSON *j = json_load_file(path, e);
    if (!j) return -1;
    int64_t version = 0;
    int rc = get_i64(j, "version", &version, path, e);
    if (rc == 0 && version != STATE_VERSION) rc = err_set(e, "%s: version %" PRId64 " (expected %d)", path, version, STATE_VERSION);
    if (rc == 0) rc = get_i64(j, "step", &st->step, path, e);
    if (rc == 0) rc = get_i64(j, "adamw_step", &st->adamw_t, path, e);
    if (rc == 0) rc = get_i64(j, "skipped", &st->skipped, path, e);
    if (rc == 0 && json_get_int(j, "train_tokens", 0, &st->train_tokens, e) < 0) rc = err_prefix(e, "%s", path);
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(j, "options");
    const cJSON *trainer = cJSON_GetObjectItemCaseSensitive(j, "trainer");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    if (rc == 0 && (!cJSON_IsObject(opts) || !cJSON_IsObject(trainer) || !cJSON_IsArray(files)))
        rc = err_set(e, "%s: keys 'options', 'trainer' and 'files' required", path);
    const cJSON *f;
    int n_files = 0;
    if (rc == 0) cJSON_ArrayForEach(f, files) {
        const char *rel = NULL, *hex = NULL;
        int64_t size = 0;
        if (json_get_string(f, "path", 1, &rel, e) < 0 || json_get_string(f, "hash", 1, &hex, e) < 0 ||
            json_get_int(f, "size", 1, &size, e) < 0) { rc = err_prefix(e, "%s: files", path); break; }
        if (strstr(rel, "..")) { rc = err_set(e, "%s: files: bad path '%s'", path, rel); break; }
        char fp[4400];
        snprintf(fp, sizeof fp, "%s/%s", dir, rel);
        struct stat sb;
        if (stat(fp, &sb) != 0) { rc = err_set(e, "%s: missing (%s)", fp, strerror(errno)); break; }
        if ((int64_t)sb.st_size != size) {
            rc = err_set(e, "%s: %s (%lld bytes, the checkpoint recorded %lld): refusing this checkpoint",
                         fp, (int64_t)sb.st_size < size ? "truncated" : "wrong size",
                         (long long)sb.st_size, (long long)size);
            break;
        }
        uint64_t h, n;
        if (file_hash64(fp, &h, &n, e) != 0) { rc = -1; break; }
        char got[24];
        snprintf(got, sizeof got, "%016" PRIx64, h);
        if (strcmp(got, hex)) {
            rc = err_set(e, "%s: contents altered since the checkpoint was written (hash %s, recorded %s): "
                            "refusing this checkpoint", fp, got, hex);
            break;
        }
        n_files++;
    }
    if (rc == 0 && n_files < 3) rc = err_set(e, "%s: files: incomplete list", path);
    if (rc == 0) {
        st->options = cJSON_Duplicate(opts, 1);
        st->trainer = cJSON_Duplicate(trainer, 1);
    }
    cJSON_Delete(j);
    return rc;
}

int checkpoint_load_params(const char *dir, Model *m, Err *e) {
    char path[4200];
    /* model.safetensors when it holds f32, else the master copy */
    const int f32 = !strcmp(m->cfg.torch_dtype, "float32");
    snprintf(path, sizeof path, f32 ? "%s/model.safetensors" : "%s/trainer_state/optimizer.safetensors", dir);
    return read_tensors(path, &m->table, f32 ? NULL : "master", 1, m->params, e);
}

int checkpoint_load(const char *dir, Model *m, AdamW *opt, const TrainerState *st, Err *e) {
    CHECK(opt->mom_first == 0 && opt->mom_n == opt->pt->total);
    if (checkpoint_load_params(dir, m, e) != 0) return -1;
    MomentReader mr;
    if (checkpoint_moments_open(&mr, dir, opt->pt, e) != 0) return -1;
    int rc = checkpoint_moments_read(&mr, 0, 0, opt->mom_n, opt->m, e);
    if (rc == 0) rc = checkpoint_moments_read(&mr, 1, 0, opt->mom_n, opt->v, e);
    checkpoint_moments_close(&mr);
    opt->t = st->adamw_t;
    return rc;
}
