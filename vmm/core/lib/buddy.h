/*
 * vmm/core/lib/buddy.h - a binary buddy allocator of 4 KiB pages. Portable: it
 * knows nothing of the machine, only addresses; the kernel feeds it the
 * firmware memory map (vmm/core/page.c), the unit tests feed it an arena.
 *
 * Free blocks keep their list links in their own first 16 bytes, so the
 * memory managed must be writable at its address (the kernel's identity
 * map guarantees that). One metadata byte per page says whether the page
 * heads a free or an allocated block and of which order, which is enough
 * to find buddies and to refuse double or bogus frees.
 */
#ifndef HAKO_BUDDY_H
#define HAKO_BUDDY_H

#include <stdint.h>

#define BUDDY_PAGE_SHIFT 12
#define BUDDY_PAGE_SIZE ((uint64_t)1 << BUDDY_PAGE_SHIFT)
#define BUDDY_MAX_ORDER 18 /* 2^18 pages = 1 GiB */

struct buddy {
	uint64_t base;   /* address of page index 0 */
	uint64_t npages; /* pages covered by `meta` */
	uint8_t *meta;   /* npages bytes */
	uint64_t free_head[BUDDY_MAX_ORDER + 1];
	uint64_t free_pages;
	uint64_t managed_pages; /* pages ever handed to buddy_add_range() */
};

/* Bytes of metadata needed to cover `npages` pages. */
static inline uint64_t buddy_meta_bytes(uint64_t npages) { return npages; }

/* Sets up an empty allocator covering [base, base + npages pages). */
void buddy_init(struct buddy *b, uint64_t base, uint64_t npages, uint8_t *meta);
/* Makes [start, end) (page-aligned inward) available. */
void buddy_add_range(struct buddy *b, uint64_t start, uint64_t end);
/* Returns the address of 2^order contiguous, aligned pages, or 0. */
uint64_t buddy_alloc(struct buddy *b, unsigned order);
/*
 * Returns a block; 0, or -EINVAL (nothing changes) unless `addr` is a
 * block buddy_alloc() gave out with this `order` and not yet returned.
 */
int buddy_free(struct buddy *b, uint64_t addr, unsigned order);
/* Smallest order whose block holds `bytes` (BUDDY_MAX_ORDER + 1: none). */
unsigned buddy_order_for(uint64_t bytes);

#endif
