/*
 * vmm/exit.c - what hako does for each kind of VM exit, for either back
 * end. One bounds-checked table indexed by enum exit_kind dispatches
 * every exit; a kind without a handler ends the guest loudly.
 *
 * One VM exit, hop by hop (a guest's CPUID on AMD-V; VT-x differs only in
 * the vmm/vmx/ files named in brackets):
 *   1. vcpu_loop() (vmm/vcpu.c) runs on the vCPU's own core; vcpu_step()
 *      disables interrupts, vcpu_events() injects a pending interrupt,
 *      then enters the guest through the back end's vcpu_run operation.
 *   2. svm_vcpu_run() (vmm/svm/exit.c) [vmx_vcpu_run(), vmm/vmx/exit.c]
 *      enters the guest through svm_world_switch (vmm/svm/switch.S)
 *      [vmx_world_switch, vmm/vmx/switch.S], which loads struct
 *      guest_regs, runs VMRUN [VMRESUME] and stores them again at the exit.
 *   3. The guest executes CPUID; the CPUID intercept (vmcb_controls(),
 *      vmm/svm/vmcb.c) [CPUID always exits on VT-x] ends VMRUN with
 *      EXITCODE 0x72 [basic exit reason 10].
 *   4. svm_decode() [vmx_decode()] turns the vendor's code into a neutral
 *      struct exit_info: kind EXIT_CPUID, RIP, instruction length 2.
 *   5. Back in vcpu_step(): the exit is counted per guest (`stats`) and
 *      exit_dispatch() below calls exit_cpuid(), which asks
 *      cpuid_policy() (vmm/cpuid_policy.c) what this guest may see,
 *      writes RAX..RDX and advances RIP (vcpu_skip_insn(), vmm/vcpu_regs.c).
 *   6. EXIT_RESUME: vcpu_step() returns and the loop enters the guest again
 *      after the CPUID. EXIT_HALT idles the core until an interrupt
 *      (vcpu_idle()); EXIT_GUEST_FAULT and EXIT_GUEST_STOP leave the loop,
 *      and the service core frees the guest (vm_reap(), vm_power_poll()).
 * Port I/O and MMIO take the same path to exit_port_io() and
 * exit_mem_violation(), which hand the access to the guest's buses
 * (vmm/portio.c, vmm/mmio.c) where its devices registered at start.
 */
#include "vmm/exit.h"

#include "vmm/backend.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/trap.h"
#include "vmm/core/time.h"
#include "vmm/cpuid_policy.h"
#include "vmm/cr.h"
#include "vmm/exit_dispatch.h"
#include "vmm/exit_names.h"
#include "vmm/mmio.h"
#include "vmm/msr.h"
#include "vmm/portio.h"
#include "vmm/vcpu_fpu.h"
#include "vmm/vcpu_regs.h"
#include "vmm/vm.h"
#include "vmm/core/lib/x86.h"

