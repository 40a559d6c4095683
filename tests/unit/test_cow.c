/*
 * tests/unit/test_cow.c - host tests of copy-on-write volumes
 * (vmm/blk/cow.c) and their pool (vmm/blk/cow_pool.c) on fake disks:
 * reads fall through to the base, writes never touch it, partial chunks
 * are merged with the base, clones of clones, pool full, reattach, space
 * freed on delete, concurrent writes to one chunk; and a workload of
 * create/write/flush/delete replayed with the power cut after every single
 * write and flush, each crash image attaching cleanly (no chunk lost or
 * shared) with every volume and every byte as of the last committed step
 * or the one in progress; and the power-cut test's journal writer in
 * small (every acknowledged block reads back after a cut at any point).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/blk/blk_sync.h"
#include "vmm/blk/cow_pool.h"
#include "vmm/core/lib/errno.h"

#include "tests/unit/check.h"
#include "tests/unit/fakedisk.h"

static long live_allocs;
static void *host_alloc(uint64_t n) { live_allocs++; return calloc(1, n); }
static void host_free(void *p, uint64_t n) { (void)n; live_allocs--; free(p); }
static const void *host_file(const char *name, uint64_t *size) { (void)name, (void)size; return 0; }
static const struct blk_host_ops host = { host_alloc, host_free, host_file, 0, 0 };

#define BASE_BLOCKS 2051u               /* 1 MiB + 3 blocks: a partial last chunk */
#define BASE_BYTES (BASE_BLOCKS * 512u)
#define POOL_BLOCKS (2u << 11)          /* 2 MiB: 32 chunks */
#define REPLAY_POOL_BLOCKS (3u << 10)   /* 1.5 MiB for the power-cut replay */

static uint8_t base_img[BASE_BYTES];

static int quiet;   /* opens expected to fail while matching a crash image */

static struct blockdev *open_dev(const char *url, int ro)
{
	char err[200] = "";
	struct blockdev *d = 0;
	int rc = blk_sync_open(url, ro, &d, err, sizeof(err));
	if (rc && !quiet)
		printf("     open %s: %d %s\n", url, rc, err);
	return d;
}

static struct blockdev *pool_dev;

/* Fresh base on fake:0 and a blank pool on fake:1, attached. */
static void setup(void)
{
	for (unsigned i = 0; i < BASE_BYTES; i++)
		base_img[i] = (uint8_t)(i * 131 + i / 512);
	fake_setup(0, 512, BASE_BLOCKS, base_img);
	fake_setup(1, 512, POOL_BLOCKS, 0);
	pool_dev = open_dev("fake:1", 0);
	char err[200];
	uint32_t leaked = 9;
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	CHECK_EQ(leaked, 0);
}

static void teardown(void)
{
	cow_pool_detach();
	blk_close(pool_dev);
}

static int rw(struct blockdev *d, enum blk_op op, uint64_t lba, uint32_t n, void *buf)
{
	return blk_sync_io(d, op, lba, n, buf);
}

static uint32_t create(const char *base, uint64_t bytes)
{
	uint32_t id = 0;
	CHECK_EQ(cow_pool_create(bytes, 512, base, "t", &id), 0);
	return id;
}

