/*
 * tests/unit/test_blk.c - host tests of the block layer (vmm/blk): URL
 * checks, ram: and esp: disks through fake host memory and files, bounds
 * and read-only enforcement, completion only from blk_poll(), cancel on
 * close, allocation failures without leaks, and submission from several
 * threads at once while another thread polls.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/blk/blk.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"

#include "tests/unit/check.h"

/* ---- fake host: counted memory with an optional failure point, two files ---- */

static long live_bytes;
static int allocs_left = -1;    /* -1: unlimited */
static uint8_t file_img[3 * 1024 * 1024 + 100];

static void *fake_alloc(uint64_t bytes)
{
	if (allocs_left == 0)
		return 0;
	if (allocs_left > 0)
		allocs_left--;
	live_bytes += (long)bytes;
	return calloc(1, bytes);
}
static void fake_free(void *p, uint64_t bytes) { live_bytes -= (long)bytes; free(p); }
static const void *fake_file(const char *name, uint64_t *size)
{
	if (strcmp(name, "disk.img"))
		return 0;
	*size = sizeof(file_img);
	return file_img;
}
static int kicks;
static void fake_kick(void) { kicks++; }
static uint64_t fake_now = 1000; /* the stamp clock: tests move it */
static uint64_t fake_stamp(void) { return fake_now; }
static const struct blk_host_ops fake_host = { fake_alloc, fake_free, fake_file, fake_kick,
					       fake_stamp };

/* ---- helpers ---- */

struct done_log { int calls, status; };
static void on_done(struct blk_req *r, int status)
{
	struct done_log *l = r->ctx;
	l->calls++;
	l->status = status;
}

