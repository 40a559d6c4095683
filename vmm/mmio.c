/*
 * vmm/mmio.c - the guest's MMIO bus: registration of device ranges and
 * lookup by guest-physical address (see vmm/mmio.h).
 */
#include "vmm/mmio.h"

#include "vmm/lib/errno.h"
#include "vmm/vm.h"

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Claims [base, base+size) for `dev` (service core, vCPUs stopped).
 * 0, -EINVAL for an empty range, one that wraps or overlaps the guest's
 * RAM or another range, -ENOSPC when the bus is full.
 */
int mmio_register(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		  void *dev)
{
	struct mmio_bus *b = &vm->mmio;
	if (!size || base + size < base || !ops || overlaps(base, size, 0, vm->def.mem))
		return -EINVAL;
	for (unsigned i = 0; i < b->n; i++)
		if (overlaps(base, size, b->range[i].base, b->range[i].size))
			return -EINVAL;
	if (b->n == MMIO_MAX_RANGES)
		return -ENOSPC;
	b->range[b->n++] = (struct mmio_range){ base, size, ops, dev };
	return 0;
}

void mmio_reset(struct vm *vm)
{
	vm->mmio.n = 0;
}

const struct mmio_range *mmio_find(struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->mmio.n; i++) {
		const struct mmio_range *r = &vm->mmio.range[i];
		if (gpa >= r->base && gpa - r->base < r->size)
			return r;
	}
	return 0;
}
