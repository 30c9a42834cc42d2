/* The run engine across ranks (run.h, dp.h): what rank 0 reads and the others receive, the
 * optimizer's shard, the update's sums over ranks, the moments streamed for a checkpoint.
 * Internal to train/run.c; with one process every function is the single-process path. */
#ifndef R1_TRAIN_RUN_DP_H
#define R1_TRAIN_RUN_DP_H

#include "train/moment_stream.h"
#include "train/run.h"

/* Threads per rank: --threads, else the cores shared by the ranks of this machine. */
void run_dp_threads(const Run *r);
/* The checkpoint being resumed (its folder and state, which rank 0 read) to every rank. */
int run_dp_share_resume(Run *r, Err *e);
/* The optimizer (ZeRO-1: this rank's shard) and the shards' plan. */
void run_dp_init_optimizer(Run *r);
/* The resumed parameters and moments: rank 0 reads the checkpoint, the others receive them
 * (ZeRO-1: each its shard, streamed). */
int run_dp_load(Run *r, Err *e);
/* The global gradient norm of r->grads · scale after summing over the ranks (and the expert
 * loads); this rank's shard of r->grads then holds the sum. */
double run_dp_reduce(Run *r, double scale);
/* AdamW of the summed gradient (every rank's parameters end the same), gradients zeroed. */
void run_dp_apply(Run *r, double scale);
/* A checkpoint's moments, collective: rank 0 gets what checkpoint_save reads them through
 * (ZeRO-1: the other ranks' shards streamed to it, moment_stream.h; else NULL: its own, all of
 * them), the other ranks send their shards. Then run_dp_moments_end on every rank, whether the
 * save succeeded or not. */
const MomentSource *run_dp_moments_begin(Run *r, MomentStream *ms);
void run_dp_moments_end(Run *r, MomentStream *ms);
/* Ranks > 1: every rank's peak resident memory and the AdamW moments it holds (ZeRO-1: 1/N of
 * one process's), noted by rank 0 and written to out/memory.json. Collective. */
int run_dp_report_memory(Run *r, Err *e);

#endif
