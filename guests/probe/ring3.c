/*
 * guests/probe/ring3.c - `int-user`: INT n from ring 3 (ring3_entry.S), to
 * check that it reaches the guest as the instruction would on hardware,
 * also when hako intercepts it (AMD-V's INTn intercept, armed while a
 * debugger has breakpoints): through a DPL 3 gate it returns to the
 * instruction after INT, at a DPL 0 gate it raises #GP with the gate in
 * its error code (SDM Vol. 3A 6.12.1.1, 6.13) and the handler never runs.
 *
 * Ring 3 needs user segments, a TSS whose RSP0 the CPU switches to on
 * the way back, and pages with the U bit: the probe's GDT is replaced by
 * one with them (0x08 and 0x10 stay what they were) and the U bit set
 * on the first 2 MiB of the entry page tables (guests/README.md).
 */
#include <stdint.h>

#include "guests/lib/console.h"
#include "guests/probe/probe.h"

#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull
#define SEL_TSS 0x28

extern char ring3_leave_stub[], ring3_gate80_stub[], ring3_gate81_stub[], ring3_gp_stub[];
extern char ring3_after_81[], exc_stub_13[];
extern volatile uint64_t ring3_rip80, ring3_cs80, ring3_rip81, ring3_cs81, ring3_gp_error;
extern volatile uint32_t ring3_hits80, ring3_hits81, ring3_gp_count;
void ring3_enter(uint64_t rsp);

struct tss64 {                  /* SDM Vol. 3A 8.7 */
	uint32_t reserved0;     /* 0x00 */
	uint64_t rsp[3];        /* 0x04 */
	uint64_t reserved1;     /* 0x1c */
	uint64_t ist[7];        /* 0x24 */
	uint64_t reserved2;     /* 0x5c */
	uint16_t reserved3;     /* 0x64 */
	uint16_t iopb;          /* 0x66 */
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 0x68, "64-bit TSS is 104 bytes");

static struct tss64 tss __attribute__((aligned(16)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static uint8_t ring3_stack[4096] __attribute__((aligned(16)));

/* A 16-byte available 64-bit TSS descriptor (SDM Vol. 3A 8.2.3) in gdt[i], gdt[i + 1]. */
static void tss_desc(unsigned i, uint64_t base, uint32_t limit)
{
	gdt[i] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		 (uint64_t)(limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56;
	gdt[i + 1] = base >> 32;
}

static void gdt_load(void)
{
	gdt[1] = 0x00209a0000000000ull; /* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x0000920000000000ull; /* 0x10: data, DPL 0 */
	gdt[3] = 0x0000f20000000000ull; /* 0x18: data, DPL 3 */
	gdt[4] = 0x0020fa0000000000ull; /* 0x20: 64-bit code, DPL 3 */
	tss.rsp[0] = (uint64_t)(ring0_stack + sizeof(ring0_stack));
	tss.iopb = sizeof(tss);
	tss_desc(5, (uint64_t)&tss, sizeof(tss) - 1);
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = { sizeof(gdt) - 1,
										   (uint64_t)gdt };
	__asm__ volatile("lgdt %0; ltr %w1" ::"m"(d), "r"(SEL_TSS) : "memory");
}

/* The U bit on the page-table entries of [0, 2 MiB) (identity-mapped: tables are where they point). */
static void user_pages(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4 = (uint64_t *)(cr3 & PTE_ADDR);
	uint64_t *pdpt = (uint64_t *)(pml4[0] & PTE_ADDR);
	uint64_t *pd = (uint64_t *)(pdpt[0] & PTE_ADDR);
	pml4[0] |= PTE_U;
	pdpt[0] |= PTE_U;
	pd[0] |= PTE_U;
	__asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
}

static void verdict(const char *what, int ok)
{
	puts_("probe: int-user ");
	puts_(what);
	puts_(ok ? " PASS\n" : " FAIL\n");
}

void ring3_int_check(void)
{
	static int ready;
	if (!ready) { /* LTR marks the TSS busy: once */
		gdt_load();
		user_pages();
		ready = 1;
	}
	ring3_hits80 = ring3_hits81 = ring3_gp_count = 0;
	idt_gate(0x80, ring3_gate80_stub, 0);
	idt_gate(0x81, ring3_gate81_stub, 3);
	idt_gate(0x82, ring3_leave_stub, 3);
	idt_gate(13, ring3_gp_stub, 0);
	ring3_enter((uint64_t)(ring3_stack + sizeof(ring3_stack)));
	idt_gate(13, exc_stub_13, 0);
	if (ring3_hits81 != 1 || ring3_rip81 != (uint64_t)ring3_after_81 || (ring3_cs81 & 3) != 3) {
		puts_("probe: int-user dpl3 gate returned to ");
		putx(ring3_rip81);
		puts_(" cs ");
		putx(ring3_cs81);
		puts_("\n");
	}
	verdict("dpl3 gate", ring3_hits81 == 1 && ring3_rip81 == (uint64_t)ring3_after_81 &&
				     (ring3_cs81 & 3) == 3);
	/* the SDM's error code is the vector * 8 + 2; QEMU's TCG (7.2) reports vector * 16 + 2 in 64-bit mode */
	int gp_ok = ring3_gp_count == 1 &&
		    (ring3_gp_error == 0x80 * 8 + 2 || ring3_gp_error == 0x80 * 16 + 2);
	if (ring3_hits80 || !gp_ok) {
		puts_("probe: int-user dpl0 gate: handler ran ");
		putu(ring3_hits80);
		puts_(" times, #GP ");
		putu(ring3_gp_count);
		puts_(" times, error ");
		putx(ring3_gp_error);
		puts_("\n");
	}
	verdict("dpl0 gate #GP", !ring3_hits80 && gp_ok);
}
