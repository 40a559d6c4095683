/*
 * tests/unit/test_exit.c - the neutral exit path (vmm/exit.c, msr.c,
 * mmio.c, portio.c, vcpu_regs.c, irq.c) against a fake back end that
 * records what the core asks of it: registers live in arrays here,
 * injected events and TLB flushes are counted, and guest memory is a
 * buffer of this test. Each test builds one decoded exit the way a back
 * end would and checks the guest-visible result: registers, RIP,
 * injected exceptions, device calls, a crash with its reason.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/backend.h"
#include "vmm/core/lib/errno.h"
#include "vmm/cpuid_policy.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/x86.h"
#include "vmm/exit_dispatch.h"
#include "vmm/exit_names.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/msr.h"
#include "vmm/portio.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

/* ---- what the exit path calls outside the files under test ---- */

uint64_t tsc_khz = 2000000, tsc_boot;
struct virt_caps virt = { .kind = "svm", .vendor = "AuthenticAMD" };
struct spec_caps spec; /* vmm/spec.c fills it at boot; each test sets what it needs */

static struct {
	int fails;
	char why[256];
	int power;
	int wakes, inits, sipis;
} world;

void vcpu_fail(struct vcpu *v, const struct exit_info *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(world.why, sizeof(world.why), fmt, ap);
	va_end(ap);
	(void)e;
	world.fails++;
	v->vm->failed = 1;
	v->vm->stop_request = 1;
}

void vcpu_wake(struct vcpu *v) { (void)v, world.wakes++; }
void vcpu_signal_init(struct vcpu *v) { (void)v, world.inits++; }
void vcpu_signal_sipi(struct vcpu *v, uint8_t vector) { (void)v, (void)vector, world.sipis++; }

/* vmm/core/trap.c reads and clears IA32_MCG_STATUS; here a fixed value. */
static int mce_reads;
uint64_t mce_guest_event(void)
{
	mce_reads++;
	return 0x5; /* RIPV | MCIP */
}

/* vmm/vcpu_fpu.c loads XCR0 on the core; here it is only recorded. */
static int xcr0_loads;
int vcpu_fpu_set_xcr0(struct vcpu *v, uint64_t xcr0)
{
	xcr0_loads++;
	v->xcr0 = xcr0;
	return 0;
}

void vm_request_power(struct vcpu *v, enum vm_power what)
{
	world.power = what;
	v->vm->stop_request = 1;
}

/* ---- the fake back end ---- */

static struct {
	uint64_t reg[VREG_COUNT];
	struct vseg_desc seg[VSEG_COUNT];
	struct vevent injected[8];
	int ninjected;
	int flushes;
} be;

static uint64_t fake_reg_read(struct vcpu *v, enum vreg r) { (void)v; return be.reg[r]; }
static void fake_reg_write(struct vcpu *v, enum vreg r, uint64_t val) { (void)v, be.reg[r] = val; }
static void fake_seg_read(struct vcpu *v, enum vseg s, struct vseg_desc *d) { (void)v, *d = be.seg[s]; }
static void fake_seg_write(struct vcpu *v, enum vseg s, const struct vseg_desc *d) { (void)v, be.seg[s] = *d; }
static void fake_tlb_flush(struct vcpu *v) { (void)v, be.flushes++; }

static int fake_inject(struct vcpu *v, const struct vevent *ev)
{
	(void)v;
	if (be.ninjected == 8)
		return -1;
	be.injected[be.ninjected++] = *ev;
	return 0;
}

static const struct vmm_backend fake_backend = {
	.name = "fake",
	.reg_read = fake_reg_read,
	.reg_write = fake_reg_write,
	.seg_read = fake_seg_read,
	.seg_write = fake_seg_write,
	.inject = fake_inject,
	.tlb_flush = fake_tlb_flush,
};
const struct vmm_backend *backend = &fake_backend;

/* ---- a guest: 4 MiB of memory in two chunks, two vCPUs ---- */

