/* Backward of the model's trunk from a gradient on its final-normed hidden states.
 *
 * Heads other than the lm_head (a reward model's scalar score head, a value head, a probe) read
 * a->hf [B·T, D] after model_forward and produce their own dJ/d(hf). This entry point carries that
 * gradient through the final RMSNorm, the L decoder blocks and the embedding. It does not touch
 * lm_head, the logits or the MTP modules, so the forward must have been run with mtp_lambda 0
 * (targets may be NULL). When the forward had seq_aux_alpha > 0 the balance loss's gradient is
 * included as in model_backward (J = head objective + aux_loss).
 *
 * model_backward's trunk (final norm → blocks → embedding) is the same code path; it could later
 * call model_backward_hidden after adding its lm_head/MTP contributions into dhf.
 */
#ifndef R1_MODEL_MODEL_HIDDEN_H
#define R1_MODEL_MODEL_HIDDEN_H

#include "kernels/real.h"
#include "model/model.h"

/* grads [table.total] += dJ/dθ given dhf [B·T, D] = dJ/d(a->hf) of the last forward.
 * dhf is read only. Scratch comes from a->arena. */
void model_backward_hidden(const Model *m, ModelActs *a, real *grads, const real *dhf);

#endif
