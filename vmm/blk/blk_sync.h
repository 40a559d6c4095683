/*
 * vmm/blk/blk_sync.h - synchronous block I/O for management work (the
 * catalog, the copy-on-write pool's metadata, full copies): open a device
 * or submit one request, and pump the service core's work until it is done.
 *
 * Only for code that runs on the service core outside a block request's
 * completion (shell commands, boot): never from a backend's start() or a
 * `done` callback, which would recurse into blk_poll(). Portable.
 */
#ifndef HAKO_BLK_SYNC_H
#define HAKO_BLK_SYNC_H

#include "vmm/blk/blk.h"

/*
 * Opens `url` and waits for the result: 0 and *out, or -E... with one
 * sentence in err. The waiting form of blk_open() for boot, the catalog
 * and shell verbs; never for opening a guest's disks (vmm/virtio_attach.c
 * opens those without waiting).
 */
int blk_sync_open(const char *url, int readonly, struct blockdev **out, char *err,
		  unsigned errlen);

/*
 * Does one request on `d` and waits for it: 0 or -E... (a submit error
 * or the completion status). `buf` must stay valid until it returns.
 */
int blk_sync_io(struct blockdev *d, enum blk_op op, uint64_t lba, uint32_t count, void *buf);

/*
 * What to call while waiting. The default is blk_poll() (enough for
 * memory devices and the host unit tests); the kernel installs
 * service_poll() so that network backends make progress too.
 */
void blk_sync_set_pump(int (*pump)(void));
/* Runs the pump once (for callers that wait on their own callbacks). */
void blk_sync_pump(void);

#endif
