/*
 * vmm/core/lib/virtio_ring.h - the memory layout of a split virtqueue
 * (virtio 1.1 2.6 "Split Virtqueues"; 2.7 in virtio 1.2), shared by the
 * two sides hako plays: the driver of its own NIC (drivers/net/virtio_net.c)
 * and the device model guests drive (vmm/dev/virtqueue.c). Layout only:
 * no code, no hardware headers, so both layers may include it from here.
 *
 * A queue of `size` entries (a power of two, 2.6) is three areas the
 * driver allocates: the descriptor table (16 * size bytes, 16-aligned),
 * the available ring (6 + 2 * size, 2-aligned) and the used ring
 * (6 + 8 * size, 4-aligned). The trailing used_event/avail_event fields
 * exist only with VIRTIO_F_EVENT_IDX, which hako never negotiates.
 */
#ifndef HAKO_VIRTIO_RING_H
#define HAKO_VIRTIO_RING_H

#include <stdint.h>

#include "vmm/core/lib/x86.h"

/* 2.6.5 The Virtqueue Descriptor Table */
struct virtq_desc {
	uint64_t addr;          /* 0x00 physical address of the buffer */
	uint32_t len;           /* 0x08 */
	uint16_t flags;         /* 0x0c */
#define VIRTQ_DESC_F_NEXT 1     /*  the chain goes on at `next` */
#define VIRTQ_DESC_F_WRITE 2    /*  device-writable */
#define VIRTQ_DESC_F_INDIRECT 4 /*  the buffer is a table of descriptors */
	uint16_t next;          /* 0x0e */
} __attribute__((packed));
CHECK_OFFSET(struct virtq_desc, len, 0x08);
CHECK_OFFSET(struct virtq_desc, flags, 0x0c);
CHECK_OFFSET(struct virtq_desc, next, 0x0e);
_Static_assert(sizeof(struct virtq_desc) == 16, "a descriptor is 16 bytes");

/* 2.6.6 The Virtqueue Available Ring: flags, idx, ring[size], used_event */
struct virtq_avail {
	uint16_t flags;         /* 0x00 */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* the driver polls the used ring (2.6.7) */
	uint16_t idx;           /* 0x02 where the driver puts the next entry */
	uint16_t ring[];        /* 0x04 heads of descriptor chains */
} __attribute__((packed));
CHECK_OFFSET(struct virtq_avail, idx, 0x02);
CHECK_OFFSET(struct virtq_avail, ring, 0x04);

/* 2.6.8 The Virtqueue Used Ring: flags, idx, ring[size], avail_event */
struct virtq_used_elem {
	uint32_t id;            /* 0x00 head of the chain */
	uint32_t len;           /* 0x04 bytes the device wrote into it */
} __attribute__((packed));
CHECK_OFFSET(struct virtq_used_elem, len, 0x04);
_Static_assert(sizeof(struct virtq_used_elem) == 8, "a used element is 8 bytes");

struct virtq_used {
	uint16_t flags;         /* 0x00 */
#define VIRTQ_USED_F_NO_NOTIFY 1 /* the device needs no notification (2.6.10) */
	uint16_t idx;           /* 0x02 where the device puts the next entry */
	struct virtq_used_elem ring[];  /* 0x04 */
} __attribute__((packed));
CHECK_OFFSET(struct virtq_used, idx, 0x02);
CHECK_OFFSET(struct virtq_used, ring, 0x04);

#define VIRTQ_MAX_SIZE 32768    /* 2.6: Queue Size is a power of 2, at most 32768 */

/* Bytes of each area for a queue of `size` entries (2.6, without event fields). */
#define VIRTQ_DESC_BYTES(size) (16ull * (size))
#define VIRTQ_AVAIL_BYTES(size) (4ull + 2ull * (size) + 2)
#define VIRTQ_USED_BYTES(size) (4ull + 8ull * (size) + 2)

#endif
