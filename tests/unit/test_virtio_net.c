/*
 * tests/unit/test_virtio_net.c - host tests of the virtio-net device model
 * (vmm/dev/virtio_net.c) driven through its register block and rings the
 * way Linux's virtio_net does: feature negotiation and configuration,
 * frames out of the transmit queue as pieces of guest memory, frames into
 * merged and unmerged receive buffers, notification and interrupt
 * suppression, link changes, resets with a frame in flight, malformed
 * rings (DEVICE_NEEDS_RESET, nothing else), and thousands of random rings
 * that must never reach outside the guest's memory (a malloc'd buffer
 * exactly its size, so ASan sees any stray access).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/lib/errno.h"
#include "vmm/dev/virtio_net.h"

#include "tests/unit/check.h"

#define GUEST_SIZE (256 * 1024)
static uint8_t *gmem;
static int irq_level, irq_raises, kicks;

static void *guest_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa >= GUEST_SIZE || len > GUEST_SIZE - gpa || !len)
		return 0;
	return gmem + gpa;
}
static void guest_irq(void *ctx, int level)
{
	(void)ctx;
	irq_raises += level && !irq_level;
	irq_level = level;
}
static void kick(void *ctx) { (void)ctx, kicks++; }
static const struct virtio_host vhost = { { guest_map, 0 }, guest_irq, 0, 0, 0, 0 };

static struct virtio_net dev;
static struct virtio_mmio *t = &dev.t;
static const uint8_t MAC[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

/* ---- a minimal driver: rx queue 0 and tx queue 1 ---- */

#define QSIZE 16
#define RING(q) (0x1000 + (q) * 0x1000)         /* desc; avail +0x400; used +0x800 */
#define DATA 0x10000

static uint16_t avail_idx[2], used_seen[2];

static uint32_t rd(uint64_t off) { return (uint32_t)virtio_mmio_read(t, off, 4); }
static void wr(uint64_t off, uint32_t v) { virtio_mmio_write(t, off, 4, v); }
static struct virtq_desc *desc(int q, unsigned i) { return (struct virtq_desc *)(gmem + RING(q)) + i; }
static struct virtq_avail *avail(int q) { return (struct virtq_avail *)(gmem + RING(q) + 0x400); }
static struct virtq_used *used(int q) { return (struct virtq_used *)(gmem + RING(q) + 0x800); }

static const uint64_t PLAIN = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) |
			      (1ull << VIRTIO_NET_F_STATUS) | (1ull << VIRTIO_NET_F_MTU) |
			      (1ull << VIRTIO_NET_F_MRG_RXBUF);
static const uint64_t OFFLOADS = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
				 (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO4);
#define ALL PLAIN

static void queue_init(int q)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, RING(q));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, RING(q) + 0x400);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, RING(q) + 0x800);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static int driver_init(uint64_t features)
{
	memset(gmem, 0, GUEST_SIZE);
	avail_idx[0] = avail_idx[1] = used_seen[0] = used_seen[1] = 0;
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK);
	if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	queue_init(0);
	queue_init(1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return 0;
}

static void make_dev(uint64_t features)
{
	virtio_net_init(&dev, MAC, 1, &vhost, kick, 0, "guest test: eth0");
	irq_level = irq_raises = kicks = 0;
	CHECK_EQ(driver_init(features), 0);
}

static void offer(int q, uint16_t head)
{
	avail(q)->ring[avail_idx[q] % QSIZE] = head;
	avail(q)->idx = ++avail_idx[q];
}

/* A transmit chain in descriptor d (or d and d+1 when split): header + frame at `at`. */
static void tx_frame(unsigned d, uint64_t at, const uint8_t *frame, uint32_t len, int split)
{
	memset(gmem + at, 0, 12);
	memcpy(gmem + at + 12, frame, len);
	if (split) {
		*desc(1, d) = (struct virtq_desc){ at, 12, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1) };
		*desc(1, d + 1) = (struct virtq_desc){ at + 12, len, 0, 0 };
	} else {
		*desc(1, d) = (struct virtq_desc){ at, 12 + len, 0, 0 };
	}
	offer(1, (uint16_t)d);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

