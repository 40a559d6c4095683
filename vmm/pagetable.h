/*
 * vmm/pagetable.h - portable construction of 4-level x86 page tables
 * (AMD64 long-mode tables, which NPT uses as is, APM Vol. 2 5.3 and
 * 15.25; and EPT, SDM Vol. 3C 29.3). No hardware headers: the entry
 * format and the page allocator come in through `struct pt_ops`, so the
 * same walker builds NPT, EPT and the guest's own identity map, and the
 * host unit tests drive it with a fake allocator.
 */
#ifndef HAKO_PAGETABLE_H
#define HAKO_PAGETABLE_H

#include <stdint.h>

#define PT_ENTRIES 512
#define PT_SIZE_4K (1ull << 12)
#define PT_SIZE_2M (1ull << 21)
#define PT_ADDR_MASK 0x000ffffffffff000ull

struct pt_ops {
	void *ctx;
	/* A zeroed 4 KiB table: its physical address, or 0 when out of memory. */
	uint64_t (*alloc)(void *ctx);
	void (*free)(void *ctx, uint64_t phys);
	/* Where the table at `phys` can be read and written. */
	uint64_t *(*table)(void *ctx, uint64_t phys);
	/* Entry formats. `prot` is NPT_R/W/X-style bits (1, 2, 4). */
	uint64_t (*make_table)(uint64_t phys);
	uint64_t (*make_leaf)(uint64_t phys, unsigned prot, int large);
	int (*present)(uint64_t entry);
	int (*is_large)(uint64_t entry);  /* a 2 MiB leaf at level 2 */
	uint64_t (*set_prot)(uint64_t entry, unsigned prot);
};

struct pt {
	const struct pt_ops *ops;
	uint64_t root;  /* physical address of the PML4 */
	uint64_t pages; /* table pages allocated (for tests and `stats`) */
};

/* Allocates the root. 0 or -ENOMEM. */
int pt_init(struct pt *pt, const struct pt_ops *ops);
/*
 * Maps [va, va+size) to [pa, pa+size) with 2 MiB leaves wherever va, pa
 * and the remaining size allow, 4 KiB leaves elsewhere. Fails with
 * -EINVAL on unaligned input or overlap with an existing mapping, -ENOMEM
 * when a table cannot be allocated (what was mapped stays mapped).
 */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot);
/* Changes the permissions of mapped leaves in the range; -ENOENT if a hole. */
int pt_protect(struct pt *pt, uint64_t va, uint64_t size, unsigned prot);
/* Looks up `va`: 0 with its physical address and leaf entry; -ENOENT if unmapped. */
int pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, uint64_t *entry);
/* Frees every table page, including the root. */
void pt_destroy(struct pt *pt);

#endif
