/* Arena: a bump allocator for scratch memory.
 *
 * Kernels never allocate; callers hand them scratch from an arena. A step takes a mark, allocates,
 * and resets to the mark when done, so nothing is malloc'ed in inner loops. Every allocation is
 * 64-byte aligned (one cache line, one AVX-512 register). Running out is a sizing bug: CHECK.
 */
#ifndef R1_BASE_ARENA_H
#define R1_BASE_ARENA_H

#include <stddef.h>

typedef struct Arena {
    char *base;       /* owned; freed by arena_free */
    size_t cap;       /* bytes */
    size_t used;      /* bytes in use */
    size_t peak;      /* high-water mark, for sizing reports */
} Arena;

void arena_init(Arena *a, size_t cap_bytes);
/* The same on 2 MiB pages (base/bigmem.h): for an arena every step streams through (training). */
void arena_init_huge(Arena *a, size_t cap_bytes);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t bytes);          /* uninitialised, 64-byte aligned */
void *arena_calloc(Arena *a, size_t bytes);         /* zeroed */
float *arena_floats(Arena *a, size_t n);            /* uninitialised floats */
static inline size_t arena_mark(const Arena *a) { return a->used; }
void arena_reset(Arena *a, size_t mark);

#endif
