#include "base/bigmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

enum { HUGE_PAGE = 2u << 20, BIG_MIN = 4u << 20 };

void *big_alloc(size_t bytes, const char *what) {
    const int big = bytes >= BIG_MIN;
    const size_t align = big ? HUGE_PAGE : 64;
    /* aligned_alloc wants a multiple of the alignment */
    const size_t n = bytes ? (bytes + align - 1) / align * align : align;
    void *p = aligned_alloc(align, n);
    if (!p) {
        fprintf(stderr, "r1: error: out of memory allocating %zu bytes of %s\n", bytes, what);
        abort();
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* before the first touch, so the pages are faulted in as 2 MiB ones; failure is harmless */
    if (big) (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

void *big_calloc(size_t bytes, const char *what) {
    return memset(big_alloc(bytes, what), 0, bytes);
}
