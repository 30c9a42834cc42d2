/* The training commands' shared CLI (train_cli.h). */
#include "cli/train_cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/dist.h"
#include "base/strbuf.h"
#include "cli/commands.h"
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
 * run itself then says what is wrong). Under mpirun rank 0 reads them for every rank. */
static cJSON *read_latest_options(const char *out) {
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

static cJSON *latest_options(Dist *d, const char *out) {
    cJSON *mine = dist_rank(d) == 0 ? read_latest_options(out) : NULL;
    if (dist_ranks(d) == 1) return mine;
    char *text = mine ? cJSON_PrintUnformatted(mine) : NULL, *got = dist_bcast_string(d, text);
    cJSON_Delete(mine);
    free(text);
    cJSON *j = got ? cJSON_Parse(got) : NULL;
    free(got);
    return j;
}

/* Every rank must run the same r1 with the same options: each option as "name=value" lines,
 * compared with rank 0's; the first that differs is named. */
typedef struct Lines {
    StrBuf text;
} Lines;

static void add_line(void *ctx, const OptSpec *s, void *field) {
    Lines *l = ctx;
    sb_printf(&l->text, "%s=", s->name);
    opt_format(s, field, &l->text);
    sb_append(&l->text, "\n");
}

static int same_options(Dist *d, const OptSet *set, void *opts, Err *e) {
    Lines mine = {{0}};
    optset_each(set, opts, add_line, &mine);
    char *root = dist_bcast_string(d, mine.text.s ? mine.text.s : "");
    int rc = 0;
    const char *a = mine.text.s ? mine.text.s : "", *b = root;
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0) {
            size_t ln = strcspn(a, "=");
            char flag[64], name[64];
            snprintf(name, sizeof name, "%.*s", (int)(ln < 63 ? ln : 63), a);
            const char *va = a + (ln < la ? ln + 1 : la), *vb = b + strcspn(b, "=");
            vb += *vb == '=';
            rc = err_set(e, "%s is '%.*s' here but '%.*s' on rank 0: every rank must get the same options",
                         opt_flag(name, flag, sizeof flag), (int)(a + la - va), va, (int)(b + lb - vb), vb);
            break;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    free(root);
    sb_free(&mine.text);
    return dist_agree(d, rc, e);
}

int train_cli_parse(const char *usage, const OptSet *set, void *opts, RunOptions *run, const Flag *extra,
                    int n_extra, int argc, char **argv, const char **positional, int max_positional,
                    int *n_positional, cJSON **saved, Err *e) {
    *saved = NULL;
    Dist *d = cli_world();
    FlagsGiven given;
    int rc = flags_parse_set(usage, set, opts, extra, n_extra, argc, argv, positional, max_positional,
                             n_positional, &given, e);
    if (dist_ranks(d) > 1) {   /* the same argv everywhere: the same outcome; rank 0 speaks */
        if (rc > 0) return rc;
        if (dist_agree(d, rc, e) != 0) return -1;
    }
    if (rc != 0) return rc;
    if (run->resume && run->out_dir && (*saved = latest_options(d, run->out_dir))) {
        Fill f = {&given, *saved, e, 0};
        optset_each(set, opts, fill_one, &f);
        if (f.rc) f.rc = err_prefix(e, "%s: the run's recorded options", run->out_dir);
        if (dist_agree(d, f.rc, e) != 0) return -1;
    }
    if (dist_ranks(d) > 1 && same_options(d, set, opts, e) != 0) return -1;
    run->dist = d;
    if (dist_rank(d) > 0) run->quiet = 1;   /* rank 0 reports */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    run->stop = &stop_requested;
    return 0;
}
