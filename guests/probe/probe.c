/*
 * guests/probe/probe.c - the probe guest: a freestanding 64-bit program
 * for hako's ELF64 entry state (guests/README.md) whose command line
 * selects what it does, word by word, in order:
 *
 *   report        vendor, hypervisor signature, memory size
 *   pattern       write and verify a pattern over all free memory
 *   zero          check that all free memory is zero (no earlier guest's data)
 *   count=N       count to N, then go on (the guest halts at the end)
 *   cpuid-bench   1,000,000 CPUIDs timed with the TSC: exits per second
 *   vmrun vmmcall execute them; expect #UD and report it
 *   vmcall vmxon  the same for two VMX instructions (hako injects #UD on VT-x)
 *   msr           read an MSR nobody implements; expect #GP and report it
 *   beyond-read beyond-write   touch memory just past the end (hako ends us)
 *   triple        triple-fault (hako ends us)
 *   spin          loop forever with interrupts off (only destroy ends us)
 *   flood         write to the UART forever
 *   fpu-fill      fill XMM0-15 (YMM0-15 with AVX), the x87 stack, FCW and
 *                 MXCSR with a pattern (for the next guest on this core)
 *   fpu-zero      the x87/SSE/AVX state and XCR0 are those of a processor
 *                 just out of reset (nothing of an earlier guest): PASS
 *   fpu-keep      fill, cause thousands of exits, read back: PASS if the
 *                 guest's own state survived them
 *   invd          execute INVD and WBINVD: PASS when the guest goes on
 *   gdb           a loop for a debugger (tests/integration/test_gdb.py, gdb.c):
 *                 calls gdb_tick() with a growing count and prints gdb_value
 *                 whenever it changes; gdb_bytes holds eight known bytes; the
 *                 other vCPUs count in gdb_ap_loop()
 *   int-user      INT n from ring 3 (ring3.c): through a DPL 3 gate it returns
 *                 after the instruction, at a DPL 0 gate it raises #GP: PASS
 *   spec          the speculation-control MSRs exist exactly where CPUID
 *                 says (SPEC_CTRL, PRED_CMD, ARCH_CAPABILITIES; L1D_FLUSH
 *                 never offered); SPEC_CTRL starts at 0 and keeps what the
 *                 guest writes: PASS, and leaves SPEC_CTRL set
 *   fpu-share=S   for shared cores: fill XMM0-15 (YMM0-15) with a pattern
 *                 from seed S, and LSTAR and KERNEL_GS_BASE (MSRs the guest
 *                 owns without exits), spin 3 s (by the TSC) without exits,
 *                 checking all along that they still hold it while other
 *                 guests run on the core: PASS, or FAIL at the first change
 *   progress=N    N units of work (a fixed loop), a line after each, then
 *                 go on; N = 0: forever. The guest's own counter of the CPU
 *                 it got
 *   loop-bench    2^26 iterations of an empty loop timed with the TSC (a
 *                 CPU-bound guest's throughput, for shared vs dedicated)
 *
 * Output lines start with "probe: "; checks print PASS or FAIL.
 */
#include <stdint.h>

#include "guests/lib/console.h"
#include "guests/lib/io.h"
#include "guests/probe/probe.h"

extern char _end[];
extern char exc_stub_6[], exc_stub_13[];

static void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- exceptions the probe expects ---- */

struct exc_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile int expect_vector = -1, caught;
static volatile unsigned expect_len;

void probe_exception(struct exc_frame *f);
void probe_exception(struct exc_frame *f)
{
	if ((int)f->vector != expect_vector) {
		puts_("probe: FAIL unexpected exception ");
		putu(f->vector);
		puts_(" at ");
		putx(f->rip);
		puts_("\n");
		halt_forever();
	}
	caught = 1;
	f->rip += expect_len; /* skip the instruction that faulted */
}