static enum exit_result exit_msr_read(struct vcpu *v, const struct exit_info *e)
{
	uint64_t val;
	if (msr_read(v, e->msr.index, &val)) {
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
	uint64_t val = (uint32_t)v->regs.rax | v->regs.rdx << 32;
	if (msr_write(v, e->msr.index, val)) {
		vcpu_inject_exception(v, VEC_GP, 1, 0);
		return EXIT_RESUME;
	}
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

/* ---- the other handlers ---- */

static enum exit_result exit_cpuid(struct vcpu *v, const struct exit_info *e)
{
	struct cpuid_result r;
	vcpu_cpuid(v, (uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, &r);
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
	if (e->io.in) {
		uint32_t val = portio_read(v, e->io.port, e->io.size);
		/* IN AL/AX keeps RAX's other bits; IN EAX zero-extends (SDM Vol. 2A 3.4.1.1) */
		v->regs.rax = e->io.size == 4 ? val : (v->regs.rax & ~(uint64_t)mask) | val;
	} else {
		portio_write(v, e->io.port, e->io.size, (uint32_t)v->regs.rax & mask);
	}
	vcpu_skip_insn(v, e);
	return v->vm->stop_request ? EXIT_GUEST_STOP : EXIT_RESUME;
}

static enum exit_result exit_mem_violation(struct vcpu *v, const struct exit_info *e)
{
	/* a PC's unclaimed MMIO reads all ones; a bare guest reaches only the
	 * devices it was given, anything else ends it (enum vm_platform) */
	if (e->mem.access != EXIT_ACCESS_EXEC &&
	    (v->vm->platform == VM_PLATFORM_PC || mmio_find(v->vm, e->mem.gpa)))
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
 * A PC's triple fault resets it (a shutdown cycle, SDM Vol. 3A 6.15
 * "#DF"); a bare guest crashes. The guest runs its whole boot again
 * between two of these, so the warning is rare.
 */
static enum exit_result exit_triple_fault(struct vcpu *v, const struct exit_info *e)
{
	if (v->vm->platform != VM_PLATFORM_PC)
		return exit_fail(v, e);
	log_warn("guest %s: triple fault on vcpu %u at rip 0x%lx (cr0 0x%lx cr4 0x%lx); resetting it",
		 v->vm->def.name, v->id, e->rip, backend->reg_read(v, VREG_CR0),
		 backend->reg_read(v, VREG_CR4));
	vm_request_power(v, VM_POWER_RESET);
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
	vcpu_cpuid(v, 1, 0, &l1);
	vcpu_cpuid(v, 7, 0, &l7);
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
 * XSETBV (SDM Vol. 2C "XSETBV"): VT-x makes it exit unconditionally (SDM
 * Vol. 3C 26.1.2), AMD-V through the XSETBV intercept (APM 15.9), both
 * after the CPL and CR4.OSXSAVE checks. Intercepted on AMD-V too, so that
 * a guest can enable only the components its CPUID offers (its XSAVE area,
 * vmm/vcpu_fpu.c, is sized for exactly those) and hako always knows its
 * XCR0. A valid value is loaded on the core at once: the guest's XCR0
 * stays there while its vCPU owns the core.
 */
static enum exit_result exit_xsetbv(struct vcpu *v, const struct exit_info *e)
{
	struct cpuid_result x; /* the XCR0 bits this guest's CPUID offers (leaf 0Dh) */
	vcpu_cpuid(v, 0xd, 0, &x);
	uint64_t supported = x.eax | (uint64_t)x.edx << 32;
	uint64_t val = (uint32_t)v->regs.rax | v->regs.rdx << 32;
	if (cr_xsetbv_check((uint32_t)v->regs.rcx, val, supported)) {
		vcpu_inject_exception(v, VEC_GP, 1, 0);
		return EXIT_RESUME;
	}
	if (vcpu_fpu_set_xcr0(v, val)) {
		vcpu_inject_exception(v, VEC_UD, 0, 0); /* no XSAVE here: CPUID never offered it */
		return EXIT_RESUME;
	}
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

/*
 * INVD and WBINVD (SDM Vol. 2A "INVD", "WBINVD"): VT-x makes INVD exit
 * always and WBINVD with "WBINVD exiting" (SDM 26.1.2, 26.1.3), AMD-V
 * through the INVD and WBINVD intercepts (APM 15.9), which hako sets.
 * Both are carried out as no-ops. A native INVD would discard modified
 * lines of caches the core shares with hako and other guests (their
 * writes lost); emulated as WBINVD it would keep coherence but let a
 * guest write back and empty the shared last-level cache at will, a
 * stall for every core. A no-op keeps coherence and costs nobody: every
 * line stays coherent, as if all were clean when INVD ran (which a line
 * may always be, since write-backs happen whenever the cache likes), and
 * nothing in a guest's platform needs a flush: its memory is write-back
 * everywhere and hako's device models read it through the same caches.
 */
static enum exit_result exit_cache_flush(struct vcpu *v, const struct exit_info *e)
{
	vcpu_skip_insn(v, e);
	return EXIT_RESUME;
}

/*
 * A machine check while the guest ran (VT-x: #MC in the exception bitmap,
 * SDM 26.2, or basic reason 41 during entry; AMD-V: the #MC intercept,
 * APM 15.12): the hardware reports an error, most likely in what the
 * guest was using. The guest ends with the reason; hako goes on (a #MC
 * taken by hako itself still stops it: vmm/core/trap.c). MCG_STATUS is
 * read and its MCIP cleared, or a second #MC would shut the core down
 * (SDM Vol. 3B 16.3.1.2).
 */
static enum exit_result exit_machine_check(struct vcpu *v, const struct exit_info *e)
{
	uint64_t mcg = mce_guest_event();
	vcpu_fail(v, e, "machine check on core %u while the guest ran (MCG_STATUS 0x%lx): a "
		  "hardware error; the guest is ended, other guests go on", v->core, mcg);
	return EXIT_GUEST_FAULT;
}

static const exit_handler_fn exit_table[EXIT_KIND_COUNT] = {
	[EXIT_UNKNOWN]       = exit_fail,
	[EXIT_CPUID]         = exit_cpuid,
	[EXIT_HLT]           = exit_hlt,
	[EXIT_PORT_IO]       = exit_port_io,
	[EXIT_MSR_READ]      = exit_msr_read,
	[EXIT_MSR_WRITE]     = exit_msr_write,
	[EXIT_MEM_VIOLATION] = exit_mem_violation,
	[EXIT_MEM_MISCONFIG] = exit_fail,
	[EXIT_TRIPLE_FAULT]  = exit_triple_fault,
	[EXIT_EXT_INTERRUPT] = exit_interrupt,
	[EXIT_NMI]           = exit_interrupt,
	[EXIT_VIRT_INSN]     = exit_virt_insn,
	[EXIT_EXCEPTION]     = exit_fail,
	/* Only a physical INIT/SIPI, which hako never sends to a guest core; a
	 * guest's own INIT-SIPI-SIPI goes through its vLAPIC (vcpu_signal_sipi). */
	[EXIT_INIT_SIPI]     = exit_fail,
	[EXIT_ENTRY_FAILED]  = exit_fail,
	[EXIT_INTR_WINDOW]   = exit_interrupt,
	[EXIT_CR_ACCESS]     = exit_cr_access,
	[EXIT_XSETBV]        = exit_xsetbv,
	[EXIT_INVD]          = exit_cache_flush,
	[EXIT_WBINVD]        = exit_cache_flush,
	[EXIT_MACHINE_CHECK] = exit_machine_check,
};

enum exit_result exit_dispatch(struct vcpu *v, const struct exit_info *e)
{
	if ((unsigned)e->kind >= EXIT_KIND_COUNT || !exit_table[e->kind]) {
		vcpu_fail(v, e, "exit kind %u has no handler (hako bug)", (unsigned)e->kind);
		return EXIT_GUEST_FAULT;
	}
	return exit_table[e->kind](v, e);
}
