/* AdamW over the flat parameter buffer (Loshchilov & Hutter, decoupled weight decay), as
 * torch.optim.AdamW computes it:
 *
 *     t += 1
 *     p ← p · (1 − lr·wd)                      (wd = 0 for tensors excluded from decay)
 *     m ← β1·m + (1 − β1)·g                    g = grad_scale · grad
 *     v ← β2·v + (1 − β2)·g²
 *     p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * Parameters, gradients and the moments m, v all share the ParamTable layout (one flat buffer
 * each, fp32). The optimizer is a loop over the table: every trainable tensor is cut into fixed
 * chunks (ParamChunks) and one OpenMP loop runs over the chunks. The update is elementwise, so
 * the bits do not depend on the thread count.
 *
 * Excluded by default from weight decay: RMSNorm gains, biases and embeddings (PARAM_NORM,
 * PARAM_EMBED). e_score_correction_bias (PARAM_ROUTER_BIAS) is never touched by AdamW: the
 * auxiliary-loss-free balancing step moves it (model_bias_update).
 */
#ifndef R1_TRAIN_ADAMW_H
#define R1_TRAIN_ADAMW_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/real.h"
#include "model/params.h"

/* One contiguous run of a trainable tensor: [offset, offset + n) in the flat buffer. */
typedef struct ParamChunk {
    size_t offset;
    size_t n;
    int tensor;         /* index into the ParamTable */
    int decay;          /* weight decay applies */
} ParamChunk;

/* Every trainable tensor cut into chunks of at most CHUNK elements, in table order. The chunking
 * depends only on the table, never on the thread count, so reductions over chunks (clip.h) give
 * the same bits with any number of threads. */
typedef struct ParamChunks {
    ParamChunk *c;      /* [n], owned */
    int n;
    size_t numel;       /* trainable elements */
} ParamChunks;

enum { PARAM_CHUNK_ELEMS = 1 << 15 };

/* decay_norms / decay_embed: also decay those kinds (off by default). */
void param_chunks_build(ParamChunks *pc, const ParamTable *pt, int decay_norms, int decay_embed);
void param_chunks_free(ParamChunks *pc);

typedef struct AdamWConfig {
    double beta1;           /* default 0.9 */
    double beta2;           /* default 0.95 (DeepSeek-V3) */
    double eps;             /* default 1e-8 */
    double weight_decay;    /* default 0.1 */
    int decay_norms;        /* 0: RMSNorm gains not decayed */
    int decay_embed;        /* 0: embeddings not decayed */
} AdamWConfig;

AdamWConfig adamw_defaults(void);

typedef struct AdamW {
    AdamWConfig cfg;
    const ParamTable *pt;   /* not owned */
    ParamChunks chunks;
    int c_lo, c_hi;         /* the chunks this optimizer updates (all of them, or a shard: ZeRO-1) */
    size_t mom_first;       /* m and v hold elements [mom_first, mom_first + mom_n) of the table */
    size_t mom_n;
    float *m;               /* [mom_n] first moment, owned, zero-initialised */
    float *v;               /* [mom_n] second moment, owned */
    int64_t t;              /* updates taken so far */
} AdamW;

void adamw_init(AdamW *o, const ParamTable *pt, const AdamWConfig *cfg);
/* An optimizer of chunks [c_lo, c_hi) only, with moments for just their elements (a rank's shard
 * under ZeRO-1, train/dp.h). */
void adamw_init_shard(AdamW *o, const ParamTable *pt, const AdamWConfig *cfg, int c_lo, int c_hi);
void adamw_free(AdamW *o);

/* One update with learning rate lr on gradients grads [pt->total], each multiplied by
 * grad_scale first (clipping factor × 1/accumulation steps), of the optimizer's chunks.
 * Increments o->t. */
void adamw_step(AdamW *o, real *params, const real *grads, double lr, double grad_scale);
/* The same, and sets every trainable gradient to 0 as it is consumed (saves the separate
 * clearing pass before the next accumulation; padding and the router bias get no gradient). */
void adamw_step_and_zero(AdamW *o, real *params, real *grads, double lr, double grad_scale);

#endif
