/* The training commands' shared CLI (train_cli.h). */
#include "cli/train_cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "io/json.h"
#include "train/checkpoint.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static int was_given(const FlagsGiven *g, const OptSpec *s) {
    for (int i = 0; i < g->n; i++)
        if (g->spec[i] == s) return 1;
    return 0;
}

typedef struct Fill {
    const FlagsGiven *given;
    const cJSON *saved;
    Err *e;
    int rc;
} Fill;

static void fill_one(void *ctx, const OptSpec *s, void *field) {
    Fill *f = ctx;
    if (f->rc || !(s->flags & (OPT_MATH | OPT_LENGTH)) || was_given(f->given, s)) return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->saved, s->name);
    if (v) f->rc = opt_from_json(s, field, v, f->e);
}

/* The options recorded in the latest checkpoint of the run folder (NULL when there is none: the
 * run itself then says what is wrong). */
static cJSON *latest_options(const char *out) {
    char root[4096], dir[4096], path[4200];
    snprintf(root, sizeof root, "%s/checkpoints", out);
    int64_t step;
    Err ignore;
    if (checkpoint_latest(root, dir, sizeof dir, &step, &ignore) != 1) return NULL;
    snprintf(path, sizeof path, "%s/trainer_state/state.json", dir);
    cJSON *st = json_load_file(path, &ignore);
    cJSON *opts = st ? cJSON_DetachItemFromObjectCaseSensitive(st, "options") : NULL;
    cJSON_Delete(st);
    return opts;
}

int train_cli_parse(const char *usage, const OptSet *set, void *opts, RunOptions *run, const Flag *extra,
                    int n_extra, int argc, char **argv, const char **positional, int max_positional,
                    int *n_positional, cJSON **saved, Err *e) {
    *saved = NULL;
    FlagsGiven given;
    int rc = flags_parse_set(usage, set, opts, extra, n_extra, argc, argv, positional, max_positional,
                             n_positional, &given, e);
    if (rc != 0) return rc;
    if (run->resume && run->out_dir && (*saved = latest_options(run->out_dir))) {
        Fill f = {&given, *saved, e, 0};
        optset_each(set, opts, fill_one, &f);
        if (f.rc) return err_prefix(e, "%s: the run's recorded options", run->out_dir);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    run->stop = &stop_requested;
    return 0;
}
