/*
 * vmm/core/trap.c - what happens when the CPU delivers an exception or an
 * interrupt to hako itself (never a guest's: those are VM exits).
 *
 * An exception in hako is a hako bug: print everything that helps find it
 * (vector name, error code, CR2, registers, a backtrace) on the serial
 * port and stop, instead of letting a double fault turn into a silent
 * triple fault and a reset.
 */
#include "vmm/core/trap.h"

#include <stdarg.h>

#include "vmm/core/lapic.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/percpu.h"

static irq_handler_t irq_table[256];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization exception",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

/* Where panics and exception dumps go: the serial port (boot sets it). */
static void (*panic_console)(const char *s, size_t n);

void trap_set_console(void (*write)(const char *s, size_t n))
{
	panic_console = write;
}

static void out(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (panic_console)
		panic_console(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static int plausible_frame(uint64_t rbp)
{
	/* Canonical, aligned, and not the null page. */
	return rbp >= 0x1000 && (rbp & 7) == 0 &&
	       ((rbp >> 47) == 0 || (rbp >> 47) == 0x1ffff);
}

void backtrace_print(uint64_t rbp)
{
	out("backtrace (addr2line -e build/kernel.elf ADDR):\n");
	for (int i = 0; i < 24 && plausible_frame(rbp); i++) {
		uint64_t *frame = (uint64_t *)rbp;
		if (!frame[1])
			break;
		out("  #%d 0x%016lx\n", i, frame[1]);
		if (frame[0] <= rbp)
			break; /* frames grow upwards; anything else is garbage */
		rbp = frame[0];
	}
}

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

static void stop_other_cores(void)
{
	/* NMIs stop them even with interrupts disabled (their handler halts). */
	lapic_send_nmi_all_but_self();
}

static void dump_frame(struct trap_frame *f)
{
	out("  rip=%016lx cs=%04lx rflags=%016lx\n", f->rip, f->cs, f->rflags);
	out("  rsp=%016lx ss=%04lx cr2=%016lx cr3=%016lx\n", f->rsp, f->ss,
	    read_cr2(), read_cr3());
	out("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	out("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	out("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	out("  r13=%016lx r14=%016lx r15=%016lx\n", f->r13, f->r14, f->r15);
}

/*
 * A page fault's error code in words (SDM Vol. 3A 4.7): which access, and
 * whether the page was absent or protected. Page 0 is never mapped, so an
 * address in it is almost surely a NULL pointer.
 */
static void explain_page_fault(struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();
	const char *access = f->error & (1u << 4) ? "instruction fetch" :
			     f->error & (1u << 1) ? "write" : "read";
	const char *why = f->error & (1u << 3) ? "a reserved bit set in a page-table entry" :
			  !(f->error & 1u) ? "page not present" :
			  f->error & (1u << 4) ? "page not executable" : "page read-only";
	out("  %s at 0x%lx: %s%s\n", access, cr2, why,
	    cr2 < 4096 ? " (a NULL pointer: page 0 is never mapped)" : "");
}

static volatile int panicking;

static void exception_fatal(struct trap_frame *f)
{
	unsigned cpu = this_cpu() ? this_cpu()->index : 0;
	if (f->vector == 2 && panicking)
		halt_forever(); /* another core panicked and stopped us */
	panicking = 1;
	stop_other_cores();
	out("\n*** hako: exception %s (vector %lu) error code 0x%lx on core %u\n",
	    exc_names[f->vector], f->vector, f->error, cpu);
	if (f->vector == 14)
		explain_page_fault(f);
	dump_frame(f);
	backtrace_print(f->rbp);
	out("*** hako stopped. This is a bug in hako; please report the lines above.\n");
	halt_forever();
}

#define CPUID1_EDX_MCA (1u << 14)
#define MSR_IA32_MCG_STATUS 0x17a

/* See trap.h. SDM Vol. 3B 16.3.1.2: MCIP set means a new #MC shuts the core down. */
uint64_t mce_guest_event(void)
{
	if (!(cpuid(1, 0).edx & CPUID1_EDX_MCA))
		return 0;
	uint64_t status = rdmsr(MSR_IA32_MCG_STATUS);
	wrmsr(MSR_IA32_MCG_STATUS, 0);
	return status;
}

void irq_register(uint8_t vector, irq_handler_t fn)
{
	irq_table[vector] = fn;
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector < 32) {
		exception_fatal(f);
		return;
	}
	if (irq_table[f->vector]) {
		irq_table[f->vector](f);
		return;
	}
	if (f->vector != VEC_SPURIOUS)
		lapic_eoi(); /* an unexpected vector: acknowledge and ignore */
}

void hv_panic(const char *fmt, ...)
{
	char buf[256];
	irq_disable();
	panicking = 1;
	stop_other_cores();
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out("\n*** hako panic on core %u: %s\n", this_cpu() ? this_cpu()->index : 0, buf);
	backtrace_print((uint64_t)__builtin_frame_address(0));
	out("*** hako stopped. This is a bug in hako; please report the lines above.\n");
	halt_forever();
}