void idt_gate(int vec, void *stub, int dpl)
{
	uint64_t a = (uint64_t)stub;
	uint8_t type = (uint8_t)(0x8e | (dpl & 3) << 5); /* present 64-bit interrupt gate */
	idt[vec] = (struct idt_entry){ (uint16_t)a, 0x08, 0, type, (uint16_t)(a >> 16),
				       (uint32_t)(a >> 32), 0 };
}

static void idt_set(int vec, char *stub)
{
	idt_gate(vec, stub, 0);
}

static void idt_load(uint16_t limit)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = { limit, (uint64_t)idt };
	__asm__ volatile("lidt %0" ::"m"(d));
}

/* Runs `fn`, expecting exception `vec` from an instruction of `len` bytes. */
static void expect(const char *what, int vec, unsigned len, void (*fn)(void))
{
	caught = 0;
	expect_len = len;
	expect_vector = vec;
	fn();
	expect_vector = -1;
	puts_("probe: ");
	puts_(what);
	puts_(caught ? (vec == 6 ? " #UD PASS\n" : " #GP PASS\n") : " no exception FAIL\n");
}

static void do_vmrun(void) { __asm__ volatile("xor %%eax, %%eax; vmrun" ::: "rax", "memory"); }
static void do_vmmcall(void) { __asm__ volatile("vmmcall" ::: "memory"); }
static void do_vmcall(void) { __asm__ volatile("vmcall" ::: "memory"); }
static void do_vmxon(void)
{
	uint64_t region = 0;
	__asm__ volatile("vmxon (%0)" ::"a"(&region) : "memory"); /* F3 0F C7 30 */
}
static void do_msr(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x4b564dffu)); /* no such MSR */
}

/* ---- the commands ---- */

static uint64_t mem_size;

static void cmd_report(void)
{
	uint32_t r[4];
	char vendor[13], sig[13];
	cpuid(0, r);
	*(uint32_t *)&vendor[0] = r[1], *(uint32_t *)&vendor[4] = r[3], *(uint32_t *)&vendor[8] = r[2];
	cpuid(0x40000000, r);
	*(uint32_t *)&sig[0] = r[1], *(uint32_t *)&sig[4] = r[2], *(uint32_t *)&sig[8] = r[3];
	vendor[12] = sig[12] = 0;
	uint32_t f[4], e[4];
	cpuid(1, f);
	cpuid(0x80000001, e);
	puts_("probe: vendor=");
	puts_(vendor);
	puts_(" hypervisor=");
	puts_(sig);
	puts_(" hv-bit=");
	putu(f[2] >> 31);
	puts_(" vmx=");
	putu((f[2] >> 5) & 1);
	puts_(" svm=");
	putu((e[2] >> 2) & 1);
	puts_(" mem=");
	putu(mem_size >> 20);
	puts_("M\n");
}

static void cmd_pattern(void)
{
	uint64_t start = ((uint64_t)_end + 0x1fffff) & ~0x1fffffull;
	for (uint64_t a = start; a < mem_size; a += 8)
		*(volatile uint64_t *)a = a * 0x9e3779b97f4a7c15ull;
	for (uint64_t a = start; a < mem_size; a += 8)
		if (*(volatile uint64_t *)a != a * 0x9e3779b97f4a7c15ull) {
			puts_("probe: pattern FAIL at ");
			putx(a);
			puts_("\n");
			return;
		}
	puts_("probe: pattern PASS ");
	putu((mem_size - start) >> 20);
	puts_(" MiB\n");
}

/* All memory above the probe's own 2 MiB: zero, as a guest must find it (issue 18). */
static void cmd_zero(void)
{
	uint64_t start = ((uint64_t)_end + 0x1fffff) & ~0x1fffffull;
	for (uint64_t a = start; a < mem_size; a += 8)
		if (*(volatile uint64_t *)a) {
			puts_("probe: zero FAIL at ");
			putx(a);
			puts_("\n");
			return;
		}
	puts_("probe: zero PASS ");
	putu((mem_size - start) >> 20);
	puts_(" MiB\n");
}

