/*
 * vmm/portio.h - a guest's port I/O bus: device models claim ranges of
 * the 64 KiB port space when the guest starts (portio_register); an IN or
 * OUT the guest executes exits (every port is intercepted) and
 * vmm/exit.c hands it here. Unclaimed reads return all ones and writes
 * are dropped, as on a PC's ISA bus with nothing decoding the address.
 *
 * Handlers run on the accessing vCPU's core; a device shared between
 * vCPUs (and the service core) takes its own lock.
 */
#ifndef HAKO_PORTIO_H
#define HAKO_PORTIO_H

#include <stdint.h>

struct vm;
struct vcpu;

struct portio_ops {
	/* `offset` is relative to the range's first port; `size` is 1, 2 or 4. */
	uint32_t (*read)(void *dev, struct vcpu *v, uint16_t offset, unsigned size);
	void (*write)(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val);
};

#define PORTIO_MAX_RANGES 16

struct portio_range {
	uint16_t base, len;
	const char *name;
	const struct portio_ops *ops;
	void *dev;
};

/* Per guest; emptied by portio_reset() at every stop. */
struct portio_bus {
	unsigned n;
	struct portio_range range[PORTIO_MAX_RANGES];
};

/*
 * Claims ports [base, base+len) of `vm` for `dev` (service core, vCPUs
 * not running). 0, -EINVAL (empty, wrapping past 0xffff or overlapping
 * another range), -ENOSPC (bus full).
 */
int portio_register(struct vm *vm, uint16_t base, uint16_t len, const char *name,
		    const struct portio_ops *ops, void *dev);
/* Forgets every range of `vm`. */
void portio_reset(struct vm *vm);

/* A guest IN of `size` bytes (1, 2, 4) by `v`: the device's answer, or all ones. */
uint32_t portio_read(struct vcpu *v, uint16_t port, unsigned size);
/* A guest OUT by `v`; dropped when no device claims the port. */
void portio_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);

#endif
