/* Learning-rate schedules, as a pure function of the step (so resuming needs no state):
 *
 *   cosine:   linear warm-up from lr/warmup to lr over `warmup` steps, then cosine decay to
 *             lr·min_ratio at step total−1;
 *   wsd:      warm-up, constant ("stable"), then linear decay to lr·min_ratio over the last
 *             decay_frac of the steps (warmup-stable-decay, as MiniCPM / DeepSeek-V3's schedule);
 *   constant: warm-up, then lr.
 *
 * step is 0-based: the index of the optimizer update about to be made.
 */
#ifndef R1_TRAIN_SCHEDULE_H
#define R1_TRAIN_SCHEDULE_H

#include <stdint.h>

#include "base/error.h"

typedef enum ScheduleKind { SCHED_COSINE, SCHED_WSD, SCHED_CONSTANT } ScheduleKind;

typedef struct Schedule {
    ScheduleKind kind;
    double lr;          /* peak learning rate */
    int64_t warmup;     /* warm-up steps (0 = none) */
    int64_t total;      /* total steps of the run */
    double min_ratio;   /* final lr = lr · min_ratio (default 0.1) */
    double decay_frac;  /* wsd: fraction of total spent decaying (default 0.2) */
} Schedule;

/* The names of the kinds, indexed by ScheduleKind, NULL-terminated. */
extern const char *const SCHEDULE_NAMES[];

/* "cosine" | "wsd" | "constant"; -1 + Err naming the value otherwise. */
int schedule_parse_kind(const char *s, ScheduleKind *out, Err *e);
const char *schedule_kind_name(ScheduleKind k);
double schedule_lr(const Schedule *s, int64_t step);

#endif
