/*
 * vmm/fs/ext4.h - a read-only reader of ext2, ext3 and ext4 file systems,
 * enough to find and map a kernel: the superblock, group descriptors
 * (32- and 64-bit), inodes, extent trees and classic block maps,
 * directories (linear; hashed directories read linearly), fast and slow
 * symbolic links. The on-disk format is the Linux kernel's
 * Documentation/filesystems/ext4 ("Data Structures and Algorithms");
 * section names below refer to it. Portable; reads through fs_dev.h.
 *
 * Nothing on the disk is trusted: every block number is checked against
 * the file system, every extent tree node against its header and depth,
 * every directory entry against its block, and symbolic links are
 * followed at most EXT4_SYMLINK_MAX times.
 */
#ifndef HAKO_EXT4_H
#define HAKO_EXT4_H

#include <stdint.h>

#include "vmm/fs/fs_dev.h"

#define EXT4_ROOT_INO 2
#define EXT4_SYMLINK_MAX 40         /* as Linux's MAXSYMLINKS */
#define EXT4_PATH_MAX 1024          /* longer paths and link targets are refused */

struct ext4_super {                 /* "Super Block", at byte 1024 of the partition */
	uint32_t inodes_count;          /* 0x00 */
	uint32_t blocks_count_lo;       /* 0x04 */
	uint32_t r_blocks_count_lo;     /* 0x08 */
	uint32_t free_blocks_count_lo;  /* 0x0c */
	uint32_t free_inodes_count;     /* 0x10 */
	uint32_t first_data_block;      /* 0x14: 1 with 1 KiB blocks, else 0 */
	uint32_t log_block_size;        /* 0x18: block size = 1024 << this */
	uint32_t log_cluster_size;      /* 0x1c */
	uint32_t blocks_per_group;      /* 0x20 */
	uint32_t clusters_per_group;    /* 0x24 */
	uint32_t inodes_per_group;      /* 0x28 */
	uint32_t mtime, wtime;          /* 0x2c */
	uint16_t mnt_count;             /* 0x34 */
	uint16_t max_mnt_count;         /* 0x36 */
	uint16_t magic;                 /* 0x38: 0xef53 */
	uint16_t state, errors, minor_rev_level; /* 0x3a */
	uint32_t lastcheck, checkinterval, creator_os; /* 0x40 */
	uint32_t rev_level;             /* 0x4c: 0 original, 1 dynamic */
	uint16_t def_resuid, def_resgid;/* 0x50 */
	uint32_t first_ino;             /* 0x54 */
	uint16_t inode_size;            /* 0x58 */
	uint16_t block_group_nr;        /* 0x5a */
	uint32_t feature_compat;        /* 0x5c */
	uint32_t feature_incompat;      /* 0x60 */
	uint32_t feature_ro_compat;     /* 0x64 */
	uint8_t  uuid[16];              /* 0x68 */
	char     volume_name[16];       /* 0x78 */
	uint8_t  pad0[0xfe - 0x88];     /* 0x88: last_mounted ... def_hash_version */
	uint16_t desc_size;             /* 0xfe: group descriptor bytes with 64bit */
	uint32_t default_mount_opts;    /* 0x100 */
	uint32_t first_meta_bg;         /* 0x104 */
	uint8_t  pad1[0x150 - 0x108];   /* 0x108: mkfs_time, jnl_blocks */
	uint32_t blocks_count_hi;       /* 0x150 */
	uint8_t  pad2[0x24c - 0x154];
	uint32_t backup_bgs[2];         /* 0x24c: sparse_super2's backup groups */
	uint8_t  pad3[0x3fc - 0x254];
	uint32_t checksum;              /* 0x3fc: crc32c of 0x000-0x3fb (metadata_csum) */
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct ext4_super, magic) == 0x38, "ext4_super.magic");
_Static_assert(__builtin_offsetof(struct ext4_super, inode_size) == 0x58, "ext4_super.inode_size");
_Static_assert(__builtin_offsetof(struct ext4_super, desc_size) == 0xfe, "ext4_super.desc_size");
_Static_assert(__builtin_offsetof(struct ext4_super, blocks_count_hi) == 0x150, "ext4_super.hi");
_Static_assert(__builtin_offsetof(struct ext4_super, backup_bgs) == 0x24c, "ext4_super.backup_bgs");
_Static_assert(sizeof(struct ext4_super) == 1024, "the superblock is 1024 bytes");

