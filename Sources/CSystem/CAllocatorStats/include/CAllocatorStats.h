#ifndef CRUCIBLE_ALLOCATOR_STATS_H
#define CRUCIBLE_ALLOCATOR_STATS_H

#include <stddef.h>
#include <stdint.h>

/// The allocator's statistics, from jemalloc's mallctl when the executable links jemalloc (the default build);
/// all zero and `crucible_allocator_is_jemalloc()` false with glibc's allocator.
typedef struct {
    uint64_t allocated;  /* bytes the application holds */
    uint64_t active;     /* bytes in pages holding allocations */
    uint64_t resident;   /* bytes the allocator has resident */
    uint64_t metadata;   /* bytes of the allocator's own bookkeeping */
    uint64_t mapped;     /* bytes mapped by the allocator */
} crucible_allocator_stats;

int crucible_allocator_is_jemalloc(void);
/// Refreshes jemalloc's statistics epoch and reads them; returns 0 on success.
int crucible_allocator_read(crucible_allocator_stats *stats);

#endif
