/*
 * net/iscsi/crc32c.h - CRC32C (Castagnoli), the iSCSI header and data
 * digest (RFC 7143 13.1, RFC 3720 B.4). Portable.
 */
#ifndef HAKO_ISCSI_CRC32C_H
#define HAKO_ISCSI_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc32c_update(0, ...) for a fresh digest. */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c(const void *buf, size_t len);

#endif