static void cmd_count(uint64_t n)
{
	volatile uint64_t i = 0;
	while (i < n)
		i++;
	puts_("probe: counted to ");
	putu(n);
	puts_("\n");
}

static void cmd_cpuid_bench(void)
{
	uint32_t r[4];
	cpuid(0x40000010, r);
	uint64_t khz = r[0], n = 1000000;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		cpuid(0, r);
	uint64_t cycles = rdtsc() - t0;
	uint64_t us = khz ? cycles * 1000 / khz : 0;
	puts_("probe: cpuid-bench ");
	putu(n);
	puts_(" exits in ");
	putu(us);
	puts_(" us: ");
	putu(us ? n * 1000000 / us : 0);
	puts_(" exits/s\n");
}

static void cmd_beyond(int write)
{
	volatile uint64_t *p = (volatile uint64_t *)(mem_size + 0x1000);
	puts_(write ? "probe: writing beyond memory\n" : "probe: reading beyond memory\n");
	if (write)
		*p = 1;
	else
		(void)*p;
	puts_("probe: FAIL access beyond memory did not end the guest\n");
}

static void cmd_triple(void)
{
	puts_("probe: triple-faulting\n");
	idt_load(0); /* no usable IDT: #UD -> #DF -> shutdown */
	__asm__ volatile("ud2");
	puts_("probe: FAIL triple fault survived\n");
}

/*
 * CLI comes before the line is printed: the loop runs from the entry after
 * the line's last UART exit without changing IF, the case that needs
 * hako's second way out on Bochs (vmm/vmx/share.c, vmx_kick_fallback).
 */
static void cmd_spin(void)
{
	__asm__ volatile("cli");
	puts_("probe: spinning with interrupts off\n");
	__asm__ volatile("1: jmp 1b");
}

static void cmd_flood(void)
{
	puts_("probe: flooding\n");
	for (uint64_t i = 0;; i++)
		puts_("flood flood flood flood flood flood flood flood flood flood\n");
}

/* ---- x87, SSE and AVX state ---- */

#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)
#define FCW_FILL 0x0c7f         /* round toward zero, 64-bit precision, all masked */
#define MXCSR_FILL 0xff80       /* flush to zero, round toward zero, all masked */

static int has_xsave, has_avx;
static uint8_t fpu_pattern[16][32] __attribute__((aligned(64)));
static uint8_t vec_a[16][32] __attribute__((aligned(64))), vec_b[16][32] __attribute__((aligned(64)));
static uint8_t fx_a[512] __attribute__((aligned(64))), fx_b[512] __attribute__((aligned(64)));

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static void xsetbv0(uint64_t v)
{
	__asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* SSE (and XSAVE where CPUID has it) usable: CR4.OSFXSR, OSXMMEXCPT, OSXSAVE. */
static void fpu_enable(void)
{
	uint32_t r[4];
	uint64_t cr4;
	cpuid(1, r);
	has_xsave = (r[2] >> 26) & 1;
	has_avx = has_xsave && ((r[2] >> 28) & 1);
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | (has_xsave ? CR4_OSXSAVE : 0);
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4));
}