#define MEM_SIZE (2 * VM_CHUNK_SIZE)
static struct vm vm;
static struct vcpu cpu0, cpu1;
static uint64_t chunks[2];
static uint8_t *mem;

static void setup(enum vm_platform platform)
{
	if (!mem)
		mem = aligned_alloc(4096, MEM_SIZE);
	memset(mem, 0, MEM_SIZE);
	memset(&vm, 0, sizeof(vm));
	memset(&be, 0, sizeof(be));
	memset(&world, 0, sizeof(world));
	memset(&cpu0, 0, sizeof(cpu0));
	memset(&cpu1, 0, sizeof(cpu1));
	vm.def.mem = MEM_SIZE;
	vm.mem.size = MEM_SIZE;
	vm.mem.nchunks = 2;
	chunks[0] = (uint64_t)mem;
	chunks[1] = (uint64_t)mem + VM_CHUNK_SIZE;
	vm.mem.chunk = chunks;
	vm.platform = platform;
	cpu0.vm = cpu1.vm = &vm;
	cpu1.id = 1;
	vm.vcpu[0] = &cpu0;
	vm.vcpu[1] = &cpu1;
	vm.nvcpus = 2;
	/* Paging off, 32-bit flat code: linear = physical for the MMIO fetch. */
	be.seg[VSEG_CS] = (struct vseg_desc){ 8, SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_DB | 0xb, 0xffffffff, 0 };
	be.reg[VREG_CR0] = CR0_PE | CR0_ET;
	if (platform == VM_PLATFORM_PC) {
		irq_vcpu_reset(&cpu0, 1);
		irq_vcpu_reset(&cpu1, 0);
		CHECK_EQ(irq_attach(&vm), 0);
	}
}

static struct exit_info exit_of(enum exit_kind k, uint64_t rip, uint8_t len)
{
	struct exit_info e;
	memset(&e, 0, sizeof(e));
	e.kind = k;
	e.rip = rip;
	e.insn_len = len;
	be.reg[VREG_RIP] = rip;
	return e;
}

static int injected(uint8_t vector)
{
	for (int i = 0; i < be.ninjected; i++)
		if (be.injected[i].type == VEVENT_EXCEPTION && be.injected[i].vector == vector)
			return 1;
	return 0;
}

/* ---- a fake device on both buses: it records and answers ---- */

static struct fake_dev {
	int reads, writes;
	uint64_t last_offset, last_val;
	unsigned last_size;
	uint64_t answer;
	struct vcpu *last_vcpu;
} dev_a, dev_b;

static uint32_t pio_read(void *d, struct vcpu *v, uint16_t off, unsigned size)
{
	struct fake_dev *f = d;
	f->reads++, f->last_offset = off, f->last_size = size, f->last_vcpu = v;
	return (uint32_t)f->answer;
}

static void pio_write(void *d, struct vcpu *v, uint16_t off, unsigned size, uint32_t val)
{
	struct fake_dev *f = d;
	f->writes++, f->last_offset = off, f->last_size = size, f->last_val = val, f->last_vcpu = v;
}

static uint64_t mm_read(void *d, uint64_t off, unsigned size)
{
	struct fake_dev *f = d;
	f->reads++, f->last_offset = off, f->last_size = size;
	return f->answer;
}

static void mm_write(void *d, uint64_t off, unsigned size, uint64_t val)
{
	struct fake_dev *f = d;
	f->writes++, f->last_offset = off, f->last_size = size, f->last_val = val;
}

static const struct portio_ops fake_pio = { pio_read, pio_write };
static const struct mmio_ops fake_mmio = { mm_read, mm_write };

/* ---- tests ---- */

