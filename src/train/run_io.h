/* The run engine's files and terminal output (run.h): the run folder and what is resumed, the
 * checkpoints, metrics.jsonl, the progress line, the final model folder. Internal to train/run.c;
 * under data parallelism these are rank 0's alone. */
#ifndef R1_TRAIN_RUN_IO_H
#define R1_TRAIN_RUN_IO_H

#include "train/run.h"

/* The folder rules and the checkpoint to resume (state read, command and options compared). */
int run_io_open_folder(Run *r, Err *e);
/* Creates out/checkpoints and opens metrics.jsonl (a resumed run drops the lines of steps it
 * will run again). */
int run_io_open_metrics(Run *r, Err *e);
void run_io_close(Run *r);
/* Checkpoint of the state after r->step steps (the moments: from `moments`, or r->opt's own when
 * NULL), then pruning to `keep`. Weights holding NaN/Inf are refused: no checkpoint is written, the latest one stays
 * the newest. */
int run_io_save(Run *r, const MomentSource *moments, Err *e);
/* {"step": r->step<fields>[, "skipped": true], "train_tokens": N}; a failed write (a full disk) is
 * kept for run_io_metrics_check, and no later line is written. */
void run_io_metrics_line(Run *r, const char *fields, int skipped);
/* -1 naming metrics.jsonl and the cause once a line could not be written, else 0. */
int run_io_metrics_check(const Run *r, Err *e);
void run_io_progress(Run *r);
/* Ends an open \r progress line. */
void run_io_progress_end(Run *r);
/* The final model folder in out/. */
int run_io_final_folder(Run *r, Err *e);

#endif
