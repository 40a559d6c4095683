/*
 * vmm/blk/blk_sync.h - synchronous block I/O for management work (the
 * catalog, the copy-on-write pool's metadata, full copies): submit one
 * request and pump the service core's work until it completes.
 *
 * Only for code that runs on the service core outside a block request's
 * completion (shell commands, boot): never from a backend's start() or a
 * `done` callback, which would recurse into blk_poll(). Portable.
 */
#ifndef HAKO_BLK_SYNC_H
#define HAKO_BLK_SYNC_H

#include "vmm/blk/blk.h"

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
