/*
 * vmm/fs/bootfind.h - finding what an installed system boots: the
 * partition, the kernel, the initrd and the command line, as a boot
 * loader would (boot=disk, issue 19). Portable; reads through fs_dev.h.
 *
 * Each partition (the EFI system and extended-boot partitions first,
 * then the rest in table order) is opened as ext2/3/4 or FAT and asked,
 * in this order, for
 *   1. Boot Loader Specification entries, /loader/entries/ *.conf or
 *      /boot/loader/entries/ *.conf (`linux`, `initrd`, `options`): the
 *      entry whose file name sorts last, versions compared as numbers;
 *   2. an extlinux.conf, /extlinux/extlinux.conf, /boot/extlinux/
 *      extlinux.conf or /extlinux.conf (`DEFAULT`, `LABEL`, `LINUX` or
 *      `KERNEL`, `INITRD`, `APPEND`);
 *   3. Debian's links, /vmlinuz and /initrd.img (or /boot/vmlinuz and
 *      /boot/initrd.img): no command line, so the caller passes root=
 *      naming the partition found (PARTUUID, else /dev/vdaN).
 * The first that names a kernel wins. Nothing is read from the kernel or
 * initrd: the result says where their bytes are, so the caller can fetch
 * them straight into place.
 */
#ifndef HAKO_BOOTFIND_H
#define HAKO_BOOTFIND_H

#include <stdint.h>

#include "vmm/fs/fs_dev.h"

#define BOOT_CMDLINE_MAX 1024
#define BOOT_WHAT_MAX 200

struct boot_found {
	/* Runs on the disk; the caller provides the arrays (run, max). */
	struct fs_map kernel, initrd;   /* initrd.size 0: none */
	int has_cmdline;                /* the configuration gave a command line */
	char cmdline[BOOT_CMDLINE_MAX];
	char root[64];                  /* root= for the partition found */
	unsigned part;                  /* its number (0: the whole disk) */
	char what[BOOT_WHAT_MAX];       /* for the log: "partition 1 (ext4): /vmlinuz, /initrd.img" */
};

/*
 * Looks for a bootable system on the disk (base 0, size its bytes, logical
 * blocks of `block` bytes). 0 with *out filled; -EAGAIN (fetch and call
 * again); -ENOENT when nothing bootable is there, or another -E... when
 * what is there is damaged: `why` then says, in one sentence, what was
 * found and what is wrong with it.
 */
int boot_find(const struct fs_dev *disk, uint32_t block, struct boot_found *out, char *why,
	      unsigned whylen);

#endif