static void test_cpuid_fills_registers_and_advances_rip(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_CPUID, 0x1000, 2);
	cpu0.regs.rax = CPUID_HV_BASE; /* the hypervisor leaf: hako's own signature */
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	char sig[13] = { 0 };
	memcpy(sig, &cpu0.regs.rbx, 4);
	memcpy(sig + 4, &cpu0.regs.rcx, 4);
	memcpy(sig + 8, &cpu0.regs.rdx, 4);
	CHECK_STREQ(sig, CPUID_HV_SIGNATURE);
	CHECK_EQ(be.reg[VREG_RIP], 0x1002);
	cpu0.regs.rax = CPUID_HV_TIMING; /* the timing leaf: the TSC rate in kHz */
	e = exit_of(EXIT_CPUID, 0x2000, 2);
	exit_dispatch(&cpu0, &e);
	CHECK_EQ(cpu0.regs.rax, 2000000);
}

static void test_hlt_halts_after_the_instruction(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_HLT, 0x1234, 1);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_HALT);
	CHECK_EQ(be.reg[VREG_RIP], 0x1235);
}

static void test_port_io_reaches_the_registered_device(void)
{
	setup(VM_PLATFORM_BARE);
	CHECK_EQ(portio_register(&vm, 0x3f8, 8, "a", &fake_pio, &dev_a), 0);
	memset(&dev_a, 0, sizeof(dev_a));
	struct exit_info e = exit_of(EXIT_PORT_IO, 0x100, 1);
	e.io.port = 0x3fb, e.io.size = 1, e.io.in = 0;
	cpu0.regs.rax = 0xdeadbe41;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(dev_a.writes, 1);
	CHECK_EQ(dev_a.last_offset, 3);
	CHECK_EQ(dev_a.last_val, 0x41); /* only AL goes out */
	CHECK(dev_a.last_vcpu == &cpu0);
	CHECK_EQ(be.reg[VREG_RIP], 0x101);

	/* IN AL keeps the rest of RAX; IN EAX zero-extends */
	dev_a.answer = 0x1234567;
	cpu0.regs.rax = 0xffffffffffffffffull;
	e = exit_of(EXIT_PORT_IO, 0x200, 1);
	e.io.port = 0x3f8, e.io.size = 1, e.io.in = 1;
	exit_dispatch(&cpu0, &e);
	CHECK_EQ(cpu0.regs.rax, 0xffffffffffffff67ull);
	e = exit_of(EXIT_PORT_IO, 0x200, 1);
	e.io.port = 0x3f8, e.io.size = 4, e.io.in = 1;
	exit_dispatch(&cpu0, &e);
	CHECK_EQ(cpu0.regs.rax, 0x1234567);
}

static void test_unclaimed_ports_read_all_ones(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_PORT_IO, 0x300, 1);
	e.io.port = 0x80, e.io.size = 2, e.io.in = 1;
	cpu0.regs.rax = 0;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(cpu0.regs.rax, 0xffff);
	e = exit_of(EXIT_PORT_IO, 0x300, 1);
	e.io.port = 0x80, e.io.size = 1, e.io.in = 0; /* dropped, not a fault */
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(world.fails, 0);
}

static void test_string_port_io_ends_the_guest(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_PORT_IO, 0x300, 1);
	e.io.port = 0x3f8, e.io.size = 1, e.io.in = 0, e.io.string = 1;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_EQ(world.fails, 1);
	CHECK_CONTAINS(world.why, "string port I/O");
	CHECK_EQ(be.reg[VREG_RIP], 0x300); /* not emulated, not skipped */
}

static void test_port_bus_refuses_bad_ranges(void)
{
	setup(VM_PLATFORM_BARE);
	CHECK_EQ(portio_register(&vm, 0x60, 4, "a", &fake_pio, &dev_a), 0);
	CHECK_EQ(portio_register(&vm, 0x62, 4, "b", &fake_pio, &dev_b), -EINVAL); /* overlap */
	CHECK_EQ(portio_register(&vm, 0xfffe, 4, "b", &fake_pio, &dev_b), -EINVAL); /* wraps */
	CHECK_EQ(portio_register(&vm, 0x70, 0, "b", &fake_pio, &dev_b), -EINVAL);   /* empty */
	CHECK_EQ(portio_register(&vm, 0x70, 1, "b", 0, &dev_b), -EINVAL);           /* no ops */
	for (unsigned i = 1; i < PORTIO_MAX_RANGES; i++)
		CHECK_EQ(portio_register(&vm, (uint16_t)(0x1000 + i), 1, "n", &fake_pio, &dev_b), 0);
	CHECK_EQ(portio_register(&vm, 0x2000, 1, "n", &fake_pio, &dev_b), -ENOSPC);
	portio_reset(&vm);
	CHECK_EQ(portio_register(&vm, 0x62, 4, "b", &fake_pio, &dev_b), 0);
}

