/*
 * vmm/dev/lapic.h - a vCPU's local APIC model (SDM Vol. 3A chapter 11,
 * "Advanced Programmable Interrupt Controller"): xAPIC registers at
 * 0xfee00000 and the same registers as x2APIC MSRs 0x800-0x8ff, the timer
 * (one-shot, periodic, TSC-deadline), EOI (broadcast to the IOAPIC for
 * level-triggered vectors), and IPIs between a guest's vCPUs including
 * INIT and SIPI.
 *
 * Everything but IRR/TMR belongs to the vCPU's own core. Other cores
 * (IOAPIC lines, IPIs from other vCPUs) only set IRR/TMR bits atomically
 * (vlapic_accept) and kick the core.
 */
#ifndef HAKO_DEV_LAPIC_H
#define HAKO_DEV_LAPIC_H

#include <stdint.h>

struct vcpu;
struct vm;

struct vlapic {
	uint32_t id;
	uint64_t apic_base;         /* IA32_APIC_BASE */
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t tpr, svr, ldr, dfr, esr, icr_hi;
	uint32_t lvt[7];            /* timer, thermal, perf, LINT0, LINT1, error, CMCI */
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_start;       /* TSC when the count was loaded */
	uint64_t deadline;          /* TSC of the next timer interrupt; 0: none */
	uint64_t tsc_deadline;      /* IA32_TSC_DEADLINE */
	volatile int nmi_pending;
};

/* Resets to the power-on state with APIC ID `id` (SDM 11.4.7.1). */
void vlapic_reset(struct vlapic *l, uint32_t id, int bsp);

/* xAPIC MMIO handlers (register offset in the 4 KiB page). */
uint64_t vlapic_mmio_read(void *vcpu, uint64_t offset, unsigned size);
void vlapic_mmio_write(void *vcpu, uint64_t offset, unsigned size, uint64_t val);

/* x2APIC and TSC-deadline MSRs; 0, or -1 to inject #GP. */
int vlapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int vlapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);
/* Is `msr` one of the APIC's (0x800-0x8ff, 0x6e0)? */
int vlapic_msr_is(uint32_t msr);

/* Fires the timer if its deadline passed (own core). */
void vlapic_timer_check(struct vcpu *v, uint64_t now_tsc);

/* The highest vector IRR holds that the processor priority lets through, or -1. */
int vlapic_pending(const struct vlapic *l);
/* Moves `vector` from IRR to ISR: the vCPU is about to take it. */
void vlapic_ack(struct vlapic *l, int vector);

/*
 * Delivers a fixed interrupt to `v` from any core: sets IRR (and TMR for
 * level-triggered vectors) and wakes the vCPU.
 */
void vlapic_accept(struct vcpu *v, uint8_t vector, int level);

/*
 * Sends an interrupt message (IOAPIC redirection entry or ICR) to the
 * vCPUs of `vm` that `dest`/`logical` select: delivery mode `mode`
 * (0 fixed, 1 lowest priority, 4 NMI, 5 INIT, 6 SIPI).
 */
void vlapic_deliver(struct vm *vm, uint32_t dest, int logical, unsigned mode, uint8_t vector,
		    int level);

#endif
