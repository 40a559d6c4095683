/*
 * tests/unit/fuzz_fs.c - libFuzzer target for the partition-table and
 * file-system readers (vmm/fs/): boot_find() on a real image
 * (tests/unit/mkfsimg.sh's, in build/unit/fsimg/) damaged by the input.
 * Input: one byte choosing the image, then 5-byte patches, each a 32-bit
 * offset (into the image's first 4 MiB) and a byte to XOR there, so the
 * fuzzer works on the metadata of real file systems rather than on
 * random bytes that are never a superblock. A patch's offset hits the
 * partition table half the time.
 *   make fuzz build/unit/fsimg/stamp && build/fuzz/fuzz_fs -max_total_time=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/fs/bootfind.h"

static const char *const names[] = { "gpt_ext4.img", "mbr_ext2.img", "frag_ext4.img",
				     "esp_entries.img", "fat12_ext.img", "broken_link.img",
				     "fat32_mbr.img" };
#define NIMG (sizeof(names) / sizeof(names[0]))
static uint8_t *work[NIMG];
static uint64_t size[NIMG];

struct img {
	const uint8_t *data;
	uint64_t size;
};

static int img_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
	const struct img *im = ctx;
	if (off > im->size || len > im->size - off)
		return -5;
	memcpy(buf, im->data + off, len);
	return 0;
}
static const struct disk_ops ops = { img_read };

static void load(unsigned k)
{
	char path[256];
	snprintf(path, sizeof(path), "build/unit/fsimg/%s", names[k]);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz_fs: no %s (make build/unit/fsimg/stamp)\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	size[k] = (uint64_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	work[k] = malloc(size[k]);
	if (fread(work[k], 1, size[k], f) != size[k])
		exit(1);
	fclose(f);
}

static void patch(unsigned k, const uint8_t *data, size_t len)
{
	uint64_t span = size[k] < (4u << 20) ? size[k] : (4u << 20);
	for (size_t i = 1; i + 5 <= len; i += 5) {
		uint32_t off;
		memcpy(&off, data + i, 4);
		work[k][(off & 1 ? off % 65536 : off) % span] ^= data[i + 4];
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct fs_run kr[512], ir[512];
	static struct boot_found found;
	char why[300];
	if (!len)
		return 0;
	unsigned k = data[0] % NIMG;
	if (!work[k])
		load(k);
	patch(k, data, len);
	struct img im = { work[k], size[k] };
	struct fs_dev d = { &ops, &im, 0, im.size };
	found.kernel = (struct fs_map){ kr, 0, 512, 0 };
	found.initrd = (struct fs_map){ ir, 0, 512, 0 };
	(void)boot_find(&d, 512, &found, why, sizeof(why)); /* any answer; no crash, no hang */
	patch(k, data, len);   /* XOR again: the image is whole for the next input */
	return 0;
}
