// A preload library that makes a process's writes or fsyncs fail from a chosen moment, for the verify nemesis's
// disk faults. Loaded with LD_PRELOAD and pointed at a control file by CRUCIBLE_DISK_FAULT; while that file holds
// a line "OPERATION ERRNO PREFIX" (OPERATION `write` or `fsync`, ERRNO `EIO` or `ENOSPC`, PREFIX an absolute
// directory), every such call on a file under PREFIX fails with that errno and changes nothing. The control file
// is re-read at most every 20 ms, so the fast path of an unfaulted call is a clock read and a compare.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum operation { OP_NONE = 0, OP_WRITE = 1, OP_FSYNC = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long next_check_ns;
static atomic_int active_operation;  // OP_NONE when no fault is set
static int fault_errno;
static char fault_prefix[1024];
static size_t fault_prefix_length;

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// Reads the control file (raw syscalls: nothing here may recurse into the wrappers below).
static void refresh(void) {
    const char *control = getenv("CRUCIBLE_DISK_FAULT");
    char text[1200] = {0};
    int fd = control ? (int)syscall(SYS_openat, AT_FDCWD, control, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        long n = syscall(SYS_read, fd, text, sizeof text - 1);
        syscall(SYS_close, fd);
        text[n > 0 ? n : 0] = 0;
    }
    char operation[16] = {0}, error[16] = {0}, prefix[1024] = {0};
    int op = OP_NONE;
    if (sscanf(text, "%15s %15s %1023s", operation, error, prefix) == 3 && prefix[0] == '/') {
        if (strcmp(operation, "write") == 0) op = OP_WRITE;
        if (strcmp(operation, "fsync") == 0) op = OP_FSYNC;
    }
    pthread_mutex_lock(&lock);
    fault_errno = strcmp(error, "ENOSPC") == 0 ? ENOSPC : EIO;
    snprintf(fault_prefix, sizeof fault_prefix, "%s", prefix);
    fault_prefix_length = strlen(fault_prefix);
    atomic_store(&active_operation, op);
    pthread_mutex_unlock(&lock);
}

// The errno to fail a call of `op` on `fd` with, or 0 to let it through.
static int injected(int op, int fd) {
    long now = now_ns();
    if (now >= atomic_load(&next_check_ns)) {
        atomic_store(&next_check_ns, now + 20 * 1000000L);
        refresh();
    }
    if (atomic_load(&active_operation) != op) return 0;
    char link[64], path[1100];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    long length = syscall(SYS_readlink, link, path, sizeof path - 1);
    if (length <= 0) return 0;
    path[length] = 0;
    int result = 0;
    pthread_mutex_lock(&lock);
    if (fault_prefix_length > 0 && strncmp(path, fault_prefix, fault_prefix_length) == 0
        && (path[fault_prefix_length] == '/' || path[fault_prefix_length] == 0))
        result = fault_errno;
    pthread_mutex_unlock(&lock);
    return result;
}

#define NEXT(name) static __typeof__(name) *next; if (!next) next = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)
#define FAIL_IF(op, fd) do { int e = injected(op, fd); if (e) { errno = e; return -1; } } while (0)

ssize_t write(int fd, const void *buffer, size_t count) {
    NEXT(write); FAIL_IF(OP_WRITE, fd); return next(fd, buffer, count);
}
ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    NEXT(pwrite); FAIL_IF(OP_WRITE, fd); return next(fd, buffer, count, offset);
}
ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
    NEXT(pwrite64); FAIL_IF(OP_WRITE, fd); return next(fd, buffer, count, offset);
}
ssize_t writev(int fd, const struct iovec *vector, int count) {
    NEXT(writev); FAIL_IF(OP_WRITE, fd); return next(fd, vector, count);
}
ssize_t pwritev(int fd, const struct iovec *vector, int count, off_t offset) {
    NEXT(pwritev); FAIL_IF(OP_WRITE, fd); return next(fd, vector, count, offset);
}
int ftruncate(int fd, off_t length) {
    NEXT(ftruncate); FAIL_IF(OP_WRITE, fd); return next(fd, length);
}
int fsync(int fd) {
    NEXT(fsync); FAIL_IF(OP_FSYNC, fd); return next(fd);
}
int fdatasync(int fd) {
    NEXT(fdatasync); FAIL_IF(OP_FSYNC, fd); return next(fd);
}
