/*
 * vmm/mmio.h - the guest's MMIO bus: device models claim ranges of
 * guest-physical addresses that are not RAM. An access there causes a
 * nested page fault (EXIT_MEM_VIOLATION); vmm/mmio.c fetches and decodes
 * the faulting instruction (vmm/insn.c) and calls the device's handler.
 *
 * Unclaimed MMIO reads return all ones and writes are ignored, as on a
 * bus where nothing decodes the address. Handlers run on the accessing
 * vCPU's core; a device shared between vCPUs takes its own spinlock.
 */
#ifndef HAKO_MMIO_H
#define HAKO_MMIO_H

#include <stdint.h>

struct vm;
struct vcpu;

struct mmio_ops {
	/* `size` is 1, 2, 4 or 8; `offset` is relative to the range's base. */
	uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

#define MMIO_MAX_RANGES 16

struct mmio_range {
	uint64_t base, size;
	const struct mmio_ops *ops;
	void *dev;
	void *(*dev_of)(struct vcpu *v); /* a device per vCPU (its local APIC): dev is 0 */
};

/* Per guest; reset by mmio_reset() at every start. */
struct mmio_bus {
	unsigned n;
	struct mmio_range range[MMIO_MAX_RANGES];
};

/*
 * Claims [base, base+size) of `vm`'s guest-physical space for `dev`.
 * Called on the service core while the guest's vCPUs do not run (start).
 * Returns 0, -EINVAL (empty, overlapping RAM or another range), -ENOSPC.
 */
int mmio_register(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		  void *dev);

/*
 * The same for a device every vCPU has its own of at the same address
 * (the local APIC page, SDM Vol. 3A 11.4.1): an access by vCPU v reaches
 * dev_of(v).
 */
int mmio_register_vcpu(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		       void *(*dev_of)(struct vcpu *v));

/* Forgets every range of `vm` (stop). */
void mmio_reset(struct vm *vm);

/* The range containing `gpa`, or 0. */
const struct mmio_range *mmio_find(struct vm *vm, uint64_t gpa);

struct exit_info;
/*
 * Emulates the instruction that caused a nested page fault outside guest
 * RAM (EXIT_MEM_VIOLATION): fetches it through the guest's page tables,
 * decodes it (vmm/insn.h), calls the device and advances RIP. An
 * instruction hako cannot decode ends the guest (vcpu_fail). Returns an
 * enum exit_result.
 */
int mmio_emulate(struct vcpu *v, const struct exit_info *e);

#endif
