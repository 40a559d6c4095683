/*
 * vmm/blk/blk_check.c - write, flush, read back and verify a block
 * device through the block layer's asynchronous requests. Portable.
 */
#include "vmm/blk/blk_check.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

/* splitmix64 of the seed and the word number. */
uint64_t blk_check_word(uint64_t seed, uint64_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + word + 1;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void slot_done(struct blk_req *r, int status)
{
	struct blk_check_slot *s = r->ctx;
	s->state = 2, s->status = status;
}

static uint64_t chunk_offset(const struct blk_check *c, const struct blk_check_slot *s)
{
	return s->r.lba * blk_block_size(c->d);
}

static int issue(struct blk_check *c, int i, enum blk_op op, uint64_t off)
{
	struct blk_check_slot *s = &c->slot[i];
	uint32_t bs = blk_block_size(c->d);
	uint64_t len = c->size - off < BLK_CHECK_CHUNK ? c->size - off : BLK_CHECK_CHUNK;
	uint8_t *buf = c->buf + (uint64_t)i * BLK_CHECK_CHUNK;
	if (op == BLK_WRITE)
		for (uint64_t k = 0; k < len; k += 8) {
			uint64_t w = blk_check_word(c->seed, (off + k) / 8);
			memcpy(buf + k, &w, 8);
		}
	memset(&s->r, 0, sizeof(s->r));
	s->r.op = op, s->r.lba = off / bs, s->r.count = (uint32_t)(len / bs), s->r.buf = buf;
	s->r.done = slot_done, s->r.ctx = s;
	s->state = 1;
	int err = blk_submit(c->d, &s->r);
	if (err) {
		s->state = 0;
		fmt_snprintf(c->why, sizeof(c->why), "request refused: %s", errno_str(err));
	}
	return err;
}

/* A finished request: its status, or for reads a comparison. */
static int reap(struct blk_check *c, struct blk_check_slot *s, int write)
{
	uint64_t off = chunk_offset(c, s), len = (uint64_t)s->r.count * blk_block_size(c->d);
	s->state = 0;
	if (s->status) {
		const char *more = blk_error(c->d);
		fmt_snprintf(c->why, sizeof(c->why), "%s at byte %llu failed: %s%s%s",
			     write ? "write" : "read", (unsigned long long)off, errno_str(s->status),
			     more[0] ? ": " : "", more);
		return s->status;
	}
	for (uint64_t k = 0; !write && k < len; k += 8) {
		uint64_t w = blk_check_word(c->seed, (off + k) / 8), got;
		memcpy(&got, (uint8_t *)s->r.buf + k, 8);
		if (got != w) {
			fmt_snprintf(c->why, sizeof(c->why), "data differs at byte %llu",
				     (unsigned long long)(off + k));
			return -EIO;
		}
	}
	return 0;
}

static void show(struct blk_check *c, int write, uint64_t done, uint64_t *shown)
{
	if (c->progress && done * 10 / c->size > *shown) {
		*shown = done * 10 / c->size;
		c->progress(c->progress_arg, write ? "write" : "verify", done, c->size);
	}
}

static int pass(struct blk_check *c, int write)
{
	uint64_t next = 0, done = 0, shown = 0;
	int err = 0;
	while (done < c->size && !err) {
		for (int i = 0; i < BLK_CHECK_DEPTH && next < c->size && !err; i++)
			if (!c->slot[i].state && !(err = issue(c, i, write ? BLK_WRITE : BLK_READ, next)))
				next += (uint64_t)c->slot[i].r.count * blk_block_size(c->d);
		if (!err && c->wait(c->wait_arg)) {
			fmt_snprintf(c->why, sizeof(c->why), "interrupted");
			err = -ECANCELED;
		}
		for (int i = 0; i < BLK_CHECK_DEPTH && !err; i++)
			if (c->slot[i].state == 2) {
				uint64_t n = (uint64_t)c->slot[i].r.count * blk_block_size(c->d);
				if (!(err = reap(c, &c->slot[i], write)))
					done += n;
			}
		show(c, write, done, &shown);
	}
	return err;
}

static int flush(struct blk_check *c)
{
	struct blk_check_slot *s = &c->slot[0];
	memset(&s->r, 0, sizeof(s->r));
	s->r.op = BLK_FLUSH, s->r.done = slot_done, s->r.ctx = s;
	s->state = 1;
	int err = blk_submit(c->d, &s->r);
	while (!err && s->state != 2)
		if (c->wait(c->wait_arg))
			err = -ECANCELED;
	if (!err && (err = s->status))
		fmt_snprintf(c->why, sizeof(c->why), "flush failed: %s", errno_str(err));
	if (err == -ECANCELED)
		fmt_snprintf(c->why, sizeof(c->why), "interrupted");
	if (s->state == 2)
		s->state = 0;
	return err;
}

int blk_check_run(struct blk_check *c)
{
	uint64_t bytes = blk_blocks(c->d) * blk_block_size(c->d);
	uint32_t bs = blk_block_size(c->d);
	if (!c->size)
		c->size = bytes;
	if (c->size > bytes || c->size % bs || bs % 8 || BLK_CHECK_CHUNK % bs) {
		fmt_snprintf(c->why, sizeof(c->why),
			     "size must be whole %u-byte blocks and at most the disk's %llu bytes", bs,
			     (unsigned long long)bytes);
		return -EINVAL;
	}
	if (blk_readonly(c->d)) {
		fmt_snprintf(c->why, sizeof(c->why), "the disk is read-only");
		return -EPERM;
	}
	int err = pass(c, 1);
	if (!err)
		err = flush(c);
	return err ? err : pass(c, 0);
}
