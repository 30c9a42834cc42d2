#include "pipeline/presets.h"

#include <string.h>

/* The policy: a DeepSeek-V3 in miniature — MLA, one dense layer then MoE layers (shared + routed
 * experts, sigmoid routing with the correction bias), one MTP module. vocab_size is replaced by
 * the trained tokenizer's size. */
#define TINY_BASE \
    "{\"architectures\": [\"DeepseekV3ForCausalLM\"], \"model_type\": \"deepseek_v3\", \"vocab_size\": 0," \
    " \"hidden_size\": 128, \"num_hidden_layers\": 4, \"first_k_dense_replace\": 1, \"intermediate_size\": 384," \
    " \"num_attention_heads\": 4, \"q_lora_rank\": 64, \"kv_lora_rank\": 32, \"qk_nope_head_dim\": 16," \
    " \"qk_rope_head_dim\": 16, \"v_head_dim\": 16, \"n_routed_experts\": 8, \"n_shared_experts\": 1," \
    " \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 96, \"n_group\": 2, \"topk_group\": 1," \
    " \"routed_scaling_factor\": 1.0, \"norm_topk_prob\": true, \"scoring_func\": \"sigmoid\"," \
    " \"topk_method\": \"noaux_tc\", \"rope_theta\": 10000.0, \"rope_scaling\": null," \
    " \"max_position_embeddings\": 384, \"num_nextn_predict_layers\": 1, \"rms_norm_eps\": 1e-06," \
    " \"initializer_range\": 0.02, \"bos_token_id\": 0, \"eos_token_id\": 1, \"torch_dtype\": \"float32\"}"

/* The student: a Qwen2 decoder (grouped-query attention with one key/value head, q/k/v biases,
 * untied head), as DeepSeek-R1-Distill-Qwen is, with about the parameters of an MLA dense student
 * of the same widths (attention 23.2 k vs 23.3 k parameters per layer here). */
#define TINY_STUDENT \
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"vocab_size\": 0," \
    " \"hidden_size\": 96, \"num_hidden_layers\": 3, \"intermediate_size\": 256," \
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"rope_theta\": 10000.0," \
    " \"rope_scaling\": null, \"max_position_embeddings\": 384, \"use_sliding_window\": false," \
    " \"sliding_window\": null, \"max_window_layers\": 3, \"tie_word_embeddings\": false," \
    " \"rms_norm_eps\": 1e-06, \"initializer_range\": 0.02, \"bos_token_id\": 0, \"eos_token_id\": 1," \
    " \"torch_dtype\": \"float32\"}"

#define NANO_BASE \
    "{\"architectures\": [\"DeepseekV3ForCausalLM\"], \"model_type\": \"deepseek_v3\", \"vocab_size\": 0," \
    " \"hidden_size\": 32, \"num_hidden_layers\": 2, \"first_k_dense_replace\": 1, \"intermediate_size\": 64," \
    " \"num_attention_heads\": 2, \"q_lora_rank\": 16, \"kv_lora_rank\": 16, \"qk_nope_head_dim\": 8," \
    " \"qk_rope_head_dim\": 8, \"v_head_dim\": 8, \"n_routed_experts\": 4, \"n_shared_experts\": 1," \
    " \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 16, \"n_group\": 2, \"topk_group\": 1," \
    " \"routed_scaling_factor\": 1.0, \"rope_scaling\": null, \"max_position_embeddings\": 320," \
    " \"num_nextn_predict_layers\": 1, \"torch_dtype\": \"float32\"}"

#define NANO_STUDENT \
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"vocab_size\": 0," \
    " \"hidden_size\": 32, \"num_hidden_layers\": 1, \"intermediate_size\": 64," \
    " \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"rope_scaling\": null," \
    " \"max_position_embeddings\": 320, \"use_sliding_window\": false, \"tie_word_embeddings\": false," \
    " \"torch_dtype\": \"float32\"}"

