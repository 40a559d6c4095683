/*
 * vmm/fs/ext4_dir.c - ext2/3/4 directories ("Directory Entries": linear
 * entries; a hashed directory's index blocks look like empty entries, so
 * it reads linearly too) and path lookup with symbolic links ("Symbolic
 * Links": fast ones in i_block, slow ones in data blocks). Portable.
 */
#include "vmm/fs/ext4.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define INODE_INLINE_DATA_FL 0x10000000
#define DIRENT_HEAD 8
#define NAME_MAX 255

struct ext4_dirent {                /* ext4_dir_entry_2 */
	uint32_t inode;                 /* 0x00: 0 = unused */
	uint16_t rec_len;               /* 0x04: to the next entry */
	uint8_t  name_len;              /* 0x06 */
	uint8_t  file_type;             /* 0x07 (with the filetype feature) */
} __attribute__((packed));
_Static_assert(sizeof(struct ext4_dirent) == DIRENT_HEAD, "a directory entry's head is 8 bytes");

static int fail(struct ext4 *fs, int code, const char *msg, uint64_t a, uint64_t b)
{
	fmt_snprintf(fs->why, fs->whylen, msg, a, b);
	return code;
}

static int is_dir(const struct ext4_file *f) { return (f->mode & EXT4_S_IFMT) == EXT4_S_IFDIR; }

/* rec_len as stored: 64 KiB blocks write 65536 as 0 or 65535 (ext4_rec_len_from_disk). */
static uint32_t rec_len_of(const struct ext4 *fs, uint16_t v)
{
	if (fs->block_size >= 65536 && (v == 0 || v == 65535))
		return 65536;
	return v;
}

/* The entries of one directory block (its bytes at file offset `off`). */
static int dir_block(struct ext4 *fs, const struct ext4_file *dir, uint64_t off,
		     int (*each)(void *, const char *, unsigned, uint32_t), void *ctx)
{
	char name[NAME_MAX + 1];
	for (uint32_t pos = 0; pos < fs->block_size;) {
		struct ext4_dirent e;
		int rc = ext4_read(fs, dir, off + pos, sizeof(e), &e);
		if (rc >= 0 && rc != sizeof(e))
			rc = fail(fs, -EUCLEAN, "ext4: directory inode %lu ends inside an entry", dir->ino, 0);
		if (rc < 0)
			return rc;
		uint32_t len = rec_len_of(fs, e.rec_len);
		if (len < DIRENT_HEAD || len % 4 || len > fs->block_size - pos ||
		    e.name_len > len - DIRENT_HEAD)
			return fail(fs, -EUCLEAN, "ext4: directory inode %lu has a damaged entry at byte %lu",
				    dir->ino, off + pos);
		if (e.inode && e.name_len) {
			rc = ext4_read(fs, dir, off + pos + DIRENT_HEAD, e.name_len, name);
			if (rc < 0)
				return rc;
			name[e.name_len] = 0;
			if ((rc = each(ctx, name, e.name_len, e.inode)))
				return rc;
		}
		pos += len;
	}
	return 0;
}

