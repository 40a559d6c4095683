/*
 * vmm/fs/fs_dev.c - bounded reads, run lists and CRC-32 for the disk
 * readers (see fs_dev.h). Portable.
 */
#include "vmm/fs/fs_dev.h"

#include "vmm/core/lib/errno.h"

/* Reads [off, off + len) of the range: 0, -ERANGE outside it, or the disk's error. */
int fs_dev_read(const struct fs_dev *d, uint64_t off, uint32_t len, void *buf)
{
	if (off > d->size || len > d->size - off)
		return -ERANGE;
	if (!len)
		return 0;
	return d->ops->read(d->ctx, d->base + off, len, buf);
}

/* Appends [disk, disk + len) to m, merged with the last run when contiguous. */
int fs_map_add(struct fs_map *m, uint64_t disk, uint64_t len)
{
	if (!len)
		return 0;
	struct fs_run *last = m->n ? &m->run[m->n - 1] : 0;
	m->size += len;
	if (last && ((disk == FS_HOLE && last->disk == FS_HOLE) ||
		     (disk != FS_HOLE && last->disk != FS_HOLE && last->disk + last->len == disk))) {
		last->len += len;
		return 0;
	}
	if (m->n == m->max)
		return -E2BIG;
	m->run[m->n++] = (struct fs_run){ disk, len };
	return 0;
}

/* Bitwise CRC-32: the readers check a few hundred bytes of GPT, no table needed. */
uint32_t fs_crc32(uint32_t crc, const void *p, uint64_t n)
{
	const uint8_t *b = p;
	crc = ~crc;
	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

uint32_t fs_crc32c_le(uint32_t crc, const void *p, uint64_t n)
{
	const uint8_t *b = p;
	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return crc;
}
