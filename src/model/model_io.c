/* Model folders in the Hugging Face layout; see model_io.h. */
#include "model/model_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "io/file.h"
#include "io/json.h"
#include "model/gguf_model.h"

#define REAL_ST (REAL_IS_DOUBLE ? ST_F64 : ST_F32)

/* ---- writing ---- */

static StDtype disk_dtype(const ModelConfig *cfg, const ParamInfo *p) {
    if (p->kind == PARAM_ROUTER_BIAS) return ST_F32;   /* F32 in the release too */
    if (!strcmp(cfg->torch_dtype, "bfloat16")) return ST_BF16;
    if (!strcmp(cfg->torch_dtype, "float16")) return ST_F16;
    return ST_F32;
}

static int write_tensors(const char *path, const ModelConfig *cfg, const ParamTable *pt, const real *params, Err *e) {
    const int L = cfg->num_hidden_layers, M = cfg->num_nextn_predict_layers;
    const ParamInfo *embed = param_find(pt, "model.embed_tokens.weight"), *head = param_find(pt, "lm_head.weight");
    if (cfg->tie_word_embeddings) head = embed;
    CHECK(embed && head);
    int cap = pt->n + 2 * M, n = 0;
    StWriteTensor *w = xcalloc((size_t)cap, sizeof *w);
    char (*names)[96] = xcalloc((size_t)(2 * M + 1), sizeof *names);
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        StWriteTensor *t = &w[n++];
        t->name = p->name;
        t->dtype = disk_dtype(cfg, p);
        t->ndim = p->ndim;
        t->shape[0] = p->shape[0];
        t->shape[1] = p->shape[1];
        t->data = params + p->offset;
        t->src_type = REAL_ST;
        /* after an MTP module's last tensor, the copies of the shared embedding and head */
        int k = p->layer - L;
        size_t len = strlen(p->name), sfx = strlen("shared_head.norm.weight");
        if (k >= 0 && k < M && len > sfx && !strcmp(p->name + len - sfx, "shared_head.norm.weight")) {
            const ParamInfo *src[2] = {embed, head};
            const char *what[2] = {"embed_tokens.weight", "shared_head.head.weight"};
            for (int c = 0; c < 2; c++) {
                snprintf(names[2 * k + c], sizeof names[0], "model.layers.%d.%s", p->layer, what[c]);
                StWriteTensor *d = &w[n++];
                d->name = names[2 * k + c];
                d->dtype = disk_dtype(cfg, src[c]);
                d->ndim = 2;
                d->shape[0] = src[c]->shape[0];
                d->shape[1] = src[c]->shape[1];
                d->data = params + src[c]->offset;
                d->src_type = REAL_ST;
            }
        }
    }
    CHECK(n == cap);
    int rc = st_write(path, w, n, e);
    free(names);
    free(w);
    return rc;
}

int model_io_write(const char *dir, const ModelConfig *cfg, const ParamTable *pt, const real *params, Err *e) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (config_save(cfg, path, e)) return -1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (write_tensors(path, cfg, pt, params, e)) return -1;
    cJSON *g = cJSON_CreateObject();
    cJSON_AddNumberToObject(g, "bos_token_id", cfg->bos_token_id);
    cJSON_AddNumberToObject(g, "eos_token_id", cfg->eos_token_id);
    cJSON_AddBoolToObject(g, "do_sample", 1);
    cJSON_AddNumberToObject(g, "temperature", 0.6);
    cJSON_AddNumberToObject(g, "top_p", 0.95);
    cJSON_AddStringToObject(g, "transformers_version", "4.46.3");
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    int rc = json_save_file(g, path, e);
    cJSON_Delete(g);
    return rc;
}

/* Files of an old folder that the new one replaces (or that would contradict it). */
static int replaced_by_save(const char *name) {
    return !strcmp(name, "config.json") || !strcmp(name, "model.safetensors") ||
           !strcmp(name, "generation_config.json") || !strcmp(name, "model.safetensors.index.json") ||
           !fnmatch("model-*.safetensors", name, 0) || !fnmatch("*.tmp", name, 0);
}

