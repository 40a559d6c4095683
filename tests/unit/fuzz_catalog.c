/*
 * tests/unit/fuzz_catalog.c - libFuzzer target for what hako reads back
 * from its catalog and pool devices (a device may hold anything): the
 * input is parsed as a catalog text (mgmt/catalog_fmt.c), and it is also
 * sealed with a valid slot header and CRC as a pool's volume table, so
 * cow_pool_attach() (vmm/blk/cow_pool.c) parses it past the CRC check.
 *   make fuzz && build/fuzz/fuzz_catalog -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/catalog_fmt.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/blk/cow_pool.h"

static void *fz_alloc(uint64_t n) { return calloc(1, n); }
static void fz_free(void *p, uint64_t n) { (void)n; free(p); }
static const void *fz_file(const char *name, uint64_t *size) { (void)name, (void)size; return 0; }
static const struct blk_host_ops fz_host = { fz_alloc, fz_free, fz_file, 0, 0 };

static void fuzz_catalog_text(const uint8_t *data, size_t size)
{
	static struct vm_def out[CATALOG_GUESTS_MAX];
	char err[200];
	unsigned n;
	uint64_t id;
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	catalog_decode(copy, (unsigned)size, &id, out, CATALOG_GUESTS_MAX, &n, err, sizeof(err));
	free(copy);
}

static void fuzz_pool_table(const uint8_t *data, size_t size)
{
	struct blockdev *d;
	char err[200];
	uint32_t leaked;
	if (size > COW_TABLE_SLOT - 512 || blk_sync_open("ram:1M", 0, &d, err, sizeof(err)))
		return;
	struct slotstore s = { .dev = d, .slot_blocks = COW_TABLE_SLOT / 512, .magic = COW_POOL_MAGIC,
			       .version = COW_POOL_VERSION, .cur = -1 };
	if (!slot_commit(&s, data, (uint32_t)size) && !cow_pool_attach(d, &leaked, err, sizeof(err)))
		cow_pool_detach();
	blk_close(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	blk_set_host(&fz_host);
	fuzz_catalog_text(data, size);
	fuzz_pool_table(data, size);
	return 0;
}