static void test_read_through_and_write(void)
{
	setup();
	uint32_t id = create("fake:0", BASE_BYTES);
	CHECK_EQ(id, 1);
	uint32_t used0 = cow_pool->used;
	struct blockdev *d = open_dev("cow:1:fake:0", 0);
	static uint8_t buf[BASE_BYTES], want[BASE_BYTES], big_w[8 * 65536];
	memset(big_w, 0x5c, sizeof(big_w));
	CHECK_EQ(blk_blocks(d), BASE_BLOCKS);
	CHECK_EQ(rw(d, BLK_READ, 0, BASE_BLOCKS, buf), 0);
	CHECK(!memcmp(buf, base_img, BASE_BYTES));
	CHECK_EQ(cow_pool->used, used0);            /* reads allocate nothing */
	memcpy(want, base_img, BASE_BYTES);
	uint8_t w[3 * 65536];
	memset(w, 0xa5, sizeof(w));
	/* partial chunk 0; a write spanning chunks 1..3 unevenly; the partial last chunk */
	CHECK_EQ(rw(d, BLK_WRITE, 2, 3, w), 0);
	memset(want + 1024, 0xa5, 1536);
	CHECK_EQ(rw(d, BLK_WRITE, 200, 300, w), 0);
	memset(want + 200 * 512, 0xa5, 300 * 512);
	CHECK_EQ(rw(d, BLK_WRITE, BASE_BLOCKS - 1, 1, w), 0);
	memset(want + BASE_BYTES - 512, 0xa5, 512);
	CHECK_EQ(rw(d, BLK_FLUSH, 0, 0, 0), 0);
	CHECK_EQ(rw(d, BLK_READ, 0, BASE_BLOCKS, buf), 0);
	CHECK(!memcmp(buf, want, BASE_BYTES));
	CHECK(!memcmp(fake_disks[0].cache, base_img, BASE_BYTES));   /* base untouched */
	CHECK_EQ(cow_pool->used, used0 + 5);       /* chunks 0,1,2,3 and 16 */
	uint32_t usage = 0;
	CHECK_EQ(cow_pool_usage(1, &usage), 0);
	CHECK_EQ(usage, 6);
	/* a rewrite of an allocated chunk goes straight to the pool */
	long flushes = fake_disks[1].flushes;
	CHECK_EQ(rw(d, BLK_WRITE, 4, 1, w), 0);
	CHECK_EQ(fake_disks[1].flushes, flushes);
	CHECK_EQ(cow_pool->used, used0 + 5);
	/* whole unallocated chunks: one round of three flushes for all of them */
	flushes = fake_disks[1].flushes;
	CHECK_EQ(rw(d, BLK_WRITE, 640, 8 * 128, big_w), 0);
	CHECK_EQ(fake_disks[1].flushes, flushes + 3);
	CHECK_EQ(cow_pool->used, used0 + 13);
	memset(want + 640 * 512, 0x5c, 8 * 65536);
	CHECK_EQ(rw(d, BLK_READ, 0, BASE_BLOCKS, buf), 0);
	CHECK(!memcmp(buf, want, BASE_BYTES));
	blk_close(d);
	/* the base is opened read-only and other volumes or bases are refused */
	CHECK(!open_dev("cow:2:fake:0", 0));
	CHECK(!open_dev("cow:1:fake:2", 0));
	CHECK(!open_dev("cow:1", 0));
	CHECK_EQ(cow_pool_delete(1), 0);
	CHECK_EQ(cow_pool->used, used0 - 1);       /* its map chunk too */
	CHECK_EQ(cow_pool_usage(1, &usage), -ENOENT);
	CHECK_EQ(cow_pool_delete(1), -ENOENT);
	teardown();
}

static void test_no_base_and_reattach(void)
{
	setup();
	uint32_t id = create(0, 300 * 512);
	struct blockdev *d = open_dev("cow:1", 0);
	uint8_t buf[300 * 512];
	memset(buf, 7, sizeof(buf));
	CHECK_EQ(rw(d, BLK_READ, 0, 300, buf), 0);
	CHECK_EQ(buf[0] | buf[sizeof(buf) - 1], 0);
	memset(buf, 9, 512);
	CHECK_EQ(rw(d, BLK_WRITE, 150, 1, buf), 0);
	blk_close(d);
	CHECK_EQ(id, 1);
	uint32_t used = cow_pool->used;
	cow_pool_detach();
	char err[200];
	uint32_t leaked;
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	CHECK_EQ(leaked, 0);
	CHECK_EQ(cow_pool->used, used);
	CHECK_EQ(create(0, 512), 2);               /* ids are not reused */
	d = open_dev("cow:1", 0);
	CHECK_EQ(rw(d, BLK_READ, 150, 1, buf + 512), 0);
	CHECK_EQ(buf[512], 9);
	CHECK_EQ(rw(d, BLK_READ, 151, 1, buf + 512), 0);
	CHECK_EQ(buf[512], 0);
	blk_close(d);
	teardown();
	/* a device that is not a pool is never formatted */
	fake_disks[1].cache[70000] = 1;            /* chunk 1 only: still blank */
	fake_disks[1].cache[5] = 1;
	pool_dev = open_dev("fake:1", 0);
	uint8_t *keep = malloc(POOL_BLOCKS * 512);
	memset(fake_disks[1].cache, 0x5a, POOL_BLOCKS * 512);
	memcpy(keep, fake_disks[1].cache, POOL_BLOCKS * 512);
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "not a hako pool");
	CHECK(!memcmp(keep, fake_disks[1].cache, POOL_BLOCKS * 512));
	CHECK(!cow_pool);
	free(keep);
	blk_close(pool_dev);
}

