/*
 * vmm/blk/slotstore.h - an atomically replaced record on a block device:
 * two alternating slots, each a header block followed by the payload.
 *
 * Used by the guest catalog (mgmt/catalog.c) and by the copy-on-write
 * pool's volume table (vmm/blk/cow_pool.c). A commit writes the slot that
 * does NOT hold the newest record: payload, flush, header, flush. The
 * header carries a sequence number and a CRC32C over header and payload,
 * so after a power cut at any point one slot still holds a complete
 * record, and load picks the valid slot with the highest sequence number.
 * Portable; all I/O is synchronous through blk_sync.h.
 */
#ifndef HAKO_SLOTSTORE_H
#define HAKO_SLOTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/blk/blk.h"
#include "vmm/core/lib/x86.h"


/* The first block of a slot; all fields little-endian, rest of the block zero. */
struct slot_hdr {
	uint64_t magic;         /* 0x00 the record kind (catalog, pool table) */
	uint32_t version;       /* 0x08 the record's format version */
	uint32_t crc;           /* 0x0c CRC32C of this header (crc = 0) and the payload */
	uint64_t seq;           /* 0x10 commit number, 1 for the first */
	uint32_t len;           /* 0x18 payload bytes, from the slot's second block */
	uint32_t reserved;      /* 0x1c zero */
} __attribute__((packed));
CHECK_OFFSET(struct slot_hdr, crc, 0x0c);
CHECK_OFFSET(struct slot_hdr, len, 0x18);
_Static_assert(sizeof(struct slot_hdr) == 32, "slot header is 32 bytes");

struct slotstore {
	struct blockdev *dev;
	uint64_t lba;           /* slot 0 starts here, slot 1 at lba + slot_blocks */
	uint32_t slot_blocks;   /* header block + payload blocks, >= 2 */
	uint64_t magic;
	uint32_t version;       /* written by slot_commit */
	uint32_t oldest;        /* the oldest version slot_load accepts (0: only `version`) */
	/* filled by slot_load / slot_commit */
	uint32_t found;         /* the loaded record's version */
	uint64_t seq;           /* of the newest record, 0 when none */
	int cur;                /* slot holding it, -1 when none */
	/*
	 * Set when a commit failed after its header was sent and the header
	 * could not be retracted: the device may hold the failed record or
	 * the one before. The next successful commit clears it; until then a
	 * caller must not act as if either were the durable one.
	 */
	int unsure;
};

/* Bytes of payload a slot can hold. */
uint32_t slot_capacity(const struct slotstore *s);

/*
 * Reads both slots and loads the newest valid record into buf (up to
 * `cap` bytes, at least slot_capacity()). 0 and *len, -ENOENT when
 * neither slot holds a valid record (a blank device), -ENOTSUP when a
 * valid record has a version outside [oldest, version], or an I/O error;
 * s->found tells the version loaded.
 */
int slot_load(struct slotstore *s, void *buf, uint32_t cap, uint32_t *len);

/*
 * Replaces the record with `len` bytes of `buf`. 0 once it is durable;
 * on an error the previous record is still the one loaded at the next
 * boot, unless s->unsure is set: then it may be either.
 */
int slot_commit(struct slotstore *s, const void *buf, uint32_t len);

/* CRC32C (Castagnoli, RFC 3720 B.4), continuing from `crc` (start with 0). */
uint32_t slot_crc32c(uint32_t crc, const void *p, size_t n);

#endif