/* The vector registers to v: YMM0-15 with AVX (XCR0.AVX set), else XMM0-15. */
static void vec_store(uint8_t v[16][32])
{
	if (has_avx)
		__asm__ volatile(
			"vmovdqu %%ymm0, 0x000(%0); vmovdqu %%ymm1, 0x020(%0); vmovdqu %%ymm2, 0x040(%0)\n"
			"vmovdqu %%ymm3, 0x060(%0); vmovdqu %%ymm4, 0x080(%0); vmovdqu %%ymm5, 0x0a0(%0)\n"
			"vmovdqu %%ymm6, 0x0c0(%0); vmovdqu %%ymm7, 0x0e0(%0); vmovdqu %%ymm8, 0x100(%0)\n"
			"vmovdqu %%ymm9, 0x120(%0); vmovdqu %%ymm10, 0x140(%0); vmovdqu %%ymm11, 0x160(%0)\n"
			"vmovdqu %%ymm12, 0x180(%0); vmovdqu %%ymm13, 0x1a0(%0); vmovdqu %%ymm14, 0x1c0(%0)\n"
			"vmovdqu %%ymm15, 0x1e0(%0)" ::"r"(v) : "memory");
	else
		__asm__ volatile(
			"movdqu %%xmm0, 0x000(%0); movdqu %%xmm1, 0x020(%0); movdqu %%xmm2, 0x040(%0)\n"
			"movdqu %%xmm3, 0x060(%0); movdqu %%xmm4, 0x080(%0); movdqu %%xmm5, 0x0a0(%0)\n"
			"movdqu %%xmm6, 0x0c0(%0); movdqu %%xmm7, 0x0e0(%0); movdqu %%xmm8, 0x100(%0)\n"
			"movdqu %%xmm9, 0x120(%0); movdqu %%xmm10, 0x140(%0); movdqu %%xmm11, 0x160(%0)\n"
			"movdqu %%xmm12, 0x180(%0); movdqu %%xmm13, 0x1a0(%0); movdqu %%xmm14, 0x1c0(%0)\n"
			"movdqu %%xmm15, 0x1e0(%0)" ::"r"(v) : "memory");
}

static void vec_load(uint8_t v[16][32])
{
	if (has_avx)
		__asm__ volatile(
			"vmovdqu 0x000(%0), %%ymm0; vmovdqu 0x020(%0), %%ymm1; vmovdqu 0x040(%0), %%ymm2\n"
			"vmovdqu 0x060(%0), %%ymm3; vmovdqu 0x080(%0), %%ymm4; vmovdqu 0x0a0(%0), %%ymm5\n"
			"vmovdqu 0x0c0(%0), %%ymm6; vmovdqu 0x0e0(%0), %%ymm7; vmovdqu 0x100(%0), %%ymm8\n"
			"vmovdqu 0x120(%0), %%ymm9; vmovdqu 0x140(%0), %%ymm10; vmovdqu 0x160(%0), %%ymm11\n"
			"vmovdqu 0x180(%0), %%ymm12; vmovdqu 0x1a0(%0), %%ymm13; vmovdqu 0x1c0(%0), %%ymm14\n"
			"vmovdqu 0x1e0(%0), %%ymm15" ::"r"(v) : "memory");
	else
		__asm__ volatile(
			"movdqu 0x000(%0), %%xmm0; movdqu 0x020(%0), %%xmm1; movdqu 0x040(%0), %%xmm2\n"
			"movdqu 0x060(%0), %%xmm3; movdqu 0x080(%0), %%xmm4; movdqu 0x0a0(%0), %%xmm5\n"
			"movdqu 0x0c0(%0), %%xmm6; movdqu 0x0e0(%0), %%xmm7; movdqu 0x100(%0), %%xmm8\n"
			"movdqu 0x120(%0), %%xmm9; movdqu 0x140(%0), %%xmm10; movdqu 0x160(%0), %%xmm11\n"
			"movdqu 0x180(%0), %%xmm12; movdqu 0x1a0(%0), %%xmm13; movdqu 0x1c0(%0), %%xmm14\n"
			"movdqu 0x1e0(%0), %%xmm15" ::"r"(v) : "memory");
}

/* The legacy region (x87, MXCSR, XMM) as FXSAVE64 writes it (SDM Vol. 1 Table 10-2). */
static void fx_store(uint8_t *a)
{
	for (int i = 0; i < 512; i++)
		a[i] = 0;
	__asm__ volatile("fxsave64 (%0)" ::"r"(a) : "memory");
}

static uint32_t fx32(const uint8_t *a, unsigned off)
{
	return a[off] | (uint32_t)a[off + 1] << 8 | (uint32_t)a[off + 2] << 16 |
	       (uint32_t)a[off + 3] << 24;
}

