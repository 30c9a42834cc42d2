/* Batches of training sequences cut from a mapped token stream (tokcache.h).
 *
 * The stream of n_tokens ids is cut into n_seq = ⌊(n_tokens − 1) / T⌋ sequences of T + 1 tokens:
 * sequence i is tok[i·T .. i·T + T] (consecutive sequences share one token, so every token is
 * predicted exactly once). The last n_val = ⌈val_frac · n_seq⌉ sequences (in stream order) are
 * the held-out split; the first n_train = n_seq − n_val are trained on.
 *
 * Epoch order: a Fisher–Yates permutation of 0..n_train−1 drawn from rng_make(seed, RNG_DATA,
 * epoch, 0), so the order is a function of (seed, epoch) alone. The whole data state is the
 * cursor (epoch, pos): resuming rebuilds the permutation of `epoch` and continues at `pos`.
 * Tokens are read through the mapping, so only the pages of the sequences used are resident.
 *
 * A batch fills tokens [B, T] (inputs) and targets [B, T] (the next token of each position).
 */
#ifndef R1_TRAIN_LOADER_H
#define R1_TRAIN_LOADER_H

#include <stdint.h>

#include "base/error.h"
#include "train/tokcache.h"

typedef struct Loader {
    const uint32_t *tok;    /* [n_tokens] not owned (a TokFile's mapping or any buffer) */
    uint64_t n_tokens;
    int T;                  /* sequence length (inputs per sequence) */
    uint64_t n_seq, n_train, n_val;
    uint64_t seed;
    uint64_t epoch, pos;    /* cursor: next sequence is perm[pos] of epoch `epoch` */
    uint32_t *perm;         /* [n_train] order of the current epoch, owned */
    uint64_t perm_epoch;    /* epoch perm was drawn for (UINT64_MAX: none yet) */
} Loader;

/* Errors before any work: too few tokens for one training sequence. `what` names the corpus. */
int loader_init(Loader *l, const uint32_t *tok, uint64_t n_tokens, int T, double val_frac,
                uint64_t seed, const char *what, Err *e);
void loader_free(Loader *l);

/* Next B training sequences (wrapping into the next epoch as needed). */
void loader_next_batch(Loader *l, int B, int *tokens, int *targets);

/* Held-out sequences first .. first+B−1 (first + B <= n_val). */
void loader_val_batch(const Loader *l, uint64_t first, int B, int *tokens, int *targets);

/* Restores a saved cursor. */
void loader_seek(Loader *l, uint64_t epoch, uint64_t pos);

/* Largest id in the stream (for the vocabulary check); scans the mapping once. */
uint32_t loader_max_id(const Loader *l);

#endif