static struct blockdev *open_ok(const char *url, int ro)
{
	char err[160] = "";
	struct blockdev *d = 0;
	int rc = blk_sync_open(url, ro, &d, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		printf("     %s\n", err);
	return d;
}

/* Submits, polls, and returns the status (or the submit error). */
static int io(struct blockdev *d, enum blk_op op, uint64_t lba, uint32_t count, void *buf)
{
	struct done_log l = { 0, 99 };
	struct blk_req r = { .op = op, .lba = lba, .count = count, .buf = buf, .done = on_done, .ctx = &l };
	int k = kicks;
	int rc = blk_submit(d, &r);
	if (rc)
		return rc;
	CHECK_EQ(l.calls, 0);   /* never completes inside submit */
	CHECK_EQ(kicks, k + 1); /* but wakes the core that polls */
	CHECK(blk_poll());      /* which reports it had work */
	CHECK_EQ(l.calls, 1);
	return l.status;
}

/* ---- tests ---- */

static void test_url_check(void)
{
	char err[160];
	CHECK_EQ(blk_url_check("ram:64M", err, sizeof(err)), 0);
	CHECK_EQ(blk_url_check("ram:512", err, sizeof(err)), 0);
	CHECK_EQ(blk_url_check("esp:disk.img", err, sizeof(err)), 0);
	CHECK_EQ(blk_url_check("esp:dir/disk.img", err, sizeof(err)), 0);
	const char *bad[] = { "", "ram:", "ram:0", "ram:100", "ram:1T", "ram:12Q", "esp:",
			      "nbd://x", "RAM:64M", "ram64M", "esp:a,b" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(blk_url_check(bad[i], err, sizeof(err)), -EINVAL);
		CHECK(err[0] != 0);
	}
	blk_url_check("nbd://x", err, sizeof(err));
	CHECK_CONTAINS(err, "unknown disk URL 'nbd://x' (known: ");
	CHECK_CONTAINS(err, "ram:...");
	blk_url_check("ram:100", err, sizeof(err));
	CHECK_CONTAINS(err, "multiple of 512");
}

static void test_ram_read_write(void)
{
	struct blockdev *d = open_ok("ram:5M", 0);
	if (!d)
		return;
	CHECK_EQ(blk_blocks(d), 5 * 2048);
	CHECK_EQ(blk_block_size(d), 512);
	CHECK_EQ(blk_readonly(d), 0);
	/* 8 sectors straddling the first 2 MiB chunk boundary */
	uint8_t w[4096], r[4096];
	for (unsigned i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 3);
	uint64_t lba = 4096 - 3;
	CHECK_EQ(io(d, BLK_WRITE, lba, 8, w), 0);
	memset(r, 0, sizeof(r));
	CHECK_EQ(io(d, BLK_READ, lba, 8, r), 0);
	CHECK(!memcmp(w, r, sizeof(w)));
	CHECK_EQ(io(d, BLK_READ, 0, 1, r), 0);   /* fresh disks are zero */
	CHECK_EQ(r[0] | r[511], 0);
	CHECK_EQ(io(d, BLK_FLUSH, 0, 0, 0), 0);
	/* the last sector is reachable, one past it is not */
	CHECK_EQ(io(d, BLK_WRITE, blk_blocks(d) - 1, 1, w), 0);
	const struct blk_stats *st = blk_stats(d);
	CHECK_EQ(st->writes, 2);
	CHECK_EQ(st->reads, 2);
	CHECK_EQ(st->flushes, 1);
	CHECK_EQ(st->bytes_written, 4096 + 512);
	CHECK_EQ(st->bytes_read, 4096 + 512);
	blk_close(d);
	CHECK_EQ(live_bytes, 0);
}

static void test_bounds_and_bad_requests(void)
{
	struct blockdev *d = open_ok("ram:1M", 0);
	if (!d)
		return;
	uint8_t buf[1024];
	CHECK_EQ(io(d, BLK_READ, 2048, 1, buf), -ERANGE);
	CHECK_EQ(io(d, BLK_READ, 2047, 2, buf), -ERANGE);
	CHECK_EQ(io(d, BLK_WRITE, UINT64_MAX, 2, buf), -ERANGE);
	CHECK_EQ(io(d, BLK_WRITE, UINT64_MAX - 1, 4, buf), -ERANGE);
	CHECK_EQ(io(d, BLK_READ, 0, UINT32_MAX, buf), -ERANGE);
	CHECK_EQ(io(d, BLK_READ, 0, 0, buf), -EINVAL);
	CHECK_EQ(io(d, BLK_READ, 0, 1, 0), -EINVAL);
	CHECK_EQ(io(d, (enum blk_op)7, 0, 1, buf), -EINVAL);
	struct blk_req nocb = { .op = BLK_READ, .count = 1, .buf = buf };
	CHECK_EQ(blk_submit(d, &nocb), -EINVAL);
	CHECK_EQ(blk_stats(d)->reads + blk_stats(d)->writes, 0);
	blk_close(d);
	CHECK_EQ(live_bytes, 0);
}

static void test_readonly(void)
{
	struct blockdev *d = open_ok("ram:1M", 1);
	if (!d)
		return;
	uint8_t buf[512] = { 1 };
	CHECK_EQ(blk_readonly(d), 1);
	CHECK_EQ(io(d, BLK_WRITE, 0, 1, buf), -EPERM);
	CHECK_EQ(io(d, BLK_READ, 0, 1, buf), 0);
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(io(d, BLK_FLUSH, 0, 0, 0), 0);
	blk_close(d);
}

static void test_esp_copy(void)
{
	for (unsigned i = 0; i < sizeof(file_img); i++)
		file_img[i] = (uint8_t)(i ^ (i >> 8));
	struct blockdev *d = open_ok("esp:disk.img", 0);
	if (!d)
		return;
	CHECK_EQ(blk_blocks(d), (sizeof(file_img) + 511) / 512);
	uint8_t buf[1024];
	uint64_t last = blk_blocks(d) - 1;
	CHECK_EQ(io(d, BLK_READ, last, 1, buf), 0);
	CHECK(!memcmp(buf, file_img + last * 512, 100));
	CHECK_EQ(buf[100] | buf[511], 0);       /* past the file's end: zeros */
	CHECK_EQ(io(d, BLK_READ, 4095, 2, buf), 0);
	CHECK(!memcmp(buf, file_img + 4095 * 512, 1024));
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(io(d, BLK_WRITE, 0, 2, buf), 0);
	CHECK_EQ(file_img[0], 0);               /* the medium's file is unchanged */
	uint8_t back[1024];
	CHECK_EQ(io(d, BLK_READ, 0, 2, back), 0);
	CHECK(!memcmp(back, buf, sizeof(buf)));
	blk_close(d);
	CHECK_EQ(live_bytes, 0);

	char err[160];
	struct blockdev *x;
	CHECK_EQ(blk_sync_open("esp:missing.img", 0, &x, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "'missing.img' is not on the boot medium");
}

static void test_open_failures_leak_nothing(void)
{
	char err[160];
	struct blockdev *d;
	for (int n = 0; n < 5; n++) {
		allocs_left = n;
		int rc = blk_sync_open("ram:5M", 0, &d, err, sizeof(err));
		CHECK_EQ(rc, -ENOMEM);
		CHECK_EQ(live_bytes, 0);
	}
	allocs_left = -1;
	CHECK_EQ(blk_sync_open("ram:5M", 0, &d, err, sizeof(err)), 0);
	blk_close(d);
	CHECK_EQ(blk_sync_open("bogus:1", 0, &d, err, sizeof(err)), -EINVAL);
	CHECK_EQ(live_bytes, 0);
}

static void test_close_cancels_queued(void)
{
	struct blockdev *d = open_ok("ram:1M", 0);
	if (!d)
		return;
	uint8_t buf[512];
	struct done_log l[3] = { { 0, 99 }, { 0, 99 }, { 0, 99 } };
	struct blk_req r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (struct blk_req){ .op = BLK_READ, .lba = (uint64_t)i, .count = 1, .buf = buf,
					 .done = on_done, .ctx = &l[i] };
		CHECK_EQ(blk_submit(d, &r[i]), 0);
	}
	blk_close(d);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(l[i].calls, 1);
		CHECK_EQ(l[i].status, -ECANCELED);
	}
	blk_poll();                             /* nothing left to call */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(l[i].calls, 1);
	CHECK_EQ(live_bytes, 0);
}

