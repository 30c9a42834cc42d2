/* Synthetic mixed text for tokenizer benchmarks and training tests: English-like prose (a
 * Zipf-distributed lexicon of syllable words), code, Chinese (common-character range, with
 * punctuation), Japanese kana, numbers and arithmetic, Cyrillic, emoji, whitespace runs.
 * Deterministic in (seed, bytes); no files needed, so every machine benchmarks the same text. */
#ifndef R1_TOKENIZER_TEXTGEN_H
#define R1_TOKENIZER_TEXTGEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

/* Appends the UTF-8 encoding of code point cp (< 0x110000) to out. */
void textgen_put_cp(StrBuf *out, uint32_t cp);

/* Appends about `bytes` bytes (whole lines, valid UTF-8) to out. */
void textgen_mixed(uint64_t seed, size_t bytes, StrBuf *out);

#endif