/* Every vector register, eight x87 registers, FCW and MXCSR get a pattern. */
static void fpu_fill(void)
{
	static const uint16_t fcw = FCW_FILL;
	static const uint32_t mxcsr = MXCSR_FILL;
	fpu_enable();
	if (has_avx)
		xsetbv0(7); /* x87 | SSE | AVX: an exit on both back ends */
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 32; j++)
			fpu_pattern[i][j] = (uint8_t)(0xa5 ^ (i * 32 + j)) | 1;
	vec_load(fpu_pattern);
	__asm__ volatile("fninit; fldcw %0; fld1; fldpi; fldl2t; fldl2e; fldlg2; fldln2; fld1; fldpi"
			 ::"m"(fcw));
	__asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
}

/*
 * DR0-DR3 and DR6's B0-B3: the guest writes them without an exit, and
 * nothing in VM entry or VMRUN switches DR0-DR3 (nor DR6 on VT-x), so
 * hako must (vmm/vcpu_dr.c). DR7 stays 0: the addresses arm nothing.
 */
static void dr_fill(uint64_t seed)
{
	uint64_t a = 0xffff800000001000ull | (seed & 0xff) << 20;
	__asm__ volatile("mov %0, %%db0" ::"r"(a));
	__asm__ volatile("mov %0, %%db1" ::"r"(a + 0x10));
	__asm__ volatile("mov %0, %%db2" ::"r"(a + 0x20));
	__asm__ volatile("mov %0, %%db3" ::"r"(a + 0x30));
	__asm__ volatile("mov %0, %%db6" ::"r"(0xffff0ff0ull | 0x5));
}

/* 0 when DR0-DR3 hold what dr_fill(seed) left (seed 0: what reset leaves: zeros, DR6 B0-B3 clear). */
static int dr_differ(uint64_t seed)
{
	uint64_t d[4], dr6, a = seed ? 0xffff800000001000ull | (seed & 0xff) << 20 : 0;
	__asm__ volatile("mov %%db0, %0" : "=r"(d[0]));
	__asm__ volatile("mov %%db1, %0" : "=r"(d[1]));
	__asm__ volatile("mov %%db2, %0" : "=r"(d[2]));
	__asm__ volatile("mov %%db3, %0" : "=r"(d[3]));
	__asm__ volatile("mov %%db6, %0" : "=r"(dr6));
	for (unsigned i = 0; i < 4; i++)
		if (d[i] != (seed ? a + 0x10 * i : 0))
			return 1;
	return !seed && (dr6 & 0xf);
}

static void cmd_fpu_fill(void)
{
	fpu_fill();
	dr_fill(0xa5);
	puts_(has_avx ? "probe: fpu-fill ymm0-15" : "probe: fpu-fill xmm0-15");
	puts_(" x87 fcw mxcsr dr0-3 dr6");
	if (has_xsave) {
		puts_(" xcr0=");
		putx(xgetbv0());
	}
	puts_("\n");
}

