/*
 * vmm/exit.c - what hako does for each kind of VM exit, for either back
 * end. One bounds-checked table indexed by enum exit_kind dispatches
 * every exit; vcpu_loop() counts it per guest first.
 *
 * Following one CPUID: the guest executes CPUID -> #VMEXIT(CPUID) ->
 * svm_vcpu_run() decodes it (vmm/svm/exit.c) as EXIT_CPUID with
 * insn_len 2 -> vcpu_loop() counts it and calls exit_dispatch() ->
 * exit_cpuid() asks vmm/cpuid_policy.c, writes RAX..RDX, advances RIP
 * -> vcpu_loop() enters the guest again after the CPUID.
 */
#include "vmm/exit.h"

#include "vmm/backend.h"
#include "vmm/core/host.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"
#include "vmm/cpuid_policy.h"
#include "vmm/cr.h"
#include "vmm/exit_dispatch.h"
#include "vmm/mmio.h"
#include "vmm/platform.h"
#include "vmm/portio.h"
#include "vmm/vm.h"
#include "vmm/core/lib/x86.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_APIC_BASE_ 0x1b
#define  APIC_BASE_DEFAULT 0xfee00000ull
#define  APIC_BASE_ENABLE (1ull << 11)
#define  APIC_BASE_BSP (1ull << 8)
#define MSR_IA32_PAT 0x277
#define  PAT_RESERVED 0xf8f8f8f8f8f8f8f8ull /* each entry's bits 7:3 (SDM 11.12.2) */
#define MSR_MTRRCAP 0xfe
#define MSR_AMD_INT_PENDING 0xc0010055
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_MISC_ENABLE 0x1a0
#define  MISC_ENABLE_FAST_STRING (1ull << 0)
#define  MISC_ENABLE_BTS_UNAVAIL (1ull << 11)
#define  MISC_ENABLE_PEBS_UNAVAIL (1ull << 12)
#define  MISC_ENABLE_GUEST (MISC_ENABLE_FAST_STRING | MISC_ENABLE_BTS_UNAVAIL | \
			    MISC_ENABLE_PEBS_UNAVAIL)
#define  APIC_BASE_EXTD (1ull << 10)

/* ---- MSRs: a table of the few a guest may touch; the rest #GP ---- */

struct msr_entry {
	uint32_t index;
	int (*read)(struct vcpu *v, uint64_t *val);
	int (*write)(struct vcpu *v, uint64_t val); /* nonzero: inject #GP */
};

static int msr_tsc_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the TSC is not offset */
	*val = rdtsc();
	return 0;
}

static int msr_apic_base_read(struct vcpu *v, uint64_t *val)
{
	*val = v->lapic.apic_base;
	return 0;
}

/*
 * Only the enable bits may change; the base stays at 0xfee00000 (hako
 * does not move the APIC page), x2APIC only from enabled xAPIC (SDM
 * 11.12.5). Guests without the Linux platform keep the fixed value.
 */
static int msr_apic_base_write(struct vcpu *v, uint64_t val)
{
	uint64_t fixed = APIC_BASE_DEFAULT | APIC_BASE_BSP;
	if (!v->vm->linux_guest)
		return val == v->lapic.apic_base ? 0 : -1;
	if ((val & ~(fixed | APIC_BASE_ENABLE | APIC_BASE_EXTD)) ||
	    (val & fixed) != (v->lapic.apic_base & fixed))
		return -1;
	if ((val & APIC_BASE_EXTD) && !(val & APIC_BASE_ENABLE))
		return -1;
	v->lapic.apic_base = val;
	return 0;
}

static int msr_pat_read(struct vcpu *v, uint64_t *val)
{
	*val = v->msr_pat;
	return 0;
}

/*
 * Kept, not applied: guest memory types do not matter to hako's
 * correctness (a gap on real hardware, where VMCB g_pat/VMCS guest PAT
 * would carry it).
 */
static int msr_pat_write(struct vcpu *v, uint64_t val)
{
	if (val & PAT_RESERVED)
		return -1;
	v->msr_pat = val;
	return 0;
}