/* Posts receive buffer d of `len` bytes at DATA + d * 0x1000. */
static void rx_buf(unsigned d, uint32_t len)
{
	*desc(0, d) = (struct virtq_desc){ DATA + d * 0x1000ull, len, VIRTQ_DESC_F_WRITE, 0 };
	offer(0, (uint16_t)d);
}

static void pattern(uint8_t *p, uint32_t len, unsigned seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

static struct virtio_net_hdr th;       /* the header of the last frame taken */
static uint64_t now = 1000;             /* the host's clock, in us */

static int needs_reset(void) { return !!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET); }

/* ---- tests ---- */

static void test_registers_and_config(void)
{
	virtio_net_init(&dev, MAC, 1, &vhost, kick, 0, "guest test: eth0");
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint32_t hi = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK_EQ(((uint64_t)hi << 32 | lo), PLAIN | OFFLOADS);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + i, 1), MAC[i]);
	CHECK_EQ(virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 6, 2), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 10, 2), 1500);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VNET_QUEUE_MAX);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);     /* no control queue */
	/* multiqueue (bit 22) was not offered: a driver asking for it fails FEATURES_OK */
	CHECK_EQ(driver_init(ALL | (1ull << 22)), -1);
	CHECK_EQ(driver_init(ALL), 0);
}

static void test_transmit(void)
{
	make_dev(ALL);
	uint8_t f1[100], f2[1514], got[1514];
	pattern(f1, sizeof(f1), 1), pattern(f2, sizeof(f2), 2);
	tx_frame(0, DATA, f1, sizeof(f1), 0);
	tx_frame(2, DATA + 0x1ff0, f2, sizeof(f2), 1);     /* data across a page */
	CHECK_EQ(kicks, 2);
	struct iov v[8];
	unsigned n;
	uint32_t len;
	CHECK_EQ(virtio_net_tx_next(&dev, v, 8, &n, &len, &th), 1);
	CHECK_EQ(len, 100);
	CHECK_EQ(iov_read(v, n, 0, got, len), 100);
	CHECK(!memcmp(got, f1, 100));
	CHECK_EQ(used(1)->flags, VIRTQ_USED_F_NO_NOTIFY);  /* we are polling: no kicks */
	virtio_net_tx_done(&dev);
	CHECK_EQ(used(1)->idx, 1);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 8, &n, &len, &th), 1);
	CHECK_EQ(len, 1514);
	CHECK_EQ(iov_read(v, n, 0, got, len), 1514);
	CHECK(!memcmp(got, f2, 1514));
	virtio_net_tx_done(&dev);
	CHECK_EQ(used(1)->ring[1].id, 2);
	CHECK_EQ(used(1)->ring[1].len, 0);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 8, &n, &len, &th), 0);
	CHECK_EQ(used(1)->flags, 0);            /* idle: notifications wanted again */
	virtio_net_flush(&dev, now += 1000);
	CHECK_EQ(irq_raises, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq_level, 0);
	/* a driver that asked for no interrupts gets none */
	avail(1)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	tx_frame(0, DATA, f1, sizeof(f1), 0);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 8, &n, &len, &th), 1);
	virtio_net_tx_done(&dev);
	virtio_net_flush(&dev, now += 1000);
	CHECK_EQ(irq_raises, 1);
	CHECK_EQ(dev.stats.tx_frames, 3);
	/* too many pieces for the caller: returned unsent, the next one comes */
	*desc(1, 4) = (struct virtq_desc){ DATA + 0x3000, 12, VIRTQ_DESC_F_NEXT, 5 };
	*desc(1, 5) = (struct virtq_desc){ DATA + 0x3100, 700, VIRTQ_DESC_F_NEXT, 6 };
	*desc(1, 6) = (struct virtq_desc){ DATA + 0x3800, 814, 0, 0 };
	offer(1, 4);
	tx_frame(0, DATA, f1, sizeof(f1), 0);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 1, &n, &len, &th), 1);
	CHECK_EQ(len, 100);
	CHECK_EQ(dev.stats.tx_bad, 1);
	virtio_net_tx_done(&dev);
	CHECK(!needs_reset());
}

