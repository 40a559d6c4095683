/*
 * vmm/vmx/exit.c - running a VMX guest until its next VM exit, and
 * decoding the exit (basic exit reason, exit qualification and the
 * exit-information fields: SDM Vol. 3C 28.2, Vol. 3D Appendix C) into the
 * neutral struct exit_info that vmm/exit.c dispatches. Nothing here
 * decides what an exit means for the guest. Parallel to vmm/svm/exit.c.
 *
 * Instruction lengths come from the VM-exit instruction-length field,
 * valid for every exit that an instruction caused (SDM 28.2.5).
 */
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/percpu.h"
#include "vmm/spec.h"
#include "vmm/vm.h"
#include "vmm/vmx/vmx.h"

struct vmx_exit_desc {
	uint16_t reason;
	enum exit_kind kind;
	uint8_t is_insn;         /* an instruction caused it: its length is valid */
	const char *mnemonic;    /* for EXIT_VIRT_INSN */
};

static const struct vmx_exit_desc vmx_exits[] = {
	{ VMX_EXIT_EXCEPTION_NMI,       EXIT_EXCEPTION,     0, 0 }, /* or EXIT_NMI, below */
	{ VMX_EXIT_EXT_INTERRUPT,       EXIT_EXT_INTERRUPT, 0, 0 },
	{ VMX_EXIT_TRIPLE_FAULT,        EXIT_TRIPLE_FAULT,  0, 0 },
	{ VMX_EXIT_INTR_WINDOW,         EXIT_INTR_WINDOW,   0, 0 },
	{ VMX_EXIT_INIT,                EXIT_INIT_SIPI,     0, 0 },
	{ VMX_EXIT_SIPI,                EXIT_INIT_SIPI,     0, 0 },
	{ VMX_EXIT_CPUID,               EXIT_CPUID,         1, 0 },
	{ VMX_EXIT_HLT,                 EXIT_HLT,           1, 0 },
	{ VMX_EXIT_IO,                  EXIT_PORT_IO,       1, 0 },
	{ VMX_EXIT_RDMSR,               EXIT_MSR_READ,      1, 0 },
	{ VMX_EXIT_WRMSR,               EXIT_MSR_WRITE,     1, 0 },
	{ VMX_EXIT_CR_ACCESS,           EXIT_CR_ACCESS,     1, 0 },
	{ VMX_EXIT_XSETBV,              EXIT_XSETBV,        1, 0 },
	{ VMX_EXIT_INVD,                EXIT_INVD,          1, 0 },
	{ VMX_EXIT_WBINVD,              EXIT_WBINVD,        1, 0 },
	{ VMX_EXIT_EPT_VIOLATION,       EXIT_MEM_VIOLATION, 0, 0 },
	{ VMX_EXIT_EPT_MISCONFIG,       EXIT_MEM_MISCONFIG, 0, 0 },
	{ VMX_EXIT_VMCALL,              EXIT_VIRT_INSN,     1, "vmcall" },
	{ VMX_EXIT_VMCLEAR,             EXIT_VIRT_INSN,     1, "vmclear" },
	{ VMX_EXIT_VMLAUNCH,            EXIT_VIRT_INSN,     1, "vmlaunch" },
	{ VMX_EXIT_VMPTRLD,             EXIT_VIRT_INSN,     1, "vmptrld" },
	{ VMX_EXIT_VMPTRST,             EXIT_VIRT_INSN,     1, "vmptrst" },
	{ VMX_EXIT_VMREAD,              EXIT_VIRT_INSN,     1, "vmread" },
	{ VMX_EXIT_VMRESUME,            EXIT_VIRT_INSN,     1, "vmresume" },
	{ VMX_EXIT_VMWRITE,             EXIT_VIRT_INSN,     1, "vmwrite" },
	{ VMX_EXIT_VMXOFF,              EXIT_VIRT_INSN,     1, "vmxoff" },
	{ VMX_EXIT_VMXON,               EXIT_VIRT_INSN,     1, "vmxon" },
	{ VMX_EXIT_INVEPT,              EXIT_VIRT_INSN,     1, "invept" },
	{ VMX_EXIT_INVVPID,             EXIT_VIRT_INSN,     1, "invvpid" },
	{ VMX_EXIT_VMFUNC,              EXIT_VIRT_INSN,     1, "vmfunc" },
	{ VMX_EXIT_INVALID_GUEST_STATE, EXIT_ENTRY_FAILED,  0, 0 },
	{ VMX_EXIT_MSR_LOADING,         EXIT_ENTRY_FAILED,  0, 0 },
	{ VMX_EXIT_MACHINE_CHECK,       EXIT_MACHINE_CHECK, 0, 0 }, /* during VM entry */
	{ VMX_EXIT_PREEMPT_TIMER,       EXIT_PREEMPT_TIMER, 0, 0 },
	{ VMX_EXIT_MONITOR_TRAP_FLAG,   EXIT_MTF,           0, 0 }, /* a debugger's step */
};

