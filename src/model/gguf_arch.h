/* Inside the GGUF model code: what model/gguf_model.c (the dispatch on the architecture) shares
 * with the architectures it dispatches to, model/gguf_deepseek2.c (deepseek_v3 <-> "deepseek2")
 * and model/gguf_dense.c (qwen2 <-> "qwen2", llama <-> "llama"). Not for other layers. */
#ifndef R1_MODEL_GGUF_ARCH_H
#define R1_MODEL_GGUF_ARCH_H

#include <cJSON.h>

#include "base/error.h"
#include "io/gguf.h"
#include "model/model.h"

/* ---- export ---- */

/* The on-disk type of one tensor: 1-D tensors and the MoE router stay F32 (as llama.cpp's
 * converter keeps them); Q8_0 needs rows of 32 (F16 otherwise, as the converter does). */
GgmlType gguf_arch_pick_type(GgmlType want, int n_dims, int64_t ne0, const char *gguf);
/* An f32 copy of n values (the writer takes it). */
float *gguf_arch_f32_copy(const real *src, size_t n);
/* A table parameter as tensor `gguf` ({in, out} for a matrix, {n} for a vector), same values. */
void gguf_arch_add_param(GgufWriter *w, const ParamInfo *p, const char *gguf, const real *params, GgmlType type);
/* general.architecture / name / file_type (and quantization_version for Q8_0). */
void gguf_arch_add_general(GgufWriter *w, const char *arch, const char *name, GgmlType type);

/* ---- import ---- */

/* "<arch>.<suffix>" as an int (required or not: 0 read, 1 absent, -1 error) bounded to 2^30, or
 * as a double. Errors name the file and the key. */
int gguf_arch_u32(const Gguf *g, const char *arch, const char *suffix, int required, int *out, Err *e);
int gguf_arch_f(const Gguf *g, const char *arch, const char *suffix, int required, double *out, Err *e);
/* ne[1] of a 2-D tensor, or -1 when absent or not 2-D. */
int64_t gguf_arch_rows(const Gguf *g, const char *name);
/* Tensor `name` present with dims ne[0..n_dims); *t receives it. `hf` names the parameter in the
 * error ("FILE: tensor 'N': dims {..}, expected {..} (HF name)"). */
int gguf_arch_want(const Gguf *g, const char *name, const char *hf, int n_dims, const int64_t *ne,
                   const GgufTensor **t, Err *e);
/* A tensor to f32, stored as real (t->numel values). */
void gguf_arch_read(const GgufTensor *t, real *dst);
/* The bos/eos ids of the tokenizer.ggml keys into a config JSON under construction. */
void gguf_arch_token_ids(const Gguf *g, cJSON *cfg);
/* Every tensor of the file is used (used[i]), except those of blocks >= skip_from (the MTP blocks
 * a deepseek2 file may carry): else "FILE: tensor 'X' is not used by the ARCH model the metadata
 * describes". */
int gguf_arch_all_used(const Gguf *g, const unsigned char *used, int skip_from, const char *arch, Err *e);

/* ---- llama3 RoPE scaling as rope_freqs.weight (gguf_rope.c) ---- */

/* The divisors ff[0..Dh/2) of c's llama3 scaling: θ_j(scaled) = θ_j / ff_j. */
void gguf_rope_factors(const ModelConfig *c, float *ff);
/* llama3 parameters (or none, when every divisor is 1) that reproduce ff[0..dim/2) within f32
 * rounding for RoPE base theta; -1 when there are none. */
int gguf_rope_fit_llama3(const float *ff, int dim, double theta, RopeScaling *out);

/* ---- the architectures ---- */

int gguf_deepseek2_add(GgufWriter *w, const Model *m, GgmlType type, const char *name, Err *e);
int gguf_deepseek2_config(const Gguf *g, ModelConfig *cfg, Err *e);
int gguf_deepseek2_read(const Gguf *g, const ModelConfig *cfg, const ParamTable *pt, real *params, unsigned char *used, Err *e);

int gguf_dense_add(GgufWriter *w, const Model *m, GgmlType type, const char *name, Err *e);
int gguf_dense_config(const Gguf *g, const char *arch, ModelConfig *cfg, Err *e);
int gguf_dense_read(const Gguf *g, const ModelConfig *cfg, const ParamTable *pt, real *params, unsigned char *used, Err *e);

#endif
