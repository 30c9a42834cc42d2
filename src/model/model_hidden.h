/* Backward of the model's trunk from a gradient on its final-normed hidden states.
 *
 * Heads other than the lm_head (a reward model's scalar score head, a value head, a probe) read
 * a->hf [B·T, D] after model_forward and produce their own dJ/d(hf). This entry point carries that
 * gradient through the final RMSNorm, the L decoder blocks and the embedding. It does not touch
 * lm_head, the logits or the MTP modules, so the forward must have been run with mtp_lambda 0
 * (targets may be NULL). When the forward had seq_aux_alpha > 0 the balance loss's gradient is
 * included as in model_backward (J = head objective + aux_loss).
 *
 * model_backward runs the same trunk (model_backward_trunk) after adding its lm_head and MTP terms
 * into dhf.
 */
#ifndef R1_MODEL_MODEL_HIDDEN_H
#define R1_MODEL_MODEL_HIDDEN_H

#include "kernels/real.h"
#include "model/model.h"

/* grads [table.total] += dJ/dθ given dhf [B·T, D] = dJ/d(a->hf) of the last forward.
 * dhf is read only. Scratch comes from a->arena. */
void model_backward_hidden(const Model *m, ModelActs *a, real *grads, const real *dhf);

/* a->gw: the view of the gradient buffer grads, rebuilt when grads is another buffer. */
ModelView *model_grad_view(const Model *m, ModelActs *a, real *grads);
/* The trunk part of both backwards: into the gradient view a->gw (model_grad_view), dhf
 * [B·T, D] through the final RMSNorm, the blocks (last to first) and the embedding. */
void model_backward_trunk(const Model *m, ModelActs *a, const real *dhf);

#endif
