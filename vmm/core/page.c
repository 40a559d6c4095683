/*
 * vmm/core/page.c - the host page allocator, fed from the boot memory map.
 *
 * Only BOOT_MEM_USABLE ranges at or above 1 MiB are handed to the buddy
 * allocator: low memory stays for the AP start-up trampoline, and ACPI,
 * firmware-runtime, MMIO and hako's own (kernel, files) ranges are never
 * touched.
 */
#include "vmm/core/page.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/scrub.h"
#include "vmm/core/trap.h"

#define LOW_MEMORY_END (1ull << 20)

static struct buddy host_pages;
static struct spinlock page_lock;
static uint64_t total_bytes, hako_static_bytes, hako_alloc_pages, guest_alloc_pages;
static uint64_t pooled_pages; /* free, but waiting in the scrub pool */

static uint64_t usable_top(const struct boot_info *bi)
{
	uint64_t top = 0;
	for (uint32_t i = 0; i < bi->mem_count; i++) {
		const struct boot_mem_range *r = &bi->mem[i];
		if (r->type == BOOT_MEM_USABLE && r->base + r->length > top)
			top = r->base + r->length;
	}
	return top < bi->identity_top ? top : bi->identity_top;
}

/* Carves the metadata array out of the first usable range that holds it. */
static uint8_t *carve_meta(struct boot_info *bi, uint64_t bytes)
{
	bytes = (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	for (uint32_t i = 0; i < bi->mem_count; i++) {
		struct boot_mem_range *r = &bi->mem[i];
		uint64_t start = r->base < LOW_MEMORY_END ? LOW_MEMORY_END : r->base;
		if (r->type != BOOT_MEM_USABLE || r->base + r->length < start + bytes)
			continue;
		/* Shrink the range from the front; the map is ours now. */
		r->length = r->base + r->length - (start + bytes);
		r->base = start + bytes;
		hako_static_bytes += bytes;
		return (uint8_t *)start;
	}
	hv_panic("no room for %lu bytes of page metadata", bytes);
}

void page_init(const struct boot_info *bi_const)
{
	struct boot_info *bi = (struct boot_info *)bi_const;
	uint64_t top = usable_top(bi);
	uint64_t npages = top / PAGE_SIZE;
	uint8_t *meta = carve_meta(bi, buddy_meta_bytes(npages));

	buddy_init(&host_pages, 0, npages, meta);
	for (uint32_t i = 0; i < bi->mem_count; i++) {
		const struct boot_mem_range *r = &bi->mem[i];
		/* RAM is what the firmware did not call reserved or MMIO. */
		if (r->type != BOOT_MEM_MMIO && r->type != BOOT_MEM_RESERVED)
			total_bytes += r->length;
		if (r->type == BOOT_MEM_HAKO)
			hako_static_bytes += r->length;
		if (r->type != BOOT_MEM_USABLE || r->base + r->length <= LOW_MEMORY_END)
			continue;
		uint64_t start = r->base < LOW_MEMORY_END ? LOW_MEMORY_END : r->base;
		buddy_add_range(&host_pages, start, r->base + r->length);
	}
	log_info("memory: %lu MiB usable of %lu MiB, %lu KiB page metadata",
		 host_pages.free_pages * PAGE_SIZE >> 20, total_bytes >> 20,
		 buddy_meta_bytes(npages) >> 10);
}

static uint64_t alloc_locked(unsigned order, enum page_owner owner)
{
	uint64_t f = irq_save();
	spin_lock(&page_lock);
	uint64_t a = buddy_alloc(&host_pages, order);
	if (a) {
		if (owner == PAGE_GUEST)
			guest_alloc_pages += 1ull << order;
		else
			hako_alloc_pages += 1ull << order;
	}
	spin_unlock(&page_lock);
	irq_restore(f);
	return a;
}

/*
 * Short of memory, the chunks waiting in the scrub pool are free memory
 * too: the dirty ones go back to the allocator first, then the clean ones.
 */
uint64_t page_alloc(unsigned order, enum page_owner owner)
{
	uint64_t a = alloc_locked(order, owner);
	if (!a && scrub_reclaim(0))
		a = alloc_locked(order, owner);
	if (!a && scrub_reclaim(1))
		a = alloc_locked(order, owner);
	if (a)
		memset((void *)a, 0, PAGE_SIZE << order);
	return a;
}

/* ---- the scrub pool's side (vmm/core/scrub.c): free memory outside the allocator ---- */

static void pool_move(uint64_t *from, uint64_t *to, unsigned order)
{
	uint64_t f = irq_save();
	spin_lock(&page_lock);
	*from -= 1ull << order;
	*to += 1ull << order;
	spin_unlock(&page_lock);
	irq_restore(f);
}

uint64_t page_pool_take(unsigned order)
{
	uint64_t f = irq_save();
	spin_lock(&page_lock);
	uint64_t a = buddy_alloc(&host_pages, order);
	if (a)
		pooled_pages += 1ull << order;
	spin_unlock(&page_lock);
	irq_restore(f);
	return a;
}

/* Back to the allocator, out of the count it was in; a block it never gave out panics. */
static void free_counted(uint64_t addr, unsigned order, uint64_t *count, const char *who)
{
	uint64_t f = irq_save();
	spin_lock(&page_lock);
	int err = buddy_free(&host_pages, addr, order);
	if (!err)
		*count -= 1ull << order;
	spin_unlock(&page_lock);
	irq_restore(f);
	if (err)
		hv_panic("%s(0x%lx, order %u): not an allocated block", who, addr, order);
}

void page_pool_return(uint64_t addr, unsigned order)
{
	free_counted(addr, order, &pooled_pages, "page_pool_return");
}

void page_pool_to_guest(unsigned order)
{
	pool_move(&pooled_pages, &guest_alloc_pages, order);
}

void page_guest_to_pool(unsigned order)
{
	pool_move(&guest_alloc_pages, &pooled_pages, order);
}

void page_free(uint64_t addr, unsigned order, enum page_owner owner)
{
	free_counted(addr, order, owner == PAGE_GUEST ? &guest_alloc_pages : &hako_alloc_pages,
		     "page_free");
}

uint64_t page_alloc_bytes(uint64_t bytes)
{
	uint64_t a = page_alloc(buddy_order_for(bytes), PAGE_HAKO);
	if (!a)
		hv_panic("out of memory allocating %lu bytes for hako", bytes);
	return a;
}

void page_stats(struct page_stats *s)
{
	uint64_t f = irq_save();
	spin_lock(&page_lock);
	s->total_bytes = total_bytes;
	s->usable_bytes = host_pages.managed_pages * PAGE_SIZE;
	s->pooled_bytes = pooled_pages * PAGE_SIZE;
	s->free_bytes = host_pages.free_pages * PAGE_SIZE + s->pooled_bytes;
	s->hako_bytes = hako_static_bytes + hako_alloc_pages * PAGE_SIZE;
	s->guest_bytes = guest_alloc_pages * PAGE_SIZE;
	spin_unlock(&page_lock);
	irq_restore(f);
}
