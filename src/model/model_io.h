/* Model folders: a model (deepseek_v3, qwen2, llama) saved and loaded as a Hugging Face folder
 * (DESIGN.md §5, deepseek-v3-architecture.md §9):
 *     config.json              config_save (its model_type; torch_dtype picks the dtype)
 *     model.safetensors        every table tensor under its HF name: F32, or BF16 when torch_dtype
 *                              is "bfloat16" (F16 for "float16"); e_score_correction_bias stays F32
 *                              as in the release. The MTP modules' model.layers.{L+k}.embed_tokens
 *                              and .shared_head.head are written as copies of the main embed_tokens
 *                              and lm_head (the checkpoint layout every reader expects).
 *     generation_config.json   bos/eos, do_sample, temperature 0.6, top_p 0.95 (R1's values)
 *
 * With tie_word_embeddings no lm_head.weight is written; one present on load is ignored.
 * Loading reads any such folder another tool wrote: one file or shards with an index,
 * F32/BF16/F16/F8_E4M3 (+ _scale_inv) tensors, MTP layers present or not. Every table tensor must
 * be present with the shape config.json implies; errors name the tensor (missing, unexpected,
 * wrong shape, wrong dtype). The MTP duplicates are accepted and ignored. When config.json has
 * num_nextn_predict_layers = M > 0 but no tensor of layers L..L+M-1 exists, the model loads with
 * M = 0 and one notice line on stderr; some but not all of them present is an error naming the
 * first missing one.
 */
#ifndef R1_MODEL_MODEL_IO_H
#define R1_MODEL_MODEL_IO_H

#include "base/error.h"
#include "io/safetensors.h"
#include "kernels/real.h"
#include "model/config.h"
#include "model/model.h"
#include "model/params.h"

/* Writes config.json, model.safetensors and generation_config.json into the existing folder dir
 * (each file written to a temporary name, fsync'ed, renamed). */
int model_io_write(const char *dir, const ModelConfig *cfg, const ParamTable *pt, const real *params, Err *e);

/* Saves a model folder as a whole: written into "<dir>.tmp-<pid>", fsync'ed, then swapped in for
 * dir (or renamed to dir if it does not exist). Other regular files already in dir (tokenizer.json,
 * ...) are kept; stale shards and index files are not. A dir holding subfolders is refused. */
int model_io_save(const char *dir, const ModelConfig *cfg, const ParamTable *pt, const real *params, Err *e);

/* Reads dir/config.json and opens the folder's tensors; sets cfg->num_nextn_predict_layers to 0
 * (with a notice) when the MTP layers are entirely absent. On failure st needs no st_free. */
int model_io_open(const char *dir, ModelConfig *cfg, Safetensors *st, Err *e);

/* Fills params (laid out by pt, built from cfg) from st, checking names, shapes and dtypes. */
int model_io_read_params(const Safetensors *st, const ModelConfig *cfg, const ParamTable *pt, real *params, Err *e);
/* The same, checking but not reading the tensors i with skip[i] (kept elsewhere: model_lowp.h). */
int model_io_read_params_except(const Safetensors *st, const ModelConfig *cfg, const ParamTable *pt, real *params,
                                const unsigned char *skip, Err *e);

/* The same for a Model. model_load_dir initialises m (model_init) and fills it; on failure m
 * holds nothing to free. A path to a regular file ending in .gguf is read as a llama.cpp GGUF
 * file instead (model/gguf_model.h). */
int model_load_dir(Model *m, const char *dir, Err *e);
int model_save_dir(const Model *m, const char *dir, Err *e);
/* True for a regular file whose name ends in .gguf. */
int model_path_is_gguf(const char *path);
int model_write_dir(const Model *m, const char *dir, Err *e);

#endif
