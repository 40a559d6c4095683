/*
 * vmm/core/lib/buddy.c - binary buddy page allocator (Knuth, TAOCP Vol. 1,
 * 2.5 "Dynamic Storage Allocation"). Portable.
 */
#include "vmm/core/lib/buddy.h"

#include "vmm/core/lib/errno.h"

/*
 * meta[i] for page i: the order of the free block it heads, META_USED |
 * order when it heads an allocated block, META_NONE otherwise (inside a
 * block, or never given to the allocator). Marking allocated heads is what
 * lets buddy_free() refuse double frees, wrong orders and made-up addresses.
 */
#define META_NONE 0xff
#define META_USED 0x80

struct free_node {
	uint64_t next, prev; /* addresses; 0 ends the list */
};

static struct free_node *node(uint64_t addr)
{
	return (struct free_node *)(uintptr_t)addr;
}

static uint64_t addr_of(struct buddy *b, uint64_t idx)
{
	return b->base + (idx << BUDDY_PAGE_SHIFT);
}

static void list_push(struct buddy *b, uint64_t idx, unsigned order)
{
	uint64_t a = addr_of(b, idx);
	node(a)->prev = 0;
	node(a)->next = b->free_head[order];
	if (b->free_head[order])
		node(b->free_head[order])->prev = a;
	b->free_head[order] = a;
	b->meta[idx] = (uint8_t)order;
	b->free_pages += 1ull << order;
}

static void list_remove(struct buddy *b, uint64_t idx, unsigned order)
{
	uint64_t a = addr_of(b, idx);
	struct free_node *n = node(a);
	if (n->prev)
		node(n->prev)->next = n->next;
	else
		b->free_head[order] = n->next;
	if (n->next)
		node(n->next)->prev = n->prev;
	b->meta[idx] = META_NONE;
	b->free_pages -= 1ull << order;
}

void buddy_init(struct buddy *b, uint64_t base, uint64_t npages, uint8_t *meta)
{
	b->base = base;
	b->npages = npages;
	b->meta = meta;
	for (uint64_t i = 0; i < npages; i++)
		meta[i] = META_NONE;
	for (int o = 0; o <= BUDDY_MAX_ORDER; o++)
		b->free_head[o] = 0;
	b->free_pages = 0;
	b->managed_pages = 0;
}

static void free_block(struct buddy *b, uint64_t idx, unsigned order)
{
	while (order < BUDDY_MAX_ORDER) {
		uint64_t buddy = idx ^ (1ull << order);
		if (buddy + (1ull << order) > b->npages || b->meta[buddy] != order)
			break;
		list_remove(b, buddy, order);
		idx &= ~(1ull << order);
		order++;
	}
	list_push(b, idx, order);
}

void buddy_add_range(struct buddy *b, uint64_t start, uint64_t end)
{
	if (start < b->base)
		start = b->base;
	uint64_t lo = (start - b->base + BUDDY_PAGE_SIZE - 1) >> BUDDY_PAGE_SHIFT;
	uint64_t hi = end <= b->base ? 0 : (end - b->base) >> BUDDY_PAGE_SHIFT;
	if (hi > b->npages)
		hi = b->npages;
	if (lo < hi && addr_of(b, lo) == 0)
		lo++; /* address 0 means "none" to buddy_alloc's callers and lists */
	while (lo < hi) {
		unsigned order = 0;
		while (order < BUDDY_MAX_ORDER && !(lo & ((2ull << order) - 1)) &&
		       lo + (2ull << order) <= hi)
			order++;
		b->managed_pages += 1ull << order;
		free_block(b, lo, order);
		lo += 1ull << order;
	}
}

uint64_t buddy_alloc(struct buddy *b, unsigned order)
{
	unsigned o = order;
	while (o <= BUDDY_MAX_ORDER && !b->free_head[o])
		o++;
	if (o > BUDDY_MAX_ORDER)
		return 0;
	uint64_t idx = (b->free_head[o] - b->base) >> BUDDY_PAGE_SHIFT;
	list_remove(b, idx, o);
	while (o > order) {
		o--;
		list_push(b, idx + (1ull << o), o);
	}
	b->meta[idx] = (uint8_t)(META_USED | order);
	return addr_of(b, idx);
}

int buddy_free(struct buddy *b, uint64_t addr, unsigned order)
{
	if (addr < b->base || order > BUDDY_MAX_ORDER || (addr - b->base) % BUDDY_PAGE_SIZE)
		return -EINVAL;
	uint64_t idx = (addr - b->base) >> BUDDY_PAGE_SHIFT;
	if (idx & ((1ull << order) - 1) || idx + (1ull << order) > b->npages)
		return -EINVAL;
	if (b->meta[idx] != (META_USED | order))
		return -EINVAL; /* a double free, a wrong order, or never allocated */
	b->meta[idx] = META_NONE;
	free_block(b, idx, order);
	return 0;
}

unsigned buddy_order_for(uint64_t bytes)
{
	unsigned order = 0;
	while (order <= BUDDY_MAX_ORDER && (BUDDY_PAGE_SIZE << order) < bytes)
		order++;
	return order; /* BUDDY_MAX_ORDER + 1 when too big: buddy_alloc fails */
}