static void test_receive_merged(void)
{
	make_dev(ALL);
	for (unsigned d = 0; d < 4; d++)
		rx_buf(d, 1000);
	uint8_t f[1514];
	pattern(f, sizeof(f), 3);
	struct iov v[3] = { { f, 14 }, { f + 14, 700 }, { f + 714, 800 } };
	CHECK_EQ(virtio_net_rx(&dev, v, 3, 1514, 0), 0);
	CHECK_EQ(used(0)->flags, VIRTQ_USED_F_NO_NOTIFY);  /* refills need not notify */
	CHECK_EQ(used(0)->idx, 2);
	CHECK_EQ(used(0)->ring[0].len, 1000);
	CHECK_EQ(used(0)->ring[1].len, 526);
	const struct virtio_net_hdr *h = (const void *)(gmem + DATA);
	CHECK_EQ(h->num_buffers, 2);
	CHECK_EQ(h->flags, 0);
	CHECK_EQ(h->gso_type, 0);
	CHECK(!memcmp(gmem + DATA + 12, f, 988));
	CHECK(!memcmp(gmem + DATA + 0x1000, f + 988, 526));
	virtio_net_flush(&dev, now += 1000);
	CHECK_EQ(irq_raises, 1);
	/* two buffers left: a 2100-byte frame cannot fit: dropped, buffers stay posted */
	uint8_t big[2100] = { 0 };
	struct iov b = { big, sizeof(big) };
	CHECK_EQ(virtio_net_rx(&dev, &b, 1, sizeof(big), 0), -ENOBUFS);
	CHECK_EQ(used(0)->idx, 2);
	CHECK_EQ(dev.stats.rx_no_buffer, 1);
	struct iov s = { f, 60 };
	CHECK_EQ(virtio_net_rx(&dev, &s, 1, 60, 0), 0);
	CHECK_EQ(used(0)->ring[2].id, 2);       /* the first of the two left */
	CHECK_EQ(virtio_net_rx(&dev, &s, 1, 60, 0), 0);
	CHECK_EQ(virtio_net_rx(&dev, &s, 1, 60, 0), -ENOBUFS);
	/* NAPI polling: the driver has turned interrupts off */
	avail(0)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtio_net_flush(&dev, now += 1000);
	CHECK_EQ(irq_raises, 1);
	CHECK(!needs_reset());
}

static void test_receive_unmerged(void)
{
	make_dev(ALL & ~(1ull << VIRTIO_NET_F_MRG_RXBUF));
	rx_buf(0, 1000);
	uint8_t f[1514];
	pattern(f, sizeof(f), 4);
	struct iov v = { f, sizeof(f) };
	CHECK_EQ(virtio_net_rx(&dev, &v, 1, 1514, 0), -ENOBUFS);      /* one buffer must hold it */
	CHECK_EQ(used(0)->idx, 0);
	rx_buf(1, 2048);
	avail(0)->ring[0] = 1;                  /* the driver replaced the small one */
	CHECK_EQ(virtio_net_rx(&dev, &v, 1, 1514, 0), 0);
	CHECK_EQ(used(0)->ring[0].id, 1);
	CHECK_EQ(used(0)->ring[0].len, 1526);
	CHECK(!memcmp(gmem + DATA + 0x1000 + 12, f, 1514));
	CHECK_EQ(((const struct virtio_net_hdr *)(gmem + DATA + 0x1000))->num_buffers, 1);
}

