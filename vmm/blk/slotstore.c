/*
 * vmm/blk/slotstore.c - two alternating slots holding one record (see
 * slotstore.h for the format and the commit order). Portable.
 */
#include "vmm/blk/slotstore.h"

#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

/* Bitwise CRC32C, reflected polynomial 0x82F63B78 (RFC 3720 B.4). */
uint32_t slot_crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	crc = ~crc;
	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Payload bytes one slot holds: all its blocks but the header. */
uint32_t slot_capacity(const struct slotstore *s)
{
	return (s->slot_blocks - 1) * blk_block_size(s->dev);
}

static uint32_t record_crc(const struct slot_hdr *h, const void *payload)
{
	struct slot_hdr z = *h;
	z.crc = 0;
	return slot_crc32c(slot_crc32c(0, &z, sizeof(z)), payload, h->len);
}

static uint64_t slot_lba(const struct slotstore *s, int slot)
{
	return s->lba + (uint64_t)slot * s->slot_blocks;
}

static void *io_alloc(const struct slotstore *s)
{
	return blk_host()->alloc((uint64_t)s->slot_blocks * blk_block_size(s->dev));
}

static void io_free(const struct slotstore *s, void *p)
{
	blk_host()->free(p, (uint64_t)s->slot_blocks * blk_block_size(s->dev));
}

/*
 * Reads slot `slot` into io (header block first). Returns 1 when it holds
 * a record of our magic with a good CRC, 0 when not, or -E... on I/O.
 */
static int read_slot(struct slotstore *s, int slot, uint8_t *io)
{
	int rc = blk_sync_io(s->dev, BLK_READ, slot_lba(s, slot), s->slot_blocks, io);
	if (rc)
		return rc;
	const struct slot_hdr *h = (const void *)io;
	if (h->magic != s->magic || h->len > slot_capacity(s) || !h->seq)
		return 0;
	return record_crc(h, io + blk_block_size(s->dev)) == h->crc;
}

/* Loads slot `best` into buf (its header is in io). */
static int take(struct slotstore *s, int best, uint8_t *io, void *buf, uint32_t cap, uint32_t *len)
{
	int rc = read_slot(s, best, io);   /* the other slot's data is in io now */
	if (rc <= 0)
		return rc ? rc : -EIO;     /* changed under us: a device fault */
	const struct slot_hdr *h = (const void *)io;
	if (h->version > s->version || h->version < (s->oldest ? s->oldest : s->version))
		return -ENOTSUP;
	if (h->len > cap)
		return -E2BIG;
	memcpy(buf, io + blk_block_size(s->dev), h->len);
	*len = h->len;
	s->found = h->version;
	s->seq = h->seq;
	s->cur = best;
	return 0;
}

/*
 * Loads the valid slot with the higher sequence number into buf (see
 * slotstore.h for the return values); sets s->seq and s->cur.
 */
int slot_load(struct slotstore *s, void *buf, uint32_t cap, uint32_t *len)
{
	uint8_t *io = io_alloc(s);
	if (!io)
		return -ENOMEM;
	uint64_t seq[2] = { 0, 0 };
	int rc = 0;
	for (int i = 0; i < 2 && rc >= 0; i++) {
		rc = read_slot(s, i, io);
		if (rc > 0)
			seq[i] = ((const struct slot_hdr *)io)->seq;
	}
	s->seq = 0;
	s->cur = -1;
	if (rc >= 0)
		rc = !seq[0] && !seq[1] ? -ENOENT : take(s, seq[1] > seq[0], io, buf, cap, len);
	io_free(s, io);
	return rc;
}

/*
 * Payload, flush, header, flush: the header makes the slot valid last.
 * *header_sent tells whether the header write was issued: after that, an
 * error leaves the new record possibly durable, possibly not.
 */
static int write_slot(struct slotstore *s, int slot, uint8_t *io, uint32_t len, int *header_sent)
{
	uint32_t bs = blk_block_size(s->dev);
	uint32_t pblocks = (len + bs - 1) / bs;
	int rc = 0;
	*header_sent = 0;
	if (pblocks)
		rc = blk_sync_io(s->dev, BLK_WRITE, slot_lba(s, slot) + 1, pblocks, io + bs);
	if (!rc)
		rc = blk_sync_io(s->dev, BLK_FLUSH, 0, 0, 0);
	if (!rc) {
		*header_sent = 1;
		rc = blk_sync_io(s->dev, BLK_WRITE, slot_lba(s, slot), 1, io);
	}
	if (!rc)
		rc = blk_sync_io(s->dev, BLK_FLUSH, 0, 0, 0);
	return rc;
}

/*
 * After a failure with the header sent, makes the outcome certain: a
 * zeroed header (one block, written whole or not at all) makes the slot
 * invalid, so the previous record is the newest again. 0 when that is
 * durable; otherwise the store stays unsure (slotstore.h).
 */
static int retract(struct slotstore *s, int slot, uint8_t *io)
{
	memset(io, 0, blk_block_size(s->dev));
	int rc = blk_sync_io(s->dev, BLK_WRITE, slot_lba(s, slot), 1, io);
	return rc ? rc : blk_sync_io(s->dev, BLK_FLUSH, 0, 0, 0);
}

/*
 * Writes the record into the slot not holding the newest one (payload,
 * flush, header, flush). 0 once durable; s->seq and s->cur follow. On an
 * error the previous record stays the newest, unless s->unsure is set
 * (see slotstore.h).
 */
int slot_commit(struct slotstore *s, const void *buf, uint32_t len)
{
	if (len > slot_capacity(s))
		return -E2BIG;
	uint8_t *io = io_alloc(s);
	if (!io)
		return -ENOMEM;
	uint32_t bs = blk_block_size(s->dev);
	struct slot_hdr *h = (void *)io;
	*h = (struct slot_hdr){ .magic = s->magic, .version = s->version, .seq = s->seq + 1, .len = len };
	memcpy(io + bs, buf, len);
	h->crc = record_crc(h, io + bs);
	/* The slot not holding the newest record: after an unsure commit that
	 * is the unsure slot again, so this commit replaces it either way. */
	int slot = s->cur == 0 ? 1 : 0, sent;
	int rc = write_slot(s, slot, io, len, &sent);
	if (!rc) {
		s->seq++;
		s->cur = slot;
		s->unsure = 0;
	} else if (sent) {
		s->unsure = retract(s, slot, io) != 0;
	}
	io_free(s, io);
	return rc;
}
