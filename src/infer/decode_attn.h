/* Attention of a decode step's rows over the KV cache (internal to src/infer; decode.h has the
 * math). Each writes g->o [n, H·Dv] from the step's projections (g->mla or g->gqa) and the cache
 * rows 0..pos[i] of row i's slot, which already hold the step's own rows. */
#ifndef R1_INFER_DECODE_ATTN_H
#define R1_INFER_DECODE_ATTN_H

#include "infer/decode.h"

/* MLA, absorbed (the fast path): MQA over the latent rows [c ; k_pe]. */
void decode_attn_absorbed(Engine *g, const MlaWeights *w, int layer, const int *slot, const int *pos, int n);
/* MLA, naive (the reference): K and V re-expanded per row with mla_expand_kv, softmax in double. */
void decode_attn_naive(Engine *g, const MlaWeights *w, int layer, const int *slot, const int *pos, int n);
/* GQA: per key/value head, MQA of its rep query heads over the cached [k ; v] rows. */
void decode_attn_gqa(Engine *g, int layer, const int *slot, const int *pos, int n);

#endif
