#include "base/bigmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <sys/resource.h>
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

void *big_zero_lazy(size_t bytes, const char *what) {
#if defined(__linux__)
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "r1: error: out of memory mapping %zu bytes of %s\n", bytes, what);
        abort();
    }
    return p;
#else
    return big_calloc(bytes, what);
#endif
}

void big_unmap(void *p, size_t bytes) {
    if (!p) return;
#if defined(__linux__)
    munmap(p, bytes ? bytes : 1);
#else
    (void)bytes;
    free(p);
#endif
}

size_t mem_peak_rss(void) {
#if defined(__linux__)
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) return (size_t)ru.ru_maxrss * 1024;   /* KiB on Linux */
#endif
    return 0;
}
