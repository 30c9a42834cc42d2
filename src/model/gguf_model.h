/* A model as a llama.cpp GGUF file: the metadata keys and tensor names of llama.cpp's
 * architectures `deepseek2` (deepseek_v3 folders; model/gguf_deepseek2.c), `qwen2` and `llama`
 * (model/gguf_dense.c), both ways. In every file a tensor's GGUF dims are its HF shape reversed
 * (the same bytes); norms and biases stay F32.
 *
 * ---- deepseek2 ----
 * Tensors (HF name -> GGUF name):
 *   model.embed_tokens.weight [V, D]            token_embd.weight       {D, V}
 *   model.norm.weight / lm_head.weight          output_norm.weight / output.weight
 *   model.layers.{l}.input_layernorm            blk.{l}.attn_norm
 *     self_attn.q_a_proj / q_a_layernorm / q_b_proj / q_proj    attn_q_a / attn_q_a_norm / attn_q_b / attn_q
 *     self_attn.kv_a_proj_with_mqa / kv_a_layernorm             attn_kv_a_mqa / attn_kv_a_norm
 *     self_attn.kv_b_proj [H·(Dn+Dv), Rkv]      split per head, as llama.cpp's absorbed MLA wants:
 *                                               attn_k_b {Dn, Rkv, H} = k rows of each head transposed,
 *                                               attn_v_b {Rkv, Dv, H} = v rows of each head
 *     self_attn.o_proj, post_attention_layernorm attn_output, ffn_norm
 *     mlp.{gate,up,down}_proj (dense)           ffn_{gate,up,down}
 *     mlp.gate.weight / .e_score_correction_bias  ffn_gate_inp.weight / exp_probs_b.bias
 *     mlp.experts.{e}.{gate,up,down}_proj       ffn_{gate,up,down}_exps {in, out, E}: the E experts stacked
 *     mlp.shared_experts.{gate,up,down}_proj    ffn_{gate,up,down}_shexp
 * MTP modules (layers L..L+M-1) are not written: llama.cpp's deepseek2 graph does not run them.
 *
 * Metadata: deepseek2.{block_count, context_length, embedding_length, feed_forward_length,
 * expert_feed_forward_length, vocab_size, leading_dense_block_count, attention.head_count,
 * attention.head_count_kv = 1 (absorbed MLA is MQA over the latent), attention.q_lora_rank (0 =
 * a single q projection), attention.kv_lora_rank, attention.key_length = Rkv+Dr,
 * attention.value_length = Rkv, attention.key_length_mla = Dn+Dr, attention.value_length_mla = Dv,
 * rope.dimension_count = Dr, rope.freq_base, attention.layer_norm_rms_epsilon, expert_count,
 * expert_used_count, expert_shared_count, expert_weights_scale, expert_weights_norm,
 * expert_gating_func (1 softmax, 2 sigmoid), expert_group_count / expert_group_used_count}, and for
 * YaRN rope.scaling.{type "yarn", factor, original_context_length, yarn_log_multiplier =
 * 0.1·mscale_all_dim, yarn_beta_fast, yarn_beta_slow}.
 *
 * What llama.cpp computes differently, so export refuses it (one line naming the config key):
 *   - group-limited routing scored by the group max (topk_method group_limited_greedy with
 *     1 < topk_group < n_group): llama.cpp always scores a group by the sum of its top two;
 *   - YaRN with mscale != mscale_all_dim: llama.cpp's deepseek2 assumes mscale == mscale_all_dim,
 *     i.e. no extra scale of cos/sin (HF scales them by yarn_get_mscale(s, mscale) /
 *     yarn_get_mscale(s, mscale_all_dim));
 *   - YaRN with beta_fast/beta_slow other than 32/1: llama.cpp's deepseek2 does not read them;
 *   - MoE layers without shared experts (llama.cpp's deepseek2 requires them).
 * Import reads what llama.cpp reads (legacy files with an unsplit attn_kv_b too).
 *
 * ---- qwen2, llama ----
 * Tensors: model.embed_tokens / model.norm / lm_head (absent when tied: llama.cpp then uses
 * token_embd) -> token_embd / output_norm / output; per layer input_layernorm, self_attn.{q,k,v}_proj
 * (weight, bias), self_attn.o_proj (weight, llama's bias), post_attention_layernorm,
 * mlp.{gate,up,down}_proj -> blk.{l}.attn_norm, attn_{q,k,v}, attn_output, ffn_norm, ffn_{gate,up,down}.
 * llama.cpp's llama rotates interleaved pairs (x[2j], x[2j+1]) where the HF checkpoint rotates
 * halves (x[j], x[j + Dh/2]), so llama's q and k rows (and biases) are permuted within each head:
 * GGUF row 2j + i = HF row i·Dh/2 + j; import undoes it. qwen2 runs halves in llama.cpp (NeoX):
 * no permutation. Llama-3 RoPE scaling is not metadata but rope_freqs.weight {Dh/2}: the divisor
 * ff_j of each frequency (θ_j/ff_j is the scaled one); import finds llama3 parameters that give
 * the same divisors (model/gguf_rope.c).
 * Metadata: ARCH.{block_count, context_length, embedding_length, feed_forward_length, vocab_size,
 * attention.head_count, attention.head_count_kv, attention.key_length = attention.value_length =
 * rope.dimension_count = Dh, rope.freq_base, attention.layer_norm_rms_epsilon}.
 * Refused on export: YaRN (only llama's llama3 scaling is exported); for qwen2 llama3 scaling
 * (llama.cpp reads rope_freqs for llama only) and H·Dh != D (llama.cpp's qwen2 assumes head_dim =
 * D/H). Refused on import: experts, value_length or rope.dimension_count != key_length, linear
 * or YaRN rope.scaling, divisors no llama3 rule gives.
 *
 * Import fills a ModelConfig and the parameter table; F32/F16/BF16/Q8_0 tensors become f32, and
 * a tensor the model does not use is an error naming it. */
#ifndef R1_MODEL_GGUF_MODEL_H
#define R1_MODEL_GGUF_MODEL_H

#include "base/error.h"
#include "io/gguf.h"
#include "model/model.h"

/* llama.cpp's architecture name for a config: "deepseek2", "qwen2" or "llama". */
const char *gguf_model_arch_name(const ModelConfig *c);

/* Adds general.architecture/name/file_type and the architecture's metadata and tensors of m to
 * w, weights as `type` (norms, biases and the router stay F32; a Q8_0 tensor whose rows are not a
 * multiple of 32 falls back to F16, as llama.cpp's converter does). The tensors are f32 copies
 * owned by w. Writes one notice line to stderr when MTP modules are left out. */
int gguf_model_add(GgufWriter *w, const Model *m, GgmlType type, const char *name, Err *e);

/* Reads the config of an opened GGUF file (architecture deepseek2, qwen2 or llama), checking that
 * every parameter's tensor is present with its dims. */
int gguf_model_config(const Gguf *g, ModelConfig *cfg, Err *e);
/* Fills params (laid out by pt, from cfg = gguf_model_config(g)) from g's tensors, checking that
 * every tensor is present with its shape and that no unknown tensor is left over. */
int gguf_model_read_params(const Gguf *g, const ModelConfig *cfg, const ParamTable *pt, real *params, Err *e);
/* gguf_model_config + model_init + gguf_model_read_params. On failure m holds nothing. */
int model_load_gguf(Model *m, const char *path, Err *e);

#endif
