/*
 * vmm/blk/blk_bench.h - `disk bench`: sequential reads or writes of a
 * block device with a given request size and number of requests in
 * flight, timed. Portable (the clock comes in as a function).
 */
#ifndef HAKO_BLK_BENCH_H
#define HAKO_BLK_BENCH_H

#include "vmm/blk/blk.h"

#define BLK_BENCH_MAX_DEPTH 16
#define BLK_BENCH_MAX_REQ (256 * 1024)
#define BLK_BENCH_BUF (BLK_BENCH_MAX_DEPTH * BLK_BENCH_MAX_REQ)

struct blk_bench {
	struct blockdev *d;
	int write;
	uint32_t req_bytes, depth;
	uint64_t size;
	uint8_t *buf; /* BLK_BENCH_BUF bytes */
	int (*wait)(void *arg); /* drives the service core; nonzero: stop */
	void *wait_arg;
	uint64_t (*now_us)(void);
	/* results */
	uint64_t elapsed_us;
	int failed_status;
	/* in-flight requests live here: close the device before freeing */
	struct blk_req req[BLK_BENCH_MAX_DEPTH];
	int state[BLK_BENCH_MAX_DEPTH]; /* 0 idle, 1 in flight, 2 done */
	int status[BLK_BENCH_MAX_DEPTH];
};

/* One run. 0, -EINVAL (bad parameters), -ECANCELED or the first I/O error. */
int blk_bench_run(struct blk_bench *b);

#endif