static void test_unknown_msr_injects_gp_without_moving_rip(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_MSR_READ, 0x400, 2);
	e.msr.index = 0xc0011234;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK(injected(VEC_GP));
	CHECK_EQ(be.reg[VREG_RIP], 0x400);
	e = exit_of(EXIT_MSR_WRITE, 0x400, 2);
	e.msr.index = 0x10; /* the TSC is read-only to guests here */
	be.ninjected = 0;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
}

static void test_efer_write_keeps_lma_and_checks_reserved_bits(void)
{
	setup(VM_PLATFORM_BARE);
	be.reg[VREG_EFER] = EFER_LME | EFER_LMA;
	be.reg[VREG_CR0] |= CR0_PG;
	struct exit_info e = exit_of(EXIT_MSR_WRITE, 0x500, 2);
	e.msr.index = 0xc0000080;
	cpu0.regs.rax = EFER_LME | EFER_SCE | EFER_NXE, cpu0.regs.rdx = 0;
	exit_dispatch(&cpu0, &e);
	CHECK_EQ(be.reg[VREG_EFER], EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE);
	CHECK_EQ(be.reg[VREG_RIP], 0x502);
	CHECK_EQ(be.ninjected, 0);
	/* clearing LME while paging is on, or a reserved bit: #GP, nothing changes */
	e = exit_of(EXIT_MSR_WRITE, 0x500, 2);
	e.msr.index = 0xc0000080;
	cpu0.regs.rax = EFER_SCE;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	CHECK_EQ(be.reg[VREG_EFER], EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE);
	be.ninjected = 0;
	cpu0.regs.rax = EFER_LME | (1u << 5);
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
}

static void test_pat_rejects_reserved_memory_types(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_MSR_WRITE, 0x600, 2);
	e.msr.index = 0x277;
	cpu0.regs.rax = 0x00070406, cpu0.regs.rdx = 0x00070406;
	exit_dispatch(&cpu0, &e);
	CHECK_EQ(cpu0.msr_pat, 0x0007040600070406ull);
	cpu0.regs.rax = 0x08; /* type 8 does not exist */
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	CHECK_EQ(cpu0.msr_pat, 0x0007040600070406ull);
}

static void test_x2apic_msrs_exist_only_on_the_pc_platform(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_MSR_READ, 0x700, 2);
	e.msr.index = 0x803; /* x2APIC version register */
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));

	setup(VM_PLATFORM_PC);
	/* x2APIC mode first (APIC base: enable + EXTD), then read the ID of vCPU 1 */
	e = exit_of(EXIT_MSR_WRITE, 0x700, 2);
	e.msr.index = 0x1b;
	cpu1.regs.rax = 0xfee00000u | (1u << 11) | (1u << 10);
	exit_dispatch(&cpu1, &e);
	CHECK_EQ(be.ninjected, 0);
	e = exit_of(EXIT_MSR_READ, 0x700, 2);
	e.msr.index = 0x802;
	exit_dispatch(&cpu1, &e);
	CHECK_EQ(be.ninjected, 0);
	CHECK_EQ(cpu1.regs.rax, 1);
	CHECK_EQ(be.reg[VREG_RIP], 0x702);
}

/* Puts code bytes at guest-physical `gpa` (paging is off in these tests). */
static void code_at(uint64_t gpa, const uint8_t *bytes, unsigned n)
{
	memcpy(mem + gpa, bytes, n);
}

