/*
 * vmm/portio.c - the guest's port I/O bus: which device model answers
 * which port. Unclaimed reads return all ones and writes are dropped, as
 * on a PC's ISA bus with nothing decoding the address.
 */
#include "vmm/portio.h"

#include "vmm/platform.h"
#include "vmm/vm.h"

#define COM1_BASE 0x3f8

static uint32_t com1_read(struct vm *vm, uint16_t off, unsigned size)
{
	(void)size; /* byte registers; wider reads see the low byte */
	return platform_uart_read(vm, off);
}

static void com1_write(struct vm *vm, uint16_t off, unsigned size, uint32_t val)
{
	(void)size; /* byte registers */
	platform_uart_write(vm, off, (uint8_t)val);
}

static const struct portio_dev portio_devs[] = {
	{ COM1_BASE, 8, "com1", com1_read, com1_write },
};

static const struct portio_dev *portio_find(uint16_t port)
{
	for (unsigned i = 0; i < sizeof(portio_devs) / sizeof(portio_devs[0]); i++) {
		const struct portio_dev *d = &portio_devs[i];
		if (port >= d->base && port < d->base + d->len)
			return d;
	}
	return 0;
}

uint32_t portio_read(struct vm *vm, uint16_t port, unsigned size)
{
	const struct portio_dev *d = portio_find(port);
	uint32_t ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return d ? d->read(vm, (uint16_t)(port - d->base), size) & ones : ones;
}

void portio_write(struct vm *vm, uint16_t port, unsigned size, uint32_t val)
{
	const struct portio_dev *d = portio_find(port);
	if (d)
		d->write(vm, (uint16_t)(port - d->base), size, val);
}
