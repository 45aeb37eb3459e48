#include "CAllocatorStats.h"
#include <string.h>

#ifdef CRUCIBLE_JEMALLOC
/* Debian's libjemalloc exports its API unprefixed; linking it makes it the process's malloc. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

int crucible_allocator_is_jemalloc(void) { return 1; }

static int read_size(const char *name, uint64_t *out) {
    size_t value = 0, length = sizeof(value);
    if (mallctl(name, &value, &length, NULL, 0) != 0) return -1;
    *out = (uint64_t)value;
    return 0;
}

int crucible_allocator_read(crucible_allocator_stats *stats) {
    uint64_t epoch = 1;
    size_t length = sizeof(epoch);
    memset(stats, 0, sizeof(*stats));
    /* Statistics are cached until the epoch advances. */
    if (mallctl("epoch", &epoch, &length, &epoch, length) != 0) return -1;
    int failed = read_size("stats.allocated", &stats->allocated) | read_size("stats.active", &stats->active)
        | read_size("stats.resident", &stats->resident) | read_size("stats.metadata", &stats->metadata)
        | read_size("stats.mapped", &stats->mapped);
    return failed ? -1 : 0;
}
#else
int crucible_allocator_is_jemalloc(void) { return 0; }

int crucible_allocator_read(crucible_allocator_stats *stats) {
    memset(stats, 0, sizeof(*stats));
    return -1;
}
#endif
