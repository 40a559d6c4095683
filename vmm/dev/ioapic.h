/*
 * vmm/dev/ioapic.h - a guest's I/O APIC model (Intel 82093AA I/O APIC
 * datasheet: IOREGSEL/IOWIN, IOAPICID, IOAPICVER, redirection table;
 * version 0x11, 24 pins, EOI by LAPIC broadcast). Edge pins deliver on a
 * rising edge; level pins deliver while asserted and set remote IRR until
 * the guest's EOI for that vector.
 */
#ifndef HAKO_DEV_IOAPIC_H
#define HAKO_DEV_IOAPIC_H

#include <stdint.h>

#include "vmm/core/cpu.h"

#define VIOAPIC_PINS 24

struct vm;

struct vioapic {
	struct spinlock lock;
	uint32_t regsel;
	uint32_t id;
	uint64_t redir[VIOAPIC_PINS];
	uint32_t line;          /* bit n: pin n asserted */
};

void vioapic_reset(struct vioapic *io);
uint64_t vioapic_mmio_read(void *vm, uint64_t offset, unsigned size);
void vioapic_mmio_write(void *vm, uint64_t offset, unsigned size, uint64_t val);
/* A LAPIC EOI for a level-triggered `vector` (any core). */
void vioapic_eoi(struct vm *vm, uint8_t vector);
/* Sets pin `pin` to `level`; `pulse` raises then lowers it. Any core. */
void vioapic_set(struct vm *vm, unsigned pin, int level);

#endif
