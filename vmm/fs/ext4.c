/*
 * vmm/fs/ext4.c - ext2/3/4 read-only: superblock, group descriptors,
 * inodes and where a file's blocks are (extent trees and classic block
 * maps). Directories and path lookup are in ext4_dir.c. The format is the
 * kernel's Documentation/filesystems/ext4; see ext4.h. Portable.
 */
#include "vmm/fs/ext4.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define EXT4_MAGIC 0xef53
#define EXT4_SUPER_OFF 1024
/* feature_compat */
#define COMPAT_SPARSE_SUPER2 0x0200
/* feature_incompat ("The Super Block", s_feature_incompat) */
#define INCOMPAT_COMPRESSION 0x0001
#define INCOMPAT_FILETYPE 0x0002
#define INCOMPAT_RECOVER 0x0004
#define INCOMPAT_JOURNAL_DEV 0x0008
#define INCOMPAT_META_BG 0x0010
#define INCOMPAT_EXTENTS 0x0040
#define INCOMPAT_64BIT 0x0080
#define INCOMPAT_MMP 0x0100
#define INCOMPAT_FLEX_BG 0x0200
#define INCOMPAT_EA_INODE 0x0400
#define INCOMPAT_DIRDATA 0x1000
#define INCOMPAT_CSUM_SEED 0x2000
#define INCOMPAT_LARGEDIR 0x4000
#define INCOMPAT_INLINE_DATA 0x8000
#define INCOMPAT_ENCRYPT 0x10000
#define INCOMPAT_CASEFOLD 0x20000
/* What this reader understands: the rest change the format under it. */
#define INCOMPAT_KNOWN (INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG | INCOMPAT_EXTENTS | \
			INCOMPAT_64BIT | INCOMPAT_MMP | INCOMPAT_FLEX_BG | INCOMPAT_EA_INODE |     \
			INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA |           \
			INCOMPAT_ENCRYPT | INCOMPAT_CASEFOLD)
/* feature_ro_compat */
#define RO_COMPAT_SPARSE_SUPER 0x0001
#define RO_COMPAT_METADATA_CSUM 0x0400
/* inode flags ("i_flags") */
#define INODE_ENCRYPT_FL 0x800
#define INODE_EXTENTS_FL 0x80000
#define INODE_INLINE_DATA_FL 0x10000000
/* extent trees ("Extent Tree") */
#define EXT_MAGIC 0xf30a
#define EXT_DEPTH_MAX 5
#define EXT_INIT_MAX_LEN 32768         /* longer ee_len: an unwritten extent */

struct ext_header {                    /* "Extent Tree": ext4_extent_header */
	uint16_t magic;                    /* 0x00: 0xf30a */
	uint16_t entries;                  /* 0x02 */
	uint16_t max;                      /* 0x04 */
	uint16_t depth;                    /* 0x06: 0 = leaves follow */
	uint32_t generation;               /* 0x08 */
} __attribute__((packed));
struct ext_index {                     /* ext4_extent_idx */
	uint32_t block;                    /* 0x00: first file block it covers */
	uint32_t leaf_lo;                  /* 0x04 */
	uint16_t leaf_hi;                  /* 0x08 */
	uint16_t unused;                   /* 0x0a */
} __attribute__((packed));
struct ext_leaf {                      /* ext4_extent */
	uint32_t block;                    /* 0x00: first file block */
	uint16_t len;                      /* 0x04: > 32768: unwritten, len - 32768 blocks */
	uint16_t start_hi;                 /* 0x06 */
	uint32_t start_lo;                 /* 0x08 */
} __attribute__((packed));
_Static_assert(sizeof(struct ext_header) == 12 && sizeof(struct ext_index) == 12 &&
	       sizeof(struct ext_leaf) == 12, "extent tree entries are 12 bytes");

static int fail(struct ext4 *fs, int code, const char *msg, uint64_t a, uint64_t b)
{
	fmt_snprintf(fs->why, fs->whylen, msg, a, b);
	return code;
}