/*
 * ---- an asynchronous backend, the way iSCSI will be: a scheme registered
 * from another file (this one), requests that stay in flight across polls
 * and complete later, and close cancelling what is still in flight ----
 */

static struct blk_req *slow_pending[8];
static unsigned slow_n;

static void slow_start(struct blockdev *d, struct blk_req *r)
{
	(void)d;
	slow_pending[slow_n++] = r;     /* the test never queues more than 8 */
}
static void slow_close(struct blockdev *d)
{
	(void)d;
	while (slow_n)
		blk_complete(slow_pending[--slow_n], -ECANCELED);
}
static const struct blk_backend_ops slow_ops = { slow_start, slow_close, 0 };
static int slow_check(const char *spec, char *err, unsigned len)
{
	if (strcmp(spec, "//ok")) {
		snprintf(err, len, "bad slow URL");
		return -EINVAL;
	}
	return 0;
}
static int slow_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	(void)spec, (void)err, (void)len;
	d->ops = &slow_ops;
	d->blocks = 100;
	d->block_size = 4096;
	d->readonly = 1;                /* a write-protected LUN */
	return 0;
}
BLK_SCHEME(slow, "slow:", slow_check, slow_open, 0);

static void test_async_backend(void)
{
	char err[160];
	CHECK_EQ(blk_url_check("slow://no", err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "bad slow URL");
	struct blockdev *d = open_ok("slow://ok", 0);
	if (!d)
		return;
	CHECK_EQ(blk_block_size(d), 4096);
	CHECK_EQ(blk_readonly(d), 1);   /* the medium says so even when the caller did not */
	static uint8_t buf[3][4096];
	struct done_log l[3] = { { 0, 99 }, { 0, 99 }, { 0, 99 } };
	struct blk_req r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (struct blk_req){ .op = BLK_READ, .lba = 99, .count = 1, .buf = buf[i],
					 .done = on_done, .ctx = &l[i] };
		CHECK_EQ(blk_submit(d, &r[i]), 0);
	}
	CHECK_EQ(io(d, BLK_READ, 100, 1, buf[0]), -ERANGE);     /* 100 blocks of 4 KiB */
	CHECK_EQ(io(d, BLK_WRITE, 0, 1, buf[0]), -EPERM);
	blk_poll();
	CHECK_EQ(slow_n, 3);
	CHECK_EQ(l[0].calls + l[1].calls + l[2].calls, 0);      /* in flight */
	blk_complete(slow_pending[--slow_n], 0);                /* r[2] finishes */
	CHECK_EQ(l[2].calls, 1);
	CHECK_EQ(l[2].status, 0);
	CHECK_EQ(blk_stats(d)->bytes_read, 4096);
	blk_close(d);                   /* the other two are cancelled, once each */
	CHECK_EQ(l[0].calls, 1);
	CHECK_EQ(l[0].status, -ECANCELED);
	CHECK_EQ(l[1].calls, 1);
	CHECK_EQ(live_bytes, 0);
}

