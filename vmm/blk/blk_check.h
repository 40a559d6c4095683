/*
 * vmm/blk/blk_check.h - `disk check`: write pseudo-random blocks to any
 * block device (vmm/blk/blk.h: iscsi://, ram:, ...), flush, read them back
 * and compare, with several requests in flight. The data is a pure
 * function of (seed, byte offset), so a host can recompute it
 * (tests/unit/iscsi_live.c `pattern`). Portable.
 */
#ifndef HAKO_BLK_CHECK_H
#define HAKO_BLK_CHECK_H

#include "vmm/blk/blk.h"

#define BLK_CHECK_CHUNK (64 * 1024)
#define BLK_CHECK_DEPTH 8
#define BLK_CHECK_BUF (BLK_CHECK_CHUNK * BLK_CHECK_DEPTH)

/* The test pattern: the 8 bytes of 8-byte word number `word`. */
uint64_t blk_check_word(uint64_t seed, uint64_t word);

struct blk_check_slot {
	struct blk_req r;
	int state, status; /* state: 0 idle, 1 in flight, 2 done */
};

struct blk_check {
	struct blockdev *d;
	uint64_t size, seed; /* size 0: the whole device */
	uint8_t *buf; /* BLK_CHECK_BUF bytes */
	/* Drives the service core once; nonzero: stop (Ctrl-C). */
	int (*wait)(void *arg);
	void *wait_arg;
	/* Called at every 10% of each pass; phase is "write" or "verify". */
	void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total);
	void *progress_arg;
	char why[256]; /* on failure */
	/* Requests may still be in flight after a failure or an interrupt:
	 * they live here, and the caller closes the device before freeing. */
	struct blk_check_slot slot[BLK_CHECK_DEPTH];
};

/* Both passes: 0, -EIO (see why), -EINVAL (bad size), -ECANCELED. */
int blk_check_run(struct blk_check *c);

#endif
