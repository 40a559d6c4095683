/*
 * tests/unit/test_virtio.c - host tests of the virtio stack: the
 * virtio-mmio transport, split virtqueues and virtio-blk over a ram: disk
 * of the block layer, driven through the register block the way a guest
 * driver does, with the guest's memory a malloc'd buffer exactly its size
 * (so ASan flags any access outside it). Malformed rings must put the
 * device into DEVICE_NEEDS_RESET; thousands of random descriptor tables
 * must never reach outside guest memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/blk/blk.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"
#include "vmm/dev/virtio_blk.h"
#include "vmm/dev/virtio_mmio.h"

#include "tests/unit/check.h"

/* ---- fake host ---- */

static void *fake_alloc(uint64_t bytes) { return calloc(1, bytes); }
static void fake_free(void *p, uint64_t bytes) { (void)bytes; free(p); }
static const void *no_file(const char *name, uint64_t *size) { (void)name, (void)size; return 0; }
static const struct blk_host_ops fake_host = { fake_alloc, fake_free, no_file, 0, 0 };

/* ---- fake guest: GUEST_SIZE bytes of RAM at GPA 0 ---- */

#define GUEST_SIZE (256 * 1024)
static uint8_t *gmem;
static unsigned bad_maps;       /* map() calls spanning a page: must stay 0 */
static int irq_level, irq_changes;

static void *guest_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (!len || gpa / 4096 != (gpa + len - 1) / 4096)
		bad_maps++;
	if (gpa >= GUEST_SIZE || len > GUEST_SIZE - gpa)
		return 0;
	return gmem + gpa;
}
static void guest_irq(void *ctx, int level)
{
	(void)ctx;
	irq_changes += level != irq_level;
	irq_level = level;
}
/* A device asks for the service core (virtio_mmio_poll) to come back. */
static int kicks;
static void host_kick(void *ctx)
{
	(void)ctx;
	kicks++;
}
/* Set by a test: called at each interrupt-line update, i.e. each completion. */
static void (*on_irq)(void);
static void guest_irq_hook(void *ctx, int level)
{
	guest_irq(ctx, level);
	if (on_irq)
		on_irq();
}
static const struct virtio_host vhost = { { guest_map, 0 }, guest_irq_hook, 0, host_kick };

/* ---- a minimal driver ---- */

#define QSIZE 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x10000

static struct blockdev *bdev;
static struct virtio_blk *dev;
static struct virtio_mmio *t;
static uint16_t avail_idx;

static uint32_t rd(uint64_t off) { return (uint32_t)virtio_mmio_read(t, off, 4); }
static void wr(uint64_t off, uint32_t v) { virtio_mmio_write(t, off, 4, v); }

static struct virtq_desc *desc(unsigned i) { return (struct virtq_desc *)(gmem + DESC) + i; }
static struct virtq_avail *avail(void) { return (struct virtq_avail *)(gmem + AVAIL); }
static struct virtq_used *used(void) { return (struct virtq_used *)(gmem + USED); }

/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue, DRIVER_OK. */
static int driver_init_size(uint64_t features, unsigned qsize)
{
	memset(gmem, 0, GUEST_SIZE);
	avail_idx = 0;
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, qsize);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return 0;
}

static int driver_init(uint64_t features)
{
	return driver_init_size(features, QSIZE);
}

static const uint64_t FEATS = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH);

static void make_dev(const char *url, int ro)
{
	char err[160];
	CHECK_EQ(blk_sync_open(url, ro, &bdev, err, sizeof(err)), 0);
	CHECK_EQ(virtio_blk_create(bdev, &vhost, "guest test: vda", "hako-test-vda", &dev), 0);
	t = virtio_blk_transport(dev);
	CHECK_EQ(driver_init(FEATS), 0);
}

/*
 * Builds a 3-descriptor request at slots d..d+2 (header, data, status),
 * header at DATA, data at DATA+0x100, status at DATA+0x80, and offers it.
 */
