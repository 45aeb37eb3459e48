/* The few librdkafka-internal helpers that the rdkafka_performance example uses, so it builds against the
 * public headers Debian's librdkafka-dev ships. Written for Crucible's benchmark; not librdkafka's file. */
#ifndef CRUCIBLE_RD_SHIM_H
#define CRUCIBLE_RD_SHIM_H
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

typedef int64_t rd_ts_t;

/* Monotonic microseconds. */
static inline rd_ts_t rd_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rd_ts_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define rd_snprintf snprintf
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