/*
 * An idle port costs nothing: with notifications on, the ring is looked at
 * only after a notify. Interrupts come at most every VNET_IRQ_GAP_US; one
 * that has to wait is raised by a later flush, and not at all if the driver
 * has meanwhile turned interrupts off.
 */
static void test_kicks_and_interrupt_gap(void)
{
	make_dev(ALL);
	uint8_t f[64] = { 3 };
	struct iov v[4];
	unsigned n;
	uint32_t len;
	memset(gmem + DATA, 0, 12);
	memcpy(gmem + DATA + 12, f, sizeof(f));
	*desc(1, 0) = (struct virtq_desc){ DATA, 12 + sizeof(f), 0, 0 };
	offer(1, 0);                            /* queued, but not notified */
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK_EQ(kicks, 1);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 1);
	virtio_net_tx_done(&dev);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 0);
	uint64_t t = 5000;
	CHECK_EQ(virtio_net_flush(&dev, t), 0);
	CHECK_EQ(irq_raises, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	tx_frame(1, DATA, f, sizeof(f), 0);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 1);
	virtio_net_tx_done(&dev);
	CHECK_EQ(virtio_net_flush(&dev, t + 10), 1);         /* too soon: waits */
	CHECK_EQ(irq_raises, 1);
	CHECK_EQ(virtio_net_flush(&dev, t + VNET_IRQ_GAP_US), 0);
	CHECK_EQ(irq_raises, 2);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	tx_frame(2, DATA, f, sizeof(f), 0);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 1);
	virtio_net_tx_done(&dev);
	CHECK_EQ(virtio_net_flush(&dev, t + VNET_IRQ_GAP_US + 1), 1);
	avail(1)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;         /* the driver polls now */
	CHECK_EQ(virtio_net_flush(&dev, t + 3 * VNET_IRQ_GAP_US), 0);
	CHECK_EQ(irq_raises, 2);
}

static void test_link_and_generation(void)
{
	make_dev(ALL);
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_net_set_link(&dev, 0);
	CHECK_EQ(virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 6, 2), 0);
	CHECK(rd(VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq_level, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	virtio_net_set_link(&dev, 0);           /* no change, no interrupt */
	CHECK_EQ(irq_level, 0);
	virtio_net_set_link(&dev, 1);
	CHECK_EQ(virtio_mmio_read(t, VIRTIO_MMIO_CONFIG + 6, 2), VIRTIO_NET_S_LINK_UP);
}

static void test_reset_with_frame_in_flight(void)
{
	make_dev(ALL);
	uint8_t f[64] = { 1 };
	tx_frame(0, DATA, f, sizeof(f), 0);
	struct iov v[4];
	unsigned n;
	uint32_t len;
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 1);
	CHECK_EQ(driver_init(ALL), 0);          /* the guest resets: the old chain is gone */
	virtio_net_tx_done(&dev);
	CHECK_EQ(used(1)->idx, 0);
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 0);
	/* a device not running takes and gives nothing */
	wr(VIRTIO_MMIO_STATUS, 0);
	struct iov s = { f, 64 };
	CHECK_EQ(virtio_net_rx(&dev, &s, 1, 64, 0), -ENODEV);
}