static void test_mmio_load_and_store_are_emulated(void)
{
	setup(VM_PLATFORM_BARE);
	CHECK_EQ(mmio_register(&vm, 0xd0000000, 0x1000, &fake_mmio, &dev_a), 0);
	memset(&dev_a, 0, sizeof(dev_a));
	static const uint8_t load[] = { 0x8b, 0x03 };  /* mov eax, [ebx] */
	static const uint8_t store[] = { 0x89, 0x0b }; /* mov [ebx], ecx */
	code_at(0x1000, load, sizeof(load));
	code_at(0x2000, store, sizeof(store));

	dev_a.answer = 0xcafef00d;
	cpu0.regs.rax = 0xffffffff00000000ull;
	cpu0.regs.rbx = 0xd0000010;
	struct exit_info e = exit_of(EXIT_MEM_VIOLATION, 0x1000, 0);
	e.mem.gpa = 0xd0000010, e.mem.access = EXIT_ACCESS_READ;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(dev_a.reads, 1);
	CHECK_EQ(dev_a.last_offset, 0x10);
	CHECK_EQ(dev_a.last_size, 4);
	CHECK_EQ(cpu0.regs.rax, 0xcafef00d); /* a 32-bit load zero-extends */
	CHECK_EQ(be.reg[VREG_RIP], 0x1002);

	cpu0.regs.rcx = 0x11223344;
	e = exit_of(EXIT_MEM_VIOLATION, 0x2000, 0);
	e.mem.gpa = 0xd0000020, e.mem.access = EXIT_ACCESS_WRITE;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(dev_a.writes, 1);
	CHECK_EQ(dev_a.last_val, 0x11223344);
	CHECK_EQ(be.reg[VREG_RIP], 0x2002);
}

static void test_unclaimed_mmio_depends_on_the_platform(void)
{
	static const uint8_t load[] = { 0x8b, 0x03 }; /* mov eax, [ebx] */
	setup(VM_PLATFORM_PC);
	code_at(0x1000, load, sizeof(load));
	cpu0.regs.rbx = 0xe0000000;
	struct exit_info e = exit_of(EXIT_MEM_VIOLATION, 0x1000, 0);
	e.mem.gpa = 0xe0000000, e.mem.access = EXIT_ACCESS_READ;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(cpu0.regs.rax, 0xffffffff); /* a PC: nothing decodes it, all ones */

	setup(VM_PLATFORM_BARE);
	code_at(0x1000, load, sizeof(load));
	e = exit_of(EXIT_MEM_VIOLATION, 0x1000, 0);
	e.mem.gpa = 0xe0000000, e.mem.access = EXIT_ACCESS_READ;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_CONTAINS(world.why, "read outside guest memory");
}

static void test_undecodable_mmio_instruction_ends_the_guest(void)
{
	setup(VM_PLATFORM_BARE);
	CHECK_EQ(mmio_register(&vm, 0xd0000000, 0x1000, &fake_mmio, &dev_a), 0);
	static const uint8_t fpu[] = { 0xd9, 0x03 }; /* fld dword [ebx]: not an MMIO access hako emulates */
	code_at(0x1000, fpu, sizeof(fpu));
	struct exit_info e = exit_of(EXIT_MEM_VIOLATION, 0x1000, 0);
	e.mem.gpa = 0xd0000000, e.mem.access = EXIT_ACCESS_READ;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_CONTAINS(world.why, "cannot emulate");
}

static void test_lapic_page_is_each_vcpus_own(void)
{
	setup(VM_PLATFORM_PC);
	static const uint8_t load[] = { 0x8b, 0x03 }; /* mov eax, [ebx] */
	code_at(0x1000, load, sizeof(load));
	cpu0.regs.rbx = cpu1.regs.rbx = 0xfee00020; /* the APIC ID register */
	struct exit_info e = exit_of(EXIT_MEM_VIOLATION, 0x1000, 0);
	e.mem.gpa = 0xfee00020, e.mem.access = EXIT_ACCESS_READ;
	exit_dispatch(&cpu0, &e);
	e = exit_of(EXIT_MEM_VIOLATION, 0x1000, 0);
	e.mem.gpa = 0xfee00020, e.mem.access = EXIT_ACCESS_READ;
	exit_dispatch(&cpu1, &e);
	CHECK_EQ(cpu0.regs.rax >> 24, 0);
	CHECK_EQ(cpu1.regs.rax >> 24, 1);
}