static void offer(unsigned d, uint32_t type, uint64_t sector, uint32_t len)
{
	struct virtio_blk_req_hdr h = { type, 0, sector };
	memcpy(gmem + DATA, &h, sizeof(h));
	gmem[DATA + 0x80] = 0xff;
	int in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	*desc(d) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1) };
	if (len) {
		*desc(d + 1) = (struct virtq_desc){ DATA + 0x100, len,
						    (uint16_t)(VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0)),
						    (uint16_t)(d + 2) };
		*desc(d + 2) = (struct virtq_desc){ DATA + 0x80, 1, VIRTQ_DESC_F_WRITE, 0 };
	} else {
		desc(d)->next = (uint16_t)(d + 2);
		*desc(d + 2) = (struct virtq_desc){ DATA + 0x80, 1, VIRTQ_DESC_F_WRITE, 0 };
	}
	avail()->ring[avail_idx % QSIZE] = (uint16_t)d;
	avail_idx++;
	avail()->idx = avail_idx;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Offers one request, lets the service core run, returns the status byte. */
static int request(uint32_t type, uint64_t sector, uint32_t len)
{
	uint16_t before = used()->idx;
	offer(0, type, sector, len);
	blk_poll();
	if (used()->idx != (uint16_t)(before + 1))
		return -1;
	return gmem[DATA + 0x80];
}

static void destroy_dev(void)
{
	virtio_blk_destroy(dev);
	blk_close(bdev);
	dev = 0;
}

/* ---- tests ---- */

static void test_registers_and_config(void)
{
	make_dev("ram:1M", 0);
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID), 2);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1);   /* VERSION_1 is bit 32 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(f & (1u << VIRTIO_BLK_F_FLUSH));
	CHECK(!(f & (1u << VIRTIO_BLK_F_RO)));
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VBLK_QUEUE_MAX);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);     /* one queue only */
	CHECK_EQ(virtio_mmio_read(t, 0x100, 8), 2048);  /* capacity in sectors */
	CHECK_EQ(virtio_mmio_read(t, 0x100, 4), 2048);
	CHECK_EQ(virtio_mmio_read(t, 0x10c, 4), VBLK_SEG_MAX);
	CHECK_EQ(virtio_mmio_read(t, 0x114, 4), 512);
	CHECK_EQ(virtio_mmio_read(t, 0x1000 - 8, 8), 0);        /* past the config */
	CHECK_EQ(virtio_mmio_read(t, VIRTIO_MMIO_MAGIC_VALUE, 2), 0); /* not 32-bit: ignored */
	destroy_dev();
}

static void test_feature_negotiation(void)
{
	make_dev("ram:1M", 0);
	CHECK_EQ(driver_init(1ull << VIRTIO_BLK_F_FLUSH), -1);  /* no VERSION_1 */
	CHECK_EQ(driver_init(FEATS | (1ull << 28)), -1);        /* indirect: not offered */
	CHECK_EQ(driver_init(FEATS), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 15);
	destroy_dev();
}

static void test_read_write_flush_getid(void)
{
	make_dev("ram:1M", 0);
	for (unsigned i = 0; i < 1024; i++)
		gmem[DATA + 0x100 + i] = (uint8_t)(i * 13 + 1);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 2046, 1024), VIRTIO_BLK_S_OK);  /* the last 2 sectors */
	CHECK_EQ(used()->ring[0].len, 1);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq_level, 0);
	memset(gmem + DATA + 0x100, 0, 1024);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 2046, 1024), VIRTIO_BLK_S_OK);
	CHECK_EQ(used()->ring[1].len, 1025);
	CHECK_EQ(gmem[DATA + 0x100 + 5], 5 * 13 + 1);
	CHECK_EQ(gmem[DATA + 0x100 + 1023], (uint8_t)(1023 * 13 + 1));
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(request(VIRTIO_BLK_T_GET_ID, 0, 20), VIRTIO_BLK_S_OK);
	CHECK(!memcmp(gmem + DATA + 0x100, "hako-test-vda", 13));
	CHECK_EQ(request(99, 0, 512), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 2047, 1024), VIRTIO_BLK_S_IOERR);   /* past the end */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, UINT64_MAX / 256, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 100), VIRTIO_BLK_S_IOERR);       /* not sectors */
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	const struct blk_stats *st = blk_stats(bdev);
	CHECK_EQ(st->reads, 1);
	CHECK_EQ(st->writes, 1);
	CHECK_EQ(st->flushes, 1);
	CHECK_EQ(st->bytes_read, 1024);
	CHECK_EQ(st->bytes_written, 1024);
	destroy_dev();
}