static void test_clone_of_clone(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	struct blockdev *a = open_dev("cow:1:fake:0", 0);
	uint8_t w[512], r[512];
	memset(w, 0x11, 512);
	CHECK_EQ(rw(a, BLK_WRITE, 10, 1, w), 0);
	blk_close(a);
	CHECK_EQ(create("cow:1:fake:0", BASE_BYTES), 2);
	struct blockdev *b = open_dev("cow:2:cow:1:fake:0", 0);
	CHECK_EQ(rw(b, BLK_READ, 10, 1, r), 0);
	CHECK_EQ(r[0], 0x11);                      /* a's write shows through */
	CHECK_EQ(rw(b, BLK_READ, 11, 1, r), 0);
	CHECK(!memcmp(r, base_img + 11 * 512, 512));
	memset(w, 0x22, 512);
	CHECK_EQ(rw(b, BLK_WRITE, 10, 1, w), 0);
	CHECK_EQ(rw(b, BLK_READ, 10, 1, r), 0);
	CHECK_EQ(r[0], 0x22);
	blk_close(b);
	a = open_dev("cow:1:fake:0", 1);
	CHECK_EQ(rw(a, BLK_READ, 10, 1, r), 0);
	CHECK_EQ(r[0], 0x11);                      /* b's write did not reach a */
	CHECK_EQ(rw(a, BLK_WRITE, 10, 1, w), -EPERM);
	blk_close(a);
	teardown();
}

static void on_done(struct blk_req *r, int st) { *(int *)r->ctx = st; }

static void test_full_pool_and_concurrent(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	struct blockdev *d = open_dev("cow:1:fake:0", 0);
	/* four writes into one unallocated chunk, all queued before any runs */
	static uint8_t w[4][512];
	struct blk_req req[4];
	int st[4];
	for (int i = 0; i < 4; i++) {
		memset(w[i], 0x30 + i, 512);
		st[i] = 99;
		req[i] = (struct blk_req){ .op = BLK_WRITE, .lba = 20 + (i % 2), .count = 1, .buf = w[i],
					   .done = on_done, .ctx = &st[i] };
		CHECK_EQ(blk_submit(d, &req[i]), 0);
	}
	for (int k = 0; k < 200 && (st[0] == 99 || st[1] == 99 || st[2] == 99 || st[3] == 99); k++)
		blk_poll();
	CHECK_EQ(st[0] | st[1] | st[2] | st[3], 0);
	uint8_t r[1024];
	CHECK_EQ(rw(d, BLK_READ, 20, 2, r), 0);
	CHECK_EQ(r[0], 0x32);                      /* in submission order */
	CHECK_EQ(r[512], 0x33);
	CHECK_EQ(cow_pool->used, 1 + 1 + 1 + 1);   /* table, free map, map, one chunk */
	/* fill the pool: 32 chunks, 4 used; the volume has 17 */
	static uint8_t big[BASE_BYTES];
	CHECK_EQ(rw(d, BLK_WRITE, 0, BASE_BLOCKS, big), 0);
	uint32_t id2 = create(0, 20 * 65536);
	struct blockdev *e = open_dev("cow:2", 0);
	CHECK_EQ(rw(e, BLK_WRITE, 0, 20 * 128, big), -ENOSPC);
	CHECK_EQ(cow_pool->used, 32);
	blk_close(e);
	CHECK_EQ(cow_pool_delete(id2), 0);
	CHECK_EQ(cow_pool->used, 3 + 17);
	blk_close(d);
	uint32_t none;
	CHECK(cow_pool_create(64ull << 30, 512, 0, "t", &none) < 0);   /* its map would not fit */
	teardown();
}

/* ---- the power-cut replay ---- */

/*
 * The workload, one committed step at a time: volumes A (over the base)
 * and B (over A), each write followed by a flush of the volume.
 */
