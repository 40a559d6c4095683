/*
 * vmm/dev/virtio_blk.h - the virtio block device (virtio 1.2, 5.2) on the
 * virtio-mmio transport, backed by a block-layer device (vmm/blk/blk.h).
 * Portable.
 */
#ifndef HAKO_VIRTIO_BLK_H
#define HAKO_VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/blk/blk.h"
#include "vmm/dev/virtio_mmio.h"

#define VIRTIO_ID_BLOCK 2

/* 5.2.3 Feature bits */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* 5.2.4 Device configuration layout (the part this device fills) */
struct virtio_blk_config {
	uint64_t capacity;              /* 0x00 in 512-byte sectors */
	uint32_t size_max;              /* 0x08 largest segment, bytes */
	uint32_t seg_max;               /* 0x0c segments per request */
	uint16_t cylinders;             /* 0x10 geometry (not offered) */
	uint8_t heads;                  /* 0x12 */
	uint8_t sectors;                /* 0x13 */
	uint32_t blk_size;              /* 0x14 logical block size */
	uint8_t physical_block_exp;     /* 0x18 topology (not offered) */
	uint8_t alignment_offset;       /* 0x19 */
	uint16_t min_io_size;           /* 0x1a */
	uint32_t opt_io_size;           /* 0x1c */
	uint8_t writeback;              /* 0x20 (CONFIG_WCE not offered) */
	uint8_t unused[3];              /* 0x21 */
} __attribute__((packed));
CHECK_OFFSET(struct virtio_blk_config, seg_max, 0x0c);
CHECK_OFFSET(struct virtio_blk_config, blk_size, 0x14);
CHECK_OFFSET(struct virtio_blk_config, writeback, 0x20);

/* 5.2.6 Device Operation: the header every request starts with */
struct virtio_blk_req_hdr {
	uint32_t type;                  /* 0x00 */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
	uint32_t reserved;              /* 0x04 */
	uint64_t sector;                /* 0x08 in 512-byte units */
} __attribute__((packed));
CHECK_OFFSET(struct virtio_blk_req_hdr, sector, 0x08);

/* the status byte, last in the chain */
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20

/* What this device offers (and so the largest request it takes). */
#define VBLK_QUEUE_MAX 128              /* QueueNumMax */
#define VBLK_SEG_MAX 32                 /* data segments per request */
#define VBLK_SIZE_MAX 4096              /* bytes per data segment */
#define VBLK_DATA_MAX (VBLK_SEG_MAX * VBLK_SIZE_MAX)
#define VBLK_SLOTS 16                   /* requests in flight */

struct virtio_blk;

/*
 * Creates a virtio-blk device over `bd`, which stays the caller's (a disk
 * outlives the guest's runs). `id` is what VIRTIO_BLK_T_GET_ID returns (at
 * most 20 bytes), `name` prefixes log lines. 0 or -ENOMEM. Service core.
 */
int virtio_blk_create(struct blockdev *bd, const struct virtio_host *host, const char *name,
		      const char *id, struct virtio_blk **out);
/*
 * Stops b: requests still in flight complete without touching the guest,
 * and the last of them frees b (at once when none is). `bd` stays open.
 * Service core; the guest's vCPUs no longer run.
 */
void virtio_blk_destroy(struct virtio_blk *b);
/* Its register block, for mmio_register(..., virtio_mmio_read/write, transport). */
struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b);

#endif
