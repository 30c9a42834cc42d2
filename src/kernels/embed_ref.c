/* Naive twin of embed.h. */
#include <stddef.h>

#include "kernels/embed.h"

void embed_forward_ref(real *h, const real *table, const int *tokens, int n, int D) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D; j++) h[(size_t)i * D + j] = table[(size_t)tokens[i] * D + j];
}

void embed_backward_ref(real *dtable, const real *dh, const int *tokens, int n, int D) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D; j++) dtable[(size_t)tokens[i] * D + j] += dh[(size_t)i * D + j];
}
