/*
 * vmm/fs/fat.h - a read-only FAT12/16/32 reader for an ESP-style /boot
 * (Microsoft "FAT: General Overview of On-Disk Format" 1.03: the BPB,
 * the FAT, directory entries with long names). Portable; reads through
 * fs_dev.h. Cluster chains are followed at most as many steps as the
 * volume has clusters, so a looping chain ends in an error.
 */
#ifndef HAKO_FAT_H
#define HAKO_FAT_H

#include <stdint.h>

#include "vmm/fs/fs_dev.h"

struct fat_bpb {                    /* the boot sector's BIOS parameter block */
	uint8_t  jump[3];               /* 0x00: EB xx 90 or E9 xx xx */
	char     oem[8];                /* 0x03 */
	uint16_t bytes_per_sec;         /* 0x0b: 512, 1024, 2048 or 4096 */
	uint8_t  sec_per_clus;          /* 0x0d: a power of two */
	uint16_t rsvd_sec_cnt;          /* 0x0e */
	uint8_t  num_fats;              /* 0x10 */
	uint16_t root_ent_cnt;          /* 0x11: 0 on FAT32 */
	uint16_t tot_sec16;             /* 0x13 */
	uint8_t  media;                 /* 0x15 */
	uint16_t fat_sz16;              /* 0x16: 0 on FAT32 */
	uint16_t sec_per_trk, num_heads;/* 0x18 */
	uint32_t hidd_sec;              /* 0x1c */
	uint32_t tot_sec32;             /* 0x20 */
	uint32_t fat_sz32;              /* 0x24: FAT32 only from here */
	uint16_t ext_flags, fs_ver;     /* 0x28 */
	uint32_t root_clus;             /* 0x2c */
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct fat_bpb, tot_sec32) == 0x20, "fat_bpb.tot_sec32");
_Static_assert(__builtin_offsetof(struct fat_bpb, root_clus) == 0x2c, "fat_bpb.root_clus");

struct fat_dirent {                 /* a short (8.3) directory entry */
	char     name[11];              /* 0x00: 0 = end, 0xe5 = deleted */
	uint8_t  attr;                  /* 0x0b: 0x0f = a long-name piece */
	uint8_t  nt_res, crt_time_tenth;/* 0x0c */
	uint16_t crt_time, crt_date, lst_acc_date; /* 0x0e */
	uint16_t fst_clus_hi;           /* 0x14 */
	uint16_t wrt_time, wrt_date;    /* 0x16 */
	uint16_t fst_clus_lo;           /* 0x1a */
	uint32_t file_size;             /* 0x1c */
} __attribute__((packed));
_Static_assert(sizeof(struct fat_dirent) == 32, "a FAT directory entry is 32 bytes");

#define FAT_NAME_MAX 255

struct fat {
	struct fs_dev dev;
	int bits;                       /* 12, 16 or 32 */
	uint32_t bytes_per_sec, cluster_bytes;
	uint64_t fat_off;               /* the first FAT, bytes */
	uint64_t root_off;              /* FAT12/16: the fixed root directory, bytes */
	uint32_t root_bytes;
	uint32_t root_clus;             /* FAT32 */
	uint64_t data_off;              /* cluster 2 */
	uint32_t clusters;              /* data clusters: valid numbers are 2 .. clusters + 1 */
	char *why;
	unsigned whylen;
};

/* A file or directory: its first cluster (0: the FAT12/16 root) and size. */
struct fat_file {
	uint32_t cluster;
	uint64_t size;
	int dir;
};

/* Reads and checks the boot sector: 0, -ENODEV (not FAT), -EUCLEAN, -EAGAIN. */
int fat_open(struct fat *fs, const struct fs_dev *dev, char *why, unsigned whylen);
/* The root directory. */
struct fat_file fat_root(const struct fat *fs);
/* Resolves an absolute path (names compared without regard to ASCII case). */
int fat_lookup(struct fat *fs, const char *path, struct fat_file *f);
/* Calls each(ctx, name, len, file) per entry (long name when there is one); nonzero stops. */
int fat_dir_each(struct fat *fs, const struct fat_file *dir,
		 int (*each)(void *ctx, const char *name, unsigned len, const struct fat_file *f),
		 void *ctx);
/* Reads up to len bytes at off: the count or -E... */
int fat_read(struct fat *fs, const struct fat_file *f, uint64_t off, uint32_t len, void *buf);
/* The file's runs on the disk (absolute offsets): 0, -E2BIG, -EUCLEAN, -EAGAIN. */
int fat_map(struct fat *fs, const struct fat_file *f, struct fs_map *m);

#endif
