#define _GNU_SOURCE
#include "CrucibleGlibcMalloc.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

/* glibc's own functions, looked up in libc itself (a lookup from here would find the executable's jemalloc). */
static void *(*libc_malloc)(size_t);
static void (*libc_free)(void *);
static void *(*libc_calloc)(size_t, size_t);
static void *(*libc_realloc)(void *, size_t);
static void *(*libc_memalign)(size_t, size_t);
static size_t (*libc_usable_size)(void *);

/* What dlopen and dlsym allocate while the lookups are under way comes from here, and is never freed. */
static _Alignas(16) char bootstrap[1 << 16];
static size_t bootstrap_used;

static int from_bootstrap(const void *p) {
    return (const char *)p >= bootstrap && (const char *)p < bootstrap + sizeof(bootstrap);
}

static void *bootstrap_alloc(size_t n) {
    size_t start = (bootstrap_used + 15) & ~(size_t)15;
    if (start + 16 + n > sizeof(bootstrap)) return NULL;
    memcpy(bootstrap + start, &n, sizeof(n));  /* the size, for realloc */
    bootstrap_used = start + 16 + n;
    return bootstrap + start + 16;
}

static void resolve(void) {
    static int resolving;
    if (libc_malloc || resolving) return;
    resolving = 1;
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (libc) {
        libc_free = (void (*)(void *))dlsym(libc, "free");
        libc_calloc = (void *(*)(size_t, size_t))dlsym(libc, "calloc");
        libc_realloc = (void *(*)(void *, size_t))dlsym(libc, "realloc");
        libc_memalign = (void *(*)(size_t, size_t))dlsym(libc, "memalign");
        libc_usable_size = (size_t (*)(void *))dlsym(libc, "malloc_usable_size");
        libc_malloc = (void *(*)(size_t))dlsym(libc, "malloc");
    }
    resolving = 0;
}

__attribute__((constructor(101))) static void start(void) { resolve(); }

void *malloc(size_t n) {
    resolve();
    return libc_malloc ? libc_malloc(n) : bootstrap_alloc(n);
}

void free(void *p) {
    if (!p || from_bootstrap(p)) return;
    resolve();
    libc_free(p);
}

void *calloc(size_t count, size_t size) {
    resolve();
    if (libc_calloc) return libc_calloc(count, size);
    if (size && count > SIZE_MAX / size) return NULL;
    return bootstrap_alloc(count * size);  /* static storage: already zero */
}

void *realloc(void *p, size_t n) {
    resolve();
    if (p && from_bootstrap(p)) {
        size_t old;
        memcpy(&old, (char *)p - 16, sizeof(old));
        void *moved = malloc(n);
        if (moved) memcpy(moved, p, old < n ? old : n);
        return moved;
    }
    return libc_realloc(p, n);
}

void *memalign(size_t alignment, size_t n) {
    resolve();
    return libc_memalign(alignment, n);
}

void *aligned_alloc(size_t alignment, size_t n) { return memalign(alignment, n); }

void *valloc(size_t n) { return memalign(4096, n); }

void *pvalloc(size_t n) { return memalign(4096, (n + 4095) & ~(size_t)4095); }

int posix_memalign(void **out, size_t alignment, size_t n) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = memalign(alignment, n);
    if (!p && n) return ENOMEM;
    *out = p;
    return 0;
}

size_t malloc_usable_size(void *p) {
    if (!p) return 0;
    if (from_bootstrap(p)) {
        size_t n;
        memcpy(&n, (char *)p - 16, sizeof(n));
        return n;
    }
    resolve();
    return libc_usable_size(p);
}
