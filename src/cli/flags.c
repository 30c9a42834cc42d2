#include "cli/flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_help(const char *usage, const Flag *flags, int n) {
    printf("%s\n\nflags:\n", usage);
    for (int i = 0; i < n; i++) {
        const Flag *f = &flags[i];
        char def[128] = "";
        switch (f->kind) {
        case FLAG_STRING: {
            const char *s = *(const char **)f->dest;
            if (s) snprintf(def, sizeof def, " (default: %s)", s);
            break;
        }
        case FLAG_INT: snprintf(def, sizeof def, " (default: %ld)", *(long *)f->dest); break;
        case FLAG_DOUBLE: snprintf(def, sizeof def, " (default: %g)", *(double *)f->dest); break;
        case FLAG_BOOL: break;
        }
        printf("  --%-22s %s%s\n", f->name, f->help, def);
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
    }
    return -1;
}

int flags_parse(const char *usage, const Flag *flags, int n_flags, int argc, char **argv,
                const char **positional, int max_positional, int *n_positional, Err *e) {
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
            if (strlen(flags[k].name) == len && !strncmp(flags[k].name, name, len)) f = &flags[k];
        if (!f) return err_set(e, "unknown flag '--%.*s' (see --help)", (int)len, name);
        if (f->kind == FLAG_BOOL) {
            if (eq) return err_set(e, "--%s takes no value", f->name);
            set_value(f, "", e);
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return err_set(e, "--%s: missing value", f->name);
        if (set_value(f, v, e)) return -1;
    }
    if (n_positional) *n_positional = np;
    return 0;
}
