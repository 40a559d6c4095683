/*
 * vmm/portio.h - the guest's port I/O bus (a static table of devices).
 */
#ifndef HAKO_PORTIO_H
#define HAKO_PORTIO_H

#include <stdint.h>

struct vm;

struct portio_dev {
	uint16_t base, len;
	const char *name;
	uint32_t (*read)(struct vm *vm, uint16_t offset, unsigned size);
	void (*write)(struct vm *vm, uint16_t offset, unsigned size, uint32_t val);
};

/* A guest IN of `size` bytes (1, 2, 4): the device's answer or all ones. */
uint32_t portio_read(struct vm *vm, uint16_t port, unsigned size);
/* A guest OUT; dropped when no device claims the port. */
void portio_write(struct vm *vm, uint16_t port, unsigned size, uint32_t val);

#endif
