/*
 * vmm/core/cpu_setup.c - each core's GDT, TSS and the shared IDT, and the
 * control bits that let it save and load x87/SSE/AVX state.
 *
 * The firmware's descriptor tables are not ours to keep (and OVMF runs
 * with TR = 0, which VM entry rejects as host state), so every core gets
 * hako's own GDT with a 64-bit TSS whose IST stacks catch double faults,
 * NMIs and machine checks on a known-good stack. SDM Vol. 3A 3.4.5
 * (segment descriptors), 7.2.3 (TSS descriptor in 64-bit mode), 6.14
 * (64-bit IDT gates and IST).
 */
#include "vmm/core/percpu.h"

#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"

struct idt_gate {               /* SDM Vol. 3A Figure 6-8 */
	uint16_t offset_lo;     /* 0x00 */
	uint16_t selector;      /* 0x02 */
	uint8_t ist;            /* 0x04 */
	uint8_t type_attr;      /* 0x05: P, DPL, type 0xE = interrupt gate */
	uint16_t offset_mid;    /* 0x06 */
	uint32_t offset_hi;     /* 0x08 */
	uint32_t reserved;      /* 0x0c */
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct percpu cpus[MAX_CPUS];
unsigned cpu_count = 1;

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const char trap_stub_base[]; /* vmm/core/trap.S: 16 bytes a vector */

#define CPUID1_ECX_XSAVE (1u << 26)

#define SEG_CODE64 0x00209a0000000000ull /* P, S, exec/read, L */
#define SEG_DATA 0x0000920000000000ull   /* P, S, read/write */

static void set_gate(int vec, uint64_t handler, int ist)
{
	idt[vec].offset_lo = handler & 0xffff;
	idt[vec].selector = GDT_KCODE;
	idt[vec].ist = (uint8_t)ist;
	idt[vec].type_attr = 0x8e;
	idt[vec].offset_mid = (handler >> 16) & 0xffff;
	idt[vec].offset_hi = (uint32_t)(handler >> 32);
}

void idt_init(void)
{
	uint64_t base = (uint64_t)trap_stub_base;

	for (int v = 0; v < 256; v++)
		set_gate(v, base + 16 * v, 0);
	set_gate(2, base + 16 * 2, IST_NMI);
	set_gate(8, base + 16 * 8, IST_DOUBLE_FAULT);
	set_gate(18, base + 16 * 18, IST_MACHINE_CHECK);
}

static void build_gdt(struct percpu *c)
{
	uint64_t tss = (uint64_t)&c->tss;
	uint64_t limit = sizeof(c->tss) - 1;

	c->gdt[0] = 0;
	c->gdt[1] = SEG_CODE64;
	c->gdt[2] = SEG_DATA;
	c->gdt[3] = 0;
	/* 64-bit available TSS (type 9), 16 bytes over two slots. */
	c->gdt[4] = (limit & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ull << 40) |
		    (((tss >> 24) & 0xff) << 56);
	c->gdt[5] = tss >> 32;
}

/*
 * x87 and SSE usable and FXSAVE/XSAVE working on this core: CR0.EM and TS
 * clear (else #UD or #NM), MP and NE set (native x87 errors); CR4.OSFXSR
 * and OSXMMEXCPT (FXSAVE saves the XMM registers, SSE runs), and
 * CR4.OSXSAVE where CPUID.1:ECX.XSAVE[26] says XSAVE exists (SDM Vol. 3A
 * 2.5, 13.1; Vol. 1 13.3). XCR0 starts as hako's own value, x87 only:
 * hako itself uses none of this state (built with -mno-sse -mno-80387);
 * vmm/vcpu_fpu.c loads each guest's while its vCPU owns the core.
 */
static void cpu_fpu_setup(void)
{
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	int xsave = !!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE);
	write_cr4(xsave ? cr4 | CR4_OSXSAVE : cr4);
	if (xsave)
		xsetbv(0, XCR0_RESET);
}

void cpu_setup_tables(struct percpu *c)
{
	c->self = c;
	memset(&c->tss, 0, sizeof(c->tss));
	c->tss.iomap_base = sizeof(c->tss); /* no I/O bitmap */
	for (int i = 1; i <= 3; i++)
		c->tss.ist[i - 1] = page_alloc_bytes(IST_STACK_SIZE) + IST_STACK_SIZE;
	c->tss.rsp[0] = c->kstack_top;
	build_gdt(c);

	struct desc_ptr gdtr = { sizeof(c->gdt) - 1, (uint64_t)c->gdt };
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%ss\n\t"
			 "xor %%eax, %%eax\n\t"
			 "mov %%ax, %%fs\n\t"
			 "mov %%ax, %%gs\n\t"
			 :
			 : "m"(gdtr), "i"(GDT_KCODE), "i"(GDT_KDATA)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
	__asm__ volatile("lidt %0" ::"m"(idtr));
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	cpu_fpu_setup();
}