/* No variable or fixed MTRRs (MTRRCAP = 0); the default type is kept. */
static int msr_mtrrcap_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	*val = 0;
	return 0;
}

/* AMD "interrupt pending message" (C1E, BKDG family 10h): no C1E here. */
static int msr_zero_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	*val = 0;
	return 0;
}

static int msr_mtrr_def_read(struct vcpu *v, uint64_t *val)
{
	*val = v->msr_mtrr_def_type;
	return 0;
}

static int msr_mtrr_def_write(struct vcpu *v, uint64_t val)
{
	if (val & ~0xcffull)
		return -1;
	v->msr_mtrr_def_type = val;
	return 0;
}

/*
 * IA32_MISC_ENABLE exists on Intel processors only (SDM Vol. 4 Table
 * 2-2); Linux reads it early, before it has an IDT (verify_cpu, for the
 * XD-disable bit). The guest sees fast strings on, no BTS, no PEBS, XD
 * not disabled; it may write that value back, nothing else.
 */
static int msr_misc_enable_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	if (strcmp(virt.vendor, "GenuineIntel"))
		return -1;
	*val = MISC_ENABLE_GUEST;
	return 0;
}

static int msr_misc_enable_write(struct vcpu *v, uint64_t val)
{
	uint64_t cur;
	return msr_misc_enable_read(v, &cur) || val != cur ? -1 : 0;
}

static int msr_efer_read(struct vcpu *v, uint64_t *val)
{
	*val = backend->reg_read(v, VREG_EFER);
	return 0;
}

/*
 * SCE and NXE may change; LME only while paging is off (the AP start-up
 * path enters long mode this way; SDM Vol. 3A 10.8.5); LMA is the CPU's.
 */
static int msr_efer_write(struct vcpu *v, uint64_t val)
{
	uint64_t old = backend->reg_read(v, VREG_EFER);
	int paging = !!(backend->reg_read(v, VREG_CR0) & (1ull << 31));
	if ((val & ~(EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE)) ||
	    (paging && (val & EFER_LME) != (old & EFER_LME)))
		return -1;
	backend->reg_write(v, VREG_EFER, (old & EFER_LMA) | (val & (EFER_LME | EFER_SCE | EFER_NXE)));
	return 0;
}

static const struct msr_entry msr_table[] = {
	{ MSR_IA32_TSC, msr_tsc_read, 0 },
	{ MSR_IA32_APIC_BASE_, msr_apic_base_read, msr_apic_base_write },
	{ MSR_EFER, msr_efer_read, msr_efer_write },
	{ MSR_IA32_PAT, msr_pat_read, msr_pat_write },
	{ MSR_MTRRCAP, msr_mtrrcap_read, 0 },
	{ MSR_MTRR_DEF_TYPE, msr_mtrr_def_read, msr_mtrr_def_write },
	{ MSR_AMD_INT_PENDING, msr_zero_read, 0 },
	{ MSR_IA32_MISC_ENABLE, msr_misc_enable_read, msr_misc_enable_write },
};

static const struct msr_entry *msr_find(uint32_t index)
{
	for (unsigned i = 0; i < sizeof(msr_table) / sizeof(msr_table[0]); i++)
		if (msr_table[i].index == index)
			return &msr_table[i];
	return 0;
}

