/*
 * tests/unit/test_buddy.c - vmm/core/lib/buddy.c over a heap arena.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"

#define PG BUDDY_PAGE_SIZE
#define ARENA_ORDER 10 /* 1024 pages, 4 MiB */
#define ARENA_PAGES (1u << ARENA_ORDER)

static struct buddy b;
static uint8_t meta[ARENA_PAGES];
static uint8_t *arena;
static uint64_t base;

/* An allocator over the arena, [first, first + n) pages added. */
static void setup(uint64_t first, uint64_t n)
{
	buddy_init(&b, base, ARENA_PAGES, meta);
	buddy_add_range(&b, base + first * PG, base + (first + n) * PG);
}

static void test_whole_arena_is_one_block(void)
{
	setup(0, ARENA_PAGES);
	CHECK_EQ(b.free_pages, ARENA_PAGES);
	CHECK_EQ(b.managed_pages, ARENA_PAGES);
	CHECK_EQ(b.free_head[ARENA_ORDER], base);
	for (unsigned o = 0; o < ARENA_ORDER; o++)
		CHECK_EQ(b.free_head[o], 0);
	CHECK_EQ(buddy_alloc(&b, ARENA_ORDER), base);
	CHECK_EQ(b.free_pages, 0);
	CHECK_EQ(buddy_alloc(&b, 0), 0); /* exhausted */
	CHECK_EQ(buddy_free(&b, base, ARENA_ORDER), 0);
	CHECK_EQ(b.free_pages, ARENA_PAGES);
	CHECK_EQ(buddy_alloc(&b, ARENA_ORDER + 1), 0); /* larger than anything */
	CHECK_EQ(buddy_alloc(&b, BUDDY_MAX_ORDER + 1), 0);
	CHECK_EQ(b.free_pages, ARENA_PAGES);
}

static void test_alignment_of_each_order(void)
{
	setup(0, ARENA_PAGES);
	uint64_t got[ARENA_ORDER + 1];
	/* Take one block of each order, smallest first, so splitting is exercised. */
	for (unsigned o = 0; o < ARENA_ORDER; o++) {
		got[o] = buddy_alloc(&b, o);
		CHECK(got[o] != 0);
		CHECK_EQ((got[o] - base) % (PG << o), 0);
		CHECK(got[o] >= base && got[o] + (PG << o) <= base + ARENA_PAGES * PG);
		/* The block is usable memory (ASan would flag writes outside the arena). */
		memset((void *)(uintptr_t)got[o], 0xa5, PG << o);
	}
	/* 1 + 2 + ... + 2^(ARENA_ORDER-1) = ARENA_PAGES - 1: one page left. */
	CHECK_EQ(b.free_pages, 1);
	CHECK(buddy_alloc(&b, 1) == 0);
	uint64_t last = buddy_alloc(&b, 0);
	CHECK(last != 0);
	CHECK_EQ(buddy_alloc(&b, 0), 0);
	/* No two blocks overlap. */
	for (unsigned i = 0; i < ARENA_ORDER; i++)
		for (unsigned j = i + 1; j < ARENA_ORDER; j++)
			CHECK(got[i] + (PG << i) <= got[j] || got[j] + (PG << j) <= got[i]);
	for (unsigned o = 0; o < ARENA_ORDER; o++)
		CHECK_EQ(buddy_free(&b, got[o], o), 0);
	CHECK_EQ(buddy_free(&b, last, 0), 0);
	/* Everything coalesced back into the single top block. */
	CHECK_EQ(b.free_pages, ARENA_PAGES);
	CHECK_EQ(b.free_head[ARENA_ORDER], base);
}

static void test_coalescing(void)
{
	setup(0, 4);
	uint64_t p0 = buddy_alloc(&b, 0), p1 = buddy_alloc(&b, 0);
	uint64_t p2 = buddy_alloc(&b, 0), p3 = buddy_alloc(&b, 0);
	CHECK_EQ(b.free_pages, 0);
	CHECK(p0 && p1 && p2 && p3);
	/* Free 0 and 2: no buddies free, nothing merges. */
	CHECK_EQ(buddy_free(&b, p0, 0), 0);
	CHECK_EQ(buddy_free(&b, p2, 0), 0);
	CHECK(b.free_head[1] == 0 && b.free_head[2] == 0);
	CHECK_EQ(buddy_alloc(&b, 1), 0); /* two free pages, but not buddies */
	/* Free 1 and 3: each merges with its buddy, and then the pairs merge. */
	CHECK_EQ(buddy_free(&b, p1, 0), 0);
	CHECK_EQ(buddy_free(&b, p3, 0), 0);
	CHECK_EQ(b.free_head[0], 0);
	CHECK_EQ(b.free_head[1], 0);
	CHECK_EQ(b.free_head[2], base);
	CHECK_EQ(b.free_pages, 4);
}

