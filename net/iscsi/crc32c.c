/*
 * net/iscsi/crc32c.c - CRC32C for iSCSI digests. Portable.
 * Polynomial 0x1EDC6F41, reflected (0x82F63B78), initial value and final
 * XOR all ones (RFC 7143 13.1; test vectors in RFC 3720 B.4). A 256-entry
 * table is built on first use.
 */
#include "net/iscsi/crc32c.h"

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t table[256];
static int table_ready;

static void crc32c_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		table[i] = c;
	}
	table_ready = 1;
}

/*
 * Continues `crc` (a finished CRC value, 0 for none yet) over `len` bytes
 * and returns the finished CRC of everything so far.
 */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!table_ready)
		crc32c_init_table();
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* The CRC32C of one buffer. */
uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_update(0, buf, len);
}
