/* Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * A stream is keyed by what it is for — (seed, purpose, a, b), e.g. (seed, RNG_SAMPLE, prompt,
 * sample) — and its n-th number depends only on that key and n, never on call order elsewhere.
 * So the same seed gives the same bits whatever the batch composition, thread count or resume
 * point. A stream's whole state is {key, counter}: saving it in a checkpoint is two integers.
 */
#ifndef R1_BASE_RNG_H
#define R1_BASE_RNG_H

#include <stdint.h>

/* Purposes: one per use, so streams for different uses never coincide. Append only. */
typedef enum RngPurpose {
    RNG_INIT = 1,      /* parameter initialisation: a = tensor index */
    RNG_DATA = 2,      /* data shuffling and generation: a = epoch / record */
    RNG_SAMPLE = 3,    /* token sampling: a = prompt index, b = sample index */
    RNG_TASK = 4,      /* task generators: a = record index */
    RNG_TEST = 5,      /* tests */
    RNG_DROP = 6,      /* anything else that needs its own stream */
    RNG_TASK_REDRAW = 7, /* task redraws for the held-out split: a = record index, b = 3 x try + stream */
    RNG_BOOTSTRAP = 8,   /* bootstrap resamples: a = the comparison's key, b = resample index */
} RngPurpose;

typedef struct Rng {
    uint64_t key;      /* derived from (seed, purpose, a, b) */
    uint64_t stream;   /* high half of the Philox counter: b */
    uint64_t counter;  /* low half: index of the next 4-word block */
    uint32_t buf[4];   /* current block */
    int pos;           /* next unused word in buf; 4 = empty */
} Rng;

Rng rng_make(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b);
/* The raw block function: 4 words for (key, counter). Stateless. */
void philox4x32(uint64_t key, uint64_t ctr_lo, uint64_t ctr_hi, uint32_t out[4]);

uint32_t rng_u32(Rng *r);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);                 /* [0, 1), 53 bits */
float rng_uniform_f(Rng *r);                /* [0, 1), 24 bits */
uint64_t rng_below(Rng *r, uint64_t n);     /* uniform in [0, n), unbiased; n > 0 */
double rng_normal(Rng *r);                  /* standard normal (Box-Muller) */
void rng_shuffle_u32(Rng *r, uint32_t *v, uint64_t n);   /* Fisher-Yates */

/* Stateless: the i-th standard normal of the stream keyed (seed, purpose, a). Used where each
 * element must be computable on its own (parameter init split across threads). */
double rng_normal_at(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t i);

#endif