static void test_bad_frees(void)
{
	setup(0, 16);
	uint64_t a = buddy_alloc(&b, 2);
	uint64_t c = buddy_alloc(&b, 0);
	uint64_t before = b.free_pages;
	CHECK_EQ(buddy_free(&b, a + 1, 2), -EINVAL);       /* not page-aligned */
	CHECK_EQ(buddy_free(&b, a + PG, 2), -EINVAL);      /* not order-aligned */
	CHECK_EQ(buddy_free(&b, base - PG, 0), -EINVAL);   /* below the arena */
	CHECK_EQ(buddy_free(&b, base + ARENA_PAGES * PG, 0), -EINVAL); /* above */
	CHECK_EQ(buddy_free(&b, a, BUDDY_MAX_ORDER + 1), -EINVAL);
	CHECK_EQ(buddy_free(&b, 0, 0), -EINVAL);
	/* Bugs fixed with these: the wrong order, a page inside an allocated
	 * block, and pages never allocated at all used to be accepted. */
	CHECK_EQ(buddy_free(&b, a, 1), -EINVAL);
	CHECK_EQ(buddy_free(&b, a, 3), -EINVAL);
	CHECK_EQ(buddy_free(&b, a + 2 * PG, 1), -EINVAL);
	CHECK_EQ(buddy_free(&b, base + 100 * PG, 0), -EINVAL); /* never added */
	CHECK_EQ(buddy_free(&b, base + 8 * PG, 0), -EINVAL);   /* heads a free block */
	CHECK_EQ(buddy_free(&b, base + 9 * PG, 0), -EINVAL);   /* inside a free block */
	CHECK_EQ(b.free_pages, before);
	/* Double frees, straight and after coalescing into a larger free block. */
	CHECK_EQ(buddy_free(&b, c, 0), 0);
	CHECK_EQ(buddy_free(&b, c, 0), -EINVAL);
	CHECK_EQ(buddy_free(&b, a, 2), 0);
	CHECK_EQ(buddy_free(&b, a, 2), -EINVAL);
	CHECK_EQ(b.free_pages, 16);
	CHECK_EQ(b.free_head[4], base); /* and the structure is intact */
	CHECK_EQ(buddy_alloc(&b, 4), base);
}

static void test_add_range_unaligned(void)
{
	/* [3.5 pages, 21.25 pages): pages 4..20 are whole, 17 pages. */
	buddy_init(&b, base, ARENA_PAGES, meta);
	buddy_add_range(&b, base + 3 * PG + PG / 2, base + 21 * PG + PG / 4);
	CHECK_EQ(b.free_pages, 17);
	CHECK_EQ(b.managed_pages, 17);
	/* Split into naturally aligned blocks: 4-7 (order 2), 8-15 (order 3), 16-19 (2), 20 (0). */
	CHECK_EQ(b.free_head[3], base + 8 * PG);
	CHECK_EQ(b.free_head[0], base + 20 * PG);
	CHECK_EQ(buddy_alloc(&b, 4), 0);
	uint64_t got = 0;
	for (int i = 0; i < 17; i++) {
		uint64_t p = buddy_alloc(&b, 0);
		CHECK(p >= base + 4 * PG && p < base + 21 * PG);
		got++;
	}
	CHECK_EQ(got, 17);
	CHECK_EQ(buddy_alloc(&b, 0), 0);

	/* Ranges less than a page, empty, reversed or outside add nothing. */
	buddy_init(&b, base, ARENA_PAGES, meta);
	buddy_add_range(&b, base + 5 * PG + 1, base + 6 * PG + PG - 1);
	buddy_add_range(&b, base + 7 * PG, base + 7 * PG);
	buddy_add_range(&b, base + 9 * PG, base + 8 * PG);
	buddy_add_range(&b, 0, base);
	buddy_add_range(&b, base + ARENA_PAGES * PG, base + 2 * ARENA_PAGES * PG);
	CHECK_EQ(b.free_pages, 0);
	/* A range sticking out on both sides is clipped to the covered pages. */
	buddy_add_range(&b, base - 10 * PG, base + 2 * ARENA_PAGES * PG);
	CHECK_EQ(b.free_pages, ARENA_PAGES);
	CHECK_EQ(b.free_head[ARENA_ORDER], base);
}

