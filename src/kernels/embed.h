/* Token embedding lookup.  h[i, :] = table[tokens[i], :]     table [V, D], h [n, D]
 * Backward scatter-adds: dtable[tokens[i], :] += dh[i, :], in a fixed order (deterministic for
 * any thread count: threads own disjoint rows of dtable). */
#ifndef R1_KERNELS_EMBED_H
#define R1_KERNELS_EMBED_H

#include "kernels/real.h"

void embed_forward(real *h, const real *table, const int *tokens, int n, int D);
void embed_backward(real *dtable, const real *dh, const int *tokens, int n, int D);

void embed_forward_ref(real *h, const real *table, const int *tokens, int n, int D);
void embed_backward_ref(real *dtable, const real *dh, const int *tokens, int n, int D);

#endif
