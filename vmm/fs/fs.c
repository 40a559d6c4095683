/*
 * vmm/fs/fs.c - the file-system readers behind one face (see fs.h).
 * Portable.
 */
#include "vmm/fs/fs.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define INCOMPAT_EXTENTS 0x0040

/* Opens dev as ext2/3/4 or FAT: 0, -ENODEV (neither), -EUCLEAN, -ENOTSUP, -EAGAIN.
 * ext2/3/4 first: its superblock at byte 1024 cannot look like a FAT boot sector. */
int fs_open(struct fs *fs, const struct fs_dev *dev)
{
	fs->why[0] = 0;
	fs->kind = FS_EXT;
	int rc = ext4_open(&fs->u.ext4, dev, fs->why, sizeof(fs->why));
	if (rc != -ENODEV)
		return rc;
	fs->kind = FS_FAT;
	return fat_open(&fs->u.fat, dev, fs->why, sizeof(fs->why));
}

const char *fs_name(const struct fs *fs)
{
	if (fs->kind == FS_EXT)
		return fs->u.ext4.incompat & INCOMPAT_EXTENTS ? "ext4" : "ext2/3";
	switch (fs->u.fat.bits) {
	case 12: return "FAT12";
	case 16: return "FAT16";
	case 32: return "FAT32";
	default: return "FAT";   /* its boot sector did not get that far */
	}
}

static struct fs_node ext_node(const struct ext4_file *f)
{
	return (struct fs_node){ f->ino, f->size, (f->mode & EXT4_S_IFMT) == EXT4_S_IFDIR };
}

static struct fat_file fat_file_of(const struct fs_node *n)
{
	return (struct fat_file){ (uint32_t)n->id, n->size, n->dir };
}

/* Resolves path (ext4: through links): 0 and *n; for -ENOENT *via_link says a link was followed. */
int fs_lookup(struct fs *fs, const char *path, struct fs_node *n, int *via_link)
{
	*via_link = 0;
	if (fs->kind == FS_EXT) {
		struct ext4_file f;
		int rc = ext4_lookup(&fs->u.ext4, path, &f);
		*via_link = fs->u.ext4.links_followed > 0;
		if (!rc)
			*n = ext_node(&f);
		return rc;
	}
	struct fat_file f;
	int rc = fat_lookup(&fs->u.fat, path, &f);
	if (!rc)
		*n = (struct fs_node){ f.cluster, f.size, f.dir };
	return rc;
}

/* Reads up to len bytes of n at off: the count, or -E... */
int fs_read(struct fs *fs, const struct fs_node *n, uint64_t off, uint32_t len, void *buf)
{
	if (fs->kind == FS_FAT) {
		struct fat_file f = fat_file_of(n);
		return fat_read(&fs->u.fat, &f, off, len, buf);
	}
	struct ext4_file f;
	int rc = ext4_inode_read(&fs->u.ext4, (uint32_t)n->id, &f);
	return rc ? rc : ext4_read(&fs->u.ext4, &f, off, len, buf);
}

/* The runs of file n on the disk: 0 or -E... */
int fs_map(struct fs *fs, const struct fs_node *n, struct fs_map *m)
{
	if (fs->kind == FS_FAT) {
		struct fat_file f = fat_file_of(n);
		return fat_map(&fs->u.fat, &f, m);
	}
	struct ext4_file f;
	int rc = ext4_inode_read(&fs->u.ext4, (uint32_t)n->id, &f);
	return rc ? rc : ext4_map(&fs->u.ext4, &f, m);
}

struct list_ctx {
	int (*each)(void *ctx, const char *name, unsigned len);
	void *ctx;
};

static int list_ext(void *ctx, const char *name, unsigned len, uint32_t ino)
{
	const struct list_ctx *l = ctx;
	(void)ino; /* callers want names only */
	return l->each(l->ctx, name, len);
}

static int list_fat(void *ctx, const char *name, unsigned len, const struct fat_file *f)
{
	const struct list_ctx *l = ctx;
	(void)f; /* callers want names only */
	return l->each(l->ctx, name, len);
}

/* Calls each(ctx, name, len) per entry of dir: 0, each's nonzero value, or -E... */
int fs_list(struct fs *fs, const struct fs_node *dir,
	    int (*each)(void *ctx, const char *name, unsigned len), void *ctx)
{
	struct list_ctx l = { each, ctx };
	if (fs->kind == FS_FAT) {
		struct fat_file f = fat_file_of(dir);
		return fat_dir_each(&fs->u.fat, &f, list_fat, &l);
	}
	struct ext4_file f;
	int rc = ext4_inode_read(&fs->u.ext4, (uint32_t)dir->id, &f);
	return rc ? rc : ext4_dir_each(&fs->u.ext4, &f, list_ext, &l);
}
