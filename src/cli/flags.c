#include "cli/flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the default shown by --help for a table option: its value in the struct as the library's
 * defaults left it (nothing for an unset string or a false bool) */
static void opt_default(const Flag *f, char *def, size_t cap) {
    const OptField *o = f->dest;
    const OptSpec *s = o->spec;
    if ((s->type == OPT_STR && !*(const char **)o->field) || (s->type == OPT_BOOL && !*(const int *)o->field)) return;
    StrBuf b = {0};
    opt_format(s, o->field, &b);
    snprintf(def, cap, " (default: %s)", b.s ? b.s : "");
    sb_free(&b);
}

static void print_help(const char *usage, const Flag *flags, int n) {
    printf("%s\n\nflags:\n", usage);
    for (int i = 0; i < n; i++) {
        const Flag *f = &flags[i];
        char def[160] = "", name[64];
        opt_flag(f->name, name, sizeof name);
        switch (f->kind) {
        case FLAG_STRING: {
            const char *s = *(const char **)f->dest;
            if (s) snprintf(def, sizeof def, " (default: %s)", s);
            break;
        }
        case FLAG_INT: snprintf(def, sizeof def, " (default: %ld)", *(long *)f->dest); break;
        case FLAG_DOUBLE: snprintf(def, sizeof def, " (default: %g)", *(double *)f->dest); break;
        case FLAG_BOOL: break;
        case FLAG_OPT: opt_default(f, def, sizeof def); break;
        }
        printf("  %-24s %s%s\n", name, f->help, def);
    }
}

static int set_value(const Flag *f, const char *v, Err *e) {
    char *end = NULL;
    errno = 0;
    switch (f->kind) {
    case FLAG_STRING: *(const char **)f->dest = v; return 0;
    case FLAG_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno) return err_set(e, "--%s: expected an integer, got '%s'", f->name, v);
        *(long *)f->dest = x;
        return 0;
    }
    case FLAG_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return err_set(e, "--%s: expected a number, got '%s'", f->name, v);
        *(double *)f->dest = x;
        return 0;
    }
    case FLAG_BOOL: *(int *)f->dest = 1; return 0;
    case FLAG_OPT: {
        const OptField *o = f->dest;
        if (o->spec->type == OPT_BOOL) { *(int *)o->field = 1; return 0; }
        return opt_parse(o->spec, o->field, v, e);
    }
    }
    return -1;
}

static int takes_no_value(const Flag *f) {
    return f->kind == FLAG_BOOL || (f->kind == FLAG_OPT && ((const OptField *)f->dest)->spec->type == OPT_BOOL);
}

/* name equals s[0..n), '-' and '_' being the same letter */
static int same_name(const char *name, const char *s, size_t n) {
    size_t i = 0;
    for (; i < n && name[i]; i++)
        if (name[i] != s[i] && !((name[i] == '-' || name[i] == '_') && (s[i] == '-' || s[i] == '_'))) return 0;
    return i == n && name[i] == 0;
}

static int parse(const char *usage, const Flag *flags, int n_flags, int argc, char **argv,
                 const char **positional, int max_positional, int *n_positional, FlagsGiven *given, Err *e) {
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(usage, flags, n_flags);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
            if (positional && np < max_positional) { positional[np++] = a; continue; }
            return err_set(e, "unexpected argument '%s' (see --help)", a);
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const Flag *f = NULL;
        for (int k = 0; k < n_flags; k++)
            if (same_name(flags[k].name, name, len)) f = &flags[k];
        if (!f) return err_set(e, "unknown flag '--%.*s' (see --help)", (int)len, name);
        char fl[64];
        opt_flag(f->name, fl, sizeof fl);
        if (given && f->kind == FLAG_OPT && given->n < FLAGS_MAX_GIVEN) given->spec[given->n++] = ((const OptField *)f->dest)->spec;
        if (takes_no_value(f)) {
            if (eq) return err_set(e, "%s takes no value", fl);
            set_value(f, "", e);
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return err_set(e, "%s: missing value", fl);
        if (set_value(f, v, e)) return -1;
    }
    if (n_positional) *n_positional = np;
    return 0;
}

int flags_parse(const char *usage, const Flag *flags, int n_flags, int argc, char **argv,
                const char **positional, int max_positional, int *n_positional, Err *e) {
    return parse(usage, flags, n_flags, argc, argv, positional, max_positional, n_positional, NULL, e);
}

typedef struct Collect {
    Flag *f;
    OptField *o;
    int n, cap;
} Collect;

static void collect(void *ctx, const OptSpec *s, void *field) {
    Collect *c = ctx;
    CHECK(c->n < c->cap);
    c->o[c->n] = (OptField){s, field};
    c->f[c->n] = (Flag){s->name, FLAG_OPT, &c->o[c->n], s->help};
    c->n++;
}

int flags_parse_set(const char *usage, const OptSet *set, void *opts, const Flag *extra, int n_extra,
                    int argc, char **argv, const char **positional, int max_positional, int *n_positional,
                    FlagsGiven *given, Err *e) {
    enum { CAP = 160 };
    Flag flags[CAP];
    OptField fields[CAP];
    Collect c = {flags, fields, 0, CAP - n_extra};
    optset_each(set, opts, collect, &c);
    for (int i = 0; i < n_extra; i++) flags[c.n++] = extra[i];
    if (given) given->n = 0;
    return parse(usage, flags, c.n, argc, argv, positional, max_positional, n_positional, given, e);
}

int flags_weights(const char *s, WeightMode *mode, Err *e) {
    if (weight_mode_parse(s, mode) == 0) return 0;
    return err_set(e, "--weights: unknown value '%s' (auto, f32 or bf16)", s);
}

int flags_parse_model(const char *usage, ModelFlags *mf, const char *model_help, const Flag *flags, int n_flags,
                      int argc, char **argv, Err *e) {
    enum { CAP = 64 };
    Flag all[CAP];
    CHECK(n_flags + 2 <= CAP);
    if (!mf->weights) mf->weights = "auto";
    all[0] = (Flag){"model", FLAG_STRING, &mf->dir, model_help};
    all[1] = (Flag){"weights", FLAG_STRING, &mf->weights, FLAG_WEIGHTS_HELP};
    memcpy(all + 2, flags, (size_t)n_flags * sizeof *flags);
    int rc = flags_parse(usage, all, n_flags + 2, argc, argv, NULL, 0, NULL, e);
    if (rc == 0 && flags_weights(mf->weights, &mf->mode, e)) rc = -1;
    return rc;
}
