/*
 * tests/unit/fuzz_virtio.c - libFuzzer target for the virtio stack
 * (vmm/dev/virtqueue.c, virtio_mmio.c, virtio_blk.c over a ram: disk).
 *
 * The device is brought up the way a driver does, with its rings at fixed
 * places in a 64 KiB guest whose memory is a buffer of exactly that size
 * (ASan sees any access outside it). The input's first 512 bytes become the
 * descriptor table (16 entries) and the avail ring; the rest is a list
 * of 6-byte register accesses (offset, value) and "run the service core"
 * steps; then a notify and a last service-core run.
 *   make fuzz && build/fuzz/fuzz_virtio -max_total_time=60 -max_len=2048 -len_control=0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/blk/blk.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/dev/virtio_blk.h"

#define GUEST 65536

static uint8_t *gmem;

static void *alloc(uint64_t n) { return calloc(1, n); }
static void release(void *p, uint64_t n) { (void)n; free(p); }
static const void *nofile(const char *n, uint64_t *s) { (void)n, (void)s; return 0; }
static const struct blk_host_ops host = { alloc, release, nofile, 0, 0 };

static void *map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < GUEST && len <= GUEST - gpa ? gmem + gpa : 0;
}
static void irq(void *ctx, int level) { (void)ctx, (void)level; }

static void wr(struct virtio_mmio *t, uint32_t off, uint32_t v) { virtio_mmio_write(t, off, 4, v); }

static void bring_up(struct virtio_mmio *t)
{
	wr(t, 0x70, 3);
	wr(t, 0x24, 1);
	wr(t, 0x20, 1);
	wr(t, 0x70, 11);
	wr(t, 0x38, 16);
	wr(t, 0x80, 0x1000);            /* descriptors: input bytes 0..255 */
	wr(t, 0x90, 0x1100);            /* avail ring */
	wr(t, 0xa0, 0x2000);            /* used ring */
	wr(t, 0x44, 1);
	wr(t, 0x70, 15);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	struct blockdev *bd;
	struct virtio_blk *b;
	blk_set_host(&host);
	gmem = calloc(1, GUEST);
	size_t head = size < 512 ? size : 512;
	memcpy(gmem + 0x1000, data, head);
	if (blk_sync_open("ram:64K", 0, &bd, err, sizeof(err)))
		abort();
	struct virtio_host vh = { { map, 0 }, irq, 0, 0 };
	if (virtio_blk_create(bd, &vh, "fuzz", "fuzz", &b))
		abort();
	struct virtio_mmio *t = virtio_blk_transport(b);
	bring_up(t);
	for (size_t i = head; i + 6 <= size; i += 6) {
		uint16_t off;
		uint32_t v;
		memcpy(&off, data + i, 2);
		memcpy(&v, data + i + 2, 4);
		if (off == 0xffff)
			blk_poll();
		else if (off & 0x8000)
			virtio_mmio_read(t, off & 0x1fff, 1u << (v & 3));
		else
			wr(t, off & 0x1ffc, v);
	}
	wr(t, 0x50, 0);
	blk_poll();
	virtio_blk_destroy(b);
	blk_poll();
	blk_close(bd); /* the device never owns its disk (else LSan scans after every input) */
	free(gmem);
	return 0;
}