static void test_triple_fault_resets_a_pc_and_ends_a_bare_guest(void)
{
	setup(VM_PLATFORM_PC);
	struct exit_info e = exit_of(EXIT_TRIPLE_FAULT, 0x1000, 0);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_STOP);
	CHECK_EQ(world.power, VM_POWER_RESET);
	CHECK_EQ(world.fails, 0);
	setup(VM_PLATFORM_BARE);
	e = exit_of(EXIT_TRIPLE_FAULT, 0x1000, 0);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_EQ(world.power, VM_POWER_NONE);
	CHECK_EQ(world.fails, 1);
}

static void test_virtualization_instructions_raise_ud(void)
{
	setup(VM_PLATFORM_BARE);
	struct exit_info e = exit_of(EXIT_VIRT_INSN, 0x1000, 3);
	e.insn.mnemonic = "vmrun";
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK(injected(VEC_UD));
	CHECK_EQ(be.reg[VREG_RIP], 0x1000);
}

static void test_cr4_write_with_a_reserved_bit_raises_gp(void)
{
	setup(VM_PLATFORM_BARE);
	be.reg[VREG_CR4] = CR4_PAE;
	struct exit_info e = exit_of(EXIT_CR_ACCESS, 0x1000, 3);
	e.cr.cr = 4, e.cr.op = EXIT_CR_MOV_TO, e.cr.gpr = 0;
	cpu0.regs.rax = CR4_PAE | (1ull << 31); /* bit 31 is reserved */
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK(injected(VEC_GP));
	CHECK_EQ(be.reg[VREG_CR4], CR4_PAE);
	CHECK_EQ(be.reg[VREG_RIP], 0x1000);
	/* a legal write lands, flushes the guest's TLB and moves RIP */
	be.ninjected = 0;
	cpu0.regs.rax = CR4_PAE | CR4_PGE;
	exit_dispatch(&cpu0, &e);
	CHECK_EQ(be.ninjected, 0);
	CHECK_EQ(be.reg[VREG_CR4], CR4_PAE | CR4_PGE);
	CHECK(be.flushes > 0);
	CHECK_EQ(be.reg[VREG_RIP], 0x1003);
}

/* The XCR0 bits this machine's CPUID leaf 0Dh offers (the guest sees the host's). */
static uint64_t host_xcr0_bits(void)
{
	struct cpuid_regs r0 = cpuid(0, 0), r1 = cpuid(1, 0);
	if (r0.eax < 0xd || !(r1.ecx & (1u << 26)))
		return 0;
	struct cpuid_regs d = cpuid(0xd, 0);
	return d.eax | (uint64_t)d.edx << 32;
}

