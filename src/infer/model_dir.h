/* Opens a Hugging Face model folder for inference: the model (model/model_io.h: config.json and
 * model.safetensors or shards, any float dtype, MTP layers optional) and its tokenizer.json,
 * checked against each other: a tokenizer with ids beyond config.json's vocab_size is refused.
 * Errors are one line naming the folder and the file. A .gguf file (llama.cpp) is opened too: its
 * model (model/gguf_model.h) and the tokenizer of its tokenizer.ggml.* keys. */
#ifndef R1_INFER_MODEL_DIR_H
#define R1_INFER_MODEL_DIR_H

#include "base/error.h"
#include "model/model.h"
#include "model/model_lowp.h"
#include "tokenizer/tokenizer.h"

/* tok may be NULL (no tokenizer wanted). On failure nothing is left allocated. */
int model_dir_open(const char *dir, Model *m, Tokenizer **tok, Err *e);
/* The same with the weights kept as `mode` says (model_lowp.h); model_dir_open is WEIGHTS_F32. */
int model_dir_open_as(const char *dir, WeightMode mode, Model *m, Tokenizer **tok, Err *e);

#endif