static const struct vmx_exit_desc *vmx_exit_find(uint32_t reason)
{
	for (unsigned i = 0; i < sizeof(vmx_exits) / sizeof(vmx_exits[0]); i++)
		if (vmx_exits[i].reason == reason)
			return &vmx_exits[i];
	return 0;
}

static void decode_io(struct exit_info *e, uint64_t qual)
{
	e->io.port = IO_QUAL_PORT(qual);
	e->io.size = (uint8_t)IO_QUAL_SIZE(qual);
	e->io.in = !!(qual & IO_QUAL_IN);
	e->io.string = !!(qual & IO_QUAL_STRING);
	e->io.rep = !!(qual & IO_QUAL_REP);
}

static void decode_ept(struct exit_info *e, uint64_t qual)
{
	e->mem.gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
	e->mem.present = !!(qual & EPT_QUAL_PERMS);
	e->mem.access = (qual & EPT_QUAL_FETCH) ? EXIT_ACCESS_EXEC :
			(qual & EPT_QUAL_WRITE) ? EXIT_ACCESS_WRITE : EXIT_ACCESS_READ;
	e->mem.gla_valid = !!(qual & EPT_QUAL_GLA_VALID);
	if (e->mem.gla_valid)
		e->mem.gla = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
}

static void decode_cr(struct exit_info *e, uint64_t qual)
{
	e->cr.cr = (uint8_t)CR_QUAL_CR(qual);
	e->cr.op = (uint8_t)CR_QUAL_TYPE(qual); /* the same numbering as EXIT_CR_* */
	e->cr.gpr = (uint8_t)CR_QUAL_GPR(qual);
	e->cr.lmsw = CR_QUAL_LMSW_SRC(qual);
}

/* Exit reason 0 is an exception or an NMI: the interruption info says which (28.2.2). */
static void decode_exception(struct exit_info *e)
{
	uint32_t info = vmcs_read32(VMCS_EXIT_INTR_INFO);
	if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
		e->kind = EXIT_NMI;
		return;
	}
	e->exc.vector = (uint8_t)INTR_INFO_VECTOR(info);
	if (e->exc.vector == 18)
		e->kind = EXIT_MACHINE_CHECK; /* the exception bitmap's only bit */
	e->exc.has_error = !!(info & INTR_INFO_DELIVER_ERROR);
	if (e->exc.vector == 1) /* the qualification holds DR6's B0-B3 (SDM 28.2.1) */
		e->exc.dr_hits = (uint8_t)(vmcs_readnat(VMCS_EXIT_QUALIFICATION) & 0xf);
	if (e->exc.has_error)
		e->exc.error = vmcs_read32(VMCS_EXIT_INTR_ERROR_CODE);
}