/* Reads file-system bytes; an offset outside the partition means corruption. */
static int rd(struct ext4 *fs, uint64_t off, uint32_t len, void *buf)
{
	int rc = fs_dev_read(&fs->dev, off, len, buf);
	if (rc == -ERANGE)
		return fail(fs, -EUCLEAN, "ext4: metadata at byte %lu lies beyond the partition (%lu bytes)",
			    off, fs->dev.size);
	return rc;
}

/* ---- superblock ---- */

static int pow2(uint32_t v) { return v && !(v & (v - 1)); }

static int super_geometry(struct ext4 *fs, const struct ext4_super *sb)
{
	if (sb->log_block_size > 6)
		return fail(fs, -EUCLEAN, "ext4 superblock: block size 1024 << %lu is invalid",
			    sb->log_block_size, 0);
	fs->block_size = 1024u << sb->log_block_size;
	fs->blocks = sb->blocks_count_lo |
		     (sb->feature_incompat & INCOMPAT_64BIT ? (uint64_t)sb->blocks_count_hi << 32 : 0);
	fs->first_data_block = sb->first_data_block;
	fs->blocks_per_group = sb->blocks_per_group;
	fs->inodes_per_group = sb->inodes_per_group;
	fs->inodes_count = sb->inodes_count;
	if (fs->first_data_block > 1 || fs->blocks <= fs->first_data_block)
		return fail(fs, -EUCLEAN, "ext4 superblock: %lu blocks, the first at %lu", fs->blocks,
			    fs->first_data_block);
	if (fs->blocks > fs->dev.size / fs->block_size)
		return fail(fs, -EUCLEAN, "ext4 superblock: %lu blocks do not fit in the partition (%lu bytes)",
			    fs->blocks, fs->dev.size);
	if (fs->blocks_per_group < 8 || fs->blocks_per_group > 8 * fs->block_size)
		return fail(fs, -EUCLEAN, "ext4 superblock: %lu blocks per group is invalid",
			    fs->blocks_per_group, 0);
	if (!fs->inodes_per_group || fs->inodes_per_group > 8 * fs->block_size)
		return fail(fs, -EUCLEAN, "ext4 superblock: %lu inodes per group is invalid",
			    fs->inodes_per_group, 0);
	uint64_t groups = (fs->blocks - fs->first_data_block + fs->blocks_per_group - 1) /
			  fs->blocks_per_group;
	if (fs->inodes_count < EXT4_ROOT_INO ||
	    fs->inodes_count > groups * fs->inodes_per_group)
		return fail(fs, -EUCLEAN, "ext4 superblock: %lu inodes in %lu groups is inconsistent",
			    fs->inodes_count, groups);
	fs->groups = (uint32_t)groups;
	return 0;
}

static int super_layout(struct ext4 *fs, const struct ext4_super *sb)
{
	fs->inode_size = sb->rev_level == 0 ? 128 : sb->inode_size;
	if (sb->rev_level > 1)
		return fail(fs, -ENOTSUP, "ext4 superblock: revision %lu is unknown", sb->rev_level, 0);
	if (!pow2(fs->inode_size) || fs->inode_size < 128 || fs->inode_size > fs->block_size)
		return fail(fs, -EUCLEAN, "ext4 superblock: inode size %lu is invalid", fs->inode_size, 0);
	fs->desc_size = 32;
	if (sb->feature_incompat & INCOMPAT_64BIT) {
		fs->desc_size = sb->desc_size;
		if (!pow2(fs->desc_size) || fs->desc_size < 64 || fs->desc_size > fs->block_size)
			return fail(fs, -EUCLEAN, "ext4 superblock: group descriptor size %lu is invalid",
				    fs->desc_size, 0);
	}
	return 0;
}