/*
 * ---- the latency breakdown: the block layer stamps kick and done, a
 * backend the hops between; a ram: disk counts in the total only ----
 */
static void test_latency_stamps(void)
{
	struct blockdev *d = open_ok("slow://ok", 0);
	if (!d)
		return;
	static uint8_t buf[4096];
	struct done_log l = { 0, 99 };
	struct blk_req r = { .op = BLK_READ, .lba = 1, .count = 1, .buf = buf, .done = on_done,
			     .ctx = &l };
	fake_now = 5000;
	CHECK_EQ(blk_submit(d, &r), 0);
	CHECK_EQ(r.stamp[BLK_T_KICK], 5000);
	blk_poll();
	CHECK_EQ(slow_n, 1);
	r.stamp[BLK_T_QUEUED] = 5050, r.stamp[BLK_T_WIRE] = 5060, r.stamp[BLK_T_RESPONSE] = 6060;
	fake_now = 6100;
	blk_complete(slow_pending[--slow_n], 0);
	const struct blk_lat *lat = blk_latency(d);
	CHECK_EQ(lat->n[BLK_HOP_TOTAL], 1);
	CHECK_EQ(blk_lat_mean(lat, BLK_HOP_QUEUE), 50);
	CHECK_EQ(blk_lat_mean(lat, BLK_HOP_SEND), 10);
	CHECK_EQ(blk_lat_mean(lat, BLK_HOP_TARGET), 1000);
	CHECK_EQ(blk_lat_mean(lat, BLK_HOP_COMPLETE), 40);
	CHECK_EQ(blk_lat_mean(lat, BLK_HOP_TOTAL), 1100);
	CHECK_EQ(r.stamp[BLK_T_KICK], 0); /* cleared: the struct may be submitted again */
	/* a caller's own kick stamp (virtio-blk's notify) is kept */
	r.stamp[BLK_T_KICK] = 4000;
	r.stamp[BLK_T_WIRE] = 1; /* stale: blk_submit clears it */
	CHECK_EQ(blk_submit(d, &r), 0);
	CHECK_EQ(r.stamp[BLK_T_KICK], 4000);
	CHECK_EQ(r.stamp[BLK_T_WIRE], 0);
	blk_poll();
	blk_complete(slow_pending[--slow_n], -EIO); /* failures are not timed */
	CHECK_EQ(blk_latency(d)->n[BLK_HOP_TOTAL], 1);
	blk_lat_reset(d);
	CHECK_EQ(blk_latency(d)->n[BLK_HOP_TOTAL], 0);
	blk_close(d);

	struct blockdev *m = open_ok("ram:64K", 0);
	if (!m)
		return;
	CHECK_EQ(io(m, BLK_READ, 0, 1, buf), 0);
	CHECK_EQ(blk_latency(m)->n[BLK_HOP_TOTAL], 1);
	CHECK_EQ(blk_latency(m)->n[BLK_HOP_TARGET], 0);
	blk_close(m);
	CHECK_EQ(live_bytes, 0);
}

