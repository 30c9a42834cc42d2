/* The AdamW moments of a ZeRO-1 run between the ranks that own their shards and rank 0, which
 * alone writes and reads checkpoints (train/dp.h, train/checkpoint.h).
 *
 * Rank k holds the moments of elements [mom_first, mom_first + mom_n) of the table (adamw.h).
 * Both ways the moments travel as one list of pieces that every rank builds alike: moment 0 then
 * 1, each over the shards in the order of their first elements (not rank order: the reduce-scatter
 * hands the halves out by a rank's bits from the lowest), each shard cut into pieces of at most
 * MOMENT_PIECE elements; rank 0's own shard is one piece, never sent. That is the order of the
 * checkpoint file's data, so rank 0 writes the file receiving piece after piece into one buffer as
 * the writer asks for them (a MomentSource), and resumes by reading piece after piece and sending
 * each to its owner. Beyond its own shard rank 0 holds one piece (4 MiB), never the full moments:
 * its peak memory falls with N like every other rank's. The file's bytes are those of one process.
 */
#ifndef R1_TRAIN_MOMENT_STREAM_H
#define R1_TRAIN_MOMENT_STREAM_H

#include <stddef.h>

#include "base/dist.h"
#include "base/error.h"
#include "train/adamw.h"
#include "train/checkpoint.h"

enum { MOMENT_PIECE = 1 << 20 };   /* elements of a piece */

typedef struct MomentPiece {
    int g;                  /* the moment: 0 first, 1 second */
    int rank;               /* its owner */
    size_t first, n;        /* elements [first, first + n) of the table */
} MomentPiece;

typedef struct MomentStream {
    const Dist *d;
    const AdamW *opt;       /* this rank's shard (not owned) */
    MomentPiece *pieces;    /* [n_pieces], in file order */
    int n_pieces;
    int cur;                /* rank 0: the piece at data (-1: none yet) */
    const float *data;
    float *buf;             /* rank 0: [MOMENT_PIECE], the pieces received */
    int last_g;             /* the end of the last range asked for: the writer asks in file order */
    size_t last_end;
    MomentSource src;
} MomentStream;

/* Saving, collective. A rank other than 0 sends its pieces to rank 0 (blocking until rank 0 has
 * taken them) and returns NULL; rank 0 returns the source for checkpoint_save, which receives each
 * piece when the file reaches it. Every rank then calls moment_stream_end. */
const MomentSource *moment_stream_save(MomentStream *s, const Dist *d, const AdamW *opt);
/* Rank 0: receives the pieces the writer did not take (a write that failed part-way, or none at
 * all), so that no rank is left waiting. Every rank: frees. */
void moment_stream_end(MomentStream *s);

/* Resuming, collective: rank 0 reads every rank's shard of both moments from mr (open on rank 0
 * only) piece by piece and sends each to its owner; each rank's opt receives its shard. Returns
 * rank 0's result: after a read error the rest is still sent (zeros), so agree on the result
 * afterwards (dist_bcast_status). */
int moment_stream_load(const Dist *d, AdamW *opt, MomentReader *mr, Err *e);

#endif
