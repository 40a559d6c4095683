/*
 * vmm/irq.h - interrupt lines from device models into a guest's
 * IOAPIC (vmm/dev/ioapic.c), which routes them to the target vCPU's
 * local APIC model (vmm/dev/lapic.c) and wakes that vCPU (an IPI to its
 * core when it is running in the guest or halted).
 *
 * GSIs 0-23 are the IOAPIC's pins. Callable from any core.
 */
#ifndef HAKO_DEV_IRQ_H
#define HAKO_DEV_IRQ_H

struct vm;

/* Sets the state of a level-triggered line (1 = asserted, active high). */
void vm_irq_set(struct vm *vm, unsigned gsi, int level);
/* Raises an edge on `gsi`. */
void vm_irq_pulse(struct vm *vm, unsigned gsi);

#endif