struct ext4_group_desc {            /* "Block Group Descriptors" */
	uint32_t block_bitmap_lo;       /* 0x00 */
	uint32_t inode_bitmap_lo;       /* 0x04 */
	uint32_t inode_table_lo;        /* 0x08 */
	uint8_t  pad0[0x28 - 0x0c];
	uint32_t inode_table_hi;        /* 0x28: with 64bit (desc_size >= 64) */
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct ext4_group_desc, inode_table_hi) == 0x28, "gd.hi");

struct ext4_inode {                 /* "Index Nodes", the first 128 bytes */
	uint16_t mode;                  /* 0x00: type in bits 12-15 */
	uint16_t uid;                   /* 0x02 */
	uint32_t size_lo;               /* 0x04 */
	uint32_t atime, ctime, mtime, dtime; /* 0x08 */
	uint16_t gid;                   /* 0x18 */
	uint16_t links_count;           /* 0x1a */
	uint32_t blocks_lo;             /* 0x1c */
	uint32_t flags;                 /* 0x20 */
	uint32_t osd1;                  /* 0x24 */
	uint32_t block[15];             /* 0x28: block map, extent tree, or link target */
	uint32_t generation;            /* 0x64 */
	uint32_t file_acl_lo;           /* 0x68 */
	uint32_t size_high;             /* 0x6c */
	uint8_t  pad[0x80 - 0x70];
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct ext4_inode, block) == 0x28, "ext4_inode.block");
_Static_assert(__builtin_offsetof(struct ext4_inode, size_high) == 0x6c, "ext4_inode.size_high");
_Static_assert(sizeof(struct ext4_inode) == 128, "the base inode is 128 bytes");

#define EXT4_S_IFMT 0xf000
#define EXT4_S_IFREG 0x8000
#define EXT4_S_IFDIR 0x4000
#define EXT4_S_IFLNK 0xa000

/* An open file system. */
struct ext4 {
	struct fs_dev dev;
	uint32_t block_size;
	uint64_t blocks;
	uint32_t first_data_block, blocks_per_group, inodes_per_group, inodes_count;
	uint32_t inode_size, desc_size, groups;
	uint32_t incompat, ro_compat, compat, first_meta_bg;
	uint32_t backup_bgs[2];
	char *why;                      /* what was wrong, for errors other than -EAGAIN */
	unsigned whylen;
	char path[2][EXT4_PATH_MAX];    /* lookup's working space */
	unsigned links_followed;        /* by the last ext4_lookup() */
};

/* An inode as the readers use it. */
struct ext4_file {
	uint32_t ino;
	uint16_t mode;
	uint32_t flags;
	uint64_t size;
	uint32_t block[15];
	uint32_t blocks_512;            /* i_blocks_lo: 512-byte units in use, metadata included */
	uint32_t file_acl;              /* an extended-attribute block, or 0 */
};

/*
 * Reads and checks the superblock of `dev`. 0; -ENODEV when it is not an
 * ext2/3/4 file system; -EUCLEAN or -ENOTSUP (why says what); -EAGAIN.
 */
int ext4_open(struct ext4 *fs, const struct fs_dev *dev, char *why, unsigned whylen);
/* Reads and checks inode `ino`: 0, -EUCLEAN, -EAGAIN. */
int ext4_inode_read(struct ext4 *fs, uint32_t ino, struct ext4_file *f);
/*
 * Maps a file's blocks onto the disk (fs_dev.h's runs, disk offsets
 * absolute): 0, -E2BIG (more runs than m holds), -EUCLEAN, -EAGAIN.
 */
int ext4_map(struct ext4 *fs, const struct ext4_file *f, struct fs_map *m);
/*
 * Reads up to `len` bytes at `off` of a file: the count read (short at
 * its end) or -E...
 */
int ext4_read(struct ext4 *fs, const struct ext4_file *f, uint64_t off, uint32_t len, void *buf);
/*
 * Calls each(ctx, name, len, ino) for every entry of directory `dir` in
 * disk order; each returns nonzero to stop (that value is returned). 0
 * after the last entry, or -E...
 */
int ext4_dir_each(struct ext4 *fs, const struct ext4_file *dir,
		  int (*each)(void *ctx, const char *name, unsigned len, uint32_t ino), void *ctx);
/*
 * Resolves an absolute `path`, following symbolic links (relative ones
 * from their directory), "." and "..": 0 and *f, -ENOENT, -ENOTDIR,
 * -ELOOP, -ENAMETOOLONG, -EUCLEAN, -EAGAIN. For -ENOENT, why names the
 * component missing after links were followed.
 */
int ext4_lookup(struct ext4 *fs, const char *path, struct ext4_file *f);

#endif