static void test_readonly_disk(void)
{
	make_dev("ram:1M", 1);
	CHECK(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	destroy_dev();
}

/* Many requests at once: more than the device has slots. */
static void test_many_in_flight(void)
{
	make_dev("ram:1M", 0);
	/* 2 descriptors each (header + status: flushes), all QSIZE/2 slots of the queue */
	for (int round = 0; round < 40; round++) {
		uint16_t before = used()->idx;
		for (unsigned k = 0; k < QSIZE / 2; k++) {
			unsigned d = 2 * k;
			*desc(d) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1) };
			*desc(d + 1) = (struct virtq_desc){ DATA + 0x80 + k, 1, VIRTQ_DESC_F_WRITE, 0 };
			avail()->ring[avail_idx % QSIZE] = (uint16_t)d;
			avail_idx++;
		}
		struct virtio_blk_req_hdr h = { VIRTIO_BLK_T_FLUSH, 0, 0 };
		memcpy(gmem + DATA, &h, sizeof(h));
		avail()->idx = avail_idx;
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		blk_poll();
		CHECK_EQ((uint16_t)(used()->idx - before), QSIZE / 2);
	}
	CHECK_EQ(blk_stats(bdev)->flushes, 40 * QSIZE / 2);
	destroy_dev();
}

/* ---- a guest flooding its queue with requests that complete at once ---- */

#define BIG_Q VBLK_QUEUE_MAX    /* the largest queue the device takes */
#define ID_REQS 64              /* GET_ID requests of 2 descriptors each */

static uint16_t big_avail;

/* Chain k: descriptor 2k the header, 2k+1 a 21-byte buffer for the id and status. */
static void id_chains(void)
{
	struct virtio_blk_req_hdr h = { VIRTIO_BLK_T_GET_ID, 0, 0 };
	memcpy(gmem + DATA, &h, sizeof(h));
	for (unsigned k = 0; k < ID_REQS; k++) {
		*desc(2 * k) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(2 * k + 1) };
		*desc(2 * k + 1) = (struct virtq_desc){ DATA + 0x1000 + 32 * k, 21, VIRTQ_DESC_F_WRITE, 0 };
		avail()->ring[big_avail++ % BIG_Q] = (uint16_t)(2 * k);
	}
	avail()->idx = big_avail;
}

static void test_synchronous_requests_are_taken_in_bounded_batches(void)
{
	make_dev("ram:1M", 0);
	CHECK_EQ(driver_init_size(FEATS, BIG_Q), 0);
	big_avail = 0;
	kicks = 0;
	id_chains();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* one notify takes one budget, and asks the service core to come back */
	CHECK_EQ(used()->idx, VIRTIO_POLL_BUDGET);
	CHECK_EQ(kicks, 1);
	CHECK(t->backlog != 0);
	unsigned rounds = 0;
	uint16_t seen = used()->idx;
	while (virtio_mmio_poll(t) && rounds < 100) {
		CHECK((uint16_t)(used()->idx - seen) <= VIRTIO_POLL_BUDGET);
		seen = used()->idx;
		rounds++;
	}
	/* every request completed, none twice, each with its id and status OK */
	CHECK_EQ(used()->idx, ID_REQS);
	CHECK_EQ(rounds, ID_REQS / VIRTIO_POLL_BUDGET - 1);
	CHECK_EQ(virtio_mmio_poll(t), 0); /* nothing left: the poll costs no lock */
	for (unsigned k = 0; k < ID_REQS; k++) {
		CHECK(!memcmp(gmem + DATA + 0x1000 + 32 * k, "hako-test-vda", 13));
		CHECK_EQ(gmem[DATA + 0x1000 + 32 * k + 20], VIRTIO_BLK_S_OK);
	}
	destroy_dev();
}

