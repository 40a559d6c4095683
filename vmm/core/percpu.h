/*
 * vmm/core/percpu.h - per-core state: descriptor tables, stacks, and the
 * mailbox through which the service core hands work to a parked core.
 */
#ifndef HAKO_PERCPU_H
#define HAKO_PERCPU_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/cpu.h"

#define MAX_CPUS 64

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_TSS 0x20
#define GDT_ENTRIES 6

#define KSTACK_SIZE (32 * 1024)
#define IST_STACK_SIZE (8 * 1024)
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3

struct tss64 {                  /* SDM Vol. 3A 8.7 */
	uint32_t reserved0;     /* 0x00 */
	uint64_t rsp[3];        /* 0x04 */
	uint64_t reserved1;     /* 0x1c */
	uint64_t ist[7];        /* 0x24 */
	uint64_t reserved2;     /* 0x5c */
	uint16_t reserved3;     /* 0x64 */
	uint16_t iomap_base;    /* 0x66 */
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

struct percpu {
	struct percpu *self;     /* GS:0 points here */
	uint32_t index;          /* 0 = the boot (service) core */
	uint32_t apic_id;
	volatile int online;
	uint64_t kstack_top;
	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
	/* Work for a parked core: set `work_arg` then `work`; IPI the core. */
	void (*volatile work)(void *arg);
	void *volatile work_arg;
	/* smp_hold_kicks(): nesting depth, and the cores to kick at the end */
	int kick_hold;
	uint64_t kick_held;
	/* Opaque per-core state owned by the VMM (host save area etc). */
	void *vmm;
};

extern struct percpu cpus[MAX_CPUS];
extern unsigned cpu_count; /* cores described by ACPI, including the BSP */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Loads GDT, TSS, IDT and GS for `c` on the calling core; enables FXSAVE/XSAVE there. */
void cpu_setup_tables(struct percpu *c);
/* Builds the IDT once, before any core calls cpu_setup_tables(). */
void idt_init(void);

#endif