/* The 99th percentile from quarter-octave buckets: within 19% of the value. */
static void test_latency_percentile(void)
{
	static struct blk_lat lat;
	uint64_t t[BLK_STAMPS] = { 0 };
	for (int i = 0; i < 99; i++) {
		t[BLK_T_KICK] = 10, t[BLK_T_DONE] = 10 + 1000;
		blk_lat_add(&lat, t);
	}
	t[BLK_T_DONE] = 10 + 100000;
	blk_lat_add(&lat, t);
	uint64_t p = blk_lat_p99(&lat, BLK_HOP_TOTAL);
	CHECK(p >= 1000 * 81 / 100 && p <= 1000 * 119 / 100);
	blk_lat_add(&lat, t); /* now 2 of 101 are slow: the p99 is a slow one */
	p = blk_lat_p99(&lat, BLK_HOP_TOTAL);
	CHECK(p >= 100000 * 81 / 100 && p <= 100000 * 119 / 100);
	CHECK_EQ(blk_lat_mean(&lat, BLK_HOP_TOTAL), (99 * 1000 + 2 * 100000) / 101);
	CHECK_EQ(blk_lat_p99(&lat, BLK_HOP_QUEUE), 0); /* no samples */
	memset(&lat, 0, sizeof(lat));
	for (uint64_t v = 1; v < (1ull << 41); v = v * 3 + 1) { /* every bucket's value brackets v */
		memset(&lat, 0, sizeof(lat));
		t[BLK_T_KICK] = 1, t[BLK_T_DONE] = 1 + v;
		blk_lat_add(&lat, t);
		p = blk_lat_p99(&lat, BLK_HOP_TOTAL);
		CHECK(v < (1ull << 40) ? p * 100 >= v * 81 && p * 100 <= v * 119 : p > 0);
	}
}

/*
 * ---- an open that ends later, the way a LUN's login does: done runs from
 * blk_poll only, never inside blk_open; cancel before or after the end ----
 */

static struct blockdev *later_dev;
static int later_cancels, later_closes;
static void later_start(struct blockdev *d, struct blk_req *r) { (void)d; blk_complete(r, 0); }
static void later_close(struct blockdev *d) { (void)d; later_closes++; }
static const struct blk_backend_ops later_ops = { later_start, later_close, 1 };
static int later_check(const char *spec, char *err, unsigned len)
{
	(void)spec, (void)err, (void)len;
	return 0;
}
static int later_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	if (!strcmp(spec, "now-fail")) {
		snprintf(err, len, "refused at once");
		return -EPERM;
	}
	later_dev = d;
	return BLK_OPEN_LATER;
}
static void later_cancel(struct blockdev *d)
{
	CHECK(d == later_dev);
	later_cancels++;
	later_dev = 0;
}
BLK_SCHEME(later, "later:", later_check, later_open, later_cancel);

/* The backend ends the open it holds: with a geometry, or failing. */
static void later_end(int status, uint32_t block_size)
{
	struct blockdev *d = later_dev;
	later_dev = 0;
	if (status) {
		blk_open_failed(d, status, "the target said %s", "no");
		return;
	}
	d->ops = &later_ops;
	d->blocks = 8, d->block_size = block_size;
	blk_opened(d, 0);
}

struct open_log { int calls, status; struct blockdev *dev; char err[BLK_ERR_MAX]; };
static void on_opened(struct blk_open_req *o)
{
	struct open_log *l = o->ctx;
	l->calls++;
	l->status = o->status;
	l->dev = o->dev;
	snprintf(l->err, sizeof(l->err), "%s", o->err);
}

static void start_open(struct blk_open_req *o, struct open_log *l, const char *url, int want)
{
	memset(l, 0, sizeof(*l));
	o->done = on_opened, o->ctx = l;
	CHECK_EQ(blk_open(url, 1, o), want);
	CHECK_EQ(l->calls, 0); /* never from inside blk_open */
}

