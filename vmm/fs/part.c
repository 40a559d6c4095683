/*
 * vmm/fs/part.c - reading a disk's partition table (see part.h): GPT
 * (UEFI spec 2.10, 5.2.3 protective MBR, 5.3 GPT header and entries, with
 * the backup header when the primary is damaged) and the MBR with its
 * chain of extended boot records. Portable; every field is checked
 * against the disk before it is used.
 */
#include "vmm/fs/part.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define MBR_SIG_OFF 0x1fe
#define MBR_TABLE_OFF 0x1be
#define MBR_DISK_SIG_OFF 0x1b8
#define MBR_TYPE_GPT 0xee
#define MBR_TYPE_ESP 0xef
#define MBR_EBR_MAX 64             /* logical partitions followed, at most */
#define GPT_ENTRIES_MAX 4096       /* far above the 128 every tool writes */

/* C12A7328-F81F-11D2-BA4B-00A0C93EC93B and BC13C2FF-59E6-4262-A352-B275FD6F7172, as stored. */
static const uint8_t guid_esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				      0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
static const uint8_t guid_xbootldr[16] = { 0xff, 0xc2, 0x13, 0xbc, 0xe6, 0x59, 0x62, 0x42,
					   0xa3, 0x52, 0xb2, 0x75, 0xfd, 0x6f, 0x71, 0x72 };

struct scan {
	const struct fs_dev *disk;
	uint32_t block;
	uint64_t blocks;            /* the disk's, in `block`s */
	struct part *out;
	unsigned max, *n;
	char *why;
	unsigned whylen;
};

static int corrupt(struct scan *s, const char *msg, uint64_t a)
{
	fmt_snprintf(s->why, s->whylen, msg, a);
	return -EUCLEAN;
}

static int add(struct scan *s, const struct part *p)
{
	if (*s->n == s->max)
		return corrupt(s, "more than %lu partitions", s->max);
	s->out[(*s->n)++] = *p;
	return 0;
}

/* The GUID's text form: the first three fields are little-endian (UEFI Appendix A). */
static void guid_str(const uint8_t g[16], char *out, unsigned len)
{
	fmt_snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		     g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		     g[13], g[14], g[15]);
}

/* ---- GPT ---- */

/* Reads and checks the header at `lba`: 0, -EAGAIN, or -EUCLEAN (why set). */
static int gpt_header_at(struct scan *s, uint64_t lba, struct gpt_header *h)
{
	uint8_t blk[512];
	int rc = fs_dev_read(s->disk, lba * s->block, sizeof(blk), blk);
	if (rc == -ERANGE)
		return corrupt(s, "the GPT header's block %lu is beyond the disk", lba);
	if (rc)
		return rc;
	memcpy(h, blk, sizeof(*h));
	if (memcmp(h->signature, "EFI PART", 8))
		return corrupt(s, "no GPT header at block %lu", lba);
	if (h->header_size < sizeof(*h) || h->header_size > sizeof(blk))
		return corrupt(s, "GPT header size %lu is invalid", h->header_size);
	uint32_t want = h->header_crc32;
	memset(blk + 0x10, 0, 4);
	if (fs_crc32(0, blk, h->header_size) != want)
		return corrupt(s, "the GPT header at block %lu fails its CRC", lba);
	if (h->my_lba != lba)
		return corrupt(s, "the GPT header at block %lu names another block as its own", lba);
	if (h->first_usable_lba > h->last_usable_lba || h->last_usable_lba >= s->blocks)
		return corrupt(s, "GPT usable blocks end at %lu, beyond the disk", h->last_usable_lba);
	if (h->entry_size < sizeof(struct gpt_entry) || h->entry_size % sizeof(struct gpt_entry) ||
	    (h->entry_size & (h->entry_size - 1)) || h->entry_size > 4096)
		return corrupt(s, "GPT entry size %lu is invalid", h->entry_size);
	if (!h->num_entries || h->num_entries > GPT_ENTRIES_MAX)
		return corrupt(s, "GPT has %lu entries", h->num_entries);
	uint64_t bytes = (uint64_t)h->num_entries * h->entry_size;
	if (h->entries_lba >= s->blocks || bytes > (s->blocks - h->entries_lba) * s->block)
		return corrupt(s, "the GPT entry array at block %lu runs beyond the disk", h->entries_lba);
	return 0;
}

