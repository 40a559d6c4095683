/*
 * vmm/dev/virtqueue.h - split virtqueues seen from the device side
 * (virtio 1.2, 2.7 "Split Virtqueues"; their layout is
 * vmm/core/lib/virtio_ring.h). Portable: guest memory is reached
 * only through `struct vq_mem`, and every guest-supplied index, address
 * and length is checked before use. A malformed ring makes the functions
 * fail with a reason; the transport then sets DEVICE_NEEDS_RESET.
 */
#ifndef HAKO_VIRTQUEUE_H
#define HAKO_VIRTQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/lib/virtio_ring.h" /* the ring layout, shared with the NIC driver */

/* Guest memory: a host pointer for guest-physical [gpa, gpa+len), or 0. */
struct vq_mem {
	void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

struct virtq {
	uint16_t size;          /* QueueNum */
	uint64_t desc, avail, used;     /* guest-physical ring addresses */
	uint16_t last_avail;    /* next avail ring slot the device takes */
	uint16_t used_idx;      /* next used ring slot the device fills */
	const struct vq_mem *mem;
	const char *error;      /* why the ring was malformed, or 0 */
};

/* One segment of a descriptor chain, already checked against guest memory. */
struct vq_seg {
	uint64_t gpa;
	uint32_t len;
	uint8_t write;          /* device-writable */
};

struct vq_chain {
	uint16_t head;
	uint16_t nseg;
	uint64_t out_len;       /* bytes the device may read (readable segments) */
	uint64_t in_len;        /* bytes the device may write (writable segments) */
	struct vq_seg *seg;     /* the caller's array of max_seg entries */
	uint16_t max_seg;       /* set by the caller */
	uint64_t max_len;       /* set by the caller: longest chain accepted, bytes */
};

/*
 * Checks a queue's layout before QueueReady: size a power of two at most
 * `max`, rings aligned as 2.7 requires and inside guest memory. 0, or
 * -EINVAL with q->error set.
 */
int vq_setup(struct virtq *q, uint16_t max);

/*
 * Takes the next available chain into c. Returns 1 when one was taken,
 * 0 when the ring is empty, or -EINVAL (with q->error) for a malformed
 * ring: an avail index too far ahead, a head or next index out of range,
 * a loop, an indirect descriptor (not offered), a readable descriptor after
 * a writable one, a zero or overflowing length, an address outside guest
 * memory, more segments than c->max_seg or more bytes than c->max_len.
 * Zero-length descriptors are allowed and skipped.
 */
int vq_pop(struct virtq *q, struct vq_chain *c);

/* Returns a chain to the driver with `written` bytes. 0, or -EINVAL. */
int vq_push(struct virtq *q, uint16_t head, uint32_t written);
/*
 * vq_push in two steps, for a device that returns several chains the
 * driver must see together (virtio-net's merged receive buffers, 5.1.6.4):
 * vq_put fills used ring entries, vq_publish then makes all of them
 * visible at once. 0, or -EINVAL.
 */
int vq_put(struct virtq *q, uint16_t head, uint32_t written);
int vq_publish(struct virtq *q);
/*
 * Notification suppression without VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10):
 * vq_suppress_notify() sets or clears VIRTQ_USED_F_NO_NOTIFY (the driver
 * need not notify while the device polls the queue anyway);
 * vq_wants_interrupt() is 0 while the driver has set
 * VIRTQ_AVAIL_F_NO_INTERRUPT. Both 0/1, or -EINVAL when the ring vanished.
 */
int vq_suppress_notify(struct virtq *q, int suppress);
int vq_wants_interrupt(const struct virtq *q);

/*
 * Copies `len` bytes at offset `off` of the chain's readable part into
 * dst, or src into its writable part. 0, or -EINVAL when the part is too
 * short or memory vanished.
 */
int vq_chain_read(const struct virtq *q, const struct vq_chain *c, uint64_t off, void *dst,
		  uint64_t len);
int vq_chain_write(const struct virtq *q, const struct vq_chain *c, uint64_t off, const void *src,
		   uint64_t len);

#endif
