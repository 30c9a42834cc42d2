/* Rotary position embedding, in either of the two layouts checkpoints store.
 *
 * A rope slice of dim values is dim/2 complex numbers, rotated by pos·θ_j:
 *   ROPE_INTERLEAVED  pairs (x[2j], x[2j+1])        DeepSeek's stored layout (the official
 *                     inference code's form; HF de-interleaves at run time: same dot products)
 *   ROPE_HALVES       pairs (x[j], x[j + dim/2])     Llama/Qwen2 ("rotate_half")
 *   y_a = x_a·cos − x_b·sin,   y_b = x_a·sin + x_b·cos
 * θ_j = theta^(−2j/dim), rescaled by the scaling rule:
 *   YaRN   (deepseek-v3-architecture.md §5): a floor/ceil-clamped ramp between θ_j/s and θ_j;
 *          cos/sin multiplied by get_mscale(s, mscale)/get_mscale(s, mscale_all_dim),
 *          get_mscale(s, m) = 0.1·m·ln s + 1 for s > 1, else 1
 *   llama3 (Llama 3.1): wavelength λ_j = 2π/θ_j; λ_j > L0/low_freq_factor: θ_j/s;
 *          λ_j < L0/high_freq_factor: θ_j; between: (1 − a)·θ_j/s + a·θ_j with
 *          a = (L0/λ_j − low_freq_factor)/(high_freq_factor − low_freq_factor)
 * Backward rotates by −pos·θ_j. The parameters are the kernel's own: the model layer fills them
 * from its config.
 */
#ifndef R1_KERNELS_ROPE_H
#define R1_KERNELS_ROPE_H

#include "kernels/real.h"

typedef enum RopeLayout { ROPE_INTERLEAVED, ROPE_HALVES } RopeLayout;
typedef enum RopeScalingKind { ROPE_SCALING_NONE, ROPE_SCALING_YARN, ROPE_SCALING_LLAMA3 } RopeScalingKind;

typedef struct RopeParams {
    int dim;                        /* rotated values per vector, even */
    RopeLayout layout;
    double theta;                   /* base */
    RopeScalingKind scaling;
    double factor;                  /* s (YaRN, llama3) */
    int original_max_pos;           /* L0 (YaRN, llama3) */
    double beta_fast, beta_slow;    /* YaRN */
    double mscale, mscale_all_dim;  /* YaRN */
    double low_freq_factor, high_freq_factor;   /* llama3 */
} RopeParams;

typedef struct RopeTable {
    int max_pos;        /* positions 0..max_pos-1 */
    int half;           /* dim / 2 */
    RopeLayout layout;
    real *cos, *sin;    /* [max_pos, half], owned */
    double *inv_freq;   /* [half], owned: θ_j after scaling */
    double mscale;      /* YaRN attention factor folded into cos/sin (1 otherwise) */
} RopeTable;

/* θ_j (j < dim/2) after the scaling rule. */
void rope_inv_freq(double *inv_freq, const RopeParams *p);
/* The magnitude cos/sin carry: YaRN's get_mscale(s, mscale)/get_mscale(s, mscale_all_dim); 1
 * for the other rules. */
double rope_yarn_mscale(const RopeParams *p);

/* Tables for positions < max_pos (usually max_position_embeddings). */
void rope_table_init(RopeTable *t, const RopeParams *p, int max_pos);
void rope_table_free(RopeTable *t);

/* In place, for n tokens and n_heads vectors per token:
 *   vector(i, h) = x + i*ld + h*head_stride, dim = 2*t->half values; position pos[i]. */
void rope_forward(real *x, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);
void rope_backward(real *dx, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);

/* Naive twins: angles from t->inv_freq and t->mscale in double, no tables. */
void rope_forward_ref(real *x, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);
void rope_backward_ref(real *dx, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);

#endif