enum { W_ATTACH, W_CREATE_A, W_WRITE_A, W_CREATE_B, W_WRITE_B, W_DELETE_B, W_DELETE_A };
struct step { int kind; uint32_t lba, count; uint8_t fill; };
static const struct step steps[] = {
	{ W_ATTACH, 0, 0, 0 }, { W_CREATE_A, 0, 0, 0 },
	{ W_WRITE_A, 2, 3, 0xa1 },        /* partial chunk: read-modify-write */
	{ W_WRITE_A, 120, 200, 0xa2 },    /* spans chunks 0..2, partly */
	{ W_WRITE_A, 384, 128, 0xa3 },    /* exactly chunk 3 */
	{ W_WRITE_A, 3, 1, 0xa4 },        /* an allocated chunk: straight to the pool */
	{ W_WRITE_A, BASE_BLOCKS - 2, 2, 0xa5 },   /* the partial last chunk */
	{ W_WRITE_A, 640, 512, 0xa6 },    /* chunks 5..8 whole: one allocation round */
	{ W_CREATE_B, 0, 0, 0 },
	{ W_WRITE_B, 0, 130, 0xb1 },
	{ W_DELETE_B, 0, 0, 0 }, { W_DELETE_A, 0, 0, 0 },
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* What the volumes hold after each step (exists flag and contents). */
static uint8_t model_a[NSTEPS + 1][BASE_BYTES], model_b[NSTEPS + 1][BASE_BYTES];
static int has_a[NSTEPS + 1], has_b[NSTEPS + 1];

static void build_model(void)
{
	for (unsigned i = 1; i <= NSTEPS; i++) {
		const struct step *s = &steps[i - 1];
		memcpy(model_a[i], model_a[i - 1], BASE_BYTES);
		memcpy(model_b[i], model_b[i - 1], BASE_BYTES);
		has_a[i] = has_a[i - 1], has_b[i] = has_b[i - 1];
		if (s->kind == W_CREATE_A)
			has_a[i] = 1, memcpy(model_a[i], base_img, BASE_BYTES);
		if (s->kind == W_CREATE_B)
			has_b[i] = 1, memcpy(model_b[i], model_a[i], BASE_BYTES);
		if (s->kind == W_WRITE_A)
			memset(model_a[i] + s->lba * 512, s->fill, s->count * 512);
		if (s->kind == W_WRITE_B)
			memset(model_b[i] + s->lba * 512, s->fill, s->count * 512);
		if (s->kind == W_DELETE_A)
			has_a[i] = 0;
		if (s->kind == W_DELETE_B)
			has_b[i] = 0;
	}
}

static int write_vol(const char *url, const struct step *s)
{
	static uint8_t buf[BASE_BYTES];
	struct blockdev *d = open_dev(url, 0);
	if (!d)
		return -EIO;
	memset(buf, s->fill, s->count * 512);
	int rc = rw(d, BLK_WRITE, s->lba, s->count, buf);
	if (!rc)
		rc = rw(d, BLK_FLUSH, 0, 0, 0);
	blk_close(d);
	return rc;
}

static int do_step(const struct step *s)
{
	char err[200];
	uint32_t id, leaked;
	switch (s->kind) {
	case W_ATTACH: return cow_pool_attach(pool_dev, &leaked, err, sizeof(err));
	case W_CREATE_A: return cow_pool_create(BASE_BYTES, 512, "fake:0", "a", &id);
	case W_WRITE_A: return write_vol("cow:1:fake:0", s);
	case W_CREATE_B: return cow_pool_create(BASE_BYTES, 512, "cow:1:fake:0", "b", &id);
	case W_WRITE_B: return write_vol("cow:2:cow:1:fake:0", s);
	case W_DELETE_B: return cow_pool_delete(2);
	default: return cow_pool_delete(1);
	}
}

/* Runs the workload with power cut after `cut` pool writes/flushes; returns steps committed. */
static unsigned run_workload(long cut)
{
	for (unsigned i = 0; i < BASE_BYTES; i++)
		base_img[i] = (uint8_t)(i * 131 + i / 512);
	fake_setup(0, 512, BASE_BLOCKS, base_img);
	fake_setup(1, 512, REPLAY_POOL_BLOCKS, 0)->cut_at = cut;
	pool_dev = open_dev("fake:1", 0);
	unsigned done = 0;
	while (done < NSTEPS && !do_step(&steps[done]))
		done++;
	cow_pool_detach();
	blk_close(pool_dev);
	return done;
}

/*
 * Is volume `url` as it was after step i or step i + 1? A guest write
 * that was in progress may have reached the medium for some of its blocks
 * and not others (disks promise no more), so each block may match either.
 */
static int vol_between(const char *url, const int *has, uint8_t (*model)[BASE_BYTES], unsigned i)
{
	static uint8_t buf[BASE_BYTES];
	unsigned j = i < NSTEPS ? i + 1 : i;
	if (!cow_pool_find((uint32_t)(url[4] - '0')))
		return !has[i] || !has[j];
	struct blockdev *d = open_dev(url, 1);
	int ok = d && !rw(d, BLK_READ, 0, BASE_BLOCKS, buf);
	for (unsigned b = 0; ok && b < BASE_BLOCKS; b++) {
		int old = has[i] && !memcmp(buf + b * 512, model[i] + b * 512, 512);
		int new = has[j] && !memcmp(buf + b * 512, model[j] + b * 512, 512);
		ok = old || new;
	}
	if (d)
		blk_close(d);
	return ok;
}

/* State i or i + 1 (i = 0: before the pool was attached, anything that attaches). */
static int state_ok(unsigned i)
{
	return i == 0 || (vol_between("cow:1:fake:0", has_a, model_a, i) &&
			  vol_between("cow:2:cow:1:fake:0", has_b, model_b, i));
}

struct expect { unsigned committed, images, bad; };

/* Every chunk is the free map's if and only if the table or a map uses it. */
static int accounting_ok(void)
{
	uint32_t want = 1 + cow_pool->bitmap_chunks;
	for (uint32_t i = 0; i < cow_pool->hdr.nvols; i++) {
		uint32_t n = 0;
		if (cow_pool_usage(cow_pool->vol[i].id, &n))
			return 0;
		want += n;
	}
	return want == cow_pool->used;
}

static void check_image(const uint8_t *img, void *ctx)
{
	struct expect *e = ctx;
	fake_setup(2, 512, REPLAY_POOL_BLOCKS, img);
	struct blockdev *d = open_dev("fake:2", 0);
	char err[200] = "";
	uint32_t leaked;
	int rc = cow_pool_attach(d, &leaked, err, sizeof(err));
	quiet = 1;
	int acct = rc == 0 && accounting_ok();
	int ok = acct && state_ok(e->committed);
	quiet = 0;
	e->images++;
	if (!ok && e->bad++ < 3)
		printf("     committed %u: attach %d (%s) accounting %d, used %u, vols %u\n", e->committed,
		       rc, err, acct, rc ? 0 : cow_pool->used, rc ? 0 : cow_pool->hdr.nvols);
	cow_pool_detach();
	blk_close(d);
}

static void test_power_cut_replay(void)
{
	build_model();
	CHECK_EQ(run_workload(-1), NSTEPS);
	long total = fake_disks[1].ops;
	struct expect e = { 0, 0, 0 };
	for (long cut = 1; cut <= total; cut++) {
		quiet = 1;   /* after the cut the workload's opens fail */
		e.committed = run_workload(cut);
		quiet = 0;
		CHECK(e.committed < NSTEPS || cut == total);
		fake_crash_images(&fake_disks[1], check_image, &e);
	}
	CHECK_EQ(e.bad, 0);
	CHECK(e.images >= (unsigned)total);
	printf("     %ld cut points, %u crash images\n", total, e.images);
}

/*
 * The power-cut test's journal writer (guests/vblk `journal`) in small:
 * block S (512 bytes at sector S * 16, eight per chunk) written into a
 * clone of a zero base, each write followed by a flush, the power cut
 * after every pool write and flush. In every crash image every block
 * acknowledged (write and flush completed) reads back, in a chunk-sized
 * read as the writer does and alone, and nothing past the one in flight.
 */
#define J_BLOCKS 512u                   /* base: 4 chunks of zeros */
#define J_SEQ 20u                       /* blocks: chunks 0..2, partial */
static uint8_t zero_img[J_BLOCKS * 512];
static uint32_t j_acked;

static void j_fill(uint8_t *b, uint32_t seq) { memset(b, (int)(0x40 + seq), 512); }

static void j_check(const uint8_t *img, void *ctx)
{
	unsigned *bad = ctx;
	static uint8_t chunk[COW_CHUNK], one[512], want[512];
	fake_setup(2, 512, REPLAY_POOL_BLOCKS, img);
	struct blockdev *pd = open_dev("fake:2", 0);
	char err[200] = "";
	uint32_t leaked;
	int ok = !cow_pool_attach(pd, &leaked, err, sizeof(err));
	struct blockdev *d = 0;
	uint32_t found = 0;
	if (ok && cow_pool_find(1)) {
		quiet = 1;
		d = open_dev("cow:1:fake:0", 0);
		quiet = 0;
		ok = d != 0;
		for (uint32_t seq = 0; ok && seq < J_SEQ; seq++) {
			uint64_t lba = (uint64_t)seq * 16;
			if (seq % 8 == 0)
				ok = !rw(d, BLK_READ, lba, COW_CHUNK / 512, chunk);
			ok = ok && !rw(d, BLK_READ, lba, 1, one);
			j_fill(want, seq);
			int in_chunk = ok && !memcmp(chunk + (seq % 8) * 16 * 512, want, 512);
			int alone = ok && !memcmp(one, want, 512);
			ok = ok && in_chunk == alone;          /* both reads agree */
			if (ok && in_chunk && found == seq)
				found++;
			else if (ok && in_chunk && seq > found)
				ok = 0;                            /* a hole before it */
		}
	}
	ok = ok && (found >= j_acked || !j_acked) && found <= j_acked + 1;
	if (ok && j_acked && !cow_pool_find(1))
		ok = 0;
	if (!ok && (*bad)++ < 3)
		printf("     acked %u, found %u (%s)\n", j_acked, found, err);
	if (d)
		blk_close(d);
	cow_pool_detach();
	blk_close(pd);
}

static void test_journal_power_cut(void)
{
	long total = 0;
	unsigned bad = 0, images = 0;
	for (long cut = -1; cut == -1 || cut <= total; cut = cut == -1 ? 1 : cut + 1) {
		fake_setup(0, 512, J_BLOCKS, zero_img);
		fake_setup(1, 512, REPLAY_POOL_BLOCKS, 0)->cut_at = cut;
		quiet = cut > 0;
		pool_dev = open_dev("fake:1", 0);
		char err[200];
		uint32_t leaked, id;
		j_acked = 0;
		if (!cow_pool_attach(pool_dev, &leaked, err, sizeof(err)) &&
		    !cow_pool_create(J_BLOCKS * 512, 512, "fake:0", "j", &id)) {
			struct blockdev *d = open_dev("cow:1:fake:0", 0);
			uint8_t b[512];
			for (uint32_t seq = 0; d && seq < J_SEQ; seq++) {
				j_fill(b, seq);
				if (rw(d, BLK_WRITE, (uint64_t)seq * 16, 1, b) || rw(d, BLK_FLUSH, 0, 0, 0))
					break;
				j_acked = seq + 1;
			}
			if (d)
				blk_close(d);
		}
		quiet = 0;
		cow_pool_detach();
		blk_close(pool_dev);
		if (cut == -1) {
			CHECK_EQ(j_acked, J_SEQ);
			total = fake_disks[1].ops;
		}
		images += fake_crash_images(&fake_disks[1], j_check, &bad);
	}
	CHECK_EQ(bad, 0);
	printf("     %ld cut points, %u crash images\n", total, images);
}

/* A table that passes its CRC but lies (sizes, overlaps, ranges) is refused, never trusted. */
static void test_table_garbage(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	create(0, 3 * 65536);
	uint8_t table[COW_TABLE_SLOT];
	uint32_t len = sizeof(cow_pool->hdr) + cow_pool->hdr.nvols * sizeof(struct cow_vol_rec);
	memcpy(table, &cow_pool->hdr, sizeof(cow_pool->hdr));
	memcpy(table + sizeof(cow_pool->hdr), cow_pool->vol, len - sizeof(cow_pool->hdr));
	struct slotstore st = cow_pool->table_store;
	cow_pool_detach();
	unsigned refused = 0;
	for (int i = 0; i < 400; i++) {
		uint8_t bad[COW_TABLE_SLOT];
		memcpy(bad, table, len);
		for (int k = 0; k < 1 + i % 4; k++)
			bad[check_rand() % len] = (uint8_t)check_rand();
		uint32_t blen = i % 50 == 0 ? (uint32_t)(check_rand() % len) : len;
		CHECK_EQ(slot_commit(&st, bad, blen), 0);
		char err[200];
		uint32_t leaked;
		int rc = cow_pool_attach(pool_dev, &leaked, err, sizeof(err));
		CHECK(rc == 0 || rc == -EINVAL);
		refused += rc != 0;
		if (!rc)
			cow_pool_detach();
	}
	CHECK(refused > 100);
	char err[200];
	uint32_t leaked;
	CHECK_EQ(slot_commit(&st, table, len), 0);
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	teardown();
}

/*
 * Opening a volume waits for its base, then for its map, each time in a
 * callback (a guest's start must not wait): the result comes from
 * blk_poll; abandoning the open at either step leaks nothing and never
 * reports.
 */
struct open_log { int calls, status; struct blockdev *dev; };
static void on_opened(struct blk_open_req *o)
{
	struct open_log *l = o->ctx;
	l->calls++, l->status = o->status, l->dev = o->dev;
}

static void test_open_async_and_cancel(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	long live = live_allocs;
	struct open_log l = { 0, 99, 0 };
	struct blk_open_req o = { .done = on_opened, .ctx = &l };
	CHECK_EQ(blk_open("cow:1:fake:0", 0, &o), 0);
	CHECK_EQ(l.calls, 0);
	fake_disks[1].hold = 1; /* the pool holds the map read */
	blk_poll();             /* the base is open; the map read waits in the pool */
	CHECK_EQ(fake_disks[1].nheld, 1);
	blk_poll();
	CHECK_EQ(l.calls, 0);
	fake_release(&fake_disks[1]);
	blk_poll();
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.status, 0);
	if (l.dev) {
		CHECK_EQ(blk_blocks(l.dev), BASE_BLOCKS);
		blk_close(l.dev);
	}
	CHECK_EQ(live_allocs, live);

	l.calls = 0;
	CHECK_EQ(blk_open("cow:1:fake:0", 0, &o), 0);
	blk_open_cancel(&o); /* while the base opens */
	blk_poll();
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(live_allocs, live);

	CHECK_EQ(blk_open("cow:1:fake:0", 0, &o), 0);
	fake_disks[1].hold = 1;
	blk_poll();
	blk_open_cancel(&o); /* while the map read is in flight: freed when it ends */
	CHECK(live_allocs > live);
	fake_release(&fake_disks[1]);
	blk_poll();
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(live_allocs, live);

	fake_disks[1].cut = 1; /* the map cannot be read */
	CHECK_EQ(blk_open("cow:1:fake:0", 0, &o), 0);
	for (int i = 0; i < 3; i++)
		blk_poll();
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.status, -EIO);
	CHECK_CONTAINS(o.err, "cannot read the map of volume 1");
	CHECK_EQ(live_allocs, live);
	fake_disks[1].cut = 0;
	teardown();
}