static int super_features(struct ext4 *fs, const struct ext4_super *sb)
{
	fs->incompat = sb->feature_incompat;
	fs->ro_compat = sb->feature_ro_compat;
	fs->compat = sb->feature_compat;
	fs->first_meta_bg = sb->first_meta_bg;
	memcpy(fs->backup_bgs, sb->backup_bgs, sizeof(fs->backup_bgs));
	if (fs->incompat & ~INCOMPAT_KNOWN)
		return fail(fs, -ENOTSUP, "ext4: incompatible features 0x%lx are not supported",
			    fs->incompat & ~INCOMPAT_KNOWN, 0);
	if ((fs->ro_compat & RO_COMPAT_METADATA_CSUM) &&
	    fs_crc32c_le(~0u, sb, __builtin_offsetof(struct ext4_super, checksum)) != sb->checksum)
		return fail(fs, -EUCLEAN, "ext4 superblock: checksum mismatch", 0, 0);
	return 0;
}

/* Reads and checks the superblock (ext4.h): 0, -ENODEV, -EUCLEAN, -ENOTSUP, -EAGAIN. */
int ext4_open(struct ext4 *fs, const struct fs_dev *dev, char *why, unsigned whylen)
{
	static struct ext4_super sb; /* one reader at a time: the service core's */
	memset(fs, 0, sizeof(*fs));
	fs->dev = *dev;
	fs->why = why;
	fs->whylen = whylen;
	int rc = fs_dev_read(dev, EXT4_SUPER_OFF, sizeof(sb), &sb);
	if (rc == -ERANGE || (!rc && sb.magic != EXT4_MAGIC))
		return -ENODEV;
	if (!rc)
		rc = super_features(fs, &sb);
	if (!rc)
		rc = super_geometry(fs, &sb);
	if (!rc)
		rc = super_layout(fs, &sb);
	return rc;
}

/* ---- group descriptors and inodes ---- */

/* sparse_super: groups 0, 1 and powers of 3, 5 and 7 hold superblock copies. */
static int has_super(const struct ext4 *fs, uint32_t g)
{
	if (fs->compat & COMPAT_SPARSE_SUPER2)
		return g == 0 || g == fs->backup_bgs[0] || g == fs->backup_bgs[1];
	if (g <= 1 || !(fs->ro_compat & RO_COMPAT_SPARSE_SUPER))
		return 1;
	for (uint32_t p = 3; p <= 7; p += 2) {
		uint64_t v = p;
		while (v < g)
			v *= p;
		if (v == g)
			return 1;
	}
	return 0;
}

/* Block of the descriptor table holding group g's ("Meta Block Groups"). */
static uint64_t desc_block(const struct ext4 *fs, uint32_t g)
{
	uint32_t per_block = fs->block_size / fs->desc_size, mg = g / per_block;
	if (!(fs->incompat & INCOMPAT_META_BG) || mg < fs->first_meta_bg)
		return fs->first_data_block + 1ull + mg;
	uint64_t first = (uint64_t)mg * per_block; /* the meta group's first group */
	return fs->first_data_block + first * fs->blocks_per_group + (has_super(fs, (uint32_t)first) ? 1 : 0);
}

static int inode_table(struct ext4 *fs, uint32_t g, uint64_t *block)
{
	struct ext4_group_desc gd;
	uint32_t per_block = fs->block_size / fs->desc_size;
	uint64_t off = desc_block(fs, g) * fs->block_size + (uint64_t)(g % per_block) * fs->desc_size;
	int rc = rd(fs, off, fs->desc_size >= 64 ? sizeof(gd) : 32, &gd);
	if (rc)
		return rc;
	*block = gd.inode_table_lo | (fs->desc_size >= 64 ? (uint64_t)gd.inode_table_hi << 32 : 0);
	uint64_t table_blocks = ((uint64_t)fs->inodes_per_group * fs->inode_size + fs->block_size - 1) /
				fs->block_size;
	if (*block <= fs->first_data_block || *block + table_blocks > fs->blocks)
		return fail(fs, -EUCLEAN, "ext4: group %lu's inode table at block %lu is outside the file system",
			    g, *block);
	return 0;
}

