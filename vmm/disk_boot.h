/*
 * vmm/disk_boot.h - reading what a guest's disk boots (`boot=disk`): the
 * file-system readers (vmm/fs/bootfind.h) run over a cache of the disk's
 * blocks, and the kernel and initrd they find are fetched with the block
 * layer's asynchronous API, the kernel into a buffer of hako's and the
 * initrd straight into guest memory. Nothing waits: every step runs from
 * a request's completion on the service core, and the owner polls.
 * Portable (no hardware headers): unit-tested on memory disks.
 *
 * How it goes, for a Debian system on a LUN:
 *   1. boot_find() runs over the cache. At the first byte the cache lacks
 *      it stops with -EAGAIN; one 32 KiB read fetches the blocks around
 *      it, and boot_find() runs again from the start (microseconds). A
 *      Debian root takes about 20 such rounds: partition table,
 *      superblock, group descriptors, inode tables, /, /boot.
 *   2. The kernel's runs are read, 256 KiB per request and four requests
 *      in flight, into a buffer; the owner's plan() says from the
 *      bzImage's header where the initrd goes in guest memory.
 *   3. The initrd's runs are read the same way and put() into the guest.
 */
#ifndef HAKO_DISK_BOOT_H
#define HAKO_DISK_BOOT_H

#include <stdint.h>

#include "vmm/blk/blk.h"
#include "vmm/fs/bootfind.h"

#define DISK_BOOT_ERR_MAX 320

struct disk_boot_ops {
	/*
	 * The kernel is read: where must an initrd of initrd_len bytes go
	 * (guest-physical)? 0, or -E... with *why (the kernel is unusable).
	 */
	int (*plan)(void *ctx, const void *kernel, uint64_t kernel_len, uint64_t initrd_len,
		    uint64_t *initrd_gpa, const char **why);
	/* Copies n bytes (src 0: zeros) to guest-physical gpa. */
	void (*put)(void *ctx, uint64_t gpa, const void *src, uint64_t n);
};

struct disk_boot;

/* Figures for the log and the benchmark. */
struct disk_boot_stats {
	unsigned finds;                 /* boot_find() runs */
	unsigned meta_reads;            /* metadata fetches */
	uint64_t meta_bytes;
	unsigned bulk_reads;
	uint64_t bulk_bytes;
};

/*
 * Starts reading open device `bd` (which must stay open until
 * disk_boot_end()). 0 and *out, or -ENOMEM. Service core.
 */
int disk_boot_begin(struct blockdev *bd, const struct disk_boot_ops *ops, void *ctx,
		    struct disk_boot **out);
/*
 * -EINPROGRESS while reading; 0 when the kernel is in its buffer and the
 * initrd in guest memory; or -E... with one sentence in err.
 */
int disk_boot_poll(struct disk_boot *db, char *err, unsigned len);
/* After a 0 from poll: what was found, and the kernel image. */
const struct boot_found *disk_boot_found(const struct disk_boot *db);
const void *disk_boot_kernel(const struct disk_boot *db, uint64_t *len);
const struct disk_boot_stats *disk_boot_stats(const struct disk_boot *db);
/*
 * Frees db, at once or, with reads in flight, when the last completes
 * (their data is dropped). Service core; db is gone for the caller.
 */
void disk_boot_end(struct disk_boot *db);

#endif
