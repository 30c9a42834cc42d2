/* Global gradient-norm clipping and the NaN/Inf guard.
 *
 * ‖g‖ = sqrt(Σ over every trainable element of g²), each chunk's sum of squares in double,
 * then the chunk sums added in table order: the same bits for any thread count. A non-finite
 * norm means some gradient is NaN or Inf (the guard's test).
 */
#ifndef R1_TRAIN_CLIP_H
#define R1_TRAIN_CLIP_H

#include "kernels/real.h"
#include "train/adamw.h"

/* ‖grad_scale · grads‖ over the chunks. partial [pc->n] is caller scratch. */
double grad_global_norm(const ParamChunks *pc, const real *grads, double grad_scale,
                        double *partial);

/* Factor that brings a gradient of norm `norm` to at most max_norm (1 when max_norm <= 0 or
 * the norm is already within; as torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6)). */
double clip_factor(double norm, double max_norm);

#endif
