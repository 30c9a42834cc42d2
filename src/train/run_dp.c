/* The run engine across ranks (run_dp.h). */
#include "train/run_dp.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/clock.h"
#include "base/strbuf.h"
#include "base/threads.h"
#include "io/json.h"
#include "train/clip.h"
#include "train/moment_stream.h"

static int multi(const Run *r) { return dist_ranks(r->dist) > 1; }
static int sharded(const Run *r) { return multi(r) && r->o->zero_stage == 1; }

int run_is_root(const Run *r) { return dist_rank(r->dist) == 0; }

void run_dp_threads(const Run *r) {
    const RunOptions *o = r->o;
    if (o->threads > 0) {
        threads_set(o->threads);
    } else if (r->dist && r->dist->local_size > 1 && !getenv("R1_THREADS")) {
        int n = omp_get_num_procs() / r->dist->local_size;
        threads_set(n > 0 ? n : 1);
    }
}

int run_dp_share_resume(Run *r, Err *e) {
    if (!multi(r)) return 0;
    char *text = NULL;
    if (run_is_root(r) && r->resume_dir[0]) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "dir", r->resume_dir);
        cJSON_AddNumberToObject(j, "step", (double)r->resume.step);
        cJSON_AddNumberToObject(j, "adamw_t", (double)r->resume.adamw_t);
        cJSON_AddNumberToObject(j, "skipped", (double)r->resume.skipped);
        cJSON_AddNumberToObject(j, "train_tokens", (double)r->resume.train_tokens);
        cJSON_AddItemToObject(j, "options", cJSON_Duplicate(r->resume.options, 1));
        if (r->resume.trainer) cJSON_AddItemToObject(j, "trainer", cJSON_Duplicate(r->resume.trainer, 1));
        text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
    }
    char *got = dist_bcast_string(r->dist, text);
    free(text);
    if (!got || run_is_root(r)) {
        free(got);
        return 0;
    }
    cJSON *j = json_parse_n(got, strlen(got), e);
    free(got);
    if (!j) return -1;
    const char *dir = "";
    json_get_string(j, "dir", 1, &dir, e);
    snprintf(r->resume_dir, sizeof r->resume_dir, "%s", dir);
    json_get_int(j, "step", 1, &r->resume.step, e);
    json_get_int(j, "adamw_t", 1, &r->resume.adamw_t, e);
    json_get_int(j, "skipped", 1, &r->resume.skipped, e);
    json_get_int(j, "train_tokens", 1, &r->resume.train_tokens, e);
    r->resume.options = cJSON_DetachItemFromObjectCaseSensitive(j, "options");
    r->resume.trainer = cJSON_DetachItemFromObjectCaseSensitive(j, "trainer");
    cJSON_Delete(j);
    return 0;
}

void run_dp_init_optimizer(Run *r) {
    const ParamTable *pt = &r->m->table;
    if (multi(r)) dp_shards_init(&r->shards, r->dist, pt);
    if (sharded(r)) adamw_init_shard(&r->opt, pt, &r->optim->adamw, r->shards.c_lo, r->shards.c_hi);
    else adamw_init(&r->opt, pt, &r->optim->adamw);
}

int run_dp_load(Run *r, Err *e) {
    Model *m = r->m;
    if (!multi(r)) return checkpoint_load(r->resume_dir, m, &r->opt, &r->resume, e);
    if (!sharded(r)) {
        int rc = run_is_root(r) ? checkpoint_load(r->resume_dir, m, &r->opt, &r->resume, e) : 0;
        if (dist_bcast_status(r->dist, rc, e) != 0) return -1;
        dist_bcast(r->dist, m->params, m->table.total * sizeof(real), 0);
        dist_bcast(r->dist, r->opt.m, r->opt.mom_n * sizeof(float), 0);
        dist_bcast(r->dist, r->opt.v, r->opt.mom_n * sizeof(float), 0);
        r->opt.t = r->resume.adamw_t;
        return 0;
    }
    /* ZeRO-1: rank 0 reads the moments shard by shard and sends each to its owner */
    MomentReader mr = {.fd = -1};
    int rc = 0;
    if (run_is_root(r)) {
        rc = checkpoint_load_params(r->resume_dir, m, e);
        if (rc == 0) rc = checkpoint_moments_open(&mr, r->resume_dir, &m->table, e);
    }
    if (dist_bcast_status(r->dist, rc, e) != 0) return -1;
    dist_bcast(r->dist, m->params, m->table.total * sizeof(real), 0);
    rc = moment_stream_load(r->dist, &r->opt, &mr, e);
    if (run_is_root(r)) checkpoint_moments_close(&mr);
    if (dist_bcast_status(r->dist, rc, e) != 0) return -1;
    r->opt.t = r->resume.adamw_t;
    return 0;
}

