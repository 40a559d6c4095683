/*
 * vmm/blk/blk_host.c - the kernel's side of the block layer: memory from
 * the page allocator, files from the boot medium, and the service poller
 * that starts queued requests (vmm/blk/blk.h).
 */
#include "vmm/blk/blk.h"

#include "vmm/core/cpu.h"
#include "vmm/core/host.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/page.h"
#include "vmm/core/service.h"

static void *host_alloc(uint64_t bytes)
{
	unsigned order = buddy_order_for(bytes);
	if (order > BUDDY_MAX_ORDER)
		return 0;
	return (void *)page_alloc(order, PAGE_HAKO);  /* zeroed; 0 when exhausted */
}

static void host_free(void *p, uint64_t bytes)
{
	page_free((uint64_t)p, buddy_order_for(bytes), PAGE_HAKO);
}

static const void *host_file(const char *name, uint64_t *size)
{
	const struct boot_file *f = bootfs_find(name);
	if (!f)
		return 0;
	*size = f->size;
	return (const void *)f->phys;
}

static const struct blk_host_ops kernel_blk_host = { host_alloc, host_free, host_file,
						     service_wake, rdtsc };

/* Gives the block layer its memory and files; call once at boot. */
void blk_init(void)
{
	blk_set_host(&kernel_blk_host);
}

SERVICE_POLLER(blk, blk_poll);
