/*
 * vmm/core/page.h - the host's physical page allocator (a buddy allocator
 * over the firmware memory map) and the kernel's own page tables.
 *
 * hako identity-maps all RAM, so a physical address is also a pointer.
 */
#ifndef HAKO_PAGE_H
#define HAKO_PAGE_H

#include <stdint.h>

#include "vmm/core/bootinfo.h"

#define PAGE_SIZE ((uint64_t)4096)
#define PAGE_2M ((uint64_t)2 << 20)

enum page_owner { PAGE_HAKO, PAGE_GUEST };

struct page_stats {
	uint64_t total_bytes;  /* RAM the firmware reported, all types */
	uint64_t usable_bytes; /* RAM handed to the allocator */
	uint64_t free_bytes;   /* in the allocator, and in the scrub pool (vmm/core/scrub.h) */
	uint64_t pooled_bytes; /* of which in the scrub pool */
	uint64_t hako_bytes;   /* kernel image, loaded files, hako's own allocations */
	uint64_t guest_bytes;  /* allocated to guests */
};

/* Builds the allocator from the boot memory map. Call once, on the BSP. */
void page_init(const struct boot_info *bi);
/*
 * 2^order zeroed pages, or 0 when memory is exhausted (after taking back
 * what the scrub pool holds).
 */
uint64_t page_alloc(unsigned order, enum page_owner owner);
void page_free(uint64_t addr, unsigned order, enum page_owner owner);
/*
 * The scrub pool's side (vmm/core/scrub.c): blocks it holds are free
 * memory outside the allocator. page_pool_take() moves 2^order pages, not
 * zeroed, into the pool (0 if none); page_pool_return() gives a pool block
 * back; the other two move the accounting of a block between the pool
 * and the guests.
 */
uint64_t page_pool_take(unsigned order);
void page_pool_return(uint64_t addr, unsigned order);
void page_pool_to_guest(unsigned order);
void page_guest_to_pool(unsigned order);
/* Zeroed pages for hako's own use; panics when memory is exhausted. */
uint64_t page_alloc_bytes(uint64_t bytes);
void page_stats(struct page_stats *s);

/*
 * Replaces the loader's page tables with hako's own (same addresses, with
 * protections: see paging.c) and turns on EFER.NXE and CR0.WP on this core.
 */
void paging_init(const struct boot_info *bi);
/* Makes [phys, phys+size) reachable, uncached, at its own address. */
int paging_map_mmio(uint64_t phys, uint64_t size);
/*
 * Makes the page at `phys` (below 2 MiB: the AP start-up code) read-only
 * and executable, once it is written. Only one such page; -EINVAL else.
 */
int paging_seal_code(uint64_t phys);
/* 1 when hako's tables use execute-disable (every core must set EFER.NXE). */
int paging_nx(void);
/* Reads back this core's tables and logs what protection holds (boot, after SMP). */
void paging_check(void);
/* Physical address of the kernel's PML4 (for the AP trampoline). */
uint64_t paging_kernel_cr3(void);

#endif