/* ---- the update ---- */

double run_dp_reduce(Run *r, double scale) {
    if (!multi(r)) return grad_global_norm(&r->opt.chunks, r->grads, scale, r->partial);
    const double t0 = clock_now();
    CHECKF(r->n_leaves > 0, "%s: run_update without run_leaves under %d ranks", r->t->name, dist_ranks(r->dist));
    DpShards *s = &r->shards;
    dp_reduce_scatter(s, r->grads, r->n_leaves);
    const ModelConfig *c = &r->m->cfg;
    if (c->n_routed_experts > 0)
        dist_sum_i64(r->dist, r->counts, (size_t)(c->num_hidden_layers + c->num_nextn_predict_layers) *
                                             (size_t)c->n_routed_experts);
    /* the owners' per-chunk sums of squares, added by everyone in chunk order (clip.h) */
    ParamChunks own = {s->pc.c + s->c_lo, s->c_hi - s->c_lo, 0};
    grad_global_norm(&own, r->grads, 1.0, r->partial + s->c_lo);
    size_t tot;
    double *parts = dist_allgather(r->dist, r->partial + s->c_lo, sizeof(double) * (size_t)own.n, &tot, NULL);
    /* the ranks' shards in rank order are not in chunk order: place each by its range */
    int range[2] = {s->c_lo, s->c_hi};
    int *ranges = dist_allgather(r->dist, range, sizeof range, &tot, NULL);
    size_t at = 0;
    for (int k = 0; k < dist_ranks(r->dist); k++) {
        int n = ranges[2 * k + 1] - ranges[2 * k];
        memcpy(r->partial + ranges[2 * k], parts + at, sizeof(double) * (size_t)n);
        at += (size_t)n;
    }
    free(parts);
    free(ranges);
    double total = 0;
    for (int k = 0; k < s->pc.n; k++) total += r->partial[k];
    r->comm_seconds += clock_now() - t0;
    return sqrt(total) * fabs(scale);
}

void run_dp_apply(Run *r, double scale) {
    if (!multi(r)) {
        adamw_step_and_zero(&r->opt, r->m->params, r->grads, r->lr, scale);
        return;
    }
    const double t0 = clock_now();
    if (sharded(r)) {
        adamw_step(&r->opt, r->m->params, r->grads, r->lr, scale);
        dp_allgather(&r->shards, r->m->params);
    } else {
        dp_allgather(&r->shards, r->grads);
        adamw_step(&r->opt, r->m->params, r->grads, r->lr, scale);
    }
    memset(r->grads, 0, r->m->table.total * sizeof(real));
    r->n_leaves = 0;
    r->comm_seconds += clock_now() - t0;
}

const MomentSource *run_dp_moments_begin(Run *r, MomentStream *ms) {
    memset(ms, 0, sizeof *ms);
    return sharded(r) ? moment_stream_save(ms, r->dist, &r->opt) : NULL;
}

void run_dp_moments_end(Run *r, MomentStream *ms) {
    if (sharded(r)) moment_stream_end(ms);
}