/* Checks the entry array's CRC, reading it 128 bytes at a time. */
static int gpt_entries_crc(struct scan *s, const struct gpt_header *h)
{
	uint64_t base = h->entries_lba * s->block, bytes = (uint64_t)h->num_entries * h->entry_size;
	uint32_t crc = 0;
	uint8_t piece[sizeof(struct gpt_entry)];
	for (uint64_t off = 0; off < bytes; off += sizeof(piece)) {
		int rc = fs_dev_read(s->disk, base + off, sizeof(piece), piece);
		if (rc)
			return rc;
		crc = fs_crc32(crc, piece, sizeof(piece));
	}
	return crc == h->entries_crc32 ? 0 : corrupt(s, "the GPT entry array fails its CRC", 0);
}

static int gpt_entry(struct scan *s, const struct gpt_header *h, unsigned i)
{
	static const uint8_t zero[16];
	struct gpt_entry e;
	int rc = fs_dev_read(s->disk, h->entries_lba * s->block + (uint64_t)i * h->entry_size,
			     sizeof(e), &e);
	if (rc || !memcmp(e.type_guid, zero, 16))
		return rc;
	if (e.first_lba < h->first_usable_lba || e.last_lba > h->last_usable_lba ||
	    e.first_lba > e.last_lba)
		return corrupt(s, "GPT partition %lu lies outside the disk's usable blocks", i + 1ull);
	struct part p = { .index = i + 1, .start = e.first_lba * s->block,
			  .size = (e.last_lba - e.first_lba + 1) * s->block };
	p.esp = !memcmp(e.type_guid, guid_esp, 16);
	p.xbootldr = !memcmp(e.type_guid, guid_xbootldr, 16);
	guid_str(e.unique_guid, p.partuuid, sizeof(p.partuuid));
	return add(s, &p);
}

/* The primary header, else the backup at the disk's last block (UEFI 5.3.2). */
static int gpt_scan(struct scan *s)
{
	struct gpt_header h;
	int rc = gpt_header_at(s, 1, &h);
	if (!rc)
		rc = gpt_entries_crc(s, &h);
	if (rc && rc != -EAGAIN) {
		char first[160];
		memcpy(first, s->why, s->whylen < sizeof(first) ? s->whylen : sizeof(first));
		first[sizeof(first) - 1] = 0;
		rc = gpt_header_at(s, s->blocks - 1, &h);
		if (!rc)
			rc = gpt_entries_crc(s, &h);
		if (rc == -EUCLEAN)
			fmt_snprintf(s->why, s->whylen, "%s, and the backup GPT is no better", first);
	}
	for (unsigned i = 0; !rc && i < h.num_entries; i++)
		rc = gpt_entry(s, &h, i);
	return rc;
}

/* ---- MBR ---- */

static int mbr_entry_ok(const struct mbr_entry *e)
{
	return (e->status == 0 || e->status == 0x80) && (!e->type || (e->first_lba && e->sectors));
}

