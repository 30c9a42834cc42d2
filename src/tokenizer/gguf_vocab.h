/* A tokenizer as llama.cpp's GGUF keys (tokenizer.ggml.*), for `r1 export gguf`.
 *
 *   tokenizer.ggml.model       "gpt2" (byte-level BPE)
 *   tokenizer.ggml.pre         the pre-tokenizer name llama.cpp knows for the tokenizer.json's
 *                              pre_tokenizer: "deepseek-v3" for DeepSeek-V3's three Split regexes
 *                              + ByteLevel (also what `r1 tokenizer train` writes), "qwen2" for the
 *                              Split regex of Qwen2/Qwen3, "llama-bpe" for Llama-3's, "gpt-2" for
 *                              a ByteLevel with the GPT-2 regex; any other is refused (llama.cpp
 *                              would split text differently). llama.cpp runs no normalizer: text
 *                              that Qwen's NFC changes encodes differently there unless it is
 *                              normalized first
 *   tokenizer.ggml.tokens      vocab_size strings: model tokens in their byte-level form ("Ġthe"),
 *                              added tokens as their text, ids without a token "[PAD<id>]"
 *   tokenizer.ggml.token_type  1 normal, 3 control (special added tokens), 4 user-defined
 *                              (other added tokens), 5 unused (the [PAD] rows)
 *   tokenizer.ggml.merges      "left right" in byte-level form, in rank order
 *   tokenizer.ggml.{bos,eos,padding}_token_id, add_bos_token, add_eos_token
 *   tokenizer.chat_template    tokenizer_config.json's chat_template, when there is one
 */
#ifndef R1_TOKENIZER_GGUF_VOCAB_H
#define R1_TOKENIZER_GGUF_VOCAB_H

#include <stdint.h>

#include "base/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

/* From a tokenizer.json (its folder's tokenizer_config.json too); vocab_size >= the tokenizer's
 * ids (the model's embedding rows). Errors name the file and the key. */
int gguf_vocab_add(GgufWriter *w, const char *tokenizer_json, uint32_t vocab_size, Err *e);

/* A placeholder for a model folder without tokenizer.json: ids 0..min(256, V)-1 are the 256
 * byte-level single-byte tokens, the rest "[PAD<id>]" (unused); no merges; pre "default". */
void gguf_vocab_add_placeholder(GgufWriter *w, uint32_t vocab_size, int bos_id, int eos_id);

/* The other way: a Tokenizer from a GGUF file's tokenizer.ggml.* keys (model "gpt2", pre
 * "deepseek-v3", "qwen2" or "deepseek-r1-qwen", "llama-bpe" / "llama3" / "llama-v3", "gpt-2" or
 * "default"): normal tokens form the BPE vocabulary, control and user-defined tokens the added
 * tokens (control = special), unused rows stay holes; BOS/EOS/PAD from the *_token_id keys. The
 * tokenizer encodes as Hugging Face's file of that family does: Qwen's NFC normalizer,
 * Llama-3's ignore_merges. Errors name the file and the key. */
Tokenizer *gguf_vocab_tokenizer(const Gguf *g, Err *e);

#endif
