/* Large buffers on 2 MiB pages.
 *
 * Parameters, gradients, optimizer moments, activations and the training arena are hundreds of MB
 * that every step streams through, and the MoE gathers read rows scattered over them. On 4 KiB
 * pages a few MB of them exceed what the TLB maps, so those passes also pay page walks. These
 * buffers are asked for as transparent huge pages (madvise MADV_HUGEPAGE: Linux's default THP
 * mode "madvise" gives them only to regions that ask). It is a hint: where the kernel has no
 * THP, or no free 2 MiB pages, the memory is ordinary pages and everything works the same.
 * Not for memory first touched bit by bit inside timed work (the decode engine's arena, whose KV
 * cache fills as tokens come): there a 2 MiB fault (zeroing, compaction) lands mid-step, and
 * decode64 measured 3-10 % slower.
 * Measured on the bench config: PERF.md, "Training speed: unequal cores, huge pages".
 * Free with free() (big_zero_lazy's memory with big_unmap).
 */
#ifndef R1_BASE_BIGMEM_H
#define R1_BASE_BIGMEM_H

#include <stddef.h>

/* At least `bytes` bytes, 64-byte aligned (2 MiB aligned and rounded up to 2 MiB pages from
 * BIG_MIN bytes on), uninitialised; out of memory prints `what` and aborts. */
void *big_alloc(size_t bytes, const char *what);
/* The same, zeroed. */
void *big_calloc(size_t bytes, const char *what);

/* Zeroed memory whose pages take no room until first written (an anonymous mapping, ordinary
 * pages): for a buffer most of which may never be used, as the f32 parameters of a model whose
 * weights are kept in their stored precision. Free with big_unmap(p, bytes). */
void *big_zero_lazy(size_t bytes, const char *what);
void big_unmap(void *p, size_t bytes);

/* The process's peak resident memory so far, in bytes (0 where unknown). */
size_t mem_peak_rss(void);

#endif