/* Calls each() per entry of directory dir, in disk order: 0, each's nonzero value, or -E... */
int ext4_dir_each(struct ext4 *fs, const struct ext4_file *dir,
		  int (*each)(void *ctx, const char *name, unsigned len, uint32_t ino), void *ctx)
{
	if (!is_dir(dir))
		return fail(fs, -ENOTDIR, "ext4: inode %lu is not a directory", dir->ino, 0);
	if (dir->flags & INODE_INLINE_DATA_FL)
		return fail(fs, -ENOTSUP, "ext4: directory inode %lu keeps its entries inline", dir->ino, 0);
	if (dir->size % fs->block_size)
		return fail(fs, -EUCLEAN, "ext4: directory inode %lu is %lu bytes, not whole blocks",
			    dir->ino, dir->size);
	for (uint64_t off = 0; off < dir->size; off += fs->block_size) {
		int rc = dir_block(fs, dir, off, each, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

struct find_name {
	const char *name;
	unsigned len;
	uint32_t ino;
};

static int match(void *ctx, const char *name, unsigned len, uint32_t ino)
{
	struct find_name *fn = ctx;
	if (len != fn->len || memcmp(name, fn->name, len))
		return 0;
	fn->ino = ino;
	return 1;
}

/* The inode of `name` (len bytes) in dir: 0 and *ino, -ENOENT, or -E... */
static int dir_find(struct ext4 *fs, const struct ext4_file *dir, const char *name, unsigned len,
		    uint32_t *ino)
{
	struct find_name fn = { name, len, 0 };
	int rc = ext4_dir_each(fs, dir, match, &fn);
	if (rc == 1) {
		*ino = fn.ino;
		return 0;
	}
	return rc ? rc : -ENOENT;
}

/*
 * A link's target into out (EXT4_PATH_MAX bytes). Fast links keep it in
 * i_block when the inode owns no data blocks (Linux's
 * ext4_inode_is_fast_symlink); slow ones in their data.
 */
static int link_target(struct ext4 *fs, const struct ext4_file *l, char *out)
{
	uint32_t acl_blocks = l->file_acl ? fs->block_size / 512 : 0;
	int fast = !(l->flags & INODE_INLINE_DATA_FL) && l->blocks_512 == acl_blocks;
	if (!l->size || l->size >= EXT4_PATH_MAX || (fast && l->size >= sizeof(l->block)))
		return fail(fs, l->size >= EXT4_PATH_MAX ? -ENAMETOOLONG : -EUCLEAN,
			    "ext4: symbolic link inode %lu is %lu bytes long", l->ino, l->size);
	int rc = (int)l->size;
	if (fast)
		memcpy(out, l->block, l->size);
	else
		rc = ext4_read(fs, l, 0, (uint32_t)l->size, out);
	if (rc >= 0 && (uint64_t)rc != l->size)
		rc = fail(fs, -EUCLEAN, "ext4: symbolic link inode %lu is shorter than its size", l->ino, 0);
	if (rc < 0)
		return rc;
	out[l->size] = 0;
	if (strlen(out) != l->size)
		return fail(fs, -EUCLEAN, "ext4: symbolic link inode %lu holds a NUL byte", l->ino, 0);
	return 0;
}

/*
 * Replaces the path being walked by the link's target followed by `rest`
 * (what came after the link), in the other working buffer.
 */
static int splice(struct ext4 *fs, const struct ext4_file *l, const char *rest, char **cur)
{
	char *next = *cur == fs->path[0] ? fs->path[1] : fs->path[0];
	int rc = link_target(fs, l, next);
	if (rc)
		return rc;
	size_t tl = strlen(next), rl = strlen(rest);
	if (tl + rl >= EXT4_PATH_MAX)
		return fail(fs, -ENAMETOOLONG, "ext4: path through link inode %lu is longer than %lu bytes",
			    l->ino, EXT4_PATH_MAX - 1);
	memmove(next + tl, rest, rl + 1);
	*cur = next;
	return 0;
}

/* Resolves an absolute path, following links at most 40 times: 0 and *f, or -E... with why. */
int ext4_lookup(struct ext4 *fs, const char *path, struct ext4_file *f)
{
	struct ext4_file dir;
	unsigned links = 0;
	char *cur = fs->path[0];
	fs->links_followed = 0;
	if (path[0] != '/' || strlen(path) >= EXT4_PATH_MAX)
		return fail(fs, -EINVAL, "ext4: bad path", 0, 0);
	memcpy(cur, path, strlen(path) + 1);
	int rc = ext4_inode_read(fs, EXT4_ROOT_INO, &dir);
	for (const char *p = cur; !rc;) {
		while (*p == '/')
			p++;
		if (!*p) {
			*f = dir;
			return 0;
		}
		const char *comp = p;
		while (*p && *p != '/')
			p++;
		uint32_t ino;
		struct ext4_file child;
		if (!is_dir(&dir)) {
			fmt_snprintf(fs->why, fs->whylen, "%.*s: not a directory", (int)(comp - cur), cur);
			return -ENOTDIR;
		}
		if (p - comp > NAME_MAX)
			return fail(fs, -ENAMETOOLONG, "ext4: a name is longer than 255 bytes", 0, 0);
		rc = dir_find(fs, &dir, comp, (unsigned)(p - comp), &ino);
		if (rc == -ENOENT)
			fmt_snprintf(fs->why, fs->whylen, "%.*s: not found", (int)(p - cur), cur);
		if (!rc)
			rc = ext4_inode_read(fs, ino, &child);
		if (rc)
			return rc;
		if ((child.mode & EXT4_S_IFMT) != EXT4_S_IFLNK) {
			dir = child;
			continue;
		}
		fs->links_followed = ++links;
		if (links > EXT4_SYMLINK_MAX)
			return fail(fs, -ELOOP, "ext4: more than %lu symbolic links", EXT4_SYMLINK_MAX, 0);
		if ((rc = splice(fs, &child, p, &cur)))
			return rc;
		p = cur;
		/* An absolute target starts again at the root; a relative one in the link's directory. */
		if (*cur == '/')
			rc = ext4_inode_read(fs, EXT4_ROOT_INO, &dir);
	}
	return rc;
}
