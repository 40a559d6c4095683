/*
 * vmm/pagetable.c - portable 4-level page-table construction (see
 * pagetable.h). Level 4 is the PML4, level 1 the page table; a 2 MiB leaf
 * sits at level 2 (APM Vol. 2 5.3.4 "2-Mbyte Page Translation", SDM Vol.
 * 3C 29.3.2 for EPT). Entry bits come from pt_ops, so nothing here knows
 * whether it builds NPT, EPT or a guest's own identity map.
 */
#include "vmm/pagetable.h"

#include "vmm/core/lib/errno.h"

static unsigned pt_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

int pt_init(struct pt *pt, const struct pt_ops *ops)
{
	pt->ops = ops;
	pt->pages = 0;
	pt->root = ops->alloc(ops->ctx);
	if (!pt->root)
		return -ENOMEM;
	pt->pages = 1;
	return 0;
}

/* The table one level below entry `*e`, allocating it when absent. */
static uint64_t *pt_next(struct pt *pt, uint64_t *e)
{
	const struct pt_ops *o = pt->ops;
	if (o->present(*e)) {
		if (o->is_large(*e))
			return 0; /* a 2 MiB leaf is in the way */
		return o->table(o->ctx, *e & PT_ADDR_MASK);
	}
	uint64_t t = o->alloc(o->ctx);
	if (!t)
		return 0;
	pt->pages++;
	*e = o->make_table(t);
	return o->table(o->ctx, t);
}

/* Maps one leaf of `size` (4 KiB or 2 MiB) at va. */
static int pt_map_one(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot)
{
	const struct pt_ops *o = pt->ops;
	int leaf_level = size == PT_SIZE_2M ? 2 : 1;
	uint64_t *t = o->table(o->ctx, pt->root);
	for (int level = 4; level > leaf_level; level--) {
		uint64_t *e = &t[pt_index(va, level)];
		int was_large = o->present(*e) && o->is_large(*e);
		t = pt_next(pt, e);
		if (!t)
			return was_large ? -EINVAL : -ENOMEM;
	}
	uint64_t *e = &t[pt_index(va, leaf_level)];
	if (o->present(*e))
		return -EINVAL; /* overlaps an existing mapping */
	*e = o->make_leaf(pa, prot, leaf_level == 2);
	return 0;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot)
{
	if ((va | pa | size) & (PT_SIZE_4K - 1) || va + size < va || (va + size) >> 48)
		return -EINVAL;
	while (size) {
		uint64_t step = PT_SIZE_4K;
		if (!((va | pa) & (PT_SIZE_2M - 1)) && size >= PT_SIZE_2M)
			step = PT_SIZE_2M;
		int err = pt_map_one(pt, va, pa, step, prot);
		if (err)
			return err;
		va += step, pa += step, size -= step;
	}
	return 0;
}

/* Finds the leaf entry for va and its size; 0 if unmapped. */
static uint64_t *pt_leaf(const struct pt *pt, uint64_t va, uint64_t *leaf_size)
{
	const struct pt_ops *o = pt->ops;
	uint64_t *t = o->table(o->ctx, pt->root);
	for (int level = 4; level >= 1; level--) {
		uint64_t *e = &t[pt_index(va, level)];
		if (!o->present(*e))
			return 0;
		if (level == 1 || (level == 2 && o->is_large(*e))) {
			*leaf_size = level == 2 ? PT_SIZE_2M : PT_SIZE_4K;
			return e;
		}
		t = o->table(o->ctx, *e & PT_ADDR_MASK);
	}
	return 0;
}

int pt_protect(struct pt *pt, uint64_t va, uint64_t size, unsigned prot)
{
	if ((va | size) & (PT_SIZE_4K - 1))
		return -EINVAL;
	uint64_t end = va + size;
	while (va < end) {
		uint64_t leaf_size;
		uint64_t *e = pt_leaf(pt, va, &leaf_size);
		if (!e)
			return -ENOENT;
		/* A 2 MiB leaf changes as a whole; callers protect whole chunks. */
		*e = pt->ops->set_prot(*e, prot);
		va = (va & ~(leaf_size - 1)) + leaf_size;
	}
	return 0;
}

int pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, uint64_t *entry)
{
	uint64_t leaf_size;
	uint64_t *e = pt_leaf(pt, va, &leaf_size);
	if (!e)
		return -ENOENT;
	*pa = (*e & PT_ADDR_MASK & ~(leaf_size - 1)) + (va & (leaf_size - 1));
	*entry = *e;
	return 0;
}

static void pt_free_level(struct pt *pt, uint64_t table, int level)
{
	const struct pt_ops *o = pt->ops;
	uint64_t *t = o->table(o->ctx, table);
	for (unsigned i = 0; level > 1 && i < PT_ENTRIES; i++) {
		if (o->present(t[i]) && !(level == 2 && o->is_large(t[i])))
			pt_free_level(pt, t[i] & PT_ADDR_MASK, level - 1);
	}
	o->free(o->ctx, table);
	pt->pages--;
}

void pt_destroy(struct pt *pt)
{
	if (pt->root)
		pt_free_level(pt, pt->root, 4);
	pt->root = 0;
}