/*
 * The guest as a second core sees it: every completion is put back on the
 * avail ring at once, as a vCPU recycling its chains would while the
 * device works. The device must still stop after a budget.
 */
static unsigned recycled;
static void recycle_completed(void)
{
	if (recycled >= 100000 || used()->idx == 0)
		return; /* the bound only ends a broken device's loop */
	const struct virtq_used_elem *u = &used()->ring[(uint16_t)(used()->idx - 1) % BIG_Q];
	avail()->ring[big_avail++ % BIG_Q] = (uint16_t)u->id;
	avail()->idx = big_avail;
	recycled++;
}

static void test_a_refilled_ring_does_not_hold_the_core(void)
{
	make_dev("ram:1M", 0);
	CHECK_EQ(driver_init_size(FEATS, BIG_Q), 0);
	big_avail = 0;
	recycled = 0;
	id_chains();
	on_irq = recycle_completed;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);        /* before: 100000 completions here */
	CHECK_EQ(used()->idx, VIRTIO_POLL_BUDGET);
	for (int i = 0; i < 10; i++) {          /* the service core's rounds: one budget each */
		uint16_t before = used()->idx;
		CHECK_EQ(virtio_mmio_poll(t), 1);
		CHECK_EQ((uint16_t)(used()->idx - before), VIRTIO_POLL_BUDGET);
	}
	on_irq = 0;
	destroy_dev();
}

/* A reset drops the backlog with the queue; nothing runs on a dead queue. */
static void test_reset_forgets_the_backlog(void)
{
	make_dev("ram:1M", 0);
	CHECK_EQ(driver_init_size(FEATS, BIG_Q), 0);
	big_avail = 0;
	id_chains();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(t->backlog != 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(t->backlog, 0);
	CHECK_EQ(virtio_mmio_poll(t), 0);
	destroy_dev();
}

/* Breaks the ring with `breaker`, expects NEEDS_RESET, then resets and works again. */
static void expect_needs_reset(const char *what, void (*breaker)(void))
{
	make_dev("ram:1M", 0);
	check_current = what;
	irq_level = 0;
	breaker();
	blk_poll();
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(used()->idx, 0);
	/* a further notify does nothing until reset */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	blk_poll();
	CHECK_EQ(used()->idx, 0);
	CHECK_EQ(driver_init(FEATS), 0);
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	destroy_dev();
}

static void post(uint16_t head)
{
	avail()->ring[avail_idx % QSIZE] = head;
	avail()->idx = ++avail_idx;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}
static void brk_head_range(void) { post(QSIZE); }
static void brk_loop(void)
{
	*desc(0) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0 };
	post(0);
}
static void brk_next_range(void)
{
	*desc(0) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, 200 };
	post(0);
}
static void brk_outside(void)
{
	*desc(0) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ GUEST_SIZE - 256, 512, VIRTQ_DESC_F_WRITE, 0 };
	post(0);
}
static void brk_huge_addr(void)
{
	*desc(0) = (struct virtq_desc){ UINT64_MAX - 8, 16, 0, 0 };
	post(0);
}
static void brk_too_long(void)
{
	*desc(0) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ 0, GUEST_SIZE, VIRTQ_DESC_F_WRITE, 0 };
	post(0);
}
static void brk_indirect(void)
{
	*desc(0) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_INDIRECT, 0 };
	post(0);
}
static void brk_order(void)
{
	*desc(0) = (struct virtq_desc){ DATA + 0x80, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1 };
	*desc(1) = (struct virtq_desc){ DATA, 16, 0, 0 };
	post(0);
}
static void brk_no_status(void)
{
	*desc(0) = (struct virtq_desc){ DATA, 16, 0, 0 };
	post(0);
}
static void brk_avail_ahead(void)
{
	avail()->idx = QSIZE + 1;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}