/* Each malformed ring puts the device into NEEDS_RESET; a reset brings it back. */
static void test_malformed_rings(void)
{
	uint8_t f[64] = { 0 };
	struct iov v[4], s = { f, 64 };
	unsigned n;
	uint32_t len;
	for (int k = 0; k < 6; k++) {
		make_dev(ALL);
		switch (k) {
		case 0:         /* transmit chain shorter than the header */
			*desc(1, 0) = (struct virtq_desc){ DATA, 8, 0, 0 };
			offer(1, 0);
			break;
		case 1:         /* writable transmit buffer */
			*desc(1, 0) = (struct virtq_desc){ DATA, 100, VIRTQ_DESC_F_WRITE, 0 };
			offer(1, 0);
			break;
		case 2:         /* transmit buffer outside guest memory */
			*desc(1, 0) = (struct virtq_desc){ GUEST_SIZE - 50, 100, 0, 0 };
			offer(1, 0);
			break;
		case 3:         /* readable receive buffer */
			*desc(0, 0) = (struct virtq_desc){ DATA, 2048, 0, 0 };
			offer(0, 0);
			break;
		case 4:         /* receive buffer smaller than the header */
			rx_buf(0, 10);
			break;
		case 5:         /* an avail index far ahead */
			avail(0)->idx = 1000;
			break;
		}
		if (k < 3) {
			wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);        /* as a driver does */
			CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 0);
		}
		else
			CHECK_EQ(virtio_net_rx(&dev, &s, 1, 64, 0), -ENODEV);
		CHECK(needs_reset());
		CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_CONFIG);
		CHECK_EQ(driver_init(ALL), 0);
		CHECK(!needs_reset());
	}
	/* an offload the driver did not negotiate: the frame is dropped, the device lives */
	make_dev(ALL);
	tx_frame(0, DATA, f, sizeof(f), 0);
	gmem[DATA + 1] = 1;                     /* gso_type TCPV4 */
	CHECK_EQ(virtio_net_tx_next(&dev, v, 4, &n, &len, &th), 0);
	CHECK_EQ(dev.stats.tx_bad, 1);
	CHECK_EQ(used(1)->idx, 1);
	CHECK(!needs_reset());
}

