/*
 * vmm/dev/lapic.h - a vCPU's local APIC model (SDM Vol. 3A chapter 11,
 * "Advanced Programmable Interrupt Controller"): xAPIC registers at
 * 0xfee00000 and the same registers as x2APIC MSRs 0x800-0x8ff, the timer
 * (one-shot, periodic, TSC-deadline), EOI (broadcast to the IOAPIC for
 * level-triggered vectors), and IPIs between a guest's vCPUs including
 * INIT and SIPI.
 *
 * Portable: time comes in as a TSC value (`now`), and the model reaches
 * the rest of the machine only through the ops given at reset - an ICR
 * write leaves as a decoded IPI message, a level-triggered EOI as a
 * callback, and a newly pending interrupt as a wake-up. Which vCPUs an
 * IPI reaches, and what INIT and SIPI do to a vCPU, is the kernel's
 * part (vmm/irq.c, declared at the end of this file).
 *
 * Everything but IRR/TMR/nmi_pending belongs to the vCPU's own core.
 * Other cores (IOAPIC lines, IPIs from other vCPUs) only set those bits
 * atomically (vlapic_accept, vlapic_nmi), which then wakes the vCPU.
 */
#ifndef HAKO_DEV_LAPIC_H
#define HAKO_DEV_LAPIC_H

#include <stdint.h>

/* Delivery modes of the ICR and of IOAPIC redirection entries (SDM 11.6.1). */
enum vlapic_mode {
	VLAPIC_FIXED = 0,
	VLAPIC_LOWEST = 1,
	VLAPIC_SMI = 2,
	VLAPIC_NMI = 4,
	VLAPIC_INIT = 5,
	VLAPIC_SIPI = 6,
	VLAPIC_EXTINT = 7,
};

/* ICR destination shorthands, bits 19:18 (SDM 11.6.1). */
enum vlapic_shorthand {
	VLAPIC_DEST = 0,        /* the destination field selects */
	VLAPIC_SELF = 1,
	VLAPIC_ALL = 2,         /* all including self */
	VLAPIC_OTHERS = 3,      /* all excluding self */
};

/* An interrupt message: an ICR write, or an IOAPIC redirection entry. */
struct vlapic_ipi {
	uint32_t dest;          /* APIC ID or logical destination (x2APIC: 32 bits) */
	uint8_t logical;        /* destination mode */
	uint8_t mode;           /* enum vlapic_mode */
	uint8_t vector;
	uint8_t level;          /* trigger mode; the ICR's IPIs are edge */
	uint8_t shorthand;      /* enum vlapic_shorthand */
};

/* How the model reaches the machine; `ctx` is the one given at reset. */
struct vlapic_ops {
	/* The guest wrote the ICR: send `m` (any mode, any shorthand). */
	void (*ipi)(void *ctx, const struct vlapic_ipi *m);
	/* EOI for a level-triggered vector: broadcast it to the IOAPIC (11.8.5). */
	void (*eoi)(void *ctx, uint8_t vector);
	/* An interrupt or NMI became pending, possibly from another core. */
	void (*wake)(void *ctx);
};

struct vlapic {
	const struct vlapic_ops *ops;   /* the wiring, set by vlapic_reset */
	void *ctx;
	/* From here on, the APIC's state: vlapic_reset clears it. */
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

/* Power-on/INIT state, wired through `ops` and `ctx` (contracts in lapic.c). */
void vlapic_reset(struct vlapic *l, uint32_t id, int bsp, const struct vlapic_ops *ops,
		  void *ctx);

/* The guest's accesses; `now` is the TSC. MSR forms return -1 for #GP. */
uint64_t vlapic_mmio_read(struct vlapic *l, uint64_t offset, unsigned size, uint64_t now);
void vlapic_mmio_write(struct vlapic *l, uint64_t offset, unsigned size, uint64_t val,
		       uint64_t now);
int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val, uint64_t now);
int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val, uint64_t now);
int vlapic_msr_is(uint32_t msr);

/* The vCPU loop (own core): fire a due timer, find and take an interrupt. */
void vlapic_timer_check(struct vlapic *l, uint64_t now);
int vlapic_pending(const struct vlapic *l);
void vlapic_ack(struct vlapic *l, int vector);

/* Arrivals from any core: a fixed interrupt, an NMI. */
void vlapic_accept(struct vlapic *l, uint8_t vector, int level);
void vlapic_nmi(struct vlapic *l);

/* Destination matching, for whoever routes a message to a guest's APICs. */
int vlapic_match(const struct vlapic *l, uint32_t dest, int logical);
int vlapic_ipi_accepts(const struct vlapic *l, const struct vlapic_ipi *m, int sender);

#endif