static int is_extended(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

/* A partition from an entry whose LBA counts from `rel`; checked against the disk. */
static int mbr_add(struct scan *s, const struct mbr_entry *e, uint64_t rel, unsigned index,
		   uint32_t sig)
{
	uint64_t first = rel + e->first_lba;
	if (first + e->sectors > s->blocks)
		return corrupt(s, "MBR partition %lu runs beyond the end of the disk", index);
	struct part p = { .index = index, .start = first * s->block,
			  .size = (uint64_t)e->sectors * s->block, .mbr_type = e->type,
			  .esp = e->type == MBR_TYPE_ESP };
	/* Linux's PARTUUID for MBR disks: the disk signature and the partition number. */
	if (sig)
		fmt_snprintf(p.partuuid, sizeof(p.partuuid), "%08x-%02x", sig, index);
	return add(s, &p);
}

/*
 * The logical partitions of the extended partition at `ext` (blocks):
 * each EBR's entry 0 is a partition relative to the EBR, entry 1 the next
 * EBR relative to `ext`. The chain must move forward, so it cannot loop.
 */
static int mbr_logical(struct scan *s, uint64_t ext, uint64_t ext_blocks, uint32_t sig)
{
	uint64_t ebr = ext;
	for (unsigned k = 0; k < MBR_EBR_MAX; k++) {
		uint8_t blk[512];
		struct mbr_entry e[2];
		int rc = fs_dev_read(s->disk, ebr * s->block, sizeof(blk), blk);
		if (rc == -ERANGE)
			return corrupt(s, "an extended boot record at block %lu is beyond the disk", ebr);
		if (rc)
			return rc;
		memcpy(e, blk + MBR_TABLE_OFF, sizeof(e));
		if (blk[MBR_SIG_OFF] != 0x55 || blk[MBR_SIG_OFF + 1] != 0xaa || !mbr_entry_ok(&e[0]) ||
		    !mbr_entry_ok(&e[1]))
			return corrupt(s, "the extended boot record at block %lu is invalid", ebr);
		if (e[0].type && (rc = mbr_add(s, &e[0], ebr, 5 + k, sig)))
			return rc;
		if (!is_extended(e[1].type))
			return 0;
		if (ext + e[1].first_lba <= ebr || e[1].first_lba >= ext_blocks)
			return corrupt(s, "the extended boot records at block %lu go backwards", ebr);
		ebr = ext + e[1].first_lba;
	}
	return corrupt(s, "more than %lu logical partitions", MBR_EBR_MAX);
}

static int mbr_scan(struct scan *s, const uint8_t *blk)
{
	struct mbr_entry e[4];
	uint32_t sig;
	memcpy(e, blk + MBR_TABLE_OFF, sizeof(e));
	memcpy(&sig, blk + MBR_DISK_SIG_OFF, 4);
	for (unsigned i = 0; i < 4; i++) {
		if (!e[i].type)
			continue;
		int rc = is_extended(e[i].type)
				 ? (e[i].first_lba + (uint64_t)e[i].sectors > s->blocks
					    ? corrupt(s, "the extended partition runs beyond the disk", 0)
					    : mbr_logical(s, e[i].first_lba, e[i].sectors, sig))
				 : mbr_add(s, &e[i], 0, i + 1, sig);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Which table sector 0 announces: GPT (a protective entry 0xee), MBR
 * (valid entries), or none (no 55aa, entries that cannot be a table, as in
 * a FAT boot sector, or all entries empty).
 */
static enum part_scheme scheme_of(const uint8_t *blk)
{
	struct mbr_entry e[4];
	int used = 0;
	memcpy(e, blk + MBR_TABLE_OFF, sizeof(e));
	if (blk[MBR_SIG_OFF] != 0x55 || blk[MBR_SIG_OFF + 1] != 0xaa)
		return PART_NONE;
	for (unsigned i = 0; i < 4; i++) {
		if (!mbr_entry_ok(&e[i]))
			return PART_NONE;
		if (e[i].type == MBR_TYPE_GPT)
			return PART_GPT;
		used |= e[i].type != 0;
	}
	return used ? PART_MBR : PART_NONE;
}

/* Reads the partition table: 0 with out[0..*n) and *scheme, -EAGAIN, or -EUCLEAN with why. */
int part_scan(const struct fs_dev *disk, uint32_t block, struct part *out, unsigned max,
	      unsigned *n, enum part_scheme *scheme, char *why, unsigned whylen)
{
	struct scan s = { disk, block, block ? disk->size / block : 0, out, max, n, why, whylen };
	uint8_t blk[512];
	*n = 0;
	*scheme = PART_NONE;
	if (block < 512 || (block & (block - 1)) || s.blocks < 2)
		return corrupt(&s, "the disk is too small for a partition table (%lu bytes)", disk->size);
	int rc = fs_dev_read(disk, 0, sizeof(blk), blk);
	if (rc)
		return rc;
	*scheme = scheme_of(blk);
	if (*scheme == PART_GPT)
		rc = gpt_scan(&s);
	else if (*scheme == PART_MBR)
		rc = mbr_scan(&s, blk);
	else
		rc = add(&s, &(struct part){ .index = 0, .start = 0, .size = disk->size });
	if (rc)
		*n = 0;
	return rc;
}
