/* Processes working as one: the ranks of an Open MPI job (`mpirun -np N r1 ...`).
 *
 * A process that Open MPI's mpirun did not start (no OMPI_COMM_WORLD_SIZE in its environment)
 * never initialises MPI: dist_init leaves it a world of one, and every function below is then a
 * no-op (or a copy), so a plain `r1` pays nothing. Under mpirun, dist_init calls MPI_Init and
 * the world is MPI_COMM_WORLD. The rank count must be a power of two: the sums of a step follow
 * one binary tree whatever the count (train/dp.h), and a binary tree has equal subtrees only at
 * power-of-two counts.
 *
 * Errors: a collective either succeeds on every rank or the job ends (MPI's default handler;
 * mpirun then stops the other ranks and names the one that failed), so no call here hangs on a
 * dead rank. Errors of the inputs are agreed: dist_agree and dist_bcast_status give every rank
 * the same message and mark the world (`agreed`), so that only rank 0 prints it.
 *
 * Sizes are in bytes and may exceed what one MPI message carries (they are cut into pieces).
 */
#ifndef R1_BASE_DIST_H
#define R1_BASE_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct Dist {
    int rank, size;             /* 0 and 1 without mpirun */
    int local_rank, local_size; /* among the ranks on this machine */
    int mpi;                    /* MPI_Init was called (finalize with dist_finalize) */
    int agreed;                 /* an error every rank holds the same message of (rank 0 prints it) */
} Dist;

/* The world of this process: one, unless started by Open MPI's mpirun; then MPI_Init. Refuses
 * a rank count that is not a power of two, and another launcher's job (MPICH's PMI_SIZE > 1)
 * that would otherwise run N copies of one job into one folder. */
int dist_init(Dist *d, int *argc, char ***argv, Err *e);
/* MPI_Finalize when initialised (after every rank's last collective). */
void dist_finalize(Dist *d);
/* Ends every rank of the job now (a local error: the others may be waiting on this rank). */
void dist_abort(const Dist *d, int status) __attribute__((noreturn));

static inline int dist_ranks(const Dist *d) { return d ? d->size : 1; }
static inline int dist_rank(const Dist *d) { return d ? d->rank : 0; }

/* The leaves [*lo, *hi) of the binary tree over n leaves that rank `rank` of `ranks` (a power of
 * two) owns: from the root [0, n), which splits at lo + ceil((hi - lo) / 2), follow the bits of
 * rank from the most significant; a one-leaf node splits into itself and an empty node. Ranks
 * with a shared prefix of bits own a subtree together. Pure: the same for every caller. */
void dist_tree_range(int64_t n, int ranks, int rank, int64_t *lo, int64_t *hi);

/* ---- agreement ---- */

/* Every rank's rc: if any is nonzero, every rank returns -1 with the message of the lowest
 * failing rank ("rank K: ..." when K > 0) and d->agreed set. Returns 0 when all are 0. */
int dist_agree(Dist *d, int rc, Err *e);
/* The root's rc and message to every rank (work only the root did, such as reading a file):
 * returns the root's rc, with its message in e and d->agreed set when nonzero. */
int dist_bcast_status(Dist *d, int rc, Err *e);
/* Every rank holds the same text as rank 0 (a version, options as JSON): -1 with an Err naming
 * the first rank that differs and `what`, on every rank. */
int dist_check_same(Dist *d, const char *text, const char *what, Err *e);

/* ---- data ---- */

void dist_barrier(const Dist *d);
/* buf [bytes] from root to every rank. */
void dist_bcast(const Dist *d, void *buf, size_t bytes, int root);
/* A string from rank 0: every rank returns its own malloc'ed copy (NULL stays NULL). */
char *dist_bcast_string(const Dist *d, const char *s);
/* Each rank's mine[0..n) joined in rank order: returns a malloc'ed buffer (*total bytes) and,
 * when counts is given, each rank's byte count (counts [size]). */
void *dist_allgather(const Dist *d, const void *mine, size_t n, size_t *total, size_t *counts);
/* Sums x [n] over the ranks (integers: exact, so the order does not matter). */
void dist_sum_i64(const Dist *d, int64_t *x, size_t n);
/* Maximum / bitwise OR of an int over the ranks. */
int dist_max_int(const Dist *d, int x);
int dist_or_int(const Dist *d, int x);
/* Sends send [send_bytes] to peer and receives recv [recv_bytes] from it (either may be 0). */
void dist_exchange(const Dist *d, int peer, const void *send, size_t send_bytes, void *recv,
                   size_t recv_bytes);
/* Point to point: buf [bytes] to rank `to`, received there by a dist_recv of as many bytes from this
 * rank. Messages between two ranks arrive in the order they were sent. */
void dist_send(const Dist *d, const void *buf, size_t bytes, int to);
void dist_recv(const Dist *d, void *buf, size_t bytes, int from);

#endif
