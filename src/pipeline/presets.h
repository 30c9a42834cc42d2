/* Presets of `r1 pipeline`: the model sizes, data sizes and step budgets of each stage.
 *
 *   nano   wiring check: every stage runs for a few steps (< 3 minutes); results are noise
 *   tiny   the default: ~20 minutes on 2 cores; a ~2 M-parameter MoE base, where the R1-Zero
 *          effect is expected (reference/small-scale-calibration.md)
 *   small  hours: a bigger base and longer RL, for clearer results
 */
#ifndef R1_PIPELINE_PRESETS_H
#define R1_PIPELINE_PRESETS_H

typedef struct Preset {
    const char *name;
    const char *base_config;        /* JSON text of the policy's config.json (vocab_size filled in) */
    const char *student_config;     /* the student's: a qwen2 decoder (R1-Distill-Qwen's shape) */
    int vocab_size;                 /* tokenizer vocabulary (the model's vocab_size is this, rounded up to 64) */
    /* data */
    long pretrain_docs;             /* documents in the pretraining corpus */
    const char *pretrain_tasks;     /* task mix */
    const char *levels;             /* difficulty range of the reasoning tasks */
    double cot_share;               /* share of pretraining documents with a chain of thought */
    long cold_start_n;              /* long-CoT SFT examples */
    /* stage budgets */
    long pretrain_steps, pretrain_batch, seq_len;
    double pretrain_lr;
    long rl_steps, rl_prompts, rl_generations, max_completion;
    double rl_lr;
    long sft_steps, sft_batch;
    double sft_lr;
    long sample_prompts, sample_n, sample_keep;
    long rm_pairs;                  /* built-in preference pairs per reward model */
    long rm_batch;                  /* pairs per reward-model step */
    long align_steps;
    long student_pretrain_steps;
    long eval_n, eval_k;
    const char *rl_task;            /* the reasoning task RL and evaluation use */
    const char *rl_levels;          /* its levels for RL, rejection sampling and evaluation: where
                                     * the base solves some problems, not all (calibration) */
    int leaves;                     /* every training step's work in this many units (pretraining's
                                     * and SFT's micro-batches, the reward models', GRPO's rollout
                                     * batches): they, not `--ranks`, fix the bits (DESIGN.md: the
                                     * fixed reduction order), so any power of two dividing them
                                     * runs a preset to the results of one process. Divides
                                     * pretrain_batch, sft_batch, rm_batch and rl_prompts. */
} Preset;

/* NULL when unknown. */
const Preset *preset_find(const char *name);
const char *preset_names(void);

#endif