/*
 * A new chunk's map write fails: the write is refused, and a later write
 * into the same chunk must not be acknowledged against a map entry that
 * never reached the device (it allocates again and records it).
 */
static void test_map_write_error(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	struct blockdev *d = open_dev("cow:1:fake:0", 0);
	struct fake_disk *f = &fake_disks[1];
	uint8_t w[512], r[512];
	memset(w, 0x41, 512);
	/* bit, flush, data, flush, then the map write fails without effect */
	f->fail_from = f->ops + 5, f->fail_to = f->ops + 6;
	CHECK_EQ(rw(d, BLK_WRITE, 2, 1, w), -EIO);
	f->fail_to = 0;
	memset(w, 0x42, 512);
	CHECK_EQ(rw(d, BLK_WRITE, 3, 1, w), 0);
	CHECK_EQ(rw(d, BLK_FLUSH, 0, 0, 0), 0);
	blk_close(d);
	cow_pool_detach();
	char err[200];
	uint32_t leaked;
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	CHECK_EQ(leaked, 1);                       /* the first allocation's chunk */
	d = open_dev("cow:1:fake:0", 0);
	CHECK_EQ(rw(d, BLK_READ, 3, 1, r), 0);
	CHECK(!memcmp(r, w, 512));                 /* the acknowledged write is there */
	CHECK_EQ(rw(d, BLK_READ, 2, 1, r), 0);
	CHECK(!memcmp(r, base_img + 2 * 512, 512)); /* the refused one is not */
	blk_close(d);
	teardown();
}

