/* Small helpers shared by the model files for carving buffers.
 *
 * Activations are carved once (model_acts_init) out of one allocation: a first pass with
 * base == NULL only measures, the second hands out 64-byte aligned slices. Scratch during a step
 * comes from an Arena (base/arena.h), reset to a mark when the op is done. Internal to src/model.
 */
#ifndef R1_MODEL_ACTS_H
#define R1_MODEL_ACTS_H

#include <stddef.h>

#include "base/arena.h"
#include "kernels/real.h"

typedef struct Carve {
    char *base;     /* NULL: measuring pass */
    size_t off;     /* bytes handed out so far (aligned) */
} Carve;

static inline void *carve_bytes(Carve *c, size_t bytes) {
    size_t start = (c->off + 63) / 64 * 64;
    c->off = start + bytes;
    return c->base ? c->base + start : NULL;
}
static inline real *carve_real(Carve *c, size_t n) { return carve_bytes(c, n * sizeof(real)); }
static inline int *carve_int(Carve *c, size_t n) { return carve_bytes(c, n * sizeof(int)); }

static inline real *arena_real(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(real)); }
static inline int *arena_int(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(int)); }

#endif
