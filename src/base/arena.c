#include "base/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/error.h"

enum { ARENA_ALIGN = 64 };

static void init(Arena *a, size_t cap_bytes, int huge) {
    cap_bytes = (cap_bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    a->base = huge ? big_alloc(cap_bytes, "a scratch arena")
                   : aligned_alloc(ARENA_ALIGN, cap_bytes ? cap_bytes : ARENA_ALIGN);
    if (!a->base) {
        fprintf(stderr, "r1: error: out of memory allocating an arena of %zu bytes\n", cap_bytes);
        abort();
    }
    a->cap = cap_bytes;
    a->used = 0;
    a->peak = 0;
}

void arena_init(Arena *a, size_t cap_bytes) { init(a, cap_bytes, 0); }
void arena_init_huge(Arena *a, size_t cap_bytes) { init(a, cap_bytes, 1); }

void arena_free(Arena *a) {
    free(a->base);
    memset(a, 0, sizeof *a);
}

void *arena_alloc(Arena *a, size_t bytes) {
    size_t start = (a->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    CHECKF(start + bytes <= a->cap, "arena of %zu bytes exhausted (need %zu more)", a->cap,
           start + bytes - a->used);
    a->used = start + bytes;
    if (a->used > a->peak) a->peak = a->used;
    return a->base + start;
}

void *arena_calloc(Arena *a, size_t bytes) {
    return memset(arena_alloc(a, bytes), 0, bytes);
}

float *arena_floats(Arena *a, size_t n) { return arena_alloc(a, n * sizeof(float)); }

void arena_reset(Arena *a, size_t mark) {
    CHECK(mark <= a->used);
    a->used = mark;
}
