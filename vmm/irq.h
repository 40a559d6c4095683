/*
 * vmm/irq.h - interrupts inside a guest with the PC platform: device
 * models raise lines of the guest's IOAPIC (vmm/dev/ioapic.c), whose
 * messages, and the IPIs vCPUs send, reach the local APIC models
 * (vmm/dev/lapic.c) of the vCPUs they select; a vCPU with a new interrupt
 * is woken (an IPI to its core when it runs in the guest or halts).
 * Local APICs also answer the guest's accesses: the xAPIC page on the
 * MMIO bus (one per vCPU at the same address) and the x2APIC MSRs.
 *
 * GSIs 0-23 are the IOAPIC's pins. Callable from any core unless noted.
 */
#ifndef HAKO_IRQ_H
#define HAKO_IRQ_H

#include <stdint.h>

struct vm;
struct vcpu;

/*
 * Resets the guest's IOAPIC and registers it and the per-vCPU local APIC
 * page on the MMIO bus (start, service core). 0 or -E... from the bus.
 */
int irq_attach(struct vm *vm);
/* Resets `v`'s local APIC to power-on state, wired to its guest (own core, or before it runs). */
void irq_vcpu_reset(struct vcpu *v, int bsp);

/* Sets the state of a level-triggered line (1 = asserted, active high). */
void vm_irq_set(struct vm *vm, unsigned gsi, int level);
/* Raises an edge on `gsi`. */
void vm_irq_pulse(struct vm *vm, unsigned gsi);

/* x2APIC MSRs (0x800-0x8ff) of `v`'s local APIC: 1 when `msr` is one. */
int irq_x2apic_msr(uint32_t msr);
/* 0, or -1 where the access must raise #GP (SDM Vol. 3A 11.12.1.3). */
int irq_x2apic_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int irq_x2apic_write(struct vcpu *v, uint32_t msr, uint64_t val);

#endif
