/* The KV cache (MLA latents or GQA keys and values): allocation, slots, sizes (see kvcache.h). */
#include "infer/kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void kvcache_init(KvCache *kv, const ModelConfig *cfg, int n_slots, int max_len, int n_mtp) {
    CHECK(n_slots > 0 && max_len > 0 && n_mtp >= 0);
    memset(kv, 0, sizeof *kv);
    kv->n_layers = cfg->num_hidden_layers + n_mtp;
    kv->n_slots = n_slots;
    kv->max_len = max_len;
    kv->W = kvcache_row_width(cfg);
    size_t n = (size_t)kv->n_layers * n_slots * max_len * kv->W;
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    kv->data = aligned_alloc(64, bytes > 0 ? bytes : 64);
    CHECKF(kv->data != NULL, "out of memory: KV cache of %zu bytes", bytes);
    kv->len = xcalloc((size_t)n_slots, sizeof *kv->len);
    kv->busy = xcalloc((size_t)n_slots, sizeof *kv->busy);
}

void kvcache_free(KvCache *kv) {
    free(kv->data);
    free(kv->len);
    free(kv->busy);
    memset(kv, 0, sizeof *kv);
}

int kvcache_acquire(KvCache *kv) {
    for (int s = 0; s < kv->n_slots; s++)
        if (!kv->busy[s]) {
            kv->busy[s] = 1;
            kv->len[s] = 0;
            return s;
        }
    return -1;
}

void kvcache_release(KvCache *kv, int slot) {
    CHECK(slot >= 0 && slot < kv->n_slots);
    kv->busy[slot] = 0;
    kv->len[slot] = 0;
}

void kvcache_copy_prefix(KvCache *kv, int dst, int src, int n) {
    CHECK(dst >= 0 && dst < kv->n_slots && src >= 0 && src < kv->n_slots && dst != src);
    CHECK(n >= 0 && n <= kv->len[src]);
    for (int l = 0; l < kv->n_layers; l++)
        memcpy(kvcache_row(kv, l, dst, 0), kvcache_row(kv, l, src, 0), (size_t)n * kv->W * sizeof(float));
    kv->len[dst] = n;
}

size_t kvcache_bytes(const KvCache *kv) {
    return (size_t)kv->n_layers * kv->n_slots * kv->max_len * kv->W * sizeof(float);
}

int kvcache_row_width(const ModelConfig *cfg) {
    return config_is_mla(cfg) ? cfg->kv_lora_rank + cfg->qk_rope_head_dim : 2 * config_kv_dim(cfg);
}

size_t kvcache_bytes_per_token(const ModelConfig *cfg) {
    return (size_t)cfg->num_hidden_layers * kvcache_row_width(cfg) * sizeof(float);
}

size_t kvcache_mha_bytes_per_token(const ModelConfig *cfg) {
    const size_t per_head = config_is_mla(cfg) ? (size_t)config_qk_head_dim(cfg) + cfg->v_head_dim
                                               : 2 * (size_t)cfg->head_dim;
    return (size_t)cfg->num_hidden_layers * cfg->num_attention_heads * per_head * sizeof(float);
}