/* Hard-links the regular files of `old` that the save does not write into `tmp`. */
static int keep_other_files(const char *old, const char *tmp, Err *e) {
    DIR *d = opendir(old);
    if (!d) return err_set(e, "%s: %s", old, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char from[4600], to[4600];
        snprintf(from, sizeof from, "%s/%s", old, de->d_name);
        snprintf(to, sizeof to, "%s/%s", tmp, de->d_name);
        struct stat st;
        if (lstat(from, &st) != 0) { rc = err_set(e, "%s: %s", from, strerror(errno)); break; }
        if (S_ISDIR(st.st_mode)) {
            rc = err_set(e, "%s: holds the folder '%s'; not replacing it with a model folder", old, de->d_name);
            break;
        }
        if (!S_ISREG(st.st_mode) || replaced_by_save(de->d_name)) continue;
        if (link(from, to) != 0) rc = err_set(e, "%s: cannot keep it in the new folder: %s", from, strerror(errno));
    }
    closedir(d);
    return rc;
}

int model_io_save(const char *dir_arg, const ModelConfig *cfg, const ParamTable *pt, const real *params, Err *e) {
    char tmp[4200], dir[4001];
    size_t dlen = strlen(dir_arg);
    if (dlen > 4000) return err_set(e, "%.64s...: path too long", dir_arg);
    while (dlen > 1 && dir_arg[dlen - 1] == '/') dlen--;   /* "out/" names the folder "out" */
    if (dlen == 0 || (dlen == 1 && dir_arg[0] == '/')) return err_set(e, "'%s': not a model folder path", dir_arg);
    memcpy(dir, dir_arg, dlen);
    dir[dlen] = 0;
    memcpy(tmp, dir, dlen);
    snprintf(tmp + dlen, sizeof tmp - dlen, ".tmp-%ld", (long)getpid());
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) return err_set(e, "%s: exists and is not a folder", dir);
    if (file_remove_tree(tmp, e) || file_mkdirs(tmp, e)) return -1;
    int rc = model_io_write(tmp, cfg, pt, params, e);
    if (rc == 0 && exists) rc = keep_other_files(dir, tmp, e);
    if (rc == 0) rc = file_fsync_dir(tmp, e);
    if (rc == 0) {
        if (exists) {
            /* swap the folders atomically; the old one ends up under tmp and is removed */
            if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) != 0) {
                char old[4200];
                memcpy(old, dir, dlen);
                snprintf(old + dlen, sizeof old - dlen, ".old-%ld", (long)getpid());
                Err ignore;
                file_remove_tree(old, &ignore);
                if (rename(dir, old) != 0) {
                    rc = err_set(e, "%s: cannot replace: %s", dir, strerror(errno));
                } else if (rename(tmp, dir) != 0) {
                    rc = err_set(e, "%s: cannot replace: %s", dir, strerror(errno));
                    rename(old, dir);   /* put the old folder back */
                } else {
                    snprintf(tmp, sizeof tmp, "%s", old);
                }
            }
        } else if (rename(tmp, dir) != 0) {
            rc = err_set(e, "%s: rename failed: %s", dir, strerror(errno));
        }
    }
    if (rc == 0) {
        char *copy = xstrdup(dir);
        rc = file_fsync_dir(dirname(copy), e);
        free(copy);
    }
    Err ignore;
    file_remove_tree(tmp, &ignore);   /* the old folder after a swap, or the failed new one */
    return rc;
}

/* ---- reading ---- */

static int has_layer_tensors(const Safetensors *st, int l) {
    char pre[48];
    int n = snprintf(pre, sizeof pre, "model.layers.%d.", l);
    /* tensors are sorted by name: binary search for the first name >= prefix */
    int lo = 0, hi = st->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(st->t[mid].name, pre) < 0) lo = mid + 1; else hi = mid;
    }
    return lo < st->n && !strncmp(st->t[lo].name, pre, (size_t)n);
}

int model_io_open(const char *dir, ModelConfig *cfg, Safetensors *st, Err *e) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (config_load(cfg, path, e)) return -1;
    if (st_open_folder(st, dir, e)) { st_free(st); return -1; }
    const int L = cfg->num_hidden_layers, M = cfg->num_nextn_predict_layers;
    int any = 0;
    for (int k = 0; k < M && !any; k++) any = has_layer_tensors(st, L + k);
    if (M > 0 && !any) {
        fprintf(stderr, "r1: note: %s: no MTP tensors (model.layers.%d.*) in the folder; loading with num_nextn_predict_layers = 0\n",
                dir, L);
        cfg->num_nextn_predict_layers = 0;
    }
    return 0;
}