#define SMALL_BASE \
    "{\"architectures\": [\"DeepseekV3ForCausalLM\"], \"model_type\": \"deepseek_v3\", \"vocab_size\": 0," \
    " \"hidden_size\": 256, \"num_hidden_layers\": 6, \"first_k_dense_replace\": 1, \"intermediate_size\": 768," \
    " \"num_attention_heads\": 8, \"q_lora_rank\": 128, \"kv_lora_rank\": 64, \"qk_nope_head_dim\": 32," \
    " \"qk_rope_head_dim\": 16, \"v_head_dim\": 32, \"n_routed_experts\": 16, \"n_shared_experts\": 1," \
    " \"num_experts_per_tok\": 4, \"moe_intermediate_size\": 128, \"n_group\": 4, \"topk_group\": 2," \
    " \"routed_scaling_factor\": 2.5, \"rope_scaling\": null, \"max_position_embeddings\": 512," \
    " \"num_nextn_predict_layers\": 1, \"torch_dtype\": \"float32\"}"

#define SMALL_STUDENT \
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"vocab_size\": 0," \
    " \"hidden_size\": 128, \"num_hidden_layers\": 4, \"intermediate_size\": 384," \
    " \"num_attention_heads\": 4, \"num_key_value_heads\": 1, \"rope_scaling\": null," \
    " \"max_position_embeddings\": 512, \"use_sliding_window\": false, \"tie_word_embeddings\": false," \
    " \"torch_dtype\": \"float32\"}"

static const Preset PRESETS[] = {
    {.name = "nano", .base_config = NANO_BASE, .student_config = NANO_STUDENT, .vocab_size = 320,
     .pretrain_docs = 2000, .pretrain_tasks = "arith,copy,reverse,next,chat", .levels = "1", .cot_share = 0.5,
     .cold_start_n = 64, .pretrain_steps = 30, .pretrain_batch = 8, .seq_len = 128, .pretrain_lr = 3e-3,
     .rl_steps = 3, .rl_prompts = 4, .rl_generations = 4, .max_completion = 48, .rl_lr = 1e-3,
     .sft_steps = 10, .sft_batch = 8, .sft_lr = 1e-3, .sample_prompts = 16, .sample_n = 4, .sample_keep = 2,
     .rm_pairs = 40, .rm_batch = 8, .align_steps = 3, .student_pretrain_steps = 20, .eval_n = 16, .eval_k = 2,
     .rl_task = "arith", .rl_levels = "1", .leaves = 4},
    {.name = "tiny", .base_config = TINY_BASE, .student_config = TINY_STUDENT, .vocab_size = 512,
     .pretrain_docs = 60000, .pretrain_tasks = "arith,arith,countdown,linear,program,copy,reverse,next,chat",
     .levels = "1-2", .cot_share = 0.5, .cold_start_n = 400, .pretrain_steps = 1500, .pretrain_batch = 16,
     .seq_len = 256, .pretrain_lr = 2e-3, .rl_steps = 80, .rl_prompts = 16, .rl_generations = 8,
     .max_completion = 96, .rl_lr = 1e-4, .sft_steps = 150, .sft_batch = 16, .sft_lr = 5e-4,
     .sample_prompts = 256, .sample_n = 8, .sample_keep = 2, .rm_pairs = 300, .rm_batch = 8, .align_steps = 30,
     .student_pretrain_steps = 800, .eval_n = 200, .eval_k = 4, .rl_task = "arith",
     .rl_levels = "2", .leaves = 4},
    {.name = "small", .base_config = SMALL_BASE, .student_config = SMALL_STUDENT, .vocab_size = 1024,
     .pretrain_docs = 400000, .pretrain_tasks = "arith,arith,countdown,linear,program,copy,reverse,next,chat",
     .levels = "1-3", .cot_share = 0.5, .cold_start_n = 2000, .pretrain_steps = 12000, .pretrain_batch = 32,
     .seq_len = 384, .pretrain_lr = 1.5e-3, .rl_steps = 400, .rl_prompts = 32, .rl_generations = 8,
     .max_completion = 192, .rl_lr = 1e-4, .sft_steps = 1000, .sft_batch = 32, .sft_lr = 3e-4,
     .sample_prompts = 2000, .sample_n = 8, .sample_keep = 2, .rm_pairs = 3000, .rm_batch = 8, .align_steps = 200,
     .student_pretrain_steps = 6000, .eval_n = 500, .eval_k = 8, .rl_task = "arith",
     .rl_levels = "2-3", .leaves = 8},
};

const Preset *preset_find(const char *name) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
    return NULL;
}

const char *preset_names(void) { return "nano, tiny, small"; }