static int all_zero(const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void fail_part(int *ok, const char *what)
{
	if (*ok)
		puts_("probe: fpu-zero FAIL:");
	*ok = 0;
	puts_(" ");
	puts_(what);
}

/* A fresh vCPU: XCR0 = 1, registers zero, FCW 037FH, FSW 0, all tags empty, MXCSR 1F80H. */
static void cmd_fpu_zero(void)
{
	int ok = 1;
	fpu_enable();
	uint64_t xcr0 = has_xsave ? xgetbv0() : 1;
	if (has_avx)
		xsetbv0(7); /* the upper halves become readable, whatever they hold */
	vec_store(vec_a);
	fx_store(fx_a);
	if (xcr0 != 1)
		fail_part(&ok, "xcr0");
	if (!all_zero(&vec_a[0][0], sizeof(vec_a)))
		fail_part(&ok, has_avx ? "ymm" : "xmm");
	if ((fx32(fx_a, 0) & 0xffff) != 0x037f || (fx32(fx_a, 0) >> 16) != 0 || fx_a[4] != 0)
		fail_part(&ok, "fcw/fsw/ftw");
	if (fx32(fx_a, 24) != 0x1f80)
		fail_part(&ok, "mxcsr");
	for (int i = 0; i < 8; i++)
		if (!all_zero(fx_a + 32 + 16 * i, 10)) {
			fail_part(&ok, "st");
			break;
		}
	if (dr_differ(0))
		fail_part(&ok, "dr0-3/dr6");
	puts_(ok ? (has_avx ? "probe: fpu-zero PASS ymm0-15 x87 mxcsr xcr0 dr0-3 dr6\n" :
		   "probe: fpu-zero PASS xmm0-15 x87 mxcsr dr0-3 dr6\n") : "\n");
}

static void do_nothing(void) { __asm__ volatile("rdmsr" ::"c"(0x4b564dffu) : "rax", "rdx"); }

/* The guest's own state survives its exits: CPUID, port I/O, UART, #GP injection, XSETBV. */
static void cmd_fpu_keep(void)
{
	uint32_t r[4];
	fpu_fill();
	vec_store(vec_a);
	fx_store(fx_a);
	for (int i = 0; i < 20000; i++)
		cpuid(0, r);
	for (int i = 0; i < 2000; i++)
		(void)inb(0x80);
	puts_("probe: fpu-keep exits done\n");
	for (int i = 0; i < 10; i++) {
		caught = 0;
		expect_len = 2;
		expect_vector = 13;
		do_nothing();
		expect_vector = -1;
	}
	if (has_avx)
		xsetbv0(7);
	vec_store(vec_b);
	fx_store(fx_b);
	int same = 1, width = has_avx ? 32 : 16; /* bytes of each register read */
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < width; j++)
			same &= vec_a[i][j] == vec_b[i][j] && vec_a[i][j] == fpu_pattern[i][j];
	for (unsigned i = 0; i < 512; i++)
		same &= fx_a[i] == fx_b[i];
	same &= (fx32(fx_b, 0) & 0xffff) == FCW_FILL && fx32(fx_b, 24) == MXCSR_FILL;
	puts_(same ? "probe: fpu-keep PASS\n" : "probe: fpu-keep FAIL the guest's registers changed\n");
}

/* ---- shared cores ---- */