static void test_xsetbv_keeps_the_guests_xcr0_and_refuses_what_cpuid_hides(void)
{
	uint64_t offered = host_xcr0_bits();
	setup(VM_PLATFORM_BARE);
	cpu0.xcr0 = XCR0_RESET;
	xcr0_loads = 0;
	struct exit_info e = exit_of(EXIT_XSETBV, 0x1000, 3);
	cpu0.regs.rcx = 0;
	cpu0.regs.rax = offered & 3, cpu0.regs.rdx = 0; /* x87 | SSE, where XSAVE exists */
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	if (offered & 2) {
		CHECK_EQ(be.ninjected, 0);
		CHECK_EQ(cpu0.xcr0, 3);
		CHECK_EQ(xcr0_loads, 1);
		CHECK_EQ(be.reg[VREG_RIP], 0x1003);
	}
	/* a component this CPU does not offer (bit 62 is never defined): #GP, XCR0 unchanged */
	be.ninjected = 0;
	e = exit_of(EXIT_XSETBV, 0x1000, 3);
	cpu0.regs.rax = 3, cpu0.regs.rdx = 1u << 30;
	uint64_t before = cpu0.xcr0;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	CHECK_EQ(cpu0.xcr0, before);
	CHECK_EQ(be.reg[VREG_RIP], 0x1000);
	/* x87 off, or another XCR: #GP (SDM Vol. 2C "XSETBV") */
	be.ninjected = 0;
	cpu0.regs.rax = 2, cpu0.regs.rdx = 0;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	be.ninjected = 0;
	cpu0.regs.rcx = 1, cpu0.regs.rax = 1;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	CHECK_EQ(xcr0_loads, (offered & 2) ? 1 : 0);
}

static void test_invd_and_wbinvd_are_skipped_as_no_ops(void)
{
	setup(VM_PLATFORM_PC);
	struct exit_info e = exit_of(EXIT_INVD, 0x1000, 2);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(be.reg[VREG_RIP], 0x1002);
	e = exit_of(EXIT_WBINVD, 0x2000, 3); /* WBNOINVD: F3 0F 09 */
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(be.reg[VREG_RIP], 0x2003);
	CHECK_EQ(be.ninjected, 0);
	CHECK_EQ(world.fails, 0);
	CHECK_STREQ(exit_kind_name(EXIT_INVD), "invd");
	CHECK_STREQ(exit_kind_name(EXIT_WBINVD), "wbinvd");
}

static void test_machine_check_ends_the_guest_with_a_reason(void)
{
	setup(VM_PLATFORM_PC); /* even a PC, which a triple fault only resets */
	mce_reads = 0;
	cpu0.core = 1;
	struct exit_info e = exit_of(EXIT_MACHINE_CHECK, 0x1000, 0);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_EQ(world.fails, 1);
	CHECK_EQ(mce_reads, 1); /* MCIP cleared: a later #MC does not shut the core down */
	CHECK_CONTAINS(world.why, "machine check on core 1");
	CHECK_CONTAINS(world.why, "MCG_STATUS 0x5");
	CHECK_EQ(world.power, VM_POWER_NONE);
	CHECK_EQ(be.ninjected, 0); /* never reflected into the guest */
	CHECK_STREQ(exit_kind_name(EXIT_MACHINE_CHECK), "machine-check");
}

static void test_arch_capabilities_exists_as_cpuid_says_and_is_read_only(void)
{
	setup(VM_PLATFORM_PC);
	memset(&spec, 0, sizeof(spec));
	struct exit_info e = exit_of(EXIT_MSR_READ, 0x1000, 2);
	e.msr.index = 0x10a;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP)); /* no ARCH_CAPABILITIES on the host: none for the guest */
	/* RDCL_NO, IBRS_ALL, MDS_NO, TSX_CTRL (7), FB_CLEAR_CTRL (18) on the host */
	spec.arch_caps = 1;
	spec.arch_caps_host = (1ull << 0) | (1ull << 1) | (1ull << 5) | (1ull << 7) | (1ull << 18);
	be.ninjected = 0;
	e = exit_of(EXIT_MSR_READ, 0x1000, 2);
	e.msr.index = 0x10a;
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_RESUME);
	CHECK_EQ(be.ninjected, 0);
	/* the immunities and SKIP_L1DFL_VMENTRY; not the bits announcing MSRs it lacks */
	CHECK_EQ(cpu0.regs.rax, (1u << 0) | (1u << 1) | (1u << 3) | (1u << 5));
	CHECK_EQ(cpu0.regs.rdx, 0);
	CHECK_EQ(be.reg[VREG_RIP], 0x1002);
	e = exit_of(EXIT_MSR_WRITE, 0x1000, 2);
	e.msr.index = 0x10a;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	memset(&spec, 0, sizeof(spec));
}

