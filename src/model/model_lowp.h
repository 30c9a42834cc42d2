/* Weights as stored, for inference: a model folder's BF16, F16 and FP8 E4M3 (128×128
 * weight_scale_inv blocks) matrices stay in that precision in memory, packed once for the decode
 * engine's products (kernels/kn_lowp.h), instead of a full f32 copy; or every matrix as bf16 for
 * bf16 compute.
 *
 *   WEIGHTS_F32    every tensor read into f32 params (training, and `--weights f32`)
 *   WEIGHTS_AUTO   matrices whose tensors are BF16, F16 or F8_E4M3 stay so (each product widens
 *                  the weights exactly to the f32 a full dequantisation gives and multiplies f32
 *                  activations: the logits of the dequantised f32 folder up to the order of the
 *                  sums); F32 matrices are read as f32
 *   WEIGHTS_BF16   every matrix as bf16 (rounded from its stored values), products in bf16 with
 *                  fp32 accumulation (vdpbf16ps; the activations rounded to bf16 too)
 *
 * "Matrices" are the weights the decode engine multiplies (model_linear_weights: attention and
 * FFN projections, routed and shared experts, MTP's eh_proj, lm_head) and the token embedding
 * (read back row by row). kv_b_proj (read per head by the absorbed attention), the MoE router,
 * norms and biases are always f32. A matrix stacked from several tensors (gate|up, q|k|v) is
 * stored when all of them have the same dtype.
 *
 * The model's f32 params then hold zeros for the stored matrices, in lazily mapped pages that take
 * no memory; such a model serves the decode engine only (model_forward refuses it).
 */
#ifndef R1_MODEL_MODEL_LOWP_H
#define R1_MODEL_MODEL_LOWP_H

#include <stddef.h>

#include "base/error.h"
#include "kernels/linear.h"
#include "model/model.h"

typedef enum WeightMode { WEIGHTS_F32 = 0, WEIGHTS_AUTO = 1, WEIGHTS_BF16 = 2 } WeightMode;

/* "f32", "auto", "bf16"; -1 when unknown. */
int weight_mode_parse(const char *s, WeightMode *mode);
const char *weight_mode_name(WeightMode mode);

/* Every weight the decode engine multiplies through linear_forward, in the main layers and the
 * first n_mtp MTP modules (s NULL: count only). Returns the count; a tied lm_head is listed once
 * as the embedding. */
int model_linear_weights(const Model *m, LinearWeight *s, int n_mtp);

/* model_load_dir with the matrices kept as mode says. On failure m holds nothing to free. */
int model_load_dir_as(Model *m, const char *dir, WeightMode mode, Err *e);

/* Bytes the weights take in memory: the packs plus the f32 tensors not in them. */
size_t model_weight_bytes(const Model *m);

#endif
