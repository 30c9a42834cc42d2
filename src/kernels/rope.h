/* Rotary position embedding in the layout DeepSeek checkpoints store: interleaved pairs.
 *
 * A rope slice of Dr values is Dr/2 complex numbers (x[2j], x[2j+1]), rotated by pos·θ_j:
 *   y[2j]   = x[2j]·cos − x[2j+1]·sin
 *   y[2j+1] = x[2j]·sin + x[2j+1]·cos
 * (the official inference code's form; HF de-interleaves at run time, giving the same dot
 * products). θ_j = rope_theta^(−2j/Dr), or YaRN's blend when rope_scaling is set
 * (deepseek-v3-architecture.md §5); cos/sin are multiplied by YaRN's attention factor
 * get_mscale(s, mscale)/get_mscale(s, mscale_all_dim) (1 for V3). Backward rotates by −pos·θ_j.
 */
#ifndef R1_KERNELS_ROPE_H
#define R1_KERNELS_ROPE_H

#include "kernels/real.h"
#include "model/config.h"

typedef struct RopeTable {
    int max_pos;        /* positions 0..max_pos-1 */
    int half;           /* Dr / 2 */
    real *cos, *sin;    /* [max_pos, half], owned */
    double *inv_freq;   /* [half], owned: θ_j after YaRN */
    double mscale;      /* YaRN attention factor folded into cos/sin (1 without YaRN) */
} RopeTable;

/* θ_j (j < Dr/2) for cfg: plain rope_theta^(−2j/Dr), or YaRN's blend (§5 of the reference). */
void rope_inv_freq(double *inv_freq, const ModelConfig *cfg);
/* YaRN's cos/sin magnitude get_mscale(s, mscale)/get_mscale(s, mscale_all_dim); 1 without YaRN.
 * get_mscale(s, m) = 0.1·m·ln s + 1 for s > 1, else 1. */
double rope_yarn_mscale(const ModelConfig *cfg);

/* Tables for positions < max_pos (usually max_position_embeddings). */
void rope_table_init(RopeTable *t, const ModelConfig *cfg, int max_pos);
void rope_table_free(RopeTable *t);

/* In place, for n tokens and n_heads vectors per token:
 *   vector(i, h) = x + i*ld + h*head_stride, Dr = 2*t->half values; position pos[i]. */
void rope_forward(real *x, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);
void rope_backward(real *dx, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);

/* Naive twins: angles from t->inv_freq and t->mscale in double, no tables. */
void rope_forward_ref(real *x, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);
void rope_backward_ref(real *dx, int ld, int head_stride, int n_heads, const int *pos, int n, const RopeTable *t);

#endif
