/* The tokenizer the rest of r1.c uses: a Hugging Face byte-level BPE tokenizer.json, loaded once,
 * immutable afterwards.
 *
 * Encoding (Hugging Face order):
 *   1. added tokens with normalized=false are cut out of the raw text; each segment between them
 *      is normalized (normalize.h; when the file has a normalizer) and the added tokens with
 *      normalized=true are cut out of that (HF's two tries), each pass leftmost-longest,
 *      honouring lstrip / rstrip / single_word;
 *   2. every remaining segment goes through the pre-tokenizer chain (pretokenize.h);
 *   3. every piece is BPE-encoded from its bytes (bpe.h).
 * Any byte string encodes (invalid UTF-8 and NUL included) and decode(encode(x)) == x, or x with
 * those segments normalized when the file has a normalizer.
 *
 * Thread safety: a Tokenizer is read-only once loaded. tokenizer_encode() uses scratch state held
 * by the Tokenizer (so one thread at a time); threads that encode concurrently each create a
 * TokState and call tokenizer_encode_with(). */
#ifndef R1_TOKENIZER_TOKENIZER_H
#define R1_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "tokenizer/bpe.h"          /* TokIds */
#include "tokenizer/chat.h"         /* ChatFormat */
#include "tokenizer/pretokenize.h"  /* PieceFn */

typedef struct Tokenizer Tokenizer;
typedef struct TokState TokState;

/* Loads a tokenizer.json. Also reads bos/eos/pad names and the chat_template's format from a
 * tokenizer_config.json in the same folder when there is one; otherwise they are looked up by the
 * DeepSeek names (<｜begin▁of▁sentence｜>, <｜end▁of▁sentence｜>, <｜▁pad▁｜> or the EOS) and the
 * format is R1's. Errors name the field: "FILE: model.merges[12]: 'x' is not in the vocabulary". */
Tokenizer *tokenizer_load(const char *path, Err *e);
/* Same, from a JSON text in memory; `name` is used in error messages. */
Tokenizer *tokenizer_from_json(const char *json, size_t n, const char *name, Err *e);
void tokenizer_free(Tokenizer *tok);

/* Appends the ids of text[0..len) to out (no BOS). -1 with an Err only for pathological input
 * (a run of more than 8 MiB with no split point) or a byte missing from the vocabulary. */
int tokenizer_encode(Tokenizer *tok, const char *text, size_t len, TokIds *out, Err *e);
TokState *tok_state_new(const Tokenizer *tok);
void tok_state_free(TokState *s);
int tokenizer_encode_with(const Tokenizer *tok, TokState *s, const char *text, size_t len,
                          TokIds *out, Err *e);

/* Steps 1-2 of encoding only: cuts out added tokens (dropped) and pre-tokenizes the rest, calling
 * fn for each piece instead of BPE-encoding it. Used by training to count words. */
int tokenizer_pieces(const Tokenizer *tok, TokState *s, const char *text, size_t len,
                     PieceFn fn, void *ctx, Err *e);

/* Appends the bytes of ids[0..n) to out; skip_special drops tokens whose `special` flag is set
 * (not the role or think tokens, which are not special). -1 with an Err on an unknown id. */
int tokenizer_decode(const Tokenizer *tok, const uint32_t *ids, size_t n, int skip_special,
                     StrBuf *out, Err *e);

/* Id of a token given by its text (added tokens first, then the vocabulary), or -1. */
int64_t tokenizer_token_id(const Tokenizer *tok, const char *text);
/* The raw bytes of an id (NULL if the id has no token). */
const char *tokenizer_token_bytes(const Tokenizer *tok, uint32_t id, size_t *len);
int tokenizer_is_special(const Tokenizer *tok, uint32_t id);
/* max id + 1 (the smallest model vocab_size that fits this tokenizer). */
uint32_t tokenizer_vocab_size(const Tokenizer *tok);
int64_t tokenizer_bos_id(const Tokenizer *tok);    /* -1 if none */
int64_t tokenizer_eos_id(const Tokenizer *tok);
int64_t tokenizer_pad_id(const Tokenizer *tok);
/* 1 when the file has a Unicode normalizer (decode(encode(x)) is then x normalized). */
int tokenizer_normalizes(const Tokenizer *tok);
/* The chat format of the tokenizer_config.json beside the file (chat.h; R1 without one). */
ChatFormat tokenizer_chat_format(const Tokenizer *tok);
/* What writers of other formats (GGUF) need beside the ids' bytes: the BPE model inside (merges
 * in rank order through bpe_merge_pair), the pre-tokenizer steps (each Split's pattern as in the
 * file), and the added tokens in file order (content, id, special flag; NULL past the end). */
const Bpe *tokenizer_bpe(const Tokenizer *tok);
const PreTok *tokenizer_pretok(const Tokenizer *tok);
int tokenizer_n_added(const Tokenizer *tok);
const char *tokenizer_added(const Tokenizer *tok, int i, uint32_t *id, int *special);
/* A 64-bit hash of the tokenizer.json bytes (identifies the tokenizer in caches). */
uint64_t tokenizer_hash(const Tokenizer *tok);

#endif
