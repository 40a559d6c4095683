/*
 * tests/unit/test_fs.c - the partition-table and file-system readers
 * (vmm/fs/) on real images that tests/unit/mkfsimg.sh makes with mkfs.ext4,
 * debugfs, sgdisk, mkfs.vfat and mtools (build/unit/fsimg/, beside this
 * binary), and on damaged copies of them. Every byte a reader maps is
 * checked against the pattern the script wrote. Each image is also read
 * the way the kernel reads it: through a cache that answers -EAGAIN for
 * blocks it does not hold, the reader run again after each fetch.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/core/lib/errno.h"
#include "vmm/fs/bootfind.h"
#include "vmm/fs/fs.h"
#include "vmm/fs/part.h"

static char dir[512];

struct img {
	uint8_t *data;
	uint64_t size;
	/* the kernel's way: 4 KiB chunks present or not */
	uint8_t *have;
	int cached;
	unsigned misses;
};

static int img_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
	struct img *im = ctx;
	if (off > im->size || len > im->size - off)
		return -EIO;
	if (im->cached)
		for (uint64_t c = off >> 12; c <= (off + len - 1) >> 12; c++)
			if (!im->have[c]) {
				im->have[c] = 1;   /* "fetched" for the next run */
				im->misses++;
				return -EAGAIN;
			}
	memcpy(buf, im->data + off, len);
	return 0;
}
static const struct disk_ops img_ops = { img_read };