static void test_speculation_msrs_pass_through_only_where_the_cpu_has_them(void)
{
	uint32_t list[MSR_GUEST_OWNED_MAX];
	memset(&spec, 0, sizeof(spec));
	CHECK_EQ(msr_guest_owned(list, MSR_GUEST_OWNED_MAX), 0);
	/* without them they exit, and nothing emulates them: #GP, as CPUID says */
	setup(VM_PLATFORM_PC);
	struct exit_info e = exit_of(EXIT_MSR_WRITE, 0x1000, 2);
	e.msr.index = 0x48;
	cpu0.regs.rax = 1;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	be.ninjected = 0;
	e = exit_of(EXIT_MSR_WRITE, 0x1000, 2);
	e.msr.index = 0x49;
	exit_dispatch(&cpu0, &e);
	CHECK(injected(VEC_GP));
	spec.spec_ctrl = spec.ibpb = 1;
	CHECK_EQ(msr_guest_owned(list, MSR_GUEST_OWNED_MAX), 2);
	CHECK_EQ(list[0], 0x48);
	CHECK_EQ(list[1], 0x49);
	CHECK_EQ(msr_guest_owned(list, 1), 1); /* never more than asked */
	spec.spec_ctrl = 0;                     /* AMD with IBPB only */
	CHECK_EQ(msr_guest_owned(list, MSR_GUEST_OWNED_MAX), 1);
	CHECK_EQ(list[0], 0x49);
	memset(&spec, 0, sizeof(spec));
}

static void test_every_kind_has_a_handler_and_a_name(void)
{
	setup(VM_PLATFORM_BARE);
	for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
		CHECK(strcmp(exit_kind_name((enum exit_kind)k), "?") != 0);
	CHECK_STREQ(exit_kind_name(EXIT_KIND_COUNT), "?");
	struct exit_info e = exit_of((enum exit_kind)EXIT_KIND_COUNT, 0x1000, 0);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_CONTAINS(world.why, "no handler");
	setup(VM_PLATFORM_BARE);
	e = exit_of(EXIT_UNKNOWN, 0x1000, 0);
	CHECK_EQ(exit_dispatch(&cpu0, &e), EXIT_GUEST_FAULT);
	CHECK_EQ(world.fails, 1);
}

int main(void)
{
	RUN(test_cpuid_fills_registers_and_advances_rip);
	RUN(test_hlt_halts_after_the_instruction);
	RUN(test_port_io_reaches_the_registered_device);
	RUN(test_unclaimed_ports_read_all_ones);
	RUN(test_string_port_io_ends_the_guest);
	RUN(test_port_bus_refuses_bad_ranges);
	RUN(test_unknown_msr_injects_gp_without_moving_rip);
	RUN(test_efer_write_keeps_lma_and_checks_reserved_bits);
	RUN(test_pat_rejects_reserved_memory_types);
	RUN(test_x2apic_msrs_exist_only_on_the_pc_platform);
	RUN(test_mmio_load_and_store_are_emulated);
	RUN(test_unclaimed_mmio_depends_on_the_platform);
	RUN(test_undecodable_mmio_instruction_ends_the_guest);
	RUN(test_lapic_page_is_each_vcpus_own);
	RUN(test_triple_fault_resets_a_pc_and_ends_a_bare_guest);
	RUN(test_virtualization_instructions_raise_ud);
	RUN(test_cr4_write_with_a_reserved_bit_raises_gp);
	RUN(test_xsetbv_keeps_the_guests_xcr0_and_refuses_what_cpuid_hides);
	RUN(test_invd_and_wbinvd_are_skipped_as_no_ops);
	RUN(test_machine_check_ends_the_guest_with_a_reason);
	RUN(test_arch_capabilities_exists_as_cpuid_says_and_is_read_only);
	RUN(test_speculation_msrs_pass_through_only_where_the_cpu_has_them);
	RUN(test_every_kind_has_a_handler_and_a_name);
	free(mem);
	return check_done();
}