static enum exit_result exit_msr_read(struct vcpu *v, const struct exit_info *e)
{
	const struct msr_entry *m = msr_find(e->msr.index);
	uint64_t val;
	int apic = v->vm->linux_guest && vlapic_msr_is(e->msr.index);
	if (apic ? vlapic_msr_read(&v->lapic, e->msr.index, &val, rdtsc()) : (!m || !m->read || m->read(v, &val))) {
		vcpu_inject_exception(v, VEC_GP, 1, 0); /* unknown MSR: #GP(0), SDM "RDMSR" */
		return EXIT_RESUME;
	}
	v->regs.rax = (uint32_t)val;
	v->regs.rdx = val >> 32;
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

static enum exit_result exit_msr_write(struct vcpu *v, const struct exit_info *e)
{
	const struct msr_entry *m = msr_find(e->msr.index);
	uint64_t val = (uint32_t)v->regs.rax | v->regs.rdx << 32;
	int apic = v->vm->linux_guest && vlapic_msr_is(e->msr.index);
	if (apic ? vlapic_msr_write(&v->lapic, e->msr.index, val, rdtsc()) : (!m || !m->write || m->write(v, val))) {
		vcpu_inject_exception(v, VEC_GP, 1, 0);
		return EXIT_RESUME;
	}
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

/* ---- the other handlers ---- */

static void host_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	(void)ctx; /* the CPU itself */
	struct cpuid_regs h = cpuid(leaf, sub);
	*r = (struct cpuid_result){ h.eax, h.ebx, h.ecx, h.edx };
}

/* CPUID(leaf, sub) as this guest sees it. */
static void guest_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	const struct cpuid_ctx c = { (uint32_t)tsc_khz, host_cpuid, 0, v->lapic.id,
				     v->vm->linux_guest,
				     !!(backend->reg_read(v, VREG_CR4) & CR4_OSXSAVE) };
	cpuid_policy(&c, leaf, sub, r);
}

