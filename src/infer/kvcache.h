/* The KV cache. For MLA (deepseek_v3), per layer, per token, only what the absorbed attention
 * needs (deepseek-v3-architecture.md §4.5):
 *   c     [Rkv]  the NORMALISED latent, kv_a_layernorm(x·W_kvaᵀ[:Rkv])
 *   k_pe  [Dr]   the ROTATED shared rope key, RoPE_pos((x·W_kvaᵀ)[Rkv:])
 * stored side by side as one row of W = Rkv + Dr floats, so the absorbed score of a head is one
 * dot product [q̃ ; q_pe]·[c ; k_pe] and the value is the row's first Rkv floats (the form
 * llama.cpp uses: MQA with K = [c ; k_pe], V = c).
 * For GQA (qwen2, llama), per layer, per token, the rotated keys and the values of the Hkv
 * key/value heads: one row of W = 2·Hkv·Dh floats, [k (Hkv·Dh) ; v (Hkv·Dh)].
 *
 * Layout: data [n_layers, n_slots, max_len, W]; a slot holds one sequence; len[slot] tokens are
 * valid (positions 0..len−1). Layers 0..L−1 are the main model's; layers L.. the MTP modules'
 * blocks when asked for (speculative decoding). Freeing a slot or rolling it back is setting len.
 *
 * Bytes per token: n_layers·W·4 versus plain multi-head caching of K and V,
 * n_layers·H·(Dqk + Dv)·4, or n_layers·H·2·Dh·4 (kvcache_bytes_per_token / kvcache_mha_bytes_per_token).
 */
#ifndef R1_INFER_KVCACHE_H
#define R1_INFER_KVCACHE_H

#include <stddef.h>

#include "model/config.h"

typedef struct KvCache {
    int n_layers;       /* main layers (+ MTP blocks) */
    int n_slots;
    int max_len;        /* tokens per slot */
    int W;              /* floats per row: Rkv + Dr (MLA) or 2·Hkv·Dh (GQA) */
    float *data;        /* [n_layers, n_slots, max_len, W], owned */
    int *len;           /* [n_slots] valid tokens per slot */
    int *busy;          /* [n_slots] 1 when the slot belongs to a live sequence */
} KvCache;

/* n_mtp: MTP blocks to cache too (0 unless speculative decoding). Aborts on out-of-memory. */
void kvcache_init(KvCache *kv, const ModelConfig *cfg, int n_slots, int max_len, int n_mtp);
void kvcache_free(KvCache *kv);

/* Row of (layer, slot, position): W floats. */
static inline float *kvcache_row(const KvCache *kv, int layer, int slot, int pos) {
    return kv->data + (((size_t)layer * kv->n_slots + slot) * kv->max_len + pos) * kv->W;
}

/* Takes a free slot (len 0, busy), or −1 when all are busy. Lowest index first. */
int kvcache_acquire(KvCache *kv);
void kvcache_release(KvCache *kv, int slot);
/* Slot dst's first n rows (every layer) become a copy of slot src's: len[dst] = n. Rows depend on
 * their tokens alone, so a sequence whose context starts with another's takes its rows instead
 * of recomputing them. src must hold at least n rows. */
void kvcache_copy_prefix(KvCache *kv, int dst, int src, int n);

size_t kvcache_bytes(const KvCache *kv);
/* Floats per cached row (W above). */
int kvcache_row_width(const ModelConfig *cfg);
/* Main-model bytes per cached token: L·W·4, and what plain MHA caching would take,
 * L·H·(Dqk + Dv)·4 (MLA) or L·H·2·Dh·4 (GQA). */
size_t kvcache_bytes_per_token(const ModelConfig *cfg);
size_t kvcache_mha_bytes_per_token(const ModelConfig *cfg);

#endif
