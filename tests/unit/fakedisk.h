/*
 * tests/unit/fakedisk.h - a block device for host unit tests that keeps a
 * volatile write cache and can lose power.
 *
 * The `fake:N` scheme opens fake_disks[N]. Writes land in the cache (what
 * reads see) and on a list of unflushed writes; a flush makes them
 * durable. After `cut_at` writes and flushes, power is cut: every later
 * request fails with -EIO and changes nothing. fake_crash_images() then
 * hands the test every disk image a real device could have been left
 * with: only the durable blocks; each unflushed write torn after any
 * prefix or before any suffix of its blocks (its predecessors applied);
 * and random subsets of unflushed blocks. A single block is atomic, the
 * usual sector guarantee. Faults without a power cut: writes and flushes
 * numbered [fail_from, fail_to) complete with -EIO; with fail_lands they
 * still take effect (the error came after the device did its work, as
 * when a connection drops before the reply). Include once per test
 * program, after check.h.
 */
#ifndef HAKO_TEST_FAKEDISK_H
#define HAKO_TEST_FAKEDISK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/blk/blk.h"
#include "vmm/core/lib/errno.h"

#define FAKE_DISKS 4
#define FAKE_PENDING 4096

struct fake_write { uint64_t lba; uint32_t count; uint8_t *data; };

struct fake_disk {
	uint32_t bs;
	uint64_t blocks;
	uint8_t *durable, *cache;
	struct fake_write pend[FAKE_PENDING];
	unsigned npend;
	long ops, cut_at;            /* cut_at < 0: never */
	int cut;
	long fail_from, fail_to;     /* ops failing with -EIO (numbered like cut_at) */
	int fail_lands;              /* ... after taking effect */
	long writes, flushes;
	int hold;                    /* requests wait in held[] until fake_release() */
	struct blk_req *held[16];
	unsigned nheld;
};
static struct fake_disk fake_disks[FAKE_DISKS];

static void fake_drop_pending(struct fake_disk *f)
{
	for (unsigned i = 0; i < f->npend; i++)
		free(f->pend[i].data);
	f->npend = 0;
}

/* (Re)makes disk n: `img` (or zeros) as its durable and cached content. */
static struct fake_disk *fake_setup(unsigned n, uint32_t bs, uint64_t blocks, const uint8_t *img)
{
	struct fake_disk *f = &fake_disks[n];
	uint8_t *durable = f->durable, *cache = f->cache;
	fake_drop_pending(f);
	if (f->bs * f->blocks != bs * blocks) {   /* keep the buffers when the size stays */
		free(durable);
		free(cache);
		durable = malloc(blocks * bs);
		cache = malloc(blocks * bs);
	}
	*f = (struct fake_disk){ .bs = bs, .blocks = blocks, .cut_at = -1, .durable = durable,
				 .cache = cache };
	if (img)
		memcpy(durable, img, blocks * bs);
	else
		memset(durable, 0, blocks * bs);
	memcpy(cache, durable, blocks * bs);
	return f;
}

/* Counts a write or flush; 1 when it is to fail with -EIO (see above), 2 when without effect. */
static int fake_count_op(struct fake_disk *f)
{
	if (++f->ops == f->cut_at)
		f->cut = 1;
	if (f->ops < f->fail_from || f->ops >= f->fail_to)
		return 0;
	return f->fail_lands ? 1 : 2;
}

static void fake_start(struct blockdev *d, struct blk_req *r)
{
	struct fake_disk *f = d->priv;
	if (f->hold && f->nheld < 16) {
		f->held[f->nheld++] = r;
		return;
	}
	if (f->cut) {
		blk_complete(r, -EIO);
		return;
	}
	uint64_t off = r->lba * f->bs, len = (uint64_t)r->count * f->bs;
	int fail = r->op == BLK_READ ? 0 : fake_count_op(f);
	if (fail == 2) {
		blk_complete(r, -EIO);
		return;
	}
	if (r->op == BLK_READ) {
		memcpy(r->buf, f->cache + off, len);
	} else if (r->op == BLK_WRITE) {
		if (f->npend == FAKE_PENDING)
			abort();   /* the code under test never flushes */
		struct fake_write *w = &f->pend[f->npend++];
		*w = (struct fake_write){ r->lba, r->count, malloc(len) };
		memcpy(w->data, r->buf, len);
		memcpy(f->cache + off, r->buf, len);
		f->writes++;
	} else {
		memcpy(f->durable, f->cache, f->blocks * f->bs);
		fake_drop_pending(f);
		f->flushes++;
	}
	blk_complete(r, fail ? -EIO : 0);
}

/* Serves the requests disk f held back (in order) and stops holding. */
static __attribute__((unused)) void fake_release(struct fake_disk *f)
{
	unsigned n = f->nheld;
	f->hold = 0;
	f->nheld = 0;
	for (unsigned i = 0; i < n; i++)
		fake_start(f->held[i]->dev, f->held[i]);
}

static void fake_close(struct blockdev *d) { (void)d; }
static const struct blk_backend_ops fake_ops = { fake_start, fake_close, 0 };

static int fake_check(const char *spec, char *err, unsigned len)
{
	(void)err, (void)len;
	return spec[0] >= '0' && spec[0] < '0' + FAKE_DISKS && !spec[1] ? 0 : -EINVAL;
}

static int fake_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	(void)err, (void)len;
	struct fake_disk *f = &fake_disks[spec[0] - '0'];
	d->ops = &fake_ops;
	d->priv = f;
	d->blocks = f->blocks;
	d->block_size = f->bs;
	return 0;
}
BLK_SCHEME(fake, "fake:", fake_check, fake_open, 0);

/* Applies blocks [from, to) of unflushed write w to img. */
static void fake_apply(const struct fake_disk *f, uint8_t *img, const struct fake_write *w,
		       uint32_t from, uint32_t to)
{
	for (uint32_t b = from; b < to; b++)
		memcpy(img + (w->lba + b) * f->bs, w->data + (uint64_t)b * f->bs, f->bs);
}

/*
 * Calls check(img, ctx) for each image f could hold after its power cut.
 * Returns how many images were checked.
 */
static __attribute__((unused)) unsigned fake_crash_images(const struct fake_disk *f,
							   void (*check)(const uint8_t *, void *),
				  void *ctx)
{
	uint64_t size = f->blocks * f->bs;
	uint8_t *img = malloc(size);
	unsigned count = 0;
	for (unsigned j = 0; j <= f->npend; j++) {
		/* writes before j whole; write j torn both ways at every block */
		uint32_t n = j < f->npend ? f->pend[j].count : 0;
		for (uint32_t t = 0; t <= n; t++)
			for (int suffix = 0; suffix < (n > 1 ? 2 : 1); suffix++) {
				memcpy(img, f->durable, size);
				for (unsigned i = 0; i < j; i++)
					fake_apply(f, img, &f->pend[i], 0, f->pend[i].count);
				if (j < f->npend)
					fake_apply(f, img, &f->pend[j], suffix ? t : 0, suffix ? n : t);
				check(img, ctx);
				count++;
			}
	}
	for (int k = 0; k < 8 && f->npend; k++) {     /* any blocks may have reached the medium */
		memcpy(img, f->durable, size);
		for (unsigned i = 0; i < f->npend; i++)
			for (uint32_t b = 0; b < f->pend[i].count; b++)
				if (check_rand() & 1)
					fake_apply(f, img, &f->pend[i], b, b + 1);
		check(img, ctx);
		count++;
	}
	free(img);
	return count;
}

#endif
