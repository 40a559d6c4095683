/*
 * vmm/fs/fs_dev.h - how hako's partition-table and file-system readers
 * (vmm/fs/) reach a disk, and what they hand back.
 *
 * The readers are ordinary synchronous code over one operation: read N
 * bytes at a byte offset. Portable: no hardware headers. In the host unit
 * tests the operation reads a file in memory. In the kernel it reads a
 * cache of disk blocks (vmm/disk_boot.c): when a byte is not there yet it
 * returns -EAGAIN, the reader gives up with -EAGAIN as it would with any
 * error, and the caller fetches the missing blocks with the block layer's
 * asynchronous API and runs the reader again. A run takes microseconds;
 * nothing ever waits inside a reader.
 *
 * A disk is hostile input. Every offset a reader computes from on-disk
 * fields goes through fs_dev_read(), which refuses anything outside the
 * partition; the readers check every field they use before using it.
 */
#ifndef HAKO_FS_DEV_H
#define HAKO_FS_DEV_H

#include <stdint.h>

struct disk_ops {
	/*
	 * Reads `len` bytes at byte `off` of the disk into buf: 0, -EAGAIN
	 * (not available yet: fetch and run the reader again) or -E...
	 */
	int (*read)(void *ctx, uint64_t off, uint32_t len, void *buf);
};

/* A byte range of a disk: a partition, or the whole disk. */
struct fs_dev {
	const struct disk_ops *ops;
	void *ctx;
	uint64_t base;          /* its first byte on the disk */
	uint64_t size;          /* bytes */
};

/*
 * Reads [off, off + len) of the range: 0, -ERANGE when any of it lies
 * outside (overflow-safe), or the disk's -EAGAIN / -E...
 */
int fs_dev_read(const struct fs_dev *d, uint64_t off, uint32_t len, void *buf);

/*
 * Where a file's bytes are on the disk: runs in file order, each a disk
 * byte offset (FS_HOLE: reads as zeros) and a length. The caller gives the
 * array; adjacent runs are merged.
 */
#define FS_HOLE UINT64_MAX
struct fs_run {
	uint64_t disk;
	uint64_t len;
};
struct fs_map {
	struct fs_run *run;
	unsigned n, max;
	uint64_t size;          /* the file's size: the sum of the runs' lengths */
};
/* Appends a run (merging it with the last when they touch). 0 or -E2BIG. */
int fs_map_add(struct fs_map *m, uint64_t disk, uint64_t len);

/* CRC-32 (IEEE 802.3, reflected; UEFI spec Appendix A: GPT headers). */
uint32_t fs_crc32(uint32_t crc, const void *p, uint64_t n);
/*
 * CRC-32C (Castagnoli) as ext4's metadata checksums use it: from `crc`,
 * without the final inversion (Linux's crc32c_le()).
 */
uint32_t fs_crc32c_le(uint32_t crc, const void *p, uint64_t n);

#endif