static uint64_t inode_size_of(const struct ext4_inode *in)
{
	return in->size_lo | (uint64_t)in->size_high << 32;
}

/* Reads inode ino, checked and in use: 0, -EUCLEAN, -ENOTSUP, -EAGAIN. */
int ext4_inode_read(struct ext4 *fs, uint32_t ino, struct ext4_file *f)
{
	struct ext4_inode in;
	uint64_t table;
	if (!ino || ino > fs->inodes_count)
		return fail(fs, -EUCLEAN, "ext4: inode number %lu is outside the file system (%lu inodes)",
			    ino, fs->inodes_count);
	uint32_t g = (ino - 1) / fs->inodes_per_group, i = (ino - 1) % fs->inodes_per_group;
	int rc = inode_table(fs, g, &table);
	if (!rc)
		rc = rd(fs, table * fs->block_size + (uint64_t)i * fs->inode_size, sizeof(in), &in);
	if (rc)
		return rc;
	if (!in.links_count || !in.mode)
		return fail(fs, -EUCLEAN, "ext4: inode %lu is not in use", ino, 0);
	if (in.flags & INODE_ENCRYPT_FL)
		return fail(fs, -ENOTSUP, "ext4: inode %lu is encrypted", ino, 0);
	*f = (struct ext4_file){ .ino = ino, .mode = in.mode, .flags = in.flags,
				 .size = inode_size_of(&in), .blocks_512 = in.blocks_lo,
				 .file_acl = in.file_acl_lo };
	memcpy(f->block, in.block, sizeof(f->block));
	return 0;
}

/* ---- where a file block is ---- */

/* One contiguous piece of a file: `count` blocks from `pblk` (0: a hole, zeros). */
struct piece {
	uint64_t pblk;
	uint64_t count;
};

static int check_blocks(struct ext4 *fs, const struct ext4_file *f, uint64_t pblk, uint64_t n)
{
	if (pblk && (pblk < fs->first_data_block || pblk >= fs->blocks || n > fs->blocks - pblk))
		return fail(fs, -EUCLEAN, "ext4: inode %lu points at block %lu, outside the file system",
			    f->ino, pblk);
	return 0;
}

/* Reads a node's header (in the inode or at block `blk`) and checks it. */
static int ext_node(struct ext4 *fs, const struct ext4_file *f, uint64_t blk, unsigned depth,
		    struct ext_header *h)
{
	unsigned room = blk ? (fs->block_size - 12) / 12 : 4;
	int rc = blk ? rd(fs, blk * fs->block_size, sizeof(*h), h) : 0;
	if (rc)
		return rc;
	if (!blk)
		memcpy(h, f->block, sizeof(*h));
	if (h->magic != EXT_MAGIC || h->max > room || h->entries > h->max || !h->entries ||
	    h->depth > EXT_DEPTH_MAX || (blk && h->depth != depth))
		return fail(fs, -EUCLEAN, "ext4: inode %lu has a damaged extent tree node (block %lu)",
			    f->ino, blk);
	return 0;
}

/* Entry k (12 bytes) of the node at block blk (0: in the inode). */
static int ext_entry(struct ext4 *fs, const struct ext4_file *f, uint64_t blk, unsigned k, void *e)
{
	if (!blk) {
		memcpy(e, (const uint8_t *)f->block + 12 + 12 * k, 12);
		return 0;
	}
	return rd(fs, blk * fs->block_size + 12 + 12ull * k, 12, e);
}

