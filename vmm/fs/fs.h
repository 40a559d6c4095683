/*
 * vmm/fs/fs.h - one face for the file-system readers (ext2/3/4 in
 * ext4.c, FAT in fat.c): open a partition as whichever it is, look up
 * paths, read small files, list directories and map files onto the disk.
 * Portable; reads through fs_dev.h.
 */
#ifndef HAKO_FS_H
#define HAKO_FS_H

#include <stdint.h>

#include "vmm/fs/ext4.h"
#include "vmm/fs/fat.h"

#define FS_WHY_MAX 200

enum fs_kind { FS_EXT, FS_FAT };

/* A file or directory: ext4's inode number, or FAT's first cluster. */
struct fs_node {
	uint64_t id;
	uint64_t size;
	int dir;
};

struct fs {
	enum fs_kind kind;
	union {
		struct ext4 ext4;
		struct fat fat;
	} u;
	char why[FS_WHY_MAX];           /* what went wrong, after any error but -EAGAIN */
};

/*
 * Opens `dev` as an ext2/3/4 or a FAT file system: 0; -ENODEV when it is
 * neither; -EUCLEAN or -ENOTSUP (why says what); -EAGAIN.
 */
int fs_open(struct fs *fs, const struct fs_dev *dev);
/* "ext4" (or "ext2/3" without extents), "FAT12", "FAT16", "FAT32". */
const char *fs_name(const struct fs *fs);
/*
 * Resolves an absolute path (ext4: following symbolic links). 0, -ENOENT,
 * -ENOTDIR, -ELOOP, ... For -ENOENT `*via_link` is 1 when a link was
 * followed on the way (it points nowhere).
 */
int fs_lookup(struct fs *fs, const char *path, struct fs_node *n, int *via_link);
/* Reads up to len (< 2 GiB) bytes at off of a file: the count, or -E... */
int fs_read(struct fs *fs, const struct fs_node *n, uint64_t off, uint32_t len, void *buf);
/* A file's runs on the disk (fs_dev.h): 0 or -E... */
int fs_map(struct fs *fs, const struct fs_node *n, struct fs_map *m);
/* Calls each(ctx, name, len) for the entries of a directory; nonzero stops. 0 or -E... */
int fs_list(struct fs *fs, const struct fs_node *dir,
	    int (*each)(void *ctx, const char *name, unsigned len), void *ctx);

#endif