/* Rank 0: the ranks' memory into out/memory.json. */
static int write_memory(const Run *r, const double *all, Err *e) {
    const int ranks = dist_ranks(r->dist);
    cJSON *j = cJSON_CreateObject(), *per = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "ranks", ranks);
    cJSON_AddNumberToObject(j, "zero_stage", r->o->zero_stage);
    cJSON_AddNumberToObject(j, "moment_bytes_one_process", 2.0 * sizeof(float) * (double)r->m->table.total);
    for (int k = 0; k < ranks; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "peak_rss_bytes", all[2 * k]);
        cJSON_AddNumberToObject(o, "moment_bytes", all[2 * k + 1]);
        cJSON_AddItemToArray(per, o);
    }
    cJSON_AddItemToObject(j, "per_rank", per);
    char path[4200];
    snprintf(path, sizeof path, "%s/memory.json", r->o->out_dir);
    int rc = json_save_file(j, path, e);
    cJSON_Delete(j);
    return rc;
}

int run_dp_report_memory(Run *r, Err *e) {
    if (!multi(r)) return 0;
    /* the moments this rank holds (ZeRO-1: its shard's) and its peak resident memory */
    double mine[2] = {(double)mem_peak_rss(), 2.0 * sizeof(float) * (double)r->opt.mom_n};
    size_t tot;
    double *all = dist_allgather(r->dist, mine, sizeof mine, &tot, NULL);
    int rc = 0;
    if (run_is_root(r)) {
        StrBuf rss = {0}, mom = {0};
        for (int k = 0; k < dist_ranks(r->dist); k++) {
            sb_printf(&rss, "%s%.1f", k ? ", " : "", all[2 * k] / (1 << 20));
            sb_printf(&mom, "%s%.2f", k ? ", " : "", all[2 * k + 1] / (1 << 20));
        }
        run_note(r, "%s: %d ranks (ZeRO-%d): peak resident memory per rank %s MiB; AdamW moments per rank %s MiB "
                 "(one process: %.2f MiB)", r->t->name, dist_ranks(r->dist), r->o->zero_stage, rss.s, mom.s,
                 2.0 * sizeof(float) * (double)r->m->table.total / (1 << 20));
        sb_free(&rss);
        sb_free(&mom);
        if (r->root[0]) rc = write_memory(r, all, e);   /* (a run on disk: root is OUT/checkpoints) */
    }
    free(all);
    return dist_agree(r->dist, rc, e);
}

/* ---- the leaves of a step, shared work ---- */

void run_share(const Run *r, int64_t n, int64_t *lo, int64_t *hi) {
    dist_tree_range(n, dist_ranks(r->dist), dist_rank(r->dist), lo, hi);
}

void run_gather(Run *r, int64_t n, double *v, int per) {
    if (!multi(r) || per <= 0) return;
    const double t0 = clock_now();
    int64_t lo, hi;
    run_share(r, n, &lo, &hi);
    size_t tot;
    double *all = dist_allgather(r->dist, v + lo * per, sizeof(double) * (size_t)((hi - lo) * per), &tot, NULL);
    CHECK(tot == sizeof(double) * (size_t)(n * per));
    memcpy(v, all, tot);
    free(all);
    r->comm_seconds += clock_now() - t0;
}

double run_gather_mean(Run *r, int64_t n, double *v) {
    run_gather(r, n, v, 2);
    double sum = 0, count = 0;
    for (int64_t k = 0; k < n; k++) {
        sum += v[2 * k];
        count += v[2 * k + 1];
    }
    return count > 0 ? sum / count : NAN;
}

typedef struct LeafCall {
    Run *r;
    RunLeafFn fn;
    void *ctx;
    double *stats;
    int n_stats;
} LeafCall;

static int leaf_call(void *ctx, int64_t leaf, real *grads, Err *e) {
    LeafCall *c = ctx;
    return c->fn(c->ctx, c->r, leaf, grads, c->stats ? c->stats + leaf * c->n_stats : NULL, e);
}

int run_leaves(Run *r, int64_t n, RunLeafFn fn, void *ctx, double *stats, int n_stats, Err *e) {
    CHECK(n >= 1 && (stats || n_stats == 0));
    int64_t lo, hi;
    run_share(r, n, &lo, &hi);
    LeafCall c = {r, fn, ctx, stats, n_stats};
    int rc = hi > lo ? dp_tree(&r->pool, r->m->table.total, lo, hi, r->grads, leaf_call, &c, e) : 0;
    if (dist_agree(r->dist, rc, e) != 0) return -1;
    r->n_leaves = n;
    run_gather(r, n, stats, n_stats);
    return 0;
}