/* One writer per volume: a second open would keep its own map and lose writes. */
static void test_open_twice(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	char err[200];
	struct blockdev *a = open_dev("cow:1:fake:0", 0), *b = 0;
	CHECK(a != 0);
	CHECK_EQ(blk_sync_open("cow:1:fake:0", 0, &b, err, sizeof(err)), -EBUSY);
	CHECK_CONTAINS(err, "volume 1 of the pool is open already");
	CHECK_EQ(blk_sync_open("cow:1:fake:0", 1, &b, err, sizeof(err)), -EBUSY);
	CHECK_EQ(cow_pool_delete(1), -EBUSY);      /* its chunks stay while it is open */
	blk_close(a);
	/* read-only opens share (the base of several clones) and keep writers out */
	a = open_dev("cow:1:fake:0", 1);
	b = open_dev("cow:1:fake:0", 1);
	CHECK(a && b);
	struct blockdev *c = 0;
	CHECK_EQ(blk_sync_open("cow:1:fake:0", 0, &c, err, sizeof(err)), -EBUSY);
	blk_close(a);
	blk_close(b);
	c = open_dev("cow:1:fake:0", 0);
	CHECK(c != 0);
	blk_close(c);
	CHECK_EQ(cow_pool_delete(1), 0);
	teardown();
}