/* Finds lblk in a leaf: the extent holding it, or the hole up to the next. */
static int ext_leaf(struct ext4 *fs, const struct ext4_file *f, uint64_t blk, unsigned n,
		    uint64_t lblk, uint64_t limit, struct piece *p)
{
	uint64_t prev_end = 0;
	for (unsigned k = 0; k < n; k++) {
		struct ext_leaf e;
		int rc = ext_entry(fs, f, blk, k, &e);
		if (rc)
			return rc;
		uint64_t len = e.len > EXT_INIT_MAX_LEN ? e.len - EXT_INIT_MAX_LEN : e.len;
		uint64_t start = (uint64_t)e.start_hi << 32 | e.start_lo;
		if (!len || e.block < prev_end)
			return fail(fs, -EUCLEAN, "ext4: inode %lu's extents overlap or are empty (block %lu)",
				    f->ino, blk);
		prev_end = e.block + len;
		if (lblk < e.block) {
			*p = (struct piece){ 0, e.block - lblk };
			return 0;
		}
		if (lblk < e.block + len) {
			rc = check_blocks(fs, f, start, len);
			/* An unwritten extent reads as zeros. */
			*p = (struct piece){ e.len > EXT_INIT_MAX_LEN ? 0 : start + (lblk - e.block),
					     e.block + len - lblk };
			return rc;
		}
	}
	*p = (struct piece){ 0, limit - lblk };
	return 0;
}

/* Walks the extent tree from the inode to the leaf covering lblk. */
static int ext_find(struct ext4 *fs, const struct ext4_file *f, uint64_t lblk, uint64_t limit,
		    struct piece *p)
{
	struct ext_header h;
	uint64_t blk = 0;
	int rc = ext_node(fs, f, 0, 0, &h);
	for (unsigned depth = h.depth; !rc; depth--) {
		if (!depth)
			return ext_leaf(fs, f, blk, h.entries, lblk, limit, p);
		/* The last index starting at or before lblk; before the first: a hole. */
		struct ext_index idx = { 0 }, next = { 0 };
		unsigned k = 0;
		for (; k < h.entries && !rc; k++) {
			rc = ext_entry(fs, f, blk, k, &next);
			if (!rc && k && next.block <= idx.block)
				rc = fail(fs, -EUCLEAN, "ext4: inode %lu's extent index is out of order", f->ino, 0);
			if (rc || next.block > lblk)
				break;
			idx = next;
		}
		if (rc)
			return rc;
		if (k == 0) {
			*p = (struct piece){ 0, next.block - lblk };
			return 0;
		}
		if (k < h.entries && next.block < limit)
			limit = next.block;
		blk = (uint64_t)idx.leaf_hi << 32 | idx.leaf_lo;
		if ((rc = check_blocks(fs, f, blk, 1)) || !blk)
			return rc ? rc : fail(fs, -EUCLEAN, "ext4: inode %lu's extent index names block 0", f->ino, 0);
		rc = ext_node(fs, f, blk, depth - 1, &h);
	}
	return rc;
}

/*
 * The classic block map ("Direct/Indirect Block Addressing"): 12 direct
 * pointers, then single, double and triple indirect blocks of 32-bit
 * pointers. The pointers following lblk's in its block are read too, to
 * return a run as long as they stay contiguous.
 */
#define MAP_BATCH 64
static int map_find(struct ext4 *fs, const struct ext4_file *f, uint64_t lblk, struct piece *p)
{
	uint64_t per = fs->block_size / 4, idx = lblk, span = 1;
	uint32_t ptr[MAP_BATCH];
	unsigned n;
	if (idx < 12) {
		n = (unsigned)(12 - idx);
		memcpy(ptr, &f->block[idx], n * 4);
	} else {
		/* Which tree: level 1 covers per blocks, level 2 per^2, level 3 per^3. */
		unsigned level;
		for (idx -= 12, level = 1; level <= 3; idx -= span, level++) {
			span *= per;
			if (idx < span)
				break;
		}
		if (level > 3)
			return fail(fs, -EUCLEAN, "ext4: inode %lu has a block beyond its block map", f->ino, 0);
		uint64_t blk = f->block[11 + level];
		span /= per;    /* file blocks under each pointer of the node at this level */
		for (unsigned l = level; l > 0; l--, span /= per) {
			uint64_t at = idx / span;
			if (!blk) {  /* a missing node: the rest of its range is a hole */
				*p = (struct piece){ 0, span * per - idx };
				return 0;
			}
			int rc = check_blocks(fs, f, blk, 1);
			n = l > 1 ? 1 : (per - at < MAP_BATCH ? (unsigned)(per - at) : MAP_BATCH);
			if (!rc)
				rc = rd(fs, blk * fs->block_size + at * 4, n * 4, ptr);
			if (rc)
				return rc;
			idx %= span;
			blk = ptr[0];
		}
	}
	unsigned run = 1;
	while (run < n && (ptr[0] ? ptr[run] == ptr[0] + run : !ptr[run]))
		run++;
	*p = (struct piece){ ptr[0], run };
	return check_blocks(fs, f, ptr[0], run);
}

