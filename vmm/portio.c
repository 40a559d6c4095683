/*
 * vmm/portio.c - a guest's port I/O bus (see portio.h). Portable: the
 * host unit tests drive it with fake devices.
 */
#include "vmm/portio.h"

#include "vmm/core/lib/errno.h"
#include "vmm/vm.h"

int portio_register(struct vm *vm, uint16_t base, uint16_t len, const char *name,
		    const struct portio_ops *ops, void *dev)
{
	struct portio_bus *b = &vm->pio;
	if (!len || (uint32_t)base + len > 0x10000 || !ops || !ops->read || !ops->write)
		return -EINVAL;
	for (unsigned i = 0; i < b->n; i++)
		if (base < b->range[i].base + b->range[i].len && b->range[i].base < base + len)
			return -EINVAL;
	if (b->n == PORTIO_MAX_RANGES)
		return -ENOSPC;
	b->range[b->n++] = (struct portio_range){ base, len, name, ops, dev };
	return 0;
}

void portio_reset(struct vm *vm)
{
	vm->pio.n = 0;
}

static const struct portio_range *portio_find(struct vm *vm, uint16_t port)
{
	for (unsigned i = 0; i < vm->pio.n; i++) {
		const struct portio_range *r = &vm->pio.range[i];
		if (port >= r->base && port - r->base < r->len)
			return r;
	}
	return 0;
}

uint32_t portio_read(struct vcpu *v, uint16_t port, unsigned size)
{
	const struct portio_range *r = portio_find(v->vm, port);
	uint32_t ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return r ? r->ops->read(r->dev, v, (uint16_t)(port - r->base), size) & ones : ones;
}

void portio_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	const struct portio_range *r = portio_find(v->vm, port);
	if (r)
		r->ops->write(r->dev, v, (uint16_t)(port - r->base), size, val);
}
