/*
 * vmm/blk/cow_pool.h - the pool device under copy-on-write overlays: its
 * layout, its volume table, its free map, and the management operations
 * (create, delete, reclaim). Portable; the data path is vmm/blk/cow.c.
 *
 * Layout, in 64 KiB chunks of the pool device:
 *   chunk 0          the volume table, a slotstore (two 32 KiB slots)
 *   chunks 1..B      the free map: one bit per chunk, 1 = in use
 *   the rest         volume maps and data chunks, allocated from the map
 * A volume is a virtual disk: `vchunks` chunks, each either unallocated
 * (read from the base device, or zeros for a volume without base) or
 * stored in a pool chunk. Its map is an array of little-endian uint32
 * pool chunk numbers (0 = unallocated) in `map_chunks` contiguous chunks.
 *
 * Crash safety (every write below is followed by a flush before the next
 * step depends on it):
 *   - allocation: free-map bit set, data written, then the map entry; so
 *     the map never points at unwritten data, and the free map on the
 *     device always covers every chunk a map or the table points at;
 *   - create: free-map bits, zeroed map, then the table commit;
 *   - delete: the table commit, then the free-map bits cleared.
 * A power cut can therefore only leak chunks (bits set that nothing
 * uses); cow_pool_attach() finds and frees them.
 */
#ifndef HAKO_COW_POOL_H
#define HAKO_COW_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/blk/blk.h"
#include "vmm/blk/slotstore.h"

#define COW_CHUNK (64u << 10)
#define COW_VOLS_MAX 64
#define COW_POOL_MAGIC 0x4c4f4f50574f4b48ull  /* "HKOWPOOL" */
#define COW_POOL_VERSION 2     /* 1: no catalog id in the table header */
#define COW_TABLE_SLOT (32u << 10)

#define COW_VOL_NO_BASE 1u      /* unallocated chunks read as zeros (full clones) */

/* One volume in the table; little-endian. */
struct cow_vol_rec {
	uint32_t id;            /* 0x00 nonzero, never reused */
	uint32_t flags;         /* 0x04 COW_VOL_* */
	uint64_t bytes;         /* 0x08 virtual size */
	uint32_t block_size;    /* 0x10 the virtual device's block size */
	uint32_t map_chunk;     /* 0x14 first chunk of the map */
	uint32_t map_chunks;    /* 0x18 */
	uint32_t reserved;      /* 0x1c */
	uint64_t base_hash;     /* 0x20 FNV-1a of the base URL, 0 without base */
	char owner[24];         /* 0x28 the guest it was made for (informational) */
} __attribute__((packed));
CHECK_OFFSET(struct cow_vol_rec, base_hash, 0x20);
_Static_assert(sizeof(struct cow_vol_rec) == 64, "volume record is 64 bytes");

/* The table's payload: this header, then `nvols` records. */
struct cow_table_hdr {
	uint32_t next_id;       /* 0x00 */
	uint32_t nvols;         /* 0x04 */
	uint64_t chunks;        /* 0x08 pool size in chunks when formatted */
	uint64_t catalog;       /* 0x10 the id of the catalog the pool belongs to, 0: none yet
				   (version 2; a version 1 header ends before it) */
} __attribute__((packed));
CHECK_OFFSET(struct cow_table_hdr, catalog, 0x10);
_Static_assert(sizeof(struct cow_table_hdr) == 24, "table header is 24 bytes");
#define COW_TABLE_HDR_V1 16u

struct cow_pool {
	struct blockdev *dev;
	uint32_t bs;            /* the pool device's block size */
	uint32_t chunks;        /* usable chunks (all of them, metadata included) */
	uint32_t bitmap_chunks;
	uint8_t *bitmap;        /* bitmap_chunks * COW_CHUNK bytes, device image */
	uint32_t used;          /* bits set */
	struct slotstore table_store;
	struct cow_table_hdr hdr;
	struct cow_vol_rec vol[COW_VOLS_MAX];
	int busy;               /* an allocation is in flight (cow.c) */
	int paused;             /* management work owns the pool (cow.c) */
	uint8_t *chunk_buf;     /* COW_CHUNK bytes for the allocation in flight */
};

/* The pool every `cow:` device uses (0 until one is attached). */
extern struct cow_pool *cow_pool;

/*
 * Attaches `dev` as the pool: loads the table and free map, or formats a
 * device whose first chunk is all zeros, then frees leaked chunks.
 * 0, or -E... with a sentence in err (an unknown, non-blank device is
 * never formatted). `*leaked` gets the number of chunks reclaimed.
 */
int cow_pool_attach(struct blockdev *dev, uint32_t *leaked, char *err, unsigned errlen);
/*
 * Is the pool the catalog's whose id is `catalog` (nonzero)? Decides
 * whether volumes that catalog does not name may be freed: a blank or
 * wrong catalog must never empty a pool. `vouched`: the catalog names at
 * least one volume and the pool holds every volume it names.
 *   0        the pool is the catalog's: bound to it already; or now (the
 *            table committed) when it was bound to no catalog and held no
 *            volume, or held volumes and `vouched` (an older pool adopted);
 *   -EPERM   bound to another catalog and not empty: not the catalog's;
 *   -EAGAIN  bound to none, holding volumes, not vouched: keep, free nothing;
 *   or an I/O error from the commit. err says why for all but 0.
 */
int cow_pool_claim(uint64_t catalog, int vouched, char *err, unsigned errlen);

/* Detaches (frees memory; the device stays open for the caller to close). */
void cow_pool_detach(void);

/* The volume with this id, or 0. */
struct cow_vol_rec *cow_pool_find(uint32_t id);

/*
 * Creates a volume of `bytes` (a multiple of block_size) over the base
 * whose URL is `base` (0: no base). 0 and *id, or -ENOSPC / -E...
 */
int cow_pool_create(uint64_t bytes, uint32_t block_size, const char *base, const char *owner,
		    uint32_t *id);
/* Deletes a volume and frees its chunks. 0, -ENOENT, -EBUSY (it is open) or -E... */
int cow_pool_delete(uint32_t id);
/* Chunks a volume uses (map included), from its map on the device. */
int cow_pool_usage(uint32_t id, uint32_t *chunks);

/* FNV-1a 64 of a string (base URL fingerprints). */
uint64_t cow_hash(const char *s);

/* May a volume's map entry name chunk c (a used data chunk, no metadata)? */
int cow_data_chunk(const struct cow_pool *p, uint32_t c);

/* Free-map helpers shared with cow.c. */
int cow_bit(const struct cow_pool *p, uint32_t chunk);
void cow_bit_set(struct cow_pool *p, uint32_t chunk, int used);
/* The device block of the free map holding chunk's bit. */
uint64_t cow_bit_lba(const struct cow_pool *p, uint32_t chunk);
/* A free chunk (searching from `hint`), or 0 when the pool is full. */
uint32_t cow_find_free(const struct cow_pool *p, uint32_t hint);
/* The first of n contiguous free chunks (searching from `hint`), or 0. */
uint32_t cow_find_run(const struct cow_pool *p, uint32_t hint, uint32_t n);
/* Pool-device LBA of the start of chunk c. */
uint64_t cow_chunk_lba(const struct cow_pool *p, uint32_t c);
/* cow.c: starts allocations that waited while the pool was paused. */
void cow_kick(void);
/* cow.c: is volume id open as a device (or opening)? */
int cow_volume_busy(uint32_t id);

#endif