/* The piece of file f from block lblk (< limit, the file's block count). */
static int find(struct ext4 *fs, const struct ext4_file *f, uint64_t lblk, uint64_t limit,
		struct piece *p)
{
	int rc = f->flags & INODE_EXTENTS_FL ? ext_find(fs, f, lblk, limit, p) : map_find(fs, f, lblk, p);
	if (!rc && !p->count)
		return fail(fs, -EUCLEAN, "ext4: inode %lu maps block %lu to nothing", f->ino, lblk);
	if (!rc && p->count > limit - lblk)
		p->count = limit - lblk;
	return rc;
}

static uint64_t file_blocks(const struct ext4 *fs, const struct ext4_file *f)
{
	return f->size / fs->block_size + (f->size % fs->block_size != 0);
}

/* Inline data ("Inline Data"): the first 60 bytes live in i_block. */
static int inline_check(struct ext4 *fs, const struct ext4_file *f)
{
	if (f->size > sizeof(f->block))
		return fail(fs, -ENOTSUP, "ext4: inode %lu keeps %lu bytes inline; only 60 are supported",
			    f->ino, f->size);
	return 0;
}

/* The runs of file f on the disk, holes included: 0, -E2BIG, -EUCLEAN, -ENOTSUP, -EAGAIN. */
int ext4_map(struct ext4 *fs, const struct ext4_file *f, struct fs_map *m)
{
	uint64_t n = file_blocks(fs, f);
	m->n = 0;
	m->size = 0;
	if (f->flags & INODE_INLINE_DATA_FL)
		return fail(fs, -ENOTSUP, "ext4: inode %lu keeps its data inline", f->ino, 0);
	for (uint64_t lblk = 0; lblk < n;) {
		struct piece p;
		int rc = find(fs, f, lblk, n, &p);
		if (rc)
			return rc;
		uint64_t bytes = p.count * fs->block_size, left = f->size - lblk * fs->block_size;
		rc = fs_map_add(m, p.pblk ? fs->dev.base + p.pblk * fs->block_size : FS_HOLE,
				bytes < left ? bytes : left);
		if (rc)
			return fail(fs, rc, "ext4: inode %lu is in more than %lu pieces", f->ino, m->max);
		lblk += p.count;
	}
	return 0;
}

/* Reads up to len bytes of f at off: the count (short at the end), or -E... */
int ext4_read(struct ext4 *fs, const struct ext4_file *f, uint64_t off, uint32_t len, void *buf)
{
	uint8_t *out = buf;
	uint32_t done = 0;
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (uint32_t)(f->size - off);
	if (f->flags & INODE_INLINE_DATA_FL) {
		int rc = inline_check(fs, f);
		if (!rc)
			memcpy(out, (const uint8_t *)f->block + off, len);
		return rc ? rc : (int)len;
	}
	while (done < len) {
		struct piece p;
		uint64_t at = off + done, lblk = at / fs->block_size, in = at % fs->block_size;
		int rc = find(fs, f, lblk, file_blocks(fs, f), &p);
		if (rc)
			return rc;
		uint64_t avail = p.count * fs->block_size - in;
		uint32_t n = len - done < avail ? len - done : (uint32_t)avail;
		if (p.pblk)
			rc = rd(fs, p.pblk * fs->block_size + in, n, out + done);
		else
			memset(out + done, 0, n);
		if (rc)
			return rc;
		done += n;
	}
	return (int)done;
}
