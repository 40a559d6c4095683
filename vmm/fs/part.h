/*
 * vmm/fs/part.h - partition tables: GPT (UEFI spec 2.10 chapter 5.3) and
 * MBR with extended partitions (the PC's classic table). Portable; reads
 * through struct fs_dev (fs_dev.h).
 */
#ifndef HAKO_PART_H
#define HAKO_PART_H

#include <stdint.h>

#include "vmm/fs/fs_dev.h"

#define PART_MAX 16

enum part_scheme { PART_NONE, PART_MBR, PART_GPT };

struct gpt_header {             /* UEFI 5.3.2, at LBA 1 (backup: last LBA) */
	char     signature[8];      /* 0x00: "EFI PART" */
	uint32_t revision;          /* 0x08 */
	uint32_t header_size;       /* 0x0c: 92 .. one block */
	uint32_t header_crc32;      /* 0x10: over header_size bytes, this field 0 */
	uint32_t reserved;          /* 0x14: 0 */
	uint64_t my_lba;            /* 0x18 */
	uint64_t alternate_lba;     /* 0x20 */
	uint64_t first_usable_lba;  /* 0x28 */
	uint64_t last_usable_lba;   /* 0x30 */
	uint8_t  disk_guid[16];     /* 0x38 */
	uint64_t entries_lba;       /* 0x48 */
	uint32_t num_entries;       /* 0x50 */
	uint32_t entry_size;        /* 0x54: 128 * 2^n */
	uint32_t entries_crc32;     /* 0x58 */
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct gpt_header, entries_crc32) == 0x58, "gpt_header");
_Static_assert(sizeof(struct gpt_header) == 92, "the GPT header is 92 bytes");

struct gpt_entry {              /* UEFI 5.3.3 */
	uint8_t  type_guid[16];     /* 0x00: all zero = unused */
	uint8_t  unique_guid[16];   /* 0x10: Linux's PARTUUID */
	uint64_t first_lba;         /* 0x20 */
	uint64_t last_lba;          /* 0x28: inclusive */
	uint64_t attributes;        /* 0x30 */
	uint16_t name[36];          /* 0x38: UTF-16LE */
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct gpt_entry, first_lba) == 0x20, "gpt_entry");
_Static_assert(sizeof(struct gpt_entry) == 128, "a GPT entry is 128 bytes");

struct mbr_entry {              /* at 0x1be + 16 * i of an MBR or EBR */
	uint8_t  status;            /* 0x00: 0x80 active, 0x00 inactive */
	uint8_t  chs_first[3];      /* 0x01 */
	uint8_t  type;              /* 0x04: 0 unused, 0xee GPT protective, 0x05/0x0f/0x85 extended */
	uint8_t  chs_last[3];       /* 0x05 */
	uint32_t first_lba;         /* 0x08 */
	uint32_t sectors;           /* 0x0c */
} __attribute__((packed));
_Static_assert(sizeof(struct mbr_entry) == 16, "an MBR entry is 16 bytes");

/* One partition found. */
struct part {
	unsigned index;             /* Linux's number (vdaN); 0: no table, the whole disk */
	uint64_t start, size;       /* bytes */
	int esp;                    /* EFI system partition (GPT type or MBR 0xef) */
	int xbootldr;               /* GPT "Linux extended boot" (the Boot Loader Specification's /boot) */
	uint8_t mbr_type;           /* 0 on GPT */
	char partuuid[40];          /* as PARTUUID= names it; "" when there is none */
};

/*
 * Reads the partition table of the disk `disk` (base 0, size its bytes)
 * whose logical blocks are `block` bytes (512 or 4096: where GPT's LBAs
 * count). Fills out[0..*n) in table order and *scheme. A disk with no
 * table yields PART_NONE and one entry, the whole disk (index 0), so a
 * file system written straight onto a disk is found too. 0, -EAGAIN, or
 * -EUCLEAN with a sentence in why (a table that claims to be one but is
 * inconsistent).
 */
int part_scan(const struct fs_dev *disk, uint32_t block, struct part *out, unsigned max,
	      unsigned *n, enum part_scheme *scheme, char *why, unsigned whylen);

#endif
