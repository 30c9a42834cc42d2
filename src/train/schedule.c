#include "train/schedule.h"

#include <math.h>
#include <string.h>

#include "io/options.h"

const char *const SCHEDULE_NAMES[] = {"cosine", "wsd", "constant", NULL};

int schedule_parse_kind(const char *s, ScheduleKind *out, Err *e) {
    int k;
    if (opt_choice(SCHEDULE_NAMES, "schedule", s, &k, e) != 0) return -1;
    *out = (ScheduleKind)k;
    return 0;
}

const char *schedule_kind_name(ScheduleKind k) { return SCHEDULE_NAMES[k]; }

double schedule_lr(const Schedule *s, int64_t step) {
    if (step < 0) step = 0;
    if (s->warmup > 0 && step < s->warmup) return s->lr * (double)(step + 1) / (double)s->warmup;
    const double lo = s->lr * s->min_ratio;
    switch (s->kind) {
    case SCHED_CONSTANT:
        return s->lr;
    case SCHED_COSINE: {
        int64_t span = s->total - 1 - s->warmup;
        if (span <= 0) return s->lr;
        double p = (double)(step - s->warmup) / (double)span;
        if (p > 1) p = 1;
        return lo + (s->lr - lo) * 0.5 * (1.0 + cos(M_PI * p));
    }
    case SCHED_WSD: {
        int64_t decay = (int64_t)ceil(s->decay_frac * (double)s->total);
        int64_t start = s->total - decay;
        if (start < s->warmup) start = s->warmup;
        if (step < start) return s->lr;
        int64_t span = s->total - 1 - start;
        if (span <= 0) return lo;
        double p = (double)(step - start) / (double)span;
        if (p > 1) p = 1;
        return s->lr + (lo - s->lr) * p;
    }
    }
    return s->lr;
}
