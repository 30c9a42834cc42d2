/* The run engine's folder, checkpoints, metrics and progress line (run_io.h). */
#include "train/run_io.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"
#include "io/metrics.h"

int run_io_open_folder(Run *r, Err *e) {
    const RunOptions *o = r->o;
    char f[64], g[64];
    if (!o->out_dir || !*o->out_dir) {
        if (o->resume) return err_set(e, "%s: needs a run folder (%s)", opt_flag("resume", f, sizeof f), opt_flag("out", g, sizeof g));
        return 0;
    }
    snprintf(r->root, sizeof r->root, "%s/checkpoints", o->out_dir);
    char dir[4096];
    int64_t step = 0;
    int have = checkpoint_latest(r->root, dir, sizeof dir, &step, e);
    if (have < 0) return -1;
    if (o->resume && !have)
        return err_set(e, "%s: %s: no checkpoint to resume from", r->root, opt_flag("resume", f, sizeof f));
    if (!o->resume && have)
        return err_set(e, "%s: holds checkpoints of an earlier run: pass %s to continue it, or choose another %s",
                       r->root, opt_flag("resume", f, sizeof f), opt_flag("out", g, sizeof g));
    if (!have) return 0;
    snprintf(r->resume_dir, sizeof r->resume_dir, "%s", dir);
    if (checkpoint_read_state(dir, &r->resume, e) != 0) return -1;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(r->resume.options, "command");
    if (!cJSON_IsString(cmd) || strcmp(cmd->valuestring, r->t->name) != 0)
        return err_set(e, "%s: a checkpoint of an `r1 %s` run, not of `r1 %s`", dir,
                       cJSON_IsString(cmd) ? cmd->valuestring : "?", r->t->name);
    return optset_check_same(r->t->options, r->t->opts, r->resume.options, dir, e);
}

int run_io_open_metrics(Run *r, Err *e) {
    if (!r->root[0]) return 0;
    if (file_mkdirs(r->root, e) != 0) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->o->out_dir);
    /* a kill between a save and its pruning leaves one checkpoint too many (and maybe a .tmp) */
    if (r->resume_dir[0] && (checkpoint_prune(r->root, r->o->keep, e) != 0 || metrics_truncate(path, r->step, e) != 0))
        return -1;
    r->metrics = fopen(path, r->resume_dir[0] ? "a" : "w");
    if (!r->metrics) return err_set(e, "%s: %s", path, strerror(errno));
    return 0;
}

void run_io_close(Run *r) {
    if (r->metrics) fclose(r->metrics);
    r->metrics = NULL;
}

static CkptModel ckpt_model(const Run *r) {
    return (CkptModel){r->m, r->t->write_model, r->t->ctx, r->files, r->n_files};
}

/* -1 naming the step and the first tensor when the weights hold a NaN or an Inf. */
static int check_finite_weights(const Run *r, Err *e) {
    const ParamTable *pt = &r->m->table;
    for (int i = 0; i < pt->n; i++) {
        const real *w = r->m->params + pt->t[i].offset;
        for (size_t k = 0; k < pt->t[i].numel; k++)
            if (!isfinite(w[k]))
                return err_set(e, "step %lld: the weights hold %s (%s[%lld]); no checkpoint written, the latest "
                                  "one is the last good state", (long long)r->step, isnan(w[k]) ? "NaN" : "Inf",
                               pt->t[i].name, (long long)k);
    }
    return 0;
}

int run_io_save(Run *r, const MomentSource *moments, Err *e) {
    r->saved_step = r->step;
    if (!r->root[0]) return 0;
    if (check_finite_weights(r, e) != 0) return -1;
    TrainerState st = {.step = r->step, .skipped = r->skipped, .train_tokens = r->train_tokens,
                       .options = optset_to_json(r->t->options, r->t->opts, OPT_MATH | OPT_LENGTH),
                       .trainer = cJSON_CreateObject()};
    cJSON_AddStringToObject(st.options, "command", r->t->name);
    if (r->t->save_state) r->t->save_state(r->t->ctx, st.trainer);
    r->saves++;
    CkptModel cm = ckpt_model(r);
    char dir[4096];
    int rc = checkpoint_save(r->root, &cm, &r->opt, moments, &st, r->o->ckpt_fault == r->saves ? 2 : 0, dir, sizeof dir, e);
    trainer_state_free(&st);
    if (rc != 0)
        return err_prefix(e, "checkpoint at step %lld (the previous checkpoint is intact)", (long long)r->step);
    if (checkpoint_prune(r->root, r->o->keep, e) != 0) return -1;
    run_note(r, "checkpoint: %s", dir);
    return 0;
}

void run_io_metrics_line(Run *r, const char *fields, int skipped) {
    if (!r->metrics || r->metrics_errno) return;
    errno = 0;
    fprintf(r->metrics, "{\"step\": %lld%s%s, \"train_tokens\": %lld}\n", (long long)r->step, fields ? fields : "",
            skipped ? ", \"skipped\": true" : "", (long long)r->train_tokens);
    if (fflush(r->metrics) != 0 || ferror(r->metrics)) r->metrics_errno = errno ? errno : EIO;
}

int run_io_metrics_check(const Run *r, Err *e) {
    if (!r->metrics_errno) return 0;
    return err_set(e, "%s/metrics.jsonl: write failed: %s (the latest checkpoint is intact)", r->o->out_dir,
                   strerror(r->metrics_errno));
}

void run_io_progress(Run *r) {
    const RunOptions *o = r->o;
    if (o->quiet || !run_is_root(r)) return;
    int tty = isatty(2);
    if (!tty && o->log_every > 0 && r->step % o->log_every != 0 && r->step != r->total) return;
    int64_t done = r->step - r->first;
    double el = run_elapsed(r), eta = done > 0 ? el / (double)done * (double)(r->total - r->step) : 0;
    fprintf(stderr, "%s%s %lld/%lld  %s  ETA %dm%02ds%s", tty ? "\r" : "", r->t->name, (long long)r->step,
            (long long)r->total, r->summary.s ? r->summary.s : "", (int)(eta / 60), (int)fmod(eta, 60),
            tty ? "   " : "\n");
    fflush(stderr);
    r->progress_open = tty;
}

void run_io_progress_end(Run *r) {
    if (r->progress_open) fputc('\n', stderr);
    r->progress_open = 0;
}

int run_io_final_folder(Run *r, Err *e) {
    if (!r->root[0]) return 0;
    CkptModel cm = ckpt_model(r);
    return checkpoint_write_model_folder(r->o->out_dir, &cm, e);
}
