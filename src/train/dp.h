/* Data parallelism: one binary tree of sums under every step, whatever the number of ranks.
 *
 * A step's gradient is a sum over leaves, the units of work the trainer's options fix (pretrain's
 * micro-batches, SFT's, GRPO's, the reward model's). Each leaf's gradient is computed on its own
 * into a zeroed buffer, and the leaves are summed in the binary tree of dist_tree_range: [lo, hi)
 * splits at lo + ceil((hi - lo) / 2), each node's value is left + right (one float addition per
 * element). One process evaluates the whole tree (depth first, one buffer per level); with N
 * ranks (a power of two), rank r evaluates the subtree its bits lead to and the levels above are
 * summed across the ranks by a reduce-scatter that follows the tree: exchange k (k = 0, 1, ...)
 * pairs rank r with r ^ 2^k, whose partial is the sibling subtree, and each keeps half of the
 * current range of parameter chunks (train/adamw.h). A subtree without leaves adds nothing. So
 * the gradient has the same bits with any rank count, and with one process.
 *
 * After the reduce-scatter rank r holds the summed gradient of a range of whole chunks (its
 * shard): the owners compute the chunks' squared norms (clip.h's per-chunk sums, added in chunk
 * order by everyone), and either
 *   ZeRO-0  the gradient is all-gathered and every rank runs AdamW over every chunk, or
 *   ZeRO-1  each rank keeps AdamW moments for its shard only, updates it, and the parameters are
 *           all-gathered (the reverse of the reduce-scatter).
 * Both give the same bits (AdamW is elementwise).
 */
#ifndef R1_TRAIN_DP_H
#define R1_TRAIN_DP_H

#include <stddef.h>
#include <stdint.h>

#include "base/dist.h"
#include "base/error.h"
#include "kernels/real.h"
#include "train/adamw.h"

enum { DP_MAX_LEVELS = 30 };

/* The reduce-scatter's plan over the chunks of a parameter table. */
typedef struct DpShards {
    const Dist *d;
    ParamChunks pc;                     /* owned: the table's chunks (adamw.h) */
    int levels;                         /* log2(ranks) */
    int lo[DP_MAX_LEVELS], mid[DP_MAX_LEVELS], hi[DP_MAX_LEVELS];   /* chunk ranges of exchange k */
    int c_lo, c_hi;                     /* this rank's shard: chunks [c_lo, c_hi) */
    real *scratch;                      /* [the largest half exchanged] */
    size_t scratch_n;
} DpShards;

void dp_shards_init(DpShards *s, const Dist *d, const ParamTable *pt);
void dp_shards_free(DpShards *s);

/* Elements [*first, *end) of the chunks [a, b) (*first == *end when a == b). */
void dp_chunk_span(const ParamChunks *pc, int a, int b, size_t *first, size_t *end);

/* The sum over the ranks' partial gradients of a tree over n_leaves: afterwards this rank's
 * shard of g holds the full sum (the rest of g is scratch). */
void dp_reduce_scatter(DpShards *s, real *g, int64_t n_leaves);
/* Every rank's shard of buf to every rank (the whole of every chunk range). */
void dp_allgather(const DpShards *s, real *buf);

/* One leaf: grads (zero on entry, [the table's total]) += the leaf's gradient. 0 or -1. */
typedef int (*DpLeafFn)(void *ctx, int64_t leaf, real *grads, Err *e);

/* Buffers for the tree's levels. */
typedef struct DpPool {
    real *buf[64];
    size_t n;                           /* elements per buffer */
} DpPool;

void dp_pool_free(DpPool *p);

/* out [n] (zero on entry) = the tree sum of leaves [lo, hi) (hi > lo), depth first. */
int dp_tree(DpPool *p, size_t n, int64_t lo, int64_t hi, real *out, DpLeafFn fn, void *ctx, Err *e);

#endif