/* Two separate ranges do not merge across the gap between them. */
static void test_ranges_with_a_hole(void)
{
	buddy_init(&b, base, ARENA_PAGES, meta);
	buddy_add_range(&b, base, base + 8 * PG);
	buddy_add_range(&b, base + 9 * PG, base + 16 * PG);
	CHECK_EQ(b.free_pages, 15);
	CHECK_EQ(buddy_alloc(&b, 4), 0);
	uint64_t p = buddy_alloc(&b, 3);
	CHECK_EQ(p, base);
	CHECK_EQ(buddy_alloc(&b, 3), 0);
	for (int i = 0; i < 7; i++) {
		uint64_t q = buddy_alloc(&b, 0);
		CHECK(q >= base + 9 * PG && q < base + 16 * PG);
	}
	CHECK_EQ(b.free_pages, 0);
}

static void test_random_cycles(void)
{
	enum { SLOTS = 200 };
	static struct { uint64_t addr; unsigned order; } live[SLOTS];
	setup(1, ARENA_PAGES - 3); /* odd edges, so many orders coexist */
	uint64_t start = b.free_pages;
	unsigned nlive = 0;
	for (int i = 0; i < 100000; i++) {
		if (nlive < SLOTS && (check_rand() % 3 || !nlive)) {
			unsigned o = (unsigned)(check_rand() % 7);
			uint64_t a = buddy_alloc(&b, o);
			if (!a)
				continue;
			if ((a - base) % (PG << o) || a < base + PG ||
			    a + (PG << o) > base + (ARENA_PAGES - 2) * PG) {
				CHECK(!"block misaligned or outside the added range");
				return;
			}
			*(volatile uint64_t *)(uintptr_t)a = a; /* first word: ours now */
			live[nlive].addr = a;
			live[nlive++].order = o;
		} else {
			unsigned k = (unsigned)(check_rand() % nlive);
			if (*(volatile uint64_t *)(uintptr_t)live[k].addr != live[k].addr) {
				CHECK(!"an allocated block was overwritten by the allocator");
				return;
			}
			if (buddy_free(&b, live[k].addr, live[k].order)) {
				CHECK(!"freeing a live block failed");
				return;
			}
			live[k] = live[--nlive];
		}
	}
	uint64_t used = 0;
	for (unsigned k = 0; k < nlive; k++)
		used += 1ull << live[k].order;
	CHECK_EQ(b.free_pages + used, start);
	while (nlive) {
		nlive--;
		CHECK_EQ(buddy_free(&b, live[nlive].addr, live[nlive].order), 0);
	}
	CHECK_EQ(b.free_pages, start);
	/* Coalescing is complete: pages 1..1020 hold an order-8 block at 256 and 512. */
	CHECK_EQ(buddy_alloc(&b, 8), base + 256 * PG);
	CHECK_EQ(buddy_alloc(&b, 8), base + 512 * PG);
	CHECK_EQ(buddy_alloc(&b, 8), 0);
}

static void test_order_for(void)
{
	CHECK_EQ(buddy_order_for(0), 0);
	CHECK_EQ(buddy_order_for(1), 0);
	CHECK_EQ(buddy_order_for(PG), 0);
	CHECK_EQ(buddy_order_for(PG + 1), 1);
	CHECK_EQ(buddy_order_for(16 * PG), 4);
	CHECK_EQ(buddy_order_for(PG << BUDDY_MAX_ORDER), BUDDY_MAX_ORDER);
	/* Bug fixed with this: huge sizes shifted past 64 bits (UB, endless loop). */
	CHECK_EQ(buddy_order_for((PG << BUDDY_MAX_ORDER) + 1), BUDDY_MAX_ORDER + 1);
	CHECK_EQ(buddy_order_for(UINT64_MAX), BUDDY_MAX_ORDER + 1);
}

int main(void)
{
	/* An arena aligned to its own size, as the kernel's physical memory is. */
	arena = aligned_alloc(ARENA_PAGES * PG, ARENA_PAGES * PG);
	if (!arena)
		return 2;
	base = (uint64_t)(uintptr_t)arena;
	RUN(test_whole_arena_is_one_block);
	RUN(test_alignment_of_each_order);
	RUN(test_coalescing);
	RUN(test_bad_frees);
	RUN(test_add_range_unaligned);
	RUN(test_ranges_with_a_hole);
	RUN(test_random_cycles);
	RUN(test_order_for);
	free(arena);
	return check_done();
}
