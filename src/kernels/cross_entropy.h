/* Cross-entropy of rows of logits against target ids.
 *   logits [n, V]   targets [n] (a target < 0 means "no loss here": loss 0, gradient 0)
 *   loss[i] = logsumexp(logits[i]) − logits[i, targets[i]]        lse[i] saved for backward
 * Backward (= into dlogits, which may alias logits):
 *   dlogits[i, :] = weight[i] · (softmax(logits[i]) − onehot(targets[i]))
 * where weight[i] is row_weight[i] (NULL: all rows get `scale`) times `scale`. The mean loss over
 * N positions is scale = 1/N.
 * cross_entropy_forward_grad does both for a caller that knows `scale` at forward time (training:
 * no row weights): while a row is in cache it writes loss and lse and then replaces the row by its
 * gradient, bit for bit what cross_entropy_backward would write, so backward skips a pass over
 * the n·V logits (64 MB at the bench config) that would come back from memory. */
#ifndef R1_KERNELS_CROSS_ENTROPY_H
#define R1_KERNELS_CROSS_ENTROPY_H

#include "kernels/real.h"

void cross_entropy_forward(real *loss, real *lse, const real *logits, const int *targets, int n, int V);
void cross_entropy_backward(real *dlogits, const real *logits, const real *lse, const int *targets,
                            const real *row_weight, real scale, int n, int V);
void cross_entropy_forward_grad(real *loss, real *lse, real *logits, const int *targets, real scale,
                                int n, int V);

void cross_entropy_forward_ref(real *loss, real *lse, const real *logits, const int *targets, int n, int V);
void cross_entropy_backward_ref(real *dlogits, const real *logits, const real *lse, const int *targets,
                                const real *row_weight, real scale, int n, int V);

#endif