/* Map entries naming pool metadata, another map, a free chunk or one chunk twice are refused. */
static void test_map_into_metadata(void)
{
	setup();
	create("fake:0", BASE_BYTES);
	create(0, 4 * 65536);
	struct blockdev *d = open_dev("cow:1:fake:0", 0);
	uint8_t w[2 * 65536];
	memset(w, 0x61, sizeof(w));
	CHECK_EQ(rw(d, BLK_WRITE, 0, 256, w), 0);  /* chunks 0 and 1 */
	blk_close(d);
	const struct cow_vol_rec *v = cow_pool_find(1);
	uint32_t *map = (uint32_t *)(fake_disks[1].cache + (uint64_t)v->map_chunk * 65536);
	uint32_t good0 = map[0], good1 = map[1];
	uint32_t bad[] = { 1, cow_pool_find(2)->map_chunk, v->map_chunk, good1,
			   cow_pool->chunks - 1, cow_pool->chunks, 0xffffffffu };
	char err[200];
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		map[0] = bad[i];
		struct blockdev *e = 0;
		CHECK_EQ(blk_sync_open("cow:1:fake:0", 0, &e, err, sizeof(err)), -EIO);
		CHECK_CONTAINS(err, "points outside its data");
	}
	map[0] = good0;
	d = open_dev("cow:1:fake:0", 0);
	CHECK(d != 0);
	blk_close(d);
	teardown();
}