static uint64_t msr_get(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void msr_put(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define MSR_LSTAR 0xc0000082
#define MSR_KERNEL_GS_BASE 0xc0000102

static void cmd_fpu_share(uint64_t seed)
{
	const uint64_t lstar = 0xffffffff80000000ull | (seed & 0xffff) << 12;
	const uint64_t kgs = 0xffff888000000000ull | (seed & 0xffff) << 12;
	msr_put(MSR_LSTAR, lstar);
	msr_put(MSR_KERNEL_GS_BASE, kgs);
	uint32_t r[4];
	cpuid(0x40000010, r);
	uint64_t khz = r[0] ? r[0] : 1000000, end = rdtsc() + 3000 * khz, checks = 0;
	fpu_enable();
	if (has_avx)
		xsetbv0(7);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 32; j++)
			fpu_pattern[i][j] = (uint8_t)(seed * 131 + (uint64_t)i * 32 + (uint64_t)j) | 1;
	vec_load(fpu_pattern);
	dr_fill(seed);
	while (rdtsc() < end) {
		for (volatile int k = 0; k < 20000; k++)
			;
		vec_store(vec_a);
		checks++;
		if (msr_get(MSR_LSTAR) != lstar || msr_get(MSR_KERNEL_GS_BASE) != kgs) {
			puts_("probe: fpu-share FAIL LSTAR or KERNEL_GS_BASE changed\n");
			return;
		}
		if (dr_differ(seed)) {
			puts_("probe: fpu-share FAIL DR0-DR3 changed\n");
			return;
		}
		int width = has_avx ? 32 : 16;
		for (int i = 0; i < 16; i++)
			for (int j = 0; j < width; j++)
				if (vec_a[i][j] != fpu_pattern[i][j]) {
					puts_("probe: fpu-share FAIL register changed after ");
					putu(checks);
					puts_(" checks\n");
					return;
				}
	}
	puts_(has_avx ? "probe: fpu-share PASS ymm0-15 lstar kernel-gs-base dr0-3 " :
		  "probe: fpu-share PASS xmm0-15 lstar kernel-gs-base dr0-3 ");
	putu(checks);
	puts_(" checks\n");
}

static void cmd_loop_bench(void)
{
	uint32_t r[4];
	cpuid(0x40000010, r);
	uint64_t khz = r[0], n = 1ull << 26, t0 = rdtsc();
	for (volatile uint64_t i = 0; i < n; i++)
		;
	uint64_t us = khz ? (rdtsc() - t0) * 1000 / khz : 0;
	puts_("probe: loop-bench ");
	putu(n);
	puts_(" iterations in ");
	putu(us);
	puts_(" us\n");
}

static void cmd_progress(uint64_t n)
{
	for (uint64_t done = 1; !n || done <= n; done++) {
		for (volatile uint64_t i = 0; i < (1u << 22); i++)
			;
		puts_("probe: progress ");
		putu(done);
		puts_("\n");
	}
}

/* ---- caches ---- */

/* INVD and WBINVD (0F 08, 0F 09): hako intercepts both and the guest goes on. */
static void cmd_invd(void)
{
	__asm__ volatile("invd; wbinvd" ::: "memory");
	puts_("probe: invd wbinvd PASS\n");
}

/* ---- speculation controls ---- */

/* RDMSR/WRMSR that may #GP: 1 when they did (the handler skips the 2-byte instruction). */
static int msr_faults(int write, uint32_t msr, uint64_t *val)
{
	uint32_t lo = (uint32_t)*val, hi = (uint32_t)(*val >> 32);
	caught = 0;
	expect_len = 2;
	expect_vector = 13;
	if (write)
		__asm__ volatile("wrmsr" ::"c"(msr), "a"(lo), "d"(hi) : "memory");
	else
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	expect_vector = -1;
	if (!write && !caught)
		*val = (uint64_t)hi << 32 | lo;
	return caught;
}

static void cmd_spec(void)
{
	uint32_t r0[4], r7[4] = { 0 }, x0[4], x8[4] = { 0 };
	cpuid(0, r0);
	if (r0[0] >= 7)
		cpuid(7, r7);
	cpuid(0x80000000, x0);
	if (x0[0] >= 0x80000008)
		cpuid(0x80000008, x8);
	uint32_t edx = r7[3], ebx = x8[1];
	/* which SPEC_CTRL bit to try: IBRS, else STIBP, else SSBD (SDM Vol. 4 Table 2-2) */
	uint64_t bit = (edx & (1u << 26)) || (ebx & (1u << 14)) ? 1 :
		       (edx & (1u << 27)) || (ebx & (1u << 15)) ? 2 :
		       (edx & (1u << 31)) || (ebx & (1u << 24)) ? 4 : 0;
	int ibpb = (edx & (1u << 26)) || (ebx & (1u << 12));
	int arch = !!(edx & (1u << 29));
	uint64_t v0 = 0, v1 = 0, caps = 0, cmd = 1;
	int ok = !(edx & (1u << 28)); /* L1D_FLUSH: hako does not give IA32_FLUSH_CMD */
	if (bit) {
		ok &= !msr_faults(0, 0x48, &v0) && v0 == 0;
		ok &= !msr_faults(1, 0x48, &bit) && !msr_faults(0, 0x48, &v1) && v1 == bit;
	} else {
		ok &= msr_faults(0, 0x48, &v0);
	}
	ok &= msr_faults(1, 0x49, &cmd) == !ibpb;
	ok &= arch ? !msr_faults(0, 0x10a, &caps) && (caps & (1u << 3)) : msr_faults(0, 0x10a, &caps);
	puts_(ok ? "probe: spec PASS" : "probe: spec FAIL");
	puts_(" spec_ctrl=");
	putu(bit ? 1 : 0);
	puts_(" start=");
	putx(v0);
	puts_(" ibpb=");
	putu((uint64_t)ibpb);
	puts_(" arch_caps=");
	putx(caps);
	puts_("\n");
}

/* ---- command line ---- */

static int word_is(const char *w, unsigned len, const char *s)
{
	unsigned i = 0;
	while (i < len && s[i] && w[i] == s[i])
		i++;
	return i == len && !s[i];
}

static uint64_t parse_u(const char *s, unsigned len)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

static void run_word(const char *w, unsigned n)
{
	if (word_is(w, n, "report")) cmd_report();
	else if (word_is(w, n, "pattern")) cmd_pattern();
	else if (word_is(w, n, "zero")) cmd_zero();
	else if (n > 6 && word_is(w, 6, "count=")) cmd_count(parse_u(w + 6, n - 6));
	else if (word_is(w, n, "cpuid-bench")) cmd_cpuid_bench();
	else if (word_is(w, n, "vmrun")) expect("vmrun", 6, 3, do_vmrun);
	else if (word_is(w, n, "vmmcall")) expect("vmmcall", 6, 3, do_vmmcall);
	else if (word_is(w, n, "vmcall")) expect("vmcall", 6, 3, do_vmcall);
	else if (word_is(w, n, "vmxon")) expect("vmxon", 6, 4, do_vmxon);
	else if (word_is(w, n, "msr")) expect("msr", 13, 2, do_msr);
	else if (word_is(w, n, "beyond-read")) cmd_beyond(0);
	else if (word_is(w, n, "beyond-write")) cmd_beyond(1);
	else if (word_is(w, n, "triple")) cmd_triple();
	else if (word_is(w, n, "spin")) cmd_spin();
	else if (word_is(w, n, "gdb")) cmd_gdb();
	else if (word_is(w, n, "int-user")) ring3_int_check();
	else if (word_is(w, n, "flood")) cmd_flood();
	else if (word_is(w, n, "fpu-fill")) cmd_fpu_fill();
	else if (word_is(w, n, "fpu-zero")) cmd_fpu_zero();
	else if (word_is(w, n, "fpu-keep")) cmd_fpu_keep();
	else if (word_is(w, n, "invd")) cmd_invd();
	else if (word_is(w, n, "spec")) cmd_spec();
	else if (n > 10 && word_is(w, 10, "fpu-share=")) cmd_fpu_share(parse_u(w + 10, n - 10));
	else if (n > 9 && word_is(w, 9, "progress=")) cmd_progress(parse_u(w + 9, n - 9));
	else if (word_is(w, n, "loop-bench")) cmd_loop_bench();
	/* other words (console=ttyS0) are not for the probe */
}

/* Does the command line have the word `s`? */
static int has_word(const char *p, const char *s)
{
	while (*p) {
		while (*p == ' ')
			p++;
		unsigned n = 0;
		while (p[n] && p[n] != ' ')
			n++;
		if (n && word_is(p, n, s))
			return 1;
		p += n;
	}
	return 0;
}

/* The other vCPUs (start.S): they count for a debugger with `gdb`, else halt. */
void probe_ap(const char *cmdline);
void probe_ap(const char *cmdline)
{
	if (has_word(cmdline, "gdb"))
		gdb_ap_loop();
}

void probe_main(uint64_t mem, const char *cmdline);
void probe_main(uint64_t mem, const char *cmdline)
{
	mem_size = mem;
	idt_set(6, exc_stub_6);
	idt_set(13, exc_stub_13);
	idt_load(sizeof(idt) - 1);
	puts_("probe: start cmdline=\"");
	puts_(cmdline);
	puts_("\"\n");
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		unsigned n = 0;
		while (p[n] && p[n] != ' ')
			n++;
		if (n)
			run_word(p, n);
		p += n;
	}
	puts_("probe: done, halting\n");
}