static void brk_ring_outside(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, 11);
	wr(VIRTIO_MMIO_STATUS, 15);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, GUEST_SIZE - 64);   /* 128 bytes of table: past the end */
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_malformed_rings(void)
{
	expect_needs_reset("head out of range", brk_head_range);
	expect_needs_reset("loop", brk_loop);
	expect_needs_reset("next out of range", brk_next_range);
	expect_needs_reset("descriptor outside memory", brk_outside);
	expect_needs_reset("descriptor address wraps", brk_huge_addr);
	expect_needs_reset("chain too long", brk_too_long);
	expect_needs_reset("indirect", brk_indirect);
	expect_needs_reset("readable after writable", brk_order);
	expect_needs_reset("no status byte", brk_no_status);
	expect_needs_reset("avail index ahead", brk_avail_ahead);
	expect_needs_reset("ring outside memory", brk_ring_outside);
	check_current = "test_malformed_rings";
	CHECK_EQ(bad_maps, 0);
}

/* A reset while a request is in flight: its completion must not touch the guest. */
static void test_reset_with_request_in_flight(void)
{
	make_dev("ram:1M", 0);
	memset(gmem + DATA + 0x100, 0x5a, 512);
	offer(0, VIRTIO_BLK_T_IN, 0, 512);
	wr(VIRTIO_MMIO_STATUS, 0);              /* before the service core ran */
	memset(gmem, 0, GUEST_SIZE);            /* the driver reuses its memory */
	blk_poll();
	for (unsigned i = 0; i < GUEST_SIZE; i++)
		if (gmem[i]) {
			CHECK_EQ(i, -1);
			break;
		}
	CHECK_EQ(driver_init(FEATS), 0);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	/* destroyed with a request queued: it completes later without touching the
	 * guest, and the device's memory goes with it (LeakSanitizer checks) */
	offer(0, VIRTIO_BLK_T_IN, 0, 512);
	uint16_t u = used()->idx;
	memset(gmem + DATA + 0x100, 0x77, 512);
	virtio_blk_destroy(dev);
	blk_poll();
	CHECK_EQ(used()->idx, u);
	CHECK_EQ(gmem[DATA + 0x100], 0x77);
	/* the disk outlives the device: a new device sees what the old one wrote */
	struct virtio_blk *again;
	memset(gmem + DATA + 0x100, 0x42, 512);
	CHECK_EQ(virtio_blk_create(bdev, &vhost, "guest test: vda", "x", &again), 0);
	dev = again;
	t = virtio_blk_transport(dev);
	CHECK_EQ(driver_init(FEATS), 0);
	memset(gmem + DATA + 0x100, 0x42, 512);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 7, 512), VIRTIO_BLK_S_OK);
	virtio_blk_destroy(dev);
	CHECK_EQ(virtio_blk_create(bdev, &vhost, "guest test: vda", "x", &again), 0);
	dev = again;
	t = virtio_blk_transport(dev);
	CHECK_EQ(driver_init(FEATS), 0);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 7, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ(gmem[DATA + 0x100 + 511], 0x42);
	/* and a device destroyed with a request in flight, then the disk closed */
	offer(0, VIRTIO_BLK_T_IN, 0, 512);
	destroy_dev();
}

/* ---- fuzz: random descriptor tables, rings and registers ---- */

static uint64_t rnd_addr(void)
{
	switch (check_rand() % 8) {
	case 0: return check_rand();                            /* anywhere */
	case 1: return GUEST_SIZE - check_rand() % 4096;        /* near the end */
	case 2: return UINT64_MAX - check_rand() % 4096;        /* wraps */
	default: return check_rand() % GUEST_SIZE;
	}
}

static uint32_t rnd_len(void)
{
	switch (check_rand() % 6) {
	case 0: return (uint32_t)check_rand();
	case 1: return 16;
	case 2: return 1;
	default: return (uint32_t)(check_rand() % 9) * 512;
	}
}

