/* The inference forward pass over a KV cache: a batch of new rows (tokens of many sequences,
 * each appended to its own cache slot) through the model, giving logits for the rows asked for.
 * Used for chunked prefill, one-token decode steps, and speculative verification alike.
 *
 * Dimension legend: model/config.h. n = rows in this call, W = a cache row: Rkv + Dr (MLA) or
 * 2·Hkv·Dh (GQA).
 *
 * Per layer, for the n rows (positions p_i = the slot's cached length + the row's index among
 * that slot's rows in this call):
 *   xn = RMSNorm(h);  q [n, H, Dqk] (rope part rotated), c [n, Rkv], k_pe [n, Dr] = mla_project
 *   cache[layer, slot_i, p_i] = [c_i ; k_pe_i]
 *   attention of row i over cache rows 0..p_i of its slot (so rows of one slot in one call see
 *   each other causally), in one of two forms:
 *     ABSORBED (the fast path, §4.5):  q̃[h] = W_UK[h]ᵀ q_nope[h]  [Rkv]
 *        score[h, s] = σ·([q̃[h] ; q_pe[h]]·cache[s]),  P = softmax_s,
 *        ctx[h] = Σ_s P[h, s]·cache[s][:Rkv]  [Rkv],   o[h] = W_UV[h]·ctx[h]  [Dv]
 *     NAIVE (the reference): K, V re-expanded from the cached latents (mla_expand_kv) and plain
 *        softmax attention with q — the training form, so the two can be compared.
 *   GQA (qwen2, llama) instead: [q ; k ; v] = gqa_project (q, k rotated), cache[layer, slot_i,
 *   p_i] = [k_i ; v_i], and each key/value head's rep query heads attend to its cached rows as one
 *   multi-query product (the absorbed form's routine with Hkv heads); NAIVE only switches the
 *   products to plain matmuls.
 *   h += o·W_oᵀ;  h += FFN(RMSNorm(h))  — dense SwiGLU or MoE.
 * The projections, FFN and MoE are the model's own functions (mla_project, ffn_forward,
 * moe_forward), run with the engine's few-row Linear executor (kernels/linear.h: transposed
 * weight copies made at engine_init, column blocks over the threads, bits independent of the
 * thread count and of the row count); the NAIVE mode runs them with plain matmuls, exactly as
 * training does. Attention over the cache is decode_attn.c.
 * Then hf = RMSNorm(h; model.norm) for every row and logits = hf·lm_headᵀ for the wanted rows.
 *
 * MTP (speculative drafting): engine_mtp_forward runs MTP module 1 on rows (h_prev = the main
 * model's final-normed hidden state at position p, next token t_{p+1}) with its own cache layer
 * (index L) and its own per-slot length, giving draft logits for t_{p+2}.
 *
 * Memory: everything is sized once in engine_init from (slots, max_len, max_rows); forward
 * allocates nothing. Threads: OpenMP over rows for attention, OpenBLAS inside matmuls.
 */
#ifndef R1_INFER_DECODE_H
#define R1_INFER_DECODE_H

#include "base/arena.h"
#include "infer/kvcache.h"
#include "kernels/linear.h"
#include "model/model.h"

typedef enum AttnMode { ATTN_ABSORBED = 0, ATTN_NAIVE = 1 } AttnMode;

typedef struct Engine {
    const Model *m;
    KvCache kv;             /* layers L (+1 with MTP) */
    int *mtp_len;           /* [n_slots] rows in the MTP cache layer */
    int max_rows;
    int with_mtp;
    AttnMode mode;
    /* scratch, sized for max_rows */
    MlaActs mla;            /* deepseek_v3 */
    GqaActs gqa;            /* qwen2, llama */
    MoeActs moe;
    real *h;                /* [max_rows, D] residual stream */
    real *xn;               /* [max_rows, D] */
    real *y;                /* [max_rows, D] */
    real *qabs;             /* [max_rows, H, W] absorbed queries [q̃ ; q_pe] */
    real *ctx;              /* [max_rows, H, Rkv] attended latents */
    real *o;                /* [max_rows, H·Dv] (GQA: H·Dh) */
    real *hf;               /* [max_rows, D] final-normed hidden state of the last call */
    real *hsel;             /* [max_rows, D] gathered rows for lm_head */
    real *logits;           /* [max_rows, V] logits of the wanted rows of the last call */
    real *mtp_cat;          /* [max_rows, 2D] */
    real *ffn_gu;           /* [max_rows, 2I] (dense layers) */
    float *att;             /* [n_threads, H, max_len] per-thread score rows */
    int att_threads;
    int *pos;               /* [max_rows] */
    Arena arena;            /* scratch of moe/ffn/naive attention */
    void *mem;
    LinearExec lin;         /* the step's products */
} Engine;

/* n_slots sequences of up to max_len tokens, at most max_rows rows per call; with_mtp also
 * caches MTP module 1 (the model must have one). max_len <= max_position_embeddings. */
void engine_init(Engine *g, const Model *m, int n_slots, int max_len, int max_rows, int with_mtp);
/* The same with the engine's own packed copies of the f32 weights in fmt: KN_F32 (engine_init)
 * or KN_BF16_DOT (bf16 compute). Weights the model keeps in their stored precision (m->packs)
 * use those packs either way. */
void engine_init_as(Engine *g, const Model *m, int n_slots, int max_len, int max_rows, int with_mtp,
                    KnFormat fmt);
void engine_free(Engine *g);

/* Appends n rows: row i is token tok[i] of slot slot[i]. Rows of one slot must be consecutive
 * (in sequence order); each slot's cache must have room. want [n] (NULL = all): rows whose
 * logits are computed; they land compactly, in row order, in g->logits [n_wanted, V].
 * g->hf [n, D] holds every row's final-normed hidden state. Returns n_wanted. */
int engine_forward(Engine *g, const int *tok, const int *slot, int n, const unsigned char *want);

/* MTP module 1 on n rows: row i = (hprev[i] [D], the token tok[i] that follows it) of slot
 * slot[i], appended to the slot's MTP cache (positions g->mtp_len[slot] ...). Draft logits of
 * every row in g->logits [n, V]. hprev must not alias g->hf. */
void engine_mtp_forward(Engine *g, const real *hprev, const int *tok, const int *slot, int n);

/* Drops a slot's cached rows beyond len (speculative rollback); the MTP layer is untouched. */
static inline void engine_truncate(Engine *g, int slot, int len) {
    if (len < g->kv.len[slot]) g->kv.len[slot] = len;
}

#endif