static void vmx_decode(struct vcpu *v, struct exit_info *e, uint32_t reason)
{
	uint32_t basic = EXIT_REASON_BASIC(reason);
	uint64_t qual = vmcs_readnat(VMCS_EXIT_QUALIFICATION);
	const struct vmx_exit_desc *d = vmx_exit_find(basic);

	*e = (struct exit_info){ .hw_reason = reason, .hw_info = { qual, 0 } };
	e->rip = vmcs_readnat(VMCS_GUEST_RIP);
	e->kind = d ? d->kind : EXIT_UNKNOWN;
	/* Basic reason 41 is an entry failure too (SDM 27.8), but the hardware's, not hako's. */
	if ((reason & EXIT_REASON_ENTRY_FAILURE) && basic != VMX_EXIT_MACHINE_CHECK)
		e->kind = EXIT_ENTRY_FAILED;
	if (d && d->is_insn)
		e->insn_len = (uint8_t)vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN);
	if (e->kind == EXIT_VIRT_INSN)
		e->insn.mnemonic = d->mnemonic;
	else if (e->kind == EXIT_PORT_IO)
		decode_io(e, qual);
	else if (e->kind == EXIT_MEM_VIOLATION || e->kind == EXIT_MEM_MISCONFIG)
		decode_ept(e, qual);
	else if (e->kind == EXIT_EXCEPTION)
		decode_exception(e);
	else if (e->kind == EXIT_CR_ACCESS)
		decode_cr(e, qual);
	else if (e->kind == EXIT_MSR_READ || e->kind == EXIT_MSR_WRITE)
		e->msr.index = (uint32_t)v->regs.rcx;
	/* exit.h: VMX reports the qualification and the guest-linear address. */
	if (e->kind == EXIT_MEM_VIOLATION && e->mem.gla_valid)
		e->hw_info[1] = e->mem.gla;
}

/*
 * An event being delivered when the exit hit (IDT-vectoring information,
 * SDM 28.2.4) is delivered again at the next entry (SDM 29.2.1.1 note).
 */
static void vmx_requeue_event(void)
{
	uint32_t idt = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID))
		return;
	uint32_t type = INTR_INFO_TYPE(idt);
	if (idt & INTR_INFO_DELIVER_ERROR)
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE,
			     vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE));
	if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_SW_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		vmcs_write32(VMCS_ENTRY_INSTRUCTION_LEN, vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN));
	vmcs_write32(VMCS_ENTRY_INTR_INFO, idt & (INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | 0x7ff));
}

/* SDM Vol. 3C 31.4 "VM Instruction Error Numbers", the ones VM entry gives. */
static const char *vm_instruction_error(uint32_t n)
{
	static const char *const names[] = {
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[26] = "VM entry with events blocked by MOV SS",
	};
	return n < sizeof(names) / sizeof(names[0]) && names[n] ? names[n] : "see SDM 31.4";
}

/*
 * VM entry refused this VMCS: a hako bug. Print what explains it, the
 * VM-instruction error or the exit reason and qualification (SDM 27.7,
 * 27.8), and the fields the entry checks look at (27.2, 27.3).
 */