/* Offloads negotiated: the header's fields travel both ways; without them, dropped. */
static void test_offload_headers(void)
{
	make_dev(PLAIN | OFFLOADS);
	CHECK_EQ(virtio_net_offloads(&dev), VNET_OFF_CSUM | VNET_OFF_TSO4);
	uint8_t f[3000] = { 0 };
	struct iov v[8];
	unsigned n;
	uint32_t len;
	tx_frame(0, DATA, f, sizeof(f), 0);
	struct virtio_net_hdr h = { VIRTIO_NET_HDR_F_NEEDS_CSUM | 0x80, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448,
				    34, 16, 0 };
	memcpy(gmem + DATA, &h, sizeof(h));
	CHECK_EQ(virtio_net_tx_next(&dev, v, 8, &n, &len, &th), 1);
	CHECK_EQ(len, sizeof(f));
	CHECK_EQ(th.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);      /* other flag bits dropped */
	CHECK_EQ(th.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK(th.gso_size == 1448 && th.csum_start == 34 && th.csum_offset == 16);
	virtio_net_tx_done(&dev);
	h.flags = 0;                            /* a train must leave its checksum partial */
	tx_frame(0, DATA, f, sizeof(f), 0);
	memcpy(gmem + DATA, &h, sizeof(h));
	h.gso_type = 3;                         /* UDP fragmentation offload: not offered */
	tx_frame(2, DATA + 0x2000, f, 100, 0);
	memcpy(gmem + DATA + 0x2000, &h, sizeof(h));
	CHECK_EQ(virtio_net_tx_next(&dev, v, 8, &n, &len, &th), 0);
	CHECK_EQ(dev.stats.tx_bad, 2);
	/* a train into merged receive buffers, its header with them */
	for (unsigned d = 0; d < 4; d++)
		rx_buf(d, 1000);
	const struct virtio_net_hdr in = { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448,
					   34, 16, 0 };
	struct iov b = { f, sizeof(f) };
	CHECK_EQ(virtio_net_rx(&dev, &b, 1, 2900, &in), 0);
	const struct virtio_net_hdr *got = (const void *)(gmem + DATA);
	CHECK(got->flags == in.flags && got->gso_type == in.gso_type && got->hdr_len == 54 &&
	      got->gso_size == 1448 && got->csum_start == 34 && got->csum_offset == 16);
	CHECK_EQ(got->num_buffers, 3);
	/* a driver without them */
	make_dev(PLAIN | (1ull << VIRTIO_NET_F_GUEST_CSUM));
	CHECK_EQ(virtio_net_offloads(&dev), VNET_OFF_CSUM);
	make_dev(PLAIN);
	CHECK_EQ(virtio_net_offloads(&dev), 0);
}

/* ---- random rings ---- */

static uint64_t rnd_addr(void)
{
	switch (check_rand() % 8) {
	case 0: return check_rand();
	case 1: return GUEST_SIZE - check_rand() % 4096;
	case 2: return UINT64_MAX - check_rand() % 4096;
	default: return check_rand() % GUEST_SIZE;
	}
}

static uint32_t rnd_len(void)
{
	switch (check_rand() % 6) {
	case 0: return (uint32_t)check_rand();
	case 1: return 12;
	case 2: return 1;
	default: return (uint32_t)(check_rand() % 3000);
	}
}

static void fuzz_queue(int q)
{
	for (unsigned i = 0; i < QSIZE; i++)
		*desc(q, i) = (struct virtq_desc){ rnd_addr(), rnd_len(), (uint16_t)(check_rand() & 7),
						   (uint16_t)(check_rand() % (QSIZE + 2)) };
	unsigned n = (unsigned)(check_rand() % 4);
	for (unsigned k = 0; k < n; k++)
		avail(q)->ring[(avail_idx[q] + k) % QSIZE] = (uint16_t)(check_rand() % (QSIZE + 1));
	avail_idx[q] = (uint16_t)(avail_idx[q] + n + (check_rand() % 16 == 0 ? check_rand() : 0));
	avail(q)->idx = avail_idx[q];
}

static void test_fuzz_random_rings(void)
{
	make_dev(ALL);
	static uint8_t frame[1514], sink[70000];
	unsigned resets = 0, sent = 0, received = 0;
	for (int iter = 0; iter < 20000; iter++) {
		if (iter % 40 == 0 || needs_reset()) {
			driver_init(check_rand() % 3 ? ALL | (check_rand() % 2 ? OFFLOADS : 0)
						     : ALL & ~(1ull << VIRTIO_NET_F_MRG_RXBUF));
			resets++;
		}
		int q = (int)(check_rand() % 2);
		if (check_rand() % 3)
			fuzz_queue(q);
		else if (q)
			tx_frame((unsigned)(check_rand() % (QSIZE - 1)), DATA, frame, 60, (int)(check_rand() % 2));
		else
			rx_buf((unsigned)(check_rand() % QSIZE), (uint32_t)(check_rand() % 3000));
		struct iov v[16];
		unsigned n;
		uint32_t len;
		while (virtio_net_tx_next(&dev, v, 16, &n, &len, &th)) {
			CHECK(len <= VNET_TX_LEN_MAX);
			iov_read(v, n, 0, sink, len < sizeof(sink) ? len : sizeof(sink));
			virtio_net_tx_done(&dev);
			sent++;
		}
		struct iov f = { frame, (uint32_t)(14 + check_rand() % 1500) };
		received += virtio_net_rx(&dev, &f, 1, f.len, 0) == 0;
		virtio_net_flush(&dev, now += 1000);
	}
	CHECK(resets > 400);
	CHECK(sent > 100);
	CHECK(received > 100);
	printf("     fuzz: %u resets, %u frames sent, %u received\n", resets, sent, received);
}

int main(void)
{
	gmem = malloc(GUEST_SIZE);      /* exactly its size: ASan guards both ends */
	RUN(test_registers_and_config);
	RUN(test_transmit);
	RUN(test_receive_merged);
	RUN(test_receive_unmerged);
	RUN(test_kicks_and_interrupt_gap);
	RUN(test_link_and_generation);
	RUN(test_reset_with_frame_in_flight);
	RUN(test_malformed_rings);
	RUN(test_offload_headers);
	RUN(test_fuzz_random_rings);
	free(gmem);
	return check_done();
}
