/*
 * tests/unit/fuzz_virtio_net.c - libFuzzer target for the virtio-net
 * device model (vmm/dev/virtio_net.c over virtqueue.c and virtio_mmio.c).
 *
 * The device is brought up the way Linux's driver does, both queues with
 * their rings at fixed places in a 64 KiB guest whose memory is a buffer of
 * exactly that size (ASan sees any access outside it). The input's first
 * 512 bytes become both descriptor tables (16 entries each); the rest is a
 * list of 6-byte steps: a register access, an avail index for a queue, or
 * the service core taking transmitted frames and delivering one.
 *   make fuzz && build/fuzz/fuzz_virtio_net -max_total_time=60 -max_len=2048
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/dev/virtio_net.h"

#define GUEST 65536

static uint8_t *gmem;
static uint8_t frame[1514];

static void *map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < GUEST && len && len <= GUEST - gpa ? gmem + gpa : 0;
}
static void irq(void *ctx, int level) { (void)ctx, (void)level; }

static void wr(struct virtio_mmio *t, uint32_t off, uint32_t v) { virtio_mmio_write(t, off, 4, v); }

static void bring_up(struct virtio_mmio *t)
{
	wr(t, 0x70, 3);
	wr(t, 0x24, 0);
	wr(t, 0x20, (1u << 0) | (1u << 1) | (1u << 5) | (1u << 7) | (1u << 11) | (1u << 15) | (1u << 16));
	wr(t, 0x24, 1);
	wr(t, 0x20, 1);
	wr(t, 0x70, 11);
	for (uint32_t q = 0; q < 2; q++) {
		wr(t, 0x30, q);
		wr(t, 0x38, 16);
		wr(t, 0x80, 0x1000 + q * 0x100);        /* descriptors: input bytes */
		wr(t, 0x90, 0x1400 + q * 0x100);        /* avail rings */
		wr(t, 0xa0, 0x2000 + q * 0x100);        /* used rings */
		wr(t, 0x44, 1);
	}
	wr(t, 0x70, 15);
}

static void service(struct virtio_net *d, uint32_t v)
{
	struct iov pieces[8];
	unsigned n;
	uint32_t len;
	uint8_t copy[2048];
	struct virtio_net_hdr h;
	while (virtio_net_tx_next(d, pieces, 8, &n, &len, &h)) {
		iov_read(pieces, n, 0, copy, len < sizeof(copy) ? len : sizeof(copy));
		virtio_net_tx_done(d);
	}
	struct iov f = { frame, 14 + v % 1500 };
	const struct virtio_net_hdr off = { 1, 1, 54, 1448, 34, 16, 0 };
	virtio_net_rx(d, &f, 1, f.len, v & 0x10000 ? &off : 0);
	virtio_net_flush(d, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_net d;
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	gmem = calloc(1, GUEST);
	size_t head = size < 512 ? size : 512;
	memcpy(gmem + 0x1000, data, head);
	struct virtio_host vh = { { map, 0 }, irq, 0, 0, 0, 0 };
	virtio_net_init(&d, mac, 1, &vh, 0, 0, "fuzz");
	bring_up(&d.t);
	for (size_t i = head; i + 6 <= size; i += 6) {
		uint16_t op;
		uint32_t v;
		memcpy(&op, data + i, 2);
		memcpy(&v, data + i + 2, 4);
		if (op == 0xffff)
			service(&d, v);
		else if (op >= 0xfff0)          /* avail idx of queue op & 1 */
			memcpy(gmem + 0x1402 + (op & 1) * 0x100, &v, 2);
		else if (op & 0x8000)
			virtio_mmio_read(&d.t, op & 0x1fff, 1u << (v & 3));
		else
			wr(&d.t, op & 0x1ffc, v);
	}
	service(&d, 60);
	free(gmem);
	return 0;
}