static void vmx_entry_failed(struct vcpu *v, struct exit_info *e, int vmfail)
{
	const char *name = v->vm->def.name;
	if (vmfail) {
		uint32_t err = vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);
		*e = (struct exit_info){ .kind = EXIT_ENTRY_FAILED, .hw_reason = err };
		e->rip = vmcs_readnat(VMCS_GUEST_RIP);
		log_err("guest %s: VM entry failed: VM-instruction error %u (%s)", name, err,
			vm_instruction_error(err));
	} else {
		log_err("guest %s: VM entry failed: exit reason 0x%lx, qualification 0x%lx", name,
			e->hw_reason, e->hw_info[0]);
	}
	log_err("guest %s: controls pin=0x%x proc=0x%x proc2=0x%x exit=0x%x entry=0x%x eptp=0x%lx",
		name, vmcs_read32(VMCS_PIN_BASED_CTLS), vmcs_read32(VMCS_PROC_BASED_CTLS),
		vmcs_read32(VMCS_PROC_BASED_CTLS2), vmcs_read32(VMCS_EXIT_CTLS),
		vmcs_read32(VMCS_ENTRY_CTLS), vmcs_read64(VMCS_EPT_POINTER));
	log_err("guest %s: cr0=0x%lx cr3=0x%lx cr4=0x%lx efer=0x%lx rip=0x%lx rflags=0x%lx "
		"cs=0x%x/ar 0x%x ss ar 0x%x tr ar 0x%x intr=0x%x act=%u entry-intr=0x%x", name,
		vmcs_readnat(VMCS_GUEST_CR0), vmcs_readnat(VMCS_GUEST_CR3),
		vmcs_readnat(VMCS_GUEST_CR4), vmcs_read64(VMCS_GUEST_IA32_EFER),
		vmcs_readnat(VMCS_GUEST_RIP), vmcs_readnat(VMCS_GUEST_RFLAGS),
		vmcs_read16(VMCS_GUEST_CS_SELECTOR), vmcs_read32(VMCS_GUEST_SEG(VMCS_GUEST_ES_AR, VSEG_CS)),
		vmcs_read32(VMCS_GUEST_SEG(VMCS_GUEST_ES_AR, VSEG_SS)),
		vmcs_read32(VMCS_GUEST_SEG(VMCS_GUEST_ES_AR, VSEG_TR)),
		vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY), vmcs_read32(VMCS_GUEST_ACTIVITY_STATE),
		vmcs_read32(VMCS_ENTRY_INTR_INFO));
	log_err("guest %s: host cr0=0x%lx cr4=0x%lx tr=0x%x tr-base=0x%lx", name,
		vmcs_readnat(VMCS_HOST_CR0), vmcs_readnat(VMCS_HOST_CR4),
		vmcs_read16(VMCS_HOST_TR_SELECTOR), vmcs_readnat(VMCS_HOST_TR_BASE));
}

/*
 * L1 Terminal Fault (Intel's guidance, "L1TF"): a guest can read through
 * speculation whatever hako or another guest left in this core's L1 data
 * cache. Where the CPU is affected (vmm/spec.h) the cache is written back
 * and invalidated before every entry, with interrupts already off so that
 * nothing of hako's refills it before the guest runs (NMIs aside).
 */
static void l1d_flush(void)
{
	wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
}

/*
 * Runs `v` until its next VM exit and decodes it into `e`. On the vCPU's
 * core, called with host interrupts disabled; returns with them enabled
 * (the contract in vmm/backend.h). Returns 0, or -EIO when VM entry
 * failed (e->kind == EXIT_ENTRY_FAILED, the reason logged).
 */
int vmx_vcpu_run(struct vcpu *v, struct exit_info *e)
{
	struct vmx_vcpu *s = vmx_vcpu(v);
	if (!s->loaded && vmx_vmcs_load(v)) {
		irq_enable();
		*e = (struct exit_info){ .kind = EXIT_ENTRY_FAILED, .rip = s->reg[VREG_RIP] };
		return -EIO;
	}
	/*
	 * Entered with host interrupts off (backend.h): a kick that arrived
	 * since the caller looked for events stays pending in the LAPIC and,
	 * with external-interrupt exiting, makes the guest exit at once. Without
	 * acknowledge-on-exit it is still pending after the exit; RFLAGS.IF is
	 * 0 then (SDM 28.5.3), so it is taken at the irq_enable() below.
	 * Bochs 2.7 needs a second way out for a guest with IF = 0 (share.c).
	 */
	vmx_kick_fallback(v);
	if (spec.l1d == SPEC_L1D_FLUSH)
		l1d_flush();
	int vmfail = vmx_world_switch(&v->regs, s->launched);
	if (vmfail) {
		irq_enable();
		vmx_entry_failed(v, e, 1);
		return -EIO;
	}
	s->launched = 1;
	uint32_t reason = vmcs_read32(VMCS_EXIT_REASON);
	vmx_decode(v, e, reason);
	vmx_requeue_event();
	/* An NMI that caused an exit was not delivered: hand it to hako's handler. */
	if (e->kind == EXIT_NMI)
		__asm__ volatile("int $2");
	irq_enable();
	if (e->kind != EXIT_ENTRY_FAILED)
		return 0;
	vmx_entry_failed(v, e, 0);
	return -EIO;
}