/* The pool records its catalog: only that catalog frees its volumes. */
static void test_pool_claim(void)
{
	setup();
	char err[200];
	uint32_t leaked;
	CHECK_EQ(cow_pool->hdr.catalog, 0);
	CHECK_EQ(cow_pool_claim(0xa1, 0, err, sizeof(err)), 0);   /* an empty pool: bound */
	CHECK_EQ(cow_pool_claim(0xb2, 0, err, sizeof(err)), 0);   /* still empty: rebound */
	create(0, 65536);
	CHECK_EQ(cow_pool_claim(0xb2, 0, err, sizeof(err)), 0);
	CHECK_EQ(cow_pool_claim(0xa1, 1, err, sizeof(err)), -EPERM);
	CHECK_CONTAINS(err, "belongs to another catalog");
	cow_pool_detach();
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	CHECK_EQ(cow_pool->hdr.catalog, 0xb2);                    /* durable */
	/* a version 1 table (no catalog) with a volume, as older hako wrote it */
	uint8_t table[COW_TABLE_SLOT];
	memcpy(table, &cow_pool->hdr, COW_TABLE_HDR_V1);
	memcpy(table + COW_TABLE_HDR_V1, cow_pool->vol, sizeof(cow_pool->vol[0]));
	struct slotstore st = cow_pool->table_store;
	st.version = 1;
	CHECK_EQ(slot_commit(&st, table, COW_TABLE_HDR_V1 + sizeof(cow_pool->vol[0])), 0);
	cow_pool_detach();
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	CHECK_EQ(cow_pool->hdr.catalog, 0);
	CHECK_EQ(cow_pool->hdr.nvols, 1);
	CHECK_EQ(cow_pool_claim(0xc3, 0, err, sizeof(err)), -EAGAIN);   /* a blank catalog */
	CHECK_CONTAINS(err, "records no catalog");
	CHECK_EQ(cow_pool_claim(0xc3, 1, err, sizeof(err)), 0);         /* adopted */
	cow_pool_detach();
	CHECK_EQ(cow_pool_attach(pool_dev, &leaked, err, sizeof(err)), 0);
	CHECK_EQ(cow_pool->hdr.catalog, 0xc3);
	CHECK_EQ(cow_pool->table_store.found, COW_POOL_VERSION);
	teardown();
}

int main(void)
{
	blk_set_host(&host);
	RUN(test_read_through_and_write);
	RUN(test_no_base_and_reattach);
	RUN(test_clone_of_clone);
	RUN(test_open_async_and_cancel);
	RUN(test_full_pool_and_concurrent);
	RUN(test_table_garbage);
	RUN(test_map_write_error);
	RUN(test_open_twice);
	RUN(test_map_into_metadata);
	RUN(test_pool_claim);
	RUN(test_power_cut_replay);
	RUN(test_journal_power_cut);
	return check_done();
}