/* A well-formed request in descriptors 0-2, then maybe one field broken. */
static void fuzz_good_then_mutate(void)
{
	uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, 7 };
	uint32_t len = (uint32_t)(1 + check_rand() % 16) * 512;
	struct virtio_blk_req_hdr h = { types[check_rand() % 5], 0, check_rand() % 2100 };
	memcpy(gmem + DATA, &h, sizeof(h));
	int in = h.type != VIRTIO_BLK_T_OUT;
	*desc(0) = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ DATA + 0x100, len,
					(uint16_t)(VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0)), 2 };
	*desc(2) = (struct virtq_desc){ DATA + 0x80, 1, VIRTQ_DESC_F_WRITE, 0 };
	struct virtq_desc *d = desc(check_rand() % 3);
	switch (check_rand() % 8) {
	case 0: d->addr = rnd_addr(); break;
	case 1: d->len = rnd_len(); break;
	case 2: d->flags = (uint16_t)(check_rand() & 7); break;
	case 3: d->next = (uint16_t)(check_rand() % (QSIZE + 2)); break;
	}
	avail()->ring[avail_idx % QSIZE] = 0;
	avail()->idx = ++avail_idx;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Random descriptors and avail entries everywhere. */
static void fuzz_random(void)
{
	for (unsigned i = 0; i < QSIZE; i++)
		*desc(i) = (struct virtq_desc){ rnd_addr(), rnd_len(), (uint16_t)(check_rand() & 7),
						(uint16_t)(check_rand() % (QSIZE + 2)) };
	unsigned n = (unsigned)(check_rand() % 4);
	for (unsigned k = 0; k < n; k++)
		avail()->ring[(avail_idx + k) % QSIZE] = (uint16_t)(check_rand() % (QSIZE + 1));
	avail_idx = (uint16_t)(avail_idx + n + (check_rand() % 16 == 0 ? check_rand() : 0));
	avail()->idx = avail_idx;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)(check_rand() % 16 ? 0 : check_rand()));
}

static void fuzz_ring(void)
{
	if (check_rand() % 2)
		fuzz_good_then_mutate();
	else
		fuzz_random();
	if (check_rand() % 2)
		blk_poll();
}

static void fuzz_register(void)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint64_t off = check_rand() % 0x1100;
	if (check_rand() % 2)
		off &= ~3ull;
	if ((off & ~3ull) == VIRTIO_MMIO_STATUS && check_rand() % 4)
		return;         /* keep the device running most of the time */
	unsigned size = check_rand() % 4 ? 4 : sizes[check_rand() % 4];
	if (check_rand() % 2)
		virtio_mmio_read(t, off, size);
	else
		virtio_mmio_write(t, off, size, check_rand() % 3 ? check_rand() % 64 : check_rand());
}

static void test_fuzz_random_rings(void)
{
	make_dev("ram:1M", 0);
	unsigned resets = 0, completions = 0;
	for (int iter = 0; iter < 20000; iter++) {
		if (iter % 50 == 0 || (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
			driver_init(FEATS);
			resets++;
		}
		uint16_t before = used()->idx;
		if (check_rand() % 20 == 0)
			fuzz_register();
		else
			fuzz_ring();
		completions += used()->idx != before;
	}
	blk_poll();
	CHECK(resets > 100);            /* the fuzz did break rings */
	CHECK(completions > 100);       /* and some requests went through */
	CHECK_EQ(bad_maps, 0);
	printf("     fuzz: %u resets, %u iterations completed requests, %lu disk requests\n", resets,
	       completions, (unsigned long)(blk_stats(bdev)->reads +
					    blk_stats(bdev)->writes));
	destroy_dev();
}

int main(void)
{
	blk_set_host(&fake_host);
	gmem = malloc(GUEST_SIZE);      /* exactly its size: ASan guards both ends */
	RUN(test_registers_and_config);
	RUN(test_feature_negotiation);
	RUN(test_read_write_flush_getid);
	RUN(test_readonly_disk);
	RUN(test_many_in_flight);
	RUN(test_synchronous_requests_are_taken_in_bounded_batches);
	RUN(test_a_refilled_ring_does_not_hold_the_core);
	RUN(test_reset_forgets_the_backlog);
	RUN(test_malformed_rings);
	RUN(test_reset_with_request_in_flight);
	RUN(test_fuzz_random_rings);
	free(gmem);
	return check_done();
}
