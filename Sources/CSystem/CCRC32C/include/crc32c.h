#ifndef CRUCIBLE_CRC32C_H
#define CRUCIBLE_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start).
uint32_t crucible_crc32c(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware (SSE4.2) path is in use.
int crucible_crc32c_is_hardware(void);

#endif