static void shape_text(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Copies of a shared tensor: the MTP modules' embed_tokens / lm_head, and a tied lm_head some
 * writers store anyway. Accepted, not loaded. */
static int is_duplicate(const char *name, const ModelConfig *cfg) {
    if (cfg->tie_word_embeddings && !strcmp(name, "lm_head.weight")) return 1;
    int l, end = 0;
    if (sscanf(name, "model.layers.%d.%n", &l, &end) != 1 || end == 0) return 0;
    if (l < cfg->num_hidden_layers || l >= cfg->num_hidden_layers + cfg->num_nextn_predict_layers) return 0;
    return !strcmp(name + end, "embed_tokens.weight") || !strcmp(name + end, "shared_head.head.weight");
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int model_io_read_params(const Safetensors *st, const ModelConfig *cfg, const ParamTable *pt, real *params, Err *e) {
    return model_io_read_params_except(st, cfg, pt, params, NULL, e);
}

int model_io_read_params_except(const Safetensors *st, const ModelConfig *cfg, const ParamTable *pt, real *params,
                                const unsigned char *skip, Err *e) {
    for (int i = 0; i < pt->n; i++) {
        const ParamInfo *p = &pt->t[i];
        const StTensor *t = st_find(st, p->name);
        char want[64], got[160];
        shape_text(want, sizeof want, p->ndim, p->shape);
        if (!t) {
            const char *where = st->n_shards == 1 ? st->shards[0].path : "the model folder";
            return err_set(e, "%s: tensor '%s': missing (config.json implies shape %s)", where, p->name, want);
        }
        int same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == p->shape[d];
        if (!same) {
            shape_text(got, sizeof got, t->ndim, t->shape);
            return err_set(e, "%s: tensor '%s': shape %s, but config.json implies %s", st_path(st, t), p->name, got, want);
        }
        if ((!skip || !skip[i]) && st_read(st, t, params + p->offset, REAL_ST, e)) return -1;
    }
    /* every tensor of the folder must be accounted for */
    const char **names = xmalloc((size_t)(pt->n ? pt->n : 1) * sizeof *names);
    for (int i = 0; i < pt->n; i++) names[i] = pt->t[i].name;
    qsort(names, (size_t)pt->n, sizeof *names, cmp_str_ptr);
    int rc = 0;
    for (int i = 0, j = 0; i < st->n && rc == 0; i++) {
        const char *name = st->t[i].name;
        while (j < pt->n && strcmp(names[j], name) < 0) j++;   /* both sorted by name */
        if (j < pt->n && !strcmp(names[j], name)) continue;
        if (is_duplicate(name, cfg)) continue;
        size_t len = strlen(name), sl = strlen("_scale_inv");
        if (len > sl && !strcmp(name + len - sl, "_scale_inv")) {
            char base[512];
            snprintf(base, sizeof base, "%.*s", (int)(len - sl), name);
            const StTensor *b = st_find(st, base);
            if (b && b->dtype == ST_F8_E4M3) continue;
        }
        rc = err_set(e, "%s: tensor '%s': unexpected (not part of the model config.json describes)", st_path(st, &st->t[i]), name);
    }
    free(names);
    return rc;
}

int model_load_dir(Model *m, const char *dir, Err *e) {
    ModelConfig cfg;
    Safetensors st;
    memset(m, 0, sizeof *m);
    if (model_path_is_gguf(dir)) return model_load_gguf(m, dir, e);
    if (model_io_open(dir, &cfg, &st, e)) return -1;
    model_init(m, &cfg);
    int rc = model_io_read_params(&st, &m->cfg, &m->table, m->params, e);
    st_free(&st);
    if (rc) model_free(m);
    return rc;
}

int model_save_dir(const Model *m, const char *dir, Err *e) {
    return model_io_save(dir, &m->cfg, &m->table, m->params, e);
}

int model_write_dir(const Model *m, const char *dir, Err *e) {
    return model_io_write(dir, &m->cfg, &m->table, m->params, e);
}

int model_path_is_gguf(const char *path) {
    struct stat sb;
    size_t n = strlen(path);
    return n > 5 && !strcmp(path + n - 5, ".gguf") && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}