static struct img load(const char *name)
{
	char path[700];
	struct img im = { 0 };
	snprintf(path, sizeof(path), "%s/fsimg/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("cannot open %s (run tests/unit/mkfsimg.sh)\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	im.size = (uint64_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	im.data = malloc(im.size);
	if (fread(im.data, 1, im.size, f) != im.size)
		exit(2);
	fclose(f);
	im.have = calloc(im.size / 4096 + 1, 1);
	return im;
}

static void unload(struct img *im)
{
	free(im->data);
	free(im->have);
}

static struct fs_dev whole(struct img *im)
{
	return (struct fs_dev){ &img_ops, im, 0, im->size };
}

/* mkfsimg.sh's pattern(seed, n). */
static uint8_t *pattern(unsigned seed, uint64_t n)
{
	uint8_t *out = malloc(n + 4);
	uint32_t x = (uint32_t)((uint64_t)seed * 2654435761u);
	for (uint64_t i = 0; i < n; i += 4) {
		x = x * 1103515245u + 12345u;
		memcpy(out + i, &x, 4);
	}
	return out;
}

/* Do the runs of m, read from the image, give the pattern's bytes? */
static int map_is(const struct img *im, const struct fs_map *m, unsigned seed, uint64_t size)
{
	uint8_t *want = pattern(seed, size);
	uint64_t pos = 0;
	int ok = m->size == size;
	for (unsigned i = 0; ok && i < m->n; i++) {
		const struct fs_run *r = &m->run[i];
		if (r->disk == FS_HOLE)
			ok = 0;   /* the test files have no holes */
		else
			ok = r->disk + r->len <= im->size && !memcmp(im->data + r->disk, want + pos, r->len);
		pos += r->len;
	}
	free(want);
	return ok && pos == size;
}

static struct fs_run kruns[4096], iruns[4096];
static struct boot_found found;
static char why[300];

static int find(struct img *im)
{
	struct fs_dev d = whole(im);
	found.kernel = (struct fs_map){ kruns, 0, 4096, 0 };
	found.initrd = (struct fs_map){ iruns, 0, 4096, 0 };
	return boot_find(&d, 512, &found, why, sizeof(why));
}

/* The kernel's way: run again after every miss. */
static int find_cached(struct img *im, unsigned *runs)
{
	int rc;
	im->cached = 1;
	memset(im->have, 0, im->size / 4096 + 1);
	*runs = 0;
	do {
		rc = find(im);
		(*runs)++;
	} while (rc == -EAGAIN && *runs < 100000);
	im->cached = 0;
	return rc;
}

/* ---- partition tables ---- */

static void test_gpt(void)
{
	struct img im = load("gpt_ext4.img");
	struct fs_dev d = whole(&im);
	struct part p[PART_MAX];
	enum part_scheme s;
	unsigned n;
	CHECK_EQ(part_scan(&d, 512, p, PART_MAX, &n, &s, why, sizeof(why)), 0);
	CHECK_EQ(s, PART_GPT);
	CHECK_EQ(n, 1);
	CHECK_EQ(p[0].index, 1);
	CHECK_EQ(p[0].start, 1 << 20);
	CHECK_EQ(p[0].size, 14 << 20);
	CHECK_STREQ(p[0].partuuid, "0fc63daf-0000-4000-8000-00000000aaaa");
	/* A damaged primary header: the backup at the last block is used. */
	im.data[512 + 0x20] ^= 0xff;
	CHECK_EQ(part_scan(&d, 512, p, PART_MAX, &n, &s, why, sizeof(why)), 0);
	CHECK_EQ(n, 1);
	/* Both damaged: one sentence. */
	im.data[im.size - 512 + 0x30] ^= 0xff;
	CHECK_EQ(part_scan(&d, 512, p, PART_MAX, &n, &s, why, sizeof(why)), -EUCLEAN);
	CHECK_CONTAINS(why, "backup GPT");
	unload(&im);
}

static void test_mbr(void)
{
	struct img im = load("mbr_ext2.img");
	struct fs_dev d = whole(&im);
	struct part p[PART_MAX];
	enum part_scheme s;
	unsigned n;
	CHECK_EQ(part_scan(&d, 512, p, PART_MAX, &n, &s, why, sizeof(why)), 0);
	CHECK_EQ(s, PART_MBR);
	CHECK_EQ(n, 2);
	CHECK_EQ(p[0].index, 1);
	CHECK_EQ(p[0].start, 1 << 20);
	CHECK_STREQ(p[0].partuuid, "1234abcd-01");
	CHECK_EQ(p[1].index, 5);
	CHECK_EQ(p[1].start, 6 << 20);
	CHECK_EQ(p[1].size, 4 << 20);
	/* An EBR chain that goes back: EBR 1 -> EBR 2 (4096 further) -> EBR 1 + 1. */
	uint8_t *e1 = im.data + 10240 * 512 + 0x1ce, *e2 = im.data + 14336 * 512;
	uint32_t rel2 = 4096, back = 1, one = 1;
	memcpy(e1, "\0\0\0\0\x05\0\0\0", 8);
	memcpy(e1 + 8, &rel2, 4);
	memcpy(e1 + 12, &one, 4);
	memcpy(e2 + 0x1ce, e1, 8);
	memcpy(e2 + 0x1ce + 8, &back, 4);
	memcpy(e2 + 0x1ce + 12, &one, 4);
	e2[510] = 0x55, e2[511] = 0xaa;
	CHECK_EQ(part_scan(&d, 512, p, PART_MAX, &n, &s, why, sizeof(why)), -EUCLEAN);
	CHECK_CONTAINS(why, "backwards");
	/* A partition past the end of the disk. */
	d.size = 4 << 20;
	CHECK_EQ(part_scan(&d, 512, p, PART_MAX, &n, &s, why, sizeof(why)), -EUCLEAN);
	unload(&im);
}

/* ---- whole boots ---- */

static void test_debian_links(void)
{
	struct img im = load("gpt_ext4.img");
	CHECK_EQ(find(&im), 0);
	CHECK(map_is(&im, &found.kernel, 1, 300000));
	CHECK(map_is(&im, &found.initrd, 2, 123457));
	CHECK_EQ(found.has_cmdline, 0);
	CHECK_STREQ(found.root, "PARTUUID=0fc63daf-0000-4000-8000-00000000aaaa");
	CHECK_EQ(found.part, 1);
	CHECK_CONTAINS(found.what, "partition 1 (ext4): /vmlinuz");
	unsigned runs;
	CHECK_EQ(find_cached(&im, &runs), 0);
	CHECK(map_is(&im, &found.kernel, 1, 300000));
	printf("  gpt_ext4 through the cache: %u runs, %u misses\n", runs, im.misses);
	CHECK(runs < 200);
	unload(&im);
}

static void test_block_maps(void)
{
	struct img im = load("mbr_ext2.img");
	CHECK_EQ(find(&im), 0);
	CHECK(map_is(&im, &found.kernel, 3, 700000));    /* double indirect with 1 KiB blocks */
	CHECK(map_is(&im, &found.initrd, 4, 5000));      /* through a slow link */
	CHECK_STREQ(found.root, "PARTUUID=1234abcd-01");
	CHECK_CONTAINS(found.what, "ext2/3");
	unload(&im);
}

static void test_extent_index(void)
{
	struct img im = load("frag_ext4.img");
	unsigned runs;
	CHECK_EQ(find(&im), 0);
	CHECK(map_is(&im, &found.kernel, 5, 150000));
	CHECK(found.kernel.n >= 20);
	CHECK_EQ(found.initrd.size, 0);
	CHECK_STREQ(found.root, "/dev/vda");
	CHECK_EQ(find_cached(&im, &runs), 0);
	CHECK(map_is(&im, &found.kernel, 5, 150000));
	unload(&im);
}

static void test_loader_entries(void)
{
	struct img im = load("esp_entries.img");
	CHECK_EQ(find(&im), 0);
	CHECK(map_is(&im, &found.kernel, 6, 200000));    /* 6.1 sorts after 5.10 */
	CHECK(map_is(&im, &found.initrd, 7, 40000));
	CHECK_EQ(found.has_cmdline, 1);
	CHECK_STREQ(found.cmdline, "root=UUID=abcd ro quiet");
	CHECK_CONTAINS(found.what, "FAT16");
	CHECK_CONTAINS(found.what, "debian-6.1.0-10-amd64.conf");
	unload(&im);
}

static void test_extlinux_fat12(void)
{
	struct img im = load("fat12_ext.img");
	unsigned runs;
	CHECK_EQ(find(&im), 0);
	CHECK(map_is(&im, &found.kernel, 9, 90000));
	CHECK(map_is(&im, &found.initrd, 10, 3000));
	CHECK_STREQ(found.cmdline, "console=ttyS0 root=/dev/vda");
	CHECK_CONTAINS(found.what, "FAT12 on the whole disk: /extlinux/extlinux.conf");
	CHECK_EQ(find_cached(&im, &runs), 0);
	CHECK(map_is(&im, &found.kernel, 9, 90000));
	unload(&im);
}

static void test_fat32_long_names(void)
{
	struct img im = load("fat32_mbr.img");
	CHECK_EQ(find(&im), 0);
	CHECK(map_is(&im, &found.kernel, 11, 250000));
	CHECK(map_is(&im, &found.initrd, 12, 33333));
	CHECK_STREQ(found.cmdline, "root=LABEL=x");
	CHECK_CONTAINS(found.what, "partition 1 (FAT32): /boot/loader/entries/x-7.0.0.conf");
	CHECK_STREQ(found.root, "PARTUUID=fa7f32aa-01");
	unload(&im);
}

/* ---- what is not bootable: one sentence each ---- */

static void test_blank(void)
{
	struct img im = { calloc(8 << 20, 1), 8 << 20, calloc(2049, 1), 0, 0 };
	CHECK_EQ(find(&im), -ENOENT);
	CHECK_CONTAINS(why, "no partition table and no file system");
	unload(&im);
}

static void test_link_nowhere(void)
{
	struct img im = load("broken_link.img");
	CHECK_EQ(find(&im), -EUCLEAN);
	CHECK_CONTAINS(why, "partition 1 (ext4): /vmlinuz points nowhere");
	CHECK_CONTAINS(why, "boot/vmlinuz-missing: not found");
	unload(&im);
}

static void test_link_loop(void)
{
	struct img im = load("loop.img");
	CHECK(find(&im) < 0);
	CHECK_CONTAINS(why, "more than 40 symbolic links");
	unload(&im);
}

static void fix_sb_csum(struct img *im, uint64_t sb)
{
	uint32_t c = fs_crc32c_le(~0u, im->data + sb, 0x3fc);
	memcpy(im->data + sb + 0x3fc, &c, 4);
}

static void test_bad_superblock(void)
{
	struct img im = load("gpt_ext4.img");
	uint64_t sb = (1 << 20) + 1024;
	im.data[sb + 0x18] = 9;                      /* log_block_size: the checksum catches it */
	CHECK_EQ(find(&im), -EUCLEAN);
	CHECK_CONTAINS(why, "partition 1 (ext4): ext4 superblock: checksum mismatch");
	fix_sb_csum(&im, sb);                        /* and without the checksum, the check itself */
	CHECK_EQ(find(&im), -EUCLEAN);
	CHECK_CONTAINS(why, "block size 1024 << 9 is invalid");
	im.data[sb + 0x18] = 2;
	memset(im.data + sb + 0x28, 0, 4);           /* inodes per group */
	fix_sb_csum(&im, sb);
	CHECK_EQ(find(&im), -EUCLEAN);
	CHECK_CONTAINS(why, "0 inodes per group is invalid");
	unload(&im);
	/* A file system larger than its partition (a truncated copy). */
	im = load("frag_ext4.img");
	im.size = 1 << 20;
	CHECK_EQ(find(&im), -EUCLEAN);
	CHECK_CONTAINS(why, "do not fit in the partition");
	unload(&im);
}

/* Random damage to the metadata of each image: errors, never a crash or a hang. */
static void test_damage_sweep(void)
{
	static const char *const names[] = { "gpt_ext4.img", "mbr_ext2.img", "frag_ext4.img",
					     "esp_entries.img", "fat12_ext.img", "fat32_mbr.img" };
	static const uint64_t parts[] = { 1 << 20, 1 << 20, 0, 1 << 20, 0, 1 << 20 };
	unsigned seed = 12345, found_ok = 0, failed = 0;
	for (unsigned k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct img im = load(names[k]);
		uint8_t *orig = malloc(im.size);
		memcpy(orig, im.data, im.size);
		for (unsigned t = 0; t < 300; t++) {
			memcpy(im.data, orig, im.size);
			for (unsigned j = 0; j < 1 + t % 8; j++) {
				seed = seed * 1103515245u + 12345u;
				/* the tables, then the first MiB of the file system: superblock,
				 * descriptors, inode table, FATs, directories */
				uint64_t base = seed & 0x100 ? 0 : parts[k];
				uint64_t at = base + (seed >> 9) % (seed & 0x100 ? 64 << 10 : 1 << 20);
				im.data[at] ^= (uint8_t)(1u << (seed & 7));
			}
			int rc = find(&im);
			if (rc)
				failed++, CHECK(why[0] != 0);
			else
				found_ok++, CHECK(found.kernel.size > 0);
		}
		free(orig);
		unload(&im);
	}
	printf("  damage sweep: %u still boot, %u refused\n", found_ok, failed);
}

int main(int argc, char **argv)
{
	(void)argc;
	snprintf(dir, sizeof(dir), "%s", dirname(argv[0]));
	RUN(test_gpt);
	RUN(test_mbr);
	RUN(test_debian_links);
	RUN(test_block_maps);
	RUN(test_extent_index);
	RUN(test_loader_entries);
	RUN(test_extlinux_fat12);
	RUN(test_fat32_long_names);
	RUN(test_blank);
	RUN(test_link_nowhere);
	RUN(test_link_loop);
	RUN(test_bad_superblock);
	RUN(test_damage_sweep);
	return check_done();
}
