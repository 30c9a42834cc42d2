/* One pre-norm decoder block (main layers and the MTP modules' blocks):
 *   hmid = x + Attn(RMSNorm(x; input_layernorm))      Attn = MLA (deepseek_v3) or GQA (qwen2, llama)
 *   out  = hmid + FFN(RMSNorm(hmid; post_attention_layernorm))     FFN = dense SwiGLU or MoE
 * x, hmid, out [n, D] with n = B·T rows (B sequences of T rows, positions pos [n]).
 */
#ifndef R1_MODEL_BLOCK_H
#define R1_MODEL_BLOCK_H

#include "base/arena.h"
#include "kernels/real.h"
#include "kernels/rope.h"
#include "model/acts.h"
#include "model/config.h"
#include "model/gqa.h"
#include "model/mla.h"
#include "model/moe.h"
#include "model/params.h"

typedef struct BlockActs {
    int is_moe;
    real *xn;       /* [n, D] input_layernorm output */
    real *rstd1;    /* [n] */
    MlaActs attn;   /* deepseek_v3 */
    GqaActs gqa;    /* qwen2, llama */
    real *hmid;     /* [n, D] residual after attention */
    real *xn2;      /* [n, D] post_attention_layernorm output */
    real *rstd2;    /* [n] */
    real *ffn_gu;   /* [n, 2I] dense FFN gate|up pre-activations (dense layers) */
    MoeActs moe;    /* (MoE layers) */
    double aux;     /* balance loss of the last forward */
} BlockActs;

void block_acts_carve(BlockActs *a, Carve *c, const ModelConfig *cfg, int is_moe, int max_n,
                      int max_seq);

/* out [n, D] = block(x); returns the block's balance loss (MoE with alpha > 0, else 0). */
double block_forward(real *out, BlockActs *a, const real *x, const LayerWeights *w,
                     const ModelConfig *cfg, const int *pos, int B, int T, const RopeTable *rope,
                     real alpha, int frozen, Arena *scratch);

/* dx [n, D] = dL/dx (=, dx must not alias dout), gw += parameter gradients. aux_scale: dJ/d(aux
 * loss of this block), normally 1. */
void block_backward(real *dx, LayerWeights *gw, const real *dout, const BlockActs *a, const real *x,
                    const LayerWeights *w, const ModelConfig *cfg, const int *pos, int B, int T,
                    const RopeTable *rope, real aux_scale, Arena *scratch);

#endif
