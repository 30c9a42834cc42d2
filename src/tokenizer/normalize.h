/* Unicode normalization of tokenizer input: the Hugging Face normalizers NFC, NFD, NFKC and NFKD
 * (alone or in a Sequence), computed by Debian's utf8proc; r1 keeps no Unicode tables of its own.
 *
 * Any bytes are accepted: each maximal run of valid UTF-8 is normalized on its own, and bytes that
 * are not valid UTF-8 (stray continuation bytes, truncated sequences, encoded surrogates) are
 * copied through unchanged. Hugging Face only ever sees valid UTF-8, so on such text we agree with
 * it exactly, up to the Unicode version of the tables: Debian's utf8proc 2.8 has Unicode 15, the
 * Rust crate of HF's tokenizers 0.23 is older than Unicode 13 (it leaves U+11935 U+11930 apart,
 * utf8proc composes them into U+11938), so characters assigned in between may differ.
 *
 * A text made only of ASCII bytes is left alone without calling utf8proc (every form maps ASCII to
 * itself), so normalization costs nothing on ASCII and nothing at all without a normalizer. */
#ifndef R1_TOKENIZER_NORMALIZE_H
#define R1_TOKENIZER_NORMALIZE_H

#include <stddef.h>

#include "base/error.h"

#define NORM_MAX_STEPS 8

typedef enum NormForm { NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD } NormForm;

typedef struct Normalizer {
    NormForm steps[NORM_MAX_STEPS];
    int n;                     /* 0 = no normalizer */
} Normalizer;

/* Appends the form named by a tokenizer.json "type" ("NFC", ...). -1 with an Err naming `where`
 * for any other type or too many steps. */
int normalizer_add(Normalizer *nz, const char *type, const char *where, Err *e);

/* Per-thread buffers. */
typedef struct NormScratch NormScratch;
NormScratch *norm_scratch_new(void);
void norm_scratch_free(NormScratch *s);

/* Normalizes text[0..n). Returns the result (text itself when it is ASCII or there is no
 * normalizer, else memory owned by s, valid until the next call with s) and its length in *out_n;
 * NULL with an Err only when utf8proc fails (out of memory, a length it cannot represent). */
const char *normalizer_run(const Normalizer *nz, NormScratch *s, const char *text, size_t n,
                           size_t *out_n, Err *e);

#endif
