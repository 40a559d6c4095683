/*
 * guests/probe/probe.c - the probe guest: a freestanding 64-bit program
 * for hako's ELF64 entry state (guests/README.md) whose command line
 * selects what it does, word by word, in order:
 *
 *   report        vendor, hypervisor signature, memory size
 *   pattern       write and verify a pattern over all free memory
 *   count=N       count to N, then go on (the guest halts at the end)
 *   cpuid-bench   1,000,000 CPUIDs timed with the TSC: exits per second
 *   vmrun vmmcall execute them; expect #UD and report it
 *   vmcall vmxon  the same for two VMX instructions (hako injects #UD on VT-x)
 *   msr           read an MSR nobody implements; expect #GP and report it
 *   beyond-read beyond-write   touch memory just past the end (hako ends us)
 *   triple        triple-fault (hako ends us)
 *   spin          loop forever with interrupts off (only destroy ends us)
 *   flood         write to the UART forever
 *
 * Output lines start with "probe: "; checks print PASS or FAIL.
 */
#include <stdint.h>

#include "guests/lib/console.h"
#include "guests/lib/io.h"

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

static struct idt_entry idt[32] __attribute__((aligned(16)));
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

static void idt_set(int vec, char *stub)
{
	uint64_t a = (uint64_t)stub;
	idt[vec] = (struct idt_entry){ (uint16_t)a, 0x08, 0, 0x8e, (uint16_t)(a >> 16),
				       (uint32_t)(a >> 32), 0 };
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

static void cmd_spin(void)
{
	puts_("probe: spinning with interrupts off\n");
	__asm__ volatile("cli; 1: jmp 1b");
}

static void cmd_flood(void)
{
	puts_("probe: flooding\n");
	for (uint64_t i = 0;; i++)
		puts_("flood flood flood flood flood flood flood flood flood flood\n");
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
	else if (word_is(w, n, "flood")) cmd_flood();
	/* other words (console=ttyS0) are not for the probe */
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