static void test_open_later(void)
{
	struct blk_open_req o;
	struct open_log l;
	later_cancels = later_closes = 0;
	start_open(&o, &l, "later:ok", 0);
	blk_poll();
	CHECK_EQ(l.calls, 0); /* still opening */
	later_end(0, 4096);
	CHECK_EQ(l.calls, 0); /* ended, but reported by blk_poll */
	CHECK(blk_poll());
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.status, 0);
	CHECK(l.dev != 0);
	if (l.dev) {
		CHECK_EQ(blk_readonly(l.dev), 1);
		CHECK_EQ(blk_block_size(l.dev), 4096);
		uint8_t buf[4096];
		CHECK_EQ(io(l.dev, BLK_READ, 7, 1, buf), 0);
		blk_close(l.dev);
		CHECK_EQ(later_closes, 1);
	}
	blk_poll();
	CHECK_EQ(l.calls, 1);

	start_open(&o, &l, "later:x", 0);
	later_end(-EPERM, 0);
	blk_poll();
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.status, -EPERM);
	CHECK_STREQ(l.err, "the target said no");
	CHECK(l.dev == 0);

	start_open(&o, &l, "later:now-fail", 0); /* a scheme that fails at once: still via done */
	blk_poll();
	CHECK_EQ(l.status, -EPERM);
	CHECK_STREQ(l.err, "refused at once");

	start_open(&o, &l, "later:x", 0);
	later_end(0, 1000); /* not a power of two: the layer refuses it and closes it */
	blk_poll();
	CHECK_EQ(l.status, -EIO);
	CHECK_CONTAINS(l.err, "bad geometry");
	CHECK_EQ(later_closes, 2);

	start_open(&o, &l, "bogus:x", -EINVAL); /* refused at once: done never runs */
	CHECK_CONTAINS(o.err, "unknown disk URL");
	blk_poll();
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(live_bytes, 0);
}

static void test_open_cancel(void)
{
	struct blk_open_req o;
	struct open_log l;
	later_cancels = later_closes = 0;
	start_open(&o, &l, "later:a", 0);
	blk_open_cancel(&o); /* while the backend works: it is told, done never runs */
	CHECK_EQ(later_cancels, 1);
	blk_poll();
	CHECK_EQ(l.calls, 0);
	blk_open_cancel(&o); /* twice is harmless */
	CHECK_EQ(later_cancels, 1);

	start_open(&o, &l, "later:b", 0);
	later_end(0, 512);
	blk_open_cancel(&o); /* ended but not reported yet: the device closes */
	CHECK_EQ(later_cancels, 1);
	CHECK_EQ(later_closes, 1);
	blk_poll();
	CHECK_EQ(l.calls, 0);

	start_open(&o, &l, "ram:1M", 0); /* a scheme that opens at once */
	blk_open_cancel(&o);
	blk_poll();
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(live_bytes, 0);
}

/* ---- several submitting threads, one polling thread ---- */

#define THREADS 4
#define PER_THREAD 2000
static struct blockdev *mt_dev;
static int mt_done_count;              /* only the polling thread writes it */
static void mt_done(struct blk_req *r, int status)
{
	if (!status)
		mt_done_count++;
	free(r);
}
static void *mt_submit(void *arg)
{
	uint8_t *buf = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct blk_req *r = calloc(1, sizeof(*r));
		*r = (struct blk_req){ .op = (i & 1) ? BLK_READ : BLK_WRITE, .lba = (uint64_t)i,
				       .count = 1, .buf = buf, .done = mt_done };
		if (blk_submit(mt_dev, r))
			free(r);
	}
	return 0;
}

static void test_concurrent_submit(void)
{
	mt_dev = open_ok("ram:2M", 0);
	if (!mt_dev)
		return;
	static uint8_t bufs[THREADS][512];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], 0, mt_submit, bufs[i]);
	while (mt_done_count < THREADS * PER_THREAD)
		blk_poll();
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], 0);
	blk_poll();
	CHECK_EQ(mt_done_count, THREADS * PER_THREAD);
	CHECK_EQ(blk_stats(mt_dev)->reads + blk_stats(mt_dev)->writes, THREADS * PER_THREAD);
	blk_close(mt_dev);
}

int main(void)
{
	blk_set_host(&fake_host);
	RUN(test_url_check);
	RUN(test_ram_read_write);
	RUN(test_bounds_and_bad_requests);
	RUN(test_readonly);
	RUN(test_esp_copy);
	RUN(test_open_failures_leak_nothing);
	RUN(test_close_cancels_queued);
	RUN(test_async_backend);
	RUN(test_latency_stamps);
	RUN(test_latency_percentile);
	RUN(test_open_later);
	RUN(test_open_cancel);
	RUN(test_concurrent_submit);
	return check_done();
}
