/*
 * vmm/blk/blk_bench.c - timed sequential I/O through the block layer,
 * keeping `depth` requests of `req_bytes` in flight. Portable.
 */
#include "vmm/blk/blk_bench.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

static void bench_done(struct blk_req *r, int status)
{
	struct blk_bench *b = r->ctx;
	long i = r - b->req;
	b->state[i] = 2, b->status[i] = status;
}

static int bench_issue(struct blk_bench *b, uint32_t i, uint64_t off)
{
	struct blk_req *r = &b->req[i];
	uint32_t bs = blk_block_size(b->d);
	memset(r, 0, sizeof(*r));
	r->op = b->write ? BLK_WRITE : BLK_READ;
	r->lba = off / bs, r->count = b->req_bytes / bs;
	r->buf = b->buf + (uint64_t)i * b->req_bytes;
	r->done = bench_done, r->ctx = b;
	b->state[i] = 1;
	int err = blk_submit(b->d, r);
	if (err)
		b->state[i] = 0;
	return err;
}

static int bench_params_ok(const struct blk_bench *b)
{
	uint32_t bs = blk_block_size(b->d);
	return b->depth && b->depth <= BLK_BENCH_MAX_DEPTH && b->req_bytes &&
	       b->req_bytes <= BLK_BENCH_MAX_REQ && b->req_bytes % bs == 0 && b->size &&
	       b->size % b->req_bytes == 0 && b->size <= blk_blocks(b->d) * bs &&
	       !(b->write && blk_readonly(b->d));
}

/* Sequential from byte 0 until `size` bytes completed; elapsed_us is set. */
int blk_bench_run(struct blk_bench *b)
{
	if (!bench_params_ok(b))
		return -EINVAL;
	memset(b->state, 0, sizeof(b->state));
	uint64_t next = 0, done = 0, t0 = b->now_us();
	int err = 0;
	while (done < b->size && !err) {
		for (uint32_t i = 0; i < b->depth && next < b->size && !err; i++)
			if (!b->state[i] && !(err = bench_issue(b, i, next)))
				next += b->req_bytes;
		if (!err && b->wait(b->wait_arg))
			err = -ECANCELED;
		for (uint32_t i = 0; i < b->depth && !err; i++) {
			if (b->state[i] != 2)
				continue;
			b->state[i] = 0;
			if ((err = b->status[i]))
				b->failed_status = err;
			else
				done += b->req_bytes;
		}
	}
	b->elapsed_us = b->now_us() - t0;
	return err;
}
