/*
 * tests/unit/test_disk_boot.c - reading what a disk boots through the
 * block layer (vmm/disk_boot.c), as `start` does for boot=disk: the
 * images of tests/unit/mkfsimg.sh on fake disks with 512- and 4096-byte
 * blocks, the kernel read into its buffer and the initrd put into a fake
 * guest memory, every byte checked; bad disks give their sentence; a
 * read error and an abandoned read with requests in flight.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "tests/unit/fakedisk.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/disk_boot.h"

static void *host_alloc(uint64_t n) { return calloc(1, n); }
static void host_free(void *p, uint64_t n) { (void)n; free(p); }
static const void *host_file(const char *name, uint64_t *size) { (void)name, (void)size; return 0; }
static const struct blk_host_ops host = { host_alloc, host_free, host_file, 0, 0 };

static char dir[512];
#define GUEST_MEM (32u << 20)
#define INITRD_GPA (20u << 20)
static uint8_t *guest;
static uint64_t planned_len;

static int plan(void *ctx, const void *k, uint64_t klen, uint64_t ilen, uint64_t *gpa, const char **why)
{
	(void)ctx, (void)k, (void)klen;
	planned_len = ilen;
	if (ilen > GUEST_MEM - INITRD_GPA)
		return *why = "too big", -ENOMEM;
	*gpa = INITRD_GPA;
	return 0;
}

static void put(void *ctx, uint64_t gpa, const void *src, uint64_t n)
{
	(void)ctx;
	if (gpa + n > GUEST_MEM) {
		printf("put beyond guest memory\n");
		abort();
	}
	if (src)
		memcpy(guest + gpa, src, n);
	else
		memset(guest + gpa, 0, n);
}
static const struct disk_boot_ops ops = { plan, put };

static uint8_t *load(const char *name, uint64_t *size)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/fsimg/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*size = (uint64_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(*size);
	if (fread(p, 1, *size, f) != *size)
		exit(2);
	fclose(f);
	return p;
}

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

/* Boots image `name` from a fake disk of `bs`-byte blocks: 0 or -E..., err filled. */
static int boot(const char *name, uint32_t bs, struct disk_boot **out, char *err, unsigned len)
{
	uint64_t size;
	uint8_t *img = load(name, &size);
	fake_setup(0, bs, size / bs, img);
	free(img);
	struct blockdev *d = 0;
	char e[200];
	CHECK_EQ(blk_sync_open("fake:0", 1, &d, e, sizeof(e)), 0);
	memset(guest, 0xaa, GUEST_MEM);
	CHECK_EQ(disk_boot_begin(d, &ops, 0, out), 0);
	int rc;
	unsigned spins = 0;
	while ((rc = disk_boot_poll(*out, err, len)) == -EINPROGRESS && spins++ < 100000)
		blk_poll();
	return rc;
}

static void check_boot(const char *name, uint32_t bs, unsigned kseed, uint64_t klen,
		       unsigned iseed, uint64_t ilen)
{
	struct disk_boot *db;
	char err[DISK_BOOT_ERR_MAX] = "";
	int rc = boot(name, bs, &db, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc) {
		printf("     %s: %s\n", name, err);
		disk_boot_end(db);
		return;
	}
	uint64_t got;
	const void *k = disk_boot_kernel(db, &got);
	uint8_t *want = pattern(kseed, klen);
	CHECK_EQ(got, klen);
	CHECK(!memcmp(k, want, klen));
	free(want);
	CHECK_EQ(planned_len, ilen);
	want = pattern(iseed, ilen);
	CHECK(!memcmp(guest + INITRD_GPA, want, ilen));
	free(want);
	const struct disk_boot_stats *st = disk_boot_stats(db);
	printf("  %s, %u-byte blocks: %u finds, %u metadata reads (%lu KiB), %u data reads\n", name,
	       bs, st->finds, st->meta_reads, (unsigned long)(st->meta_bytes >> 10), st->bulk_reads);
	disk_boot_end(db);
}

static void test_debian_layout(void) { check_boot("gpt_ext4.img", 512, 1, 300000, 2, 123457); }
static void test_block_maps(void) { check_boot("mbr_ext2.img", 512, 3, 700000, 4, 5000); }
/* 1 KiB file-system blocks and 2 KiB clusters on 4 KiB-block disks: pieces off the disk's blocks */
static void test_unaligned(void)
{
	check_boot("frag_ext4.img", 4096, 5, 150000, 0, 0);
	check_boot("fat12_ext.img", 4096, 9, 90000, 10, 3000);
}
static void test_fat_entries(void) { check_boot("esp_entries.img", 512, 6, 200000, 7, 40000); }

static void test_bad_disks(void)
{
	struct disk_boot *db;
	char err[DISK_BOOT_ERR_MAX] = "";
	CHECK_EQ(boot("broken_link.img", 512, &db, err, sizeof(err)), -EUCLEAN);
	CHECK_CONTAINS(err, "/vmlinuz points nowhere");
	disk_boot_end(db);
	CHECK_EQ(boot("loop.img", 512, &db, err, sizeof(err)), -EUCLEAN);
	CHECK_CONTAINS(err, "more than 40 symbolic links");
	disk_boot_end(db);
}

/* The disk fails mid-way: the error, and nothing in flight afterwards. */
static void test_read_error(void)
{
	struct disk_boot *db;
	char err[DISK_BOOT_ERR_MAX] = "";
	uint64_t size;
	uint8_t *img = load("gpt_ext4.img", &size);
	struct fake_disk *f = fake_setup(0, 512, size / 512, img);
	free(img);
	struct blockdev *d = 0;
	CHECK_EQ(blk_sync_open("fake:0", 1, &d, err, sizeof(err)), 0);
	CHECK_EQ(disk_boot_begin(d, &ops, 0, &db), 0);
	int rc;
	for (unsigned i = 0; (rc = disk_boot_poll(db, err, sizeof(err))) == -EINPROGRESS; i++) {
		if (i == 3)
			f->cut = 1;   /* the disk dies: every request from now on fails */
		blk_poll();
	}
	CHECK_EQ(rc, -EIO);
	CHECK_CONTAINS(err, "reading the disk failed");
	disk_boot_end(db);
	blk_close(d);
}

/* Abandoned with reads queued: freed when they complete, nothing written. */
static void test_abandon(void)
{
	struct disk_boot *db;
	char err[200];
	uint64_t size;
	uint8_t *img = load("gpt_ext4.img", &size);
	fake_setup(0, 512, size / 512, img);
	free(img);
	struct blockdev *d = 0;
	CHECK_EQ(blk_sync_open("fake:0", 1, &d, err, sizeof(err)), 0);
	CHECK_EQ(disk_boot_begin(d, &ops, 0, &db), 0);
	disk_boot_end(db);   /* one metadata read is queued */
	blk_close(d);        /* completes it (-ECANCELED): db is freed there (ASan checks) */
	CHECK(1);
}

int main(int argc, char **argv)
{
	(void)argc;
	snprintf(dir, sizeof(dir), "%s", dirname(argv[0]));
	blk_set_host(&host);
	guest = malloc(GUEST_MEM);
	RUN(test_debian_layout);
	RUN(test_block_maps);
	RUN(test_unaligned);
	RUN(test_fat_entries);
	RUN(test_bad_disks);
	RUN(test_read_error);
	RUN(test_abandon);
	free(guest);
	return check_done();
}
