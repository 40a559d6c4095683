/*
 * vmm/dev/irq_weak.c - a stand-in for the IOAPIC's interrupt lines
 * (vmm/dev/irq.h) until the platform code that routes them is merged:
 * lines go nowhere, so drivers must poll. The real vm_irq_set and
 * vm_irq_pulse (vmm/dev/ioapic.c) override these.
 */
#include "vmm/dev/irq.h"

__attribute__((weak)) void vm_irq_set(struct vm *vm, unsigned gsi, int level)
{
	(void)vm, (void)gsi, (void)level; /* no IOAPIC model yet */
}

__attribute__((weak)) void vm_irq_pulse(struct vm *vm, unsigned gsi)
{
	(void)vm, (void)gsi; /* no IOAPIC model yet */
}
