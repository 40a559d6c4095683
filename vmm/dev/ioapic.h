/*
 * vmm/dev/ioapic.h - a guest's I/O APIC model (Intel 82093AA I/O APIC
 * datasheet: IOREGSEL/IOWIN, IOAPICID, IOAPICVER, redirection table;
 * version 0x11, 32 pins, EOI by LAPIC broadcast). Edge pins deliver on a
 * rising edge; level pins deliver while asserted and set remote IRR until
 * the guest's EOI for that vector.
 *
 * Portable: a message leaves through the `deliver` callback given at
 * reset (the platform hands it to the local APIC models), so the host
 * unit tests drive the model with a recorder.
 */
#ifndef HAKO_DEV_IOAPIC_H
#define HAKO_DEV_IOAPIC_H

#include <stdint.h>

#include "vmm/core/cpu.h"

#define VIOAPIC_PINS 32          /* GSI 0-31: the virtio-mmio devices use 16-27 */

/* An interrupt message, as the redirection entry describes it (82093AA 3.2.4). */
struct vioapic_msg {
	uint32_t dest;          /* APIC ID, or logical destination */
	uint8_t logical;        /* destination mode */
	uint8_t mode;           /* delivery mode: 0 fixed, 1 lowest priority, ... */
	uint8_t vector;
	uint8_t level;          /* trigger mode: the target's EOI comes back */
};

typedef void (*vioapic_deliver_fn)(void *ctx, const struct vioapic_msg *m);

struct vioapic {
	struct spinlock lock;
	uint32_t regsel;
	uint32_t id;
	uint64_t redir[VIOAPIC_PINS];
	uint32_t line;          /* bit n: pin n asserted */
	vioapic_deliver_fn deliver; /* called with the lock held */
	void *ctx;
};

void vioapic_reset(struct vioapic *io, vioapic_deliver_fn deliver, void *ctx);
/* IOREGSEL (offset 0) and IOWIN (0x10), 32-bit; `io` is the struct vioapic. */
uint64_t vioapic_mmio_read(void *io, uint64_t offset, unsigned size);
void vioapic_mmio_write(void *io, uint64_t offset, unsigned size, uint64_t val);
/* A LAPIC EOI for a level-triggered `vector` (any core). */
void vioapic_eoi(struct vioapic *io, uint8_t vector);
/* Sets pin `pin` to `level` (1 = electrically high). Any core. */
void vioapic_set(struct vioapic *io, unsigned pin, int level);

#endif
