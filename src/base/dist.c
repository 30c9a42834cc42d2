/* The ranks of an Open MPI job (dist.h). The only file that calls MPI. */
#include "base/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* one MPI message carries at most this many bytes (MPI counts are int) */
#define PIECE ((size_t)1 << 30)

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

int dist_init(Dist *d, int *argc, char ***argv, Err *e) {
    memset(d, 0, sizeof *d);
    d->size = d->local_size = 1;
    if (!getenv("OMPI_COMM_WORLD_SIZE")) {
        /* another MPI's launcher would start N independent copies of one run into one folder */
        if (env_int("PMI_SIZE", 1) > 1)
            return err_set(e, "started by a launcher other than Open MPI's mpirun (PMI_SIZE=%s): r1 runs "
                              "data-parallel under Open MPI only", getenv("PMI_SIZE"));
        return 0;
    }
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return err_set(e, "MPI_Init failed");
    d->mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    d->local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
    d->local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    if (d->size & (d->size - 1)) {
        d->agreed = 1;   /* every rank sees the same count */
        return err_set(e, "mpirun -np %d: the rank count must be a power of two (1, 2, 4, 8, ...): a step's "
                          "gradients are summed in one binary tree whose subtrees the ranks own", d->size);
    }
    return 0;
}

void dist_finalize(Dist *d) {
    if (d->mpi) MPI_Finalize();
    d->mpi = 0;
}

void dist_abort(const Dist *d, int status) {
    if (d && d->mpi) MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

void dist_tree_range(int64_t n, int ranks, int rank, int64_t *lo, int64_t *hi) {
    int64_t a = 0, b = n;
    for (int bit = ranks >> 1; bit > 0; bit >>= 1) {
        int64_t mid = a + (b - a + 1) / 2;
        if (rank & bit) a = mid;
        else b = mid;
    }
    *lo = a;
    *hi = b;
}

static int multi(const Dist *d) { return d && d->mpi && d->size > 1; }

/* ---- agreement ---- */

int dist_agree(Dist *d, int rc, Err *e) {
    if (!multi(d)) return rc ? -1 : 0;
    int mine = rc ? d->rank : d->size, first = d->size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == d->size) return 0;
    char msg[sizeof e->msg];
    if (d->rank == first) {
        memcpy(msg, e->msg, sizeof msg);
        if (first > 0) err_set(e, "rank %d: %.1000s", first, msg);
        memcpy(msg, e->msg, sizeof msg);
    }
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    memcpy(e->msg, msg, sizeof msg);
    d->agreed = 1;
    return -1;
}

int dist_bcast_status(Dist *d, int rc, Err *e) {
    if (!multi(d)) return rc;
    int root_rc = rc;
    MPI_Bcast(&root_rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (root_rc == 0) return 0;
    MPI_Bcast(e->msg, (int)sizeof e->msg, MPI_CHAR, 0, MPI_COMM_WORLD);
    d->agreed = 1;
    return root_rc;
}

int dist_check_same(Dist *d, const char *text, const char *what, Err *e) {
    if (!multi(d)) return 0;
    char *root = dist_bcast_string(d, text);
    int rc = strcmp(root, text) != 0;
    if (rc) err_set(e, "%s '%s' differs from rank 0's '%s'", what, text, root);
    free(root);
    return dist_agree(d, rc, e);
}

/* ---- data ---- */

void dist_barrier(const Dist *d) {
    if (multi(d)) MPI_Barrier(MPI_COMM_WORLD);
}

void dist_bcast(const Dist *d, void *buf, size_t bytes, int root) {
    if (!multi(d)) return;
    for (size_t off = 0; off < bytes; off += PIECE) {
        size_t n = bytes - off < PIECE ? bytes - off : PIECE;
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

char *dist_bcast_string(const Dist *d, const char *s) {
    if (!multi(d)) return s ? xstrdup(s) : NULL;
    uint64_t n = s ? strlen(s) + 1 : 0;
    dist_bcast(d, &n, sizeof n, 0);
    if (n == 0) return NULL;
    char *out = xmalloc(n);
    if (d->rank == 0) memcpy(out, s, n);
    dist_bcast(d, out, n, 0);
    return out;
}

void *dist_allgather(const Dist *d, const void *mine, size_t n, size_t *total, size_t *counts) {
    if (!multi(d)) {
        void *out = xmalloc(n ? n : 1);
        memcpy(out, mine, n);
        *total = n;
        if (counts) counts[0] = n;
        return out;
    }
    uint64_t my = n, *all = xmalloc(sizeof(uint64_t) * (size_t)d->size);
    MPI_Allgather(&my, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    int *cnt = xmalloc(sizeof(int) * (size_t)d->size), *disp = xmalloc(sizeof(int) * (size_t)d->size);
    size_t sum = 0;
    for (int k = 0; k < d->size; k++) {
        CHECKF(all[k] <= INT_MAX && sum + all[k] <= INT_MAX, "allgather of %zu bytes", (size_t)(sum + all[k]));
        cnt[k] = (int)all[k];
        disp[k] = (int)sum;
        sum += all[k];
        if (counts) counts[k] = all[k];
    }
    char *out = xmalloc(sum ? sum : 1);
    MPI_Allgatherv(mine, (int)n, MPI_BYTE, out, cnt, disp, MPI_BYTE, MPI_COMM_WORLD);
    free(all);
    free(cnt);
    free(disp);
    *total = sum;
    return out;
}

void dist_sum_i64(const Dist *d, int64_t *x, size_t n) {
    if (!multi(d) || n == 0) return;
    CHECK(n <= INT_MAX);
    MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
}

int dist_max_int(const Dist *d, int x) {
    if (!multi(d)) return x;
    int y = x;
    MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return y;
}

int dist_or_int(const Dist *d, int x) {
    if (!multi(d)) return x;
    int y = x;
    MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_BOR, MPI_COMM_WORLD);
    return y;
}

void dist_exchange(const Dist *d, int peer, const void *send, size_t send_bytes, void *recv,
                   size_t recv_bytes) {
    if (!multi(d)) return;
    /* both sides cut their messages the same way: my send is the peer's receive */
    for (size_t off = 0; off < send_bytes || off < recv_bytes; off += PIECE) {
        size_t ns = off < send_bytes ? (send_bytes - off < PIECE ? send_bytes - off : PIECE) : 0;
        size_t nr = off < recv_bytes ? (recv_bytes - off < PIECE ? recv_bytes - off : PIECE) : 0;
        MPI_Sendrecv(ns ? (const char *)send + off : NULL, (int)ns, MPI_BYTE, peer, 7,
                     nr ? (char *)recv + off : NULL, (int)nr, MPI_BYTE, peer, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
}

void dist_send(const Dist *d, const void *buf, size_t bytes, int to) {
    if (!multi(d)) return;
    for (size_t off = 0; off < bytes; off += PIECE)
        MPI_Send((const char *)buf + off, (int)(bytes - off < PIECE ? bytes - off : PIECE), MPI_BYTE, to, 9,
                 MPI_COMM_WORLD);
}

void dist_recv(const Dist *d, void *buf, size_t bytes, int from) {
    if (!multi(d)) return;
    for (size_t off = 0; off < bytes; off += PIECE)
        MPI_Recv((char *)buf + off, (int)(bytes - off < PIECE ? bytes - off : PIECE), MPI_BYTE, from, 9,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}
