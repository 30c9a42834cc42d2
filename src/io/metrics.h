/* metrics.jsonl: one JSON object per training step, appended as a run goes. */
#ifndef R1_IO_METRICS_H
#define R1_IO_METRICS_H

#include <stdint.h>

#include "base/error.h"

/* Keeps the complete lines whose "step" is < keep_below and drops the rest (a resumed run
 * rewrites what came after its checkpoint). No file: nothing to do. Written atomically. */
int metrics_truncate(const char *path, int64_t keep_below, Err *e);

#endif