static enum exit_result exit_cpuid(struct vcpu *v, const struct exit_info *e)
{
	struct cpuid_result r;
	guest_cpuid(v, (uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, &r);
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

static enum exit_result exit_hlt(struct vcpu *v, const struct exit_info *e)
{
	vcpu_skip_insn(v, e);
	return EXIT_HALT;
}

static enum exit_result exit_port_io(struct vcpu *v, const struct exit_info *e)
{
	if (e->io.string) {
		vcpu_fail(v, e, "string port I/O (INS/OUTS) to port 0x%x is not emulated", e->io.port);
		return EXIT_GUEST_FAULT;
	}
	uint32_t mask = e->io.size == 4 ? 0xffffffffu : (1u << (8 * e->io.size)) - 1;
	if (v->vm->linux_guest && platform_port_claims(e->io.port) && !e->io.in) {
		platform_port_write(v, e->io.port, e->io.size, (uint32_t)v->regs.rax & mask);
		vcpu_skip_insn(v, e);
		return v->vm->stop_request ? EXIT_GUEST_STOP : EXIT_RESUME;
	}
	if (e->io.in) {
		uint32_t val = v->vm->linux_guest && platform_port_claims(e->io.port) ?
				       platform_port_read(v->vm, e->io.port, e->io.size) & mask :
				       portio_read(v->vm, e->io.port, e->io.size);
		v->regs.rax = (v->regs.rax & ~(uint64_t)mask) | val;
		if (e->io.size == 4)
			v->regs.rax = val; /* 32-bit results zero-extend */
	} else {
		portio_write(v->vm, e->io.port, e->io.size, (uint32_t)v->regs.rax & mask);
	}
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

static enum exit_result exit_mem_violation(struct vcpu *v, const struct exit_info *e)
{
	/* Linux guests see a PC (unclaimed MMIO reads all ones); other guests
	 * reach only the devices they were given, anything else ends them */
	if (e->mem.access != EXIT_ACCESS_EXEC &&
	    (v->vm->linux_guest || mmio_find(v->vm, e->mem.gpa)))
		return mmio_emulate(v, e);
	const char *acc = e->mem.access == EXIT_ACCESS_WRITE ? "write" :
			  e->mem.access == EXIT_ACCESS_EXEC ? "execute" : "read";
	vcpu_fail(v, e, "%s outside guest memory at GPA 0x%lx", acc, e->mem.gpa);
	return EXIT_GUEST_FAULT;
}

static enum exit_result exit_fail(struct vcpu *v, const struct exit_info *e)
{
	vcpu_fail(v, e, "%s", exit_kind_name(e->kind));
	return EXIT_GUEST_FAULT;
}

/*
 * A Linux guest's triple fault resets it, as on a PC; other guests crash.
 * Logged once per boot at most: the guest runs its whole boot again first.
 */
static enum exit_result exit_triple_fault(struct vcpu *v, const struct exit_info *e)
{
	if (!v->vm->linux_guest)
		return exit_fail(v, e);
	log_warn("guest %s: triple fault on vcpu %u at rip 0x%lx (cr0 0x%lx cr4 0x%lx); resetting it",
		 v->vm->def.name, v->id, e->rip, backend->reg_read(v, VREG_CR0),
		 backend->reg_read(v, VREG_CR4));
	platform_power(v, VM_POWER_RESET);
	return EXIT_GUEST_STOP;
}

static enum exit_result exit_interrupt(struct vcpu *v, const struct exit_info *e)
{
	(void)v, (void)e; /* taken by hako when the back end re-enabled interrupts */
	return EXIT_RESUME;
}

static enum exit_result exit_virt_insn(struct vcpu *v, const struct exit_info *e)
{
	(void)e; /* no nested virtualization: like a CPU without SVM/VMX */
	vcpu_inject_exception(v, VEC_UD, 0, 0);
	return EXIT_RESUME;
}

/* ---- control registers and XCR0 (the exits VT-x adds) ---- */

static void cr_state_get(struct vcpu *v, struct cr_state *s)
{
	struct vseg_desc cs;
	backend->seg_read(v, VSEG_CS, &cs);
	*s = (struct cr_state){ backend->reg_read(v, VREG_CR0), backend->reg_read(v, VREG_CR3),
				backend->reg_read(v, VREG_CR4), backend->reg_read(v, VREG_EFER),
				!!(cs.attr & SEG_ATTR_L) };
}

/* Writes back what changed; the guest's cached translations go with it (SDM 4.10.4.1). */
static void cr_state_put(struct vcpu *v, const struct cr_state *old, const struct cr_state *s)
{
	if (s->cr4 != old->cr4)
		backend->reg_write(v, VREG_CR4, s->cr4);
	if (s->cr3 != old->cr3)
		backend->reg_write(v, VREG_CR3, s->cr3);
	if (s->efer != old->efer)
		backend->reg_write(v, VREG_EFER, s->efer);
	if (s->cr0 != old->cr0)
		backend->reg_write(v, VREG_CR0, s->cr0);
	backend->tlb_flush(v);
}

static int cr_write(struct vcpu *v, const struct exit_info *e, struct cr_state *s)
{
	struct cpuid_result l1, l7;
	uint64_t val = vcpu_gpr_get(v, e->cr.gpr);
	if (e->cr.op == EXIT_CR_CLTS)
		return cr_write_cr0(s, s->cr0 & ~CR0_TS);
	if (e->cr.op == EXIT_CR_LMSW)
		return cr_lmsw(s, e->cr.lmsw);
	if (e->cr.cr == 0)
		return cr_write_cr0(s, val);
	if (e->cr.cr == 3) {
		s->cr3 = val & ~(1ull << 63); /* bit 63: keep PCID entries (a flush is still right) */
		return 0;
	}
	guest_cpuid(v, 1, 0, &l1);
	guest_cpuid(v, 7, 0, &l7);
	return cr_write_cr4(s, val, cr4_allowed(l1.ecx, l7.ebx, l7.ecx));
}

/*
 * VT-x: the guest wrote a CR0/CR4 bit that the guest/host masks give to
 * hako (SDM Vol. 3C 26.1.3), or ran CLTS/LMSW on one: carry the write out
 * with its architectural checks (vmm/cr.c). Reads of CR0/CR4 come from
 * the read shadows without exits; CR3 and CR8 exit only where the
 * processor forces CR3 exiting.
 */
static enum exit_result exit_cr_access(struct vcpu *v, const struct exit_info *e)
{
	struct cr_state s, old;
	int known = e->cr.cr == 0 || e->cr.cr == 3 || e->cr.cr == 4;
	if (!known || (e->cr.op == EXIT_CR_MOV_FROM && e->cr.cr != 3)) {
		vcpu_fail(v, e, "access to CR%u (operation %u) is not emulated", e->cr.cr, e->cr.op);
		return EXIT_GUEST_FAULT;
	}
	cr_state_get(v, &s);
	old = s;
	if (e->cr.op == EXIT_CR_MOV_FROM) {
		vcpu_gpr_set(v, e->cr.gpr, s.cr3);
	} else if (cr_write(v, e, &s)) {
		vcpu_inject_exception(v, VEC_GP, 1, 0);
		return EXIT_RESUME;
	} else {
		cr_state_put(v, &old, &s);
	}
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

/*
 * XSETBV (SDM Vol. 2C): VT-x makes it exit unconditionally (SDM Vol. 3C
 * 26.1.2) after the CPL and CR4.OSXSAVE checks. hako carries a valid
 * write out on the core itself: the guest's XCR0 stays loaded while the
 * core runs this guest (hako's own code uses no XSAVE state).
 */
static enum exit_result exit_xsetbv(struct vcpu *v, const struct exit_info *e)
{
	struct cpuid_result x; /* the XCR0 bits this guest's CPUID offers (leaf 0Dh) */
	guest_cpuid(v, 0xd, 0, &x);
	uint64_t supported = x.eax | (uint64_t)x.edx << 32;
	uint64_t val = (uint32_t)v->regs.rax | v->regs.rdx << 32;
	if (!(read_cr4() & CR4_OSXSAVE) || cr_xsetbv_check((uint32_t)v->regs.rcx, val, supported)) {
		vcpu_inject_exception(v, VEC_GP, 1, 0);
		return EXIT_RESUME;
	}
	xsetbv(0, val);
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

static const struct exit_handler exit_table[EXIT_KIND_COUNT] = {
	[EXIT_UNKNOWN]       = { "unknown",        exit_fail },
	[EXIT_CPUID]         = { "cpuid",          exit_cpuid },
	[EXIT_HLT]           = { "hlt",            exit_hlt },
	[EXIT_PORT_IO]       = { "port-io",        exit_port_io },
	[EXIT_MSR_READ]      = { "msr-read",       exit_msr_read },
	[EXIT_MSR_WRITE]     = { "msr-write",      exit_msr_write },
	[EXIT_MEM_VIOLATION] = { "mem",            exit_mem_violation },
	[EXIT_MEM_MISCONFIG] = { "mem-misconfig",  exit_fail },
	[EXIT_TRIPLE_FAULT]  = { "triple-fault",   exit_triple_fault },
	[EXIT_EXT_INTERRUPT] = { "interrupt",      exit_interrupt },
	[EXIT_NMI]           = { "nmi",            exit_interrupt },
	[EXIT_VIRT_INSN]     = { "virt-insn",      exit_virt_insn },
	[EXIT_EXCEPTION]     = { "exception",      exit_fail },
	/* Only a physical INIT/SIPI, which hako never sends to a guest core; a
	 * guest's own INIT-SIPI-SIPI goes through its vLAPIC (vcpu_signal_sipi). */
	[EXIT_INIT_SIPI]     = { "init-sipi",      exit_fail },
	[EXIT_ENTRY_FAILED]  = { "entry-failed",   exit_fail },
	[EXIT_INTR_WINDOW]   = { "intr-window",    exit_interrupt },
	[EXIT_CR_ACCESS]     = { "cr-access",      exit_cr_access },
	[EXIT_XSETBV]        = { "xsetbv",         exit_xsetbv },
};

const char *exit_kind_name(enum exit_kind k)
{
	return (unsigned)k < EXIT_KIND_COUNT && exit_table[k].name ? exit_table[k].name : "?";
}

enum exit_result exit_dispatch(struct vcpu *v, const struct exit_info *e)
{
	if ((unsigned)e->kind >= EXIT_KIND_COUNT || !exit_table[e->kind].handle) {
		vcpu_fail(v, e, "exit kind %u has no handler (hako bug)", (unsigned)e->kind);
		return EXIT_GUEST_FAULT;
	}
	return exit_table[e->kind].handle(v, e);
}
