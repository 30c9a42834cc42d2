#include "base/rng.h"

#include <math.h>

#include "base/error.h"

/* SplitMix64 finaliser: a bijective mixer used to fold (seed, purpose, a) into one key. */
static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void philox4x32(uint64_t key, uint64_t ctr_lo, uint64_t ctr_hi, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32);
    uint32_t c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

Rng rng_make(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b) {
    Rng r;
    r.key = mix64(mix64(mix64(seed) ^ (uint64_t)purpose) ^ a);
    r.stream = b;
    r.counter = 0;
    r.pos = 4;
    return r;
}

uint32_t rng_u32(Rng *r) {
    if (r->pos == 4) {
        philox4x32(r->key, r->counter++, r->stream, r->buf);
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

uint64_t rng_u64(Rng *r) {
    uint64_t hi = rng_u32(r);
    return (hi << 32) | rng_u32(r);
}

double rng_uniform(Rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

float rng_uniform_f(Rng *r) { return (float)(rng_u32(r) >> 8) * 0x1.0p-24f; }

uint64_t rng_below(Rng *r, uint64_t n) {
    CHECK(n > 0);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;   /* reject the biased tail */
    uint64_t x;
    do x = rng_u64(r); while (x >= limit);
    return x % n;
}

static double box_muller(uint64_t u1_bits, uint64_t u2_bits) {
    double u1 = ((double)(u1_bits >> 11) + 0.5) * 0x1.0p-53;   /* (0, 1): log is finite */
    double u2 = (double)(u2_bits >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double rng_normal(Rng *r) {
    uint64_t a = rng_u64(r);
    return box_muller(a, rng_u64(r));
}

void rng_shuffle_u32(Rng *r, uint32_t *v, uint64_t n) {
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = rng_below(r, i);
        uint32_t t = v[i - 1]; v[i - 1] = v[j]; v[j] = t;
    }
}

double rng_normal_at(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t i) {
    Rng r = rng_make(seed, purpose, a, 0);
    uint32_t w[4];
    philox4x32(r.key, i, 0, w);
    return box_muller(((uint64_t)w[0] << 32) | w[1], ((uint64_t)w[2] << 32) | w[3]);
}
