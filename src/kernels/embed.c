/* Embedding lookup and its scatter-add backward (see embed.h). Backward: thread k owns the token
 * ids in its slice of [min id, max id] and walks all positions in order, so every dtable row is
 * summed in position order whatever the thread count. */
#include "kernels/embed.h"

#include <omp.h>
#include <string.h>

#include "base/error.h"

void embed_forward(real *h, const real *table, const int *tokens, int n, int D) {
    #pragma omp parallel for schedule(dynamic, 64) if ((long)n * D > 65536)
    for (int i = 0; i < n; i++) {
        CHECK(tokens[i] >= 0);
        memcpy(h + (size_t)i * D, table + (size_t)tokens[i] * D, (size_t)D * sizeof *h);
    }
}

void embed_backward(real *dtable, const real *dh, const int *tokens, int n, int D) {
    if (n <= 0) return;
    int lo = tokens[0], hi = tokens[0];
    for (int i = 1; i < n; i++) {
        lo = tokens[i] < lo ? tokens[i] : lo;
        hi = tokens[i] > hi ? tokens[i] : hi;
    }
    CHECK(lo >= 0);
    #pragma omp parallel if ((long)n * D > 65536)
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        const long span = (long)hi - lo + 1;
        const int a = lo + (int)(span * id / nt), b = lo + (int)(span * (id + 1) / nt);
        for (int i = 0; i < n; i++) {
            const int tk = tokens[i];
            if (tk < a || tk >= b) continue;
            real *dst = dtable + (size_t)tk * D;
            const real *src = dh + (size_t)i * D;
            for (int j = 0; j < D; j++) dst[j] += src[j];
        }
    }
}
