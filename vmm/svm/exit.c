/*
 * vmm/svm/exit.c - running an SVM guest until its next #VMEXIT, and
 * decoding the exit (EXITCODE, EXITINFO1/2: APM Vol. 2 15.6, 15.7 and
 * Appendix C) into the neutral struct exit_info that vmm/exit.c
 * dispatches. Nothing here decides what an exit means for the guest.
 *
 * Instruction lengths: the VMCB's next-RIP exists only with NRIPS
 * (CPUID 8000_000A:EDX[3], APM 15.7.1), which QEMU's TCG lacks, so
 * without it the lengths below are those of the only encodings that
 * cause these exits without prefixes (APM Vol. 3 "CPUID", "HLT",
 * "RDMSR", "WRMSR", "VMRUN", ...). IOIO exits always carry the next RIP
 * in EXITINFO2 (APM 15.10.2).
 */
#include "vmm/core/host.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/percpu.h"
#include "vmm/svm/svm.h"
#include "vmm/vm.h"

struct svm_exit_desc {
	uint64_t code;
	enum exit_kind kind;
	uint8_t insn_len;        /* without NRIPS; 0 = not an instruction */
	const char *mnemonic;    /* for EXIT_VIRT_INSN */
};

static const struct svm_exit_desc svm_exits[] = {
	{ VMEXIT_INTR,     EXIT_EXT_INTERRUPT, 0, 0 },
	{ VMEXIT_NMI,      EXIT_NMI,           0, 0 },
	{ VMEXIT_INIT,     EXIT_INIT_SIPI,     0, 0 },
	{ VMEXIT_VINTR,    EXIT_INTR_WINDOW,   0, 0 },
	{ VMEXIT_CPUID,    EXIT_CPUID,         2, 0 },  /* 0F A2 */
	{ VMEXIT_HLT,      EXIT_HLT,           1, 0 },  /* F4 */
	{ VMEXIT_IOIO,     EXIT_PORT_IO,       0, 0 },  /* from EXITINFO2 */
	{ VMEXIT_MSR,      EXIT_MSR_READ,      2, 0 },  /* 0F 32 / 0F 30 */
	{ VMEXIT_SHUTDOWN, EXIT_TRIPLE_FAULT,  0, 0 },
	{ VMEXIT_NPF,      EXIT_MEM_VIOLATION, 0, 0 },
	{ VMEXIT_VMRUN,    EXIT_VIRT_INSN,     3, "vmrun" },   /* 0F 01 D8 */
	{ VMEXIT_VMMCALL,  EXIT_VIRT_INSN,     3, "vmmcall" }, /* 0F 01 D9 */
	{ VMEXIT_VMLOAD,   EXIT_VIRT_INSN,     3, "vmload" },  /* 0F 01 DA */
	{ VMEXIT_VMSAVE,   EXIT_VIRT_INSN,     3, "vmsave" },  /* 0F 01 DB */
	{ VMEXIT_STGI,     EXIT_VIRT_INSN,     3, "stgi" },    /* 0F 01 DC */
	{ VMEXIT_CLGI,     EXIT_VIRT_INSN,     3, "clgi" },    /* 0F 01 DD */
	{ VMEXIT_SKINIT,   EXIT_VIRT_INSN,     3, "skinit" },  /* 0F 01 DE */
	{ VMEXIT_INVLPGA,  EXIT_VIRT_INSN,     3, "invlpga" }, /* 0F 01 DF */
	{ VMEXIT_XSETBV,   EXIT_XSETBV,        3, 0 },  /* 0F 01 D1 */
	{ VMEXIT_INVD,     EXIT_INVD,          2, 0 },  /* 0F 08 */
	{ VMEXIT_WBINVD,   EXIT_WBINVD,        2, 0 },  /* 0F 09 (WBNOINVD F3 0F 09: with NRIPS) */
	{ VMEXIT_MC,       EXIT_MACHINE_CHECK, 0, 0 },
	{ VMEXIT_EXCP_BASE + 1, EXIT_EXCEPTION, 0, 0 }, /* #DB: a debugger's single step */
	{ VMEXIT_EXCP_BASE + 3, EXIT_EXCEPTION, 0, 0 }, /* #BP: a debugger's breakpoint */
	{ VMEXIT_SWINT,    EXIT_EXCEPTION,     0, 0 },  /* INTn (and INT3 on QEMU's TCG) */
	{ VMEXIT_INVALID,  EXIT_ENTRY_FAILED,  0, 0 },
};

static const struct svm_exit_desc *svm_exit_find(uint64_t code)
{
	for (unsigned i = 0; i < sizeof(svm_exits) / sizeof(svm_exits[0]); i++)
		if (svm_exits[i].code == code)
			return &svm_exits[i];
	return 0;
}

static void decode_ioio(struct exit_info *e, uint64_t info1, uint64_t info2)
{
	e->io.port = (uint16_t)(info1 >> IOIO_PORT_SHIFT);
	e->io.size = (info1 & IOIO_SZ32) ? 4 : (info1 & IOIO_SZ16) ? 2 : 1;
	e->io.in = !!(info1 & IOIO_TYPE_IN);
	e->io.string = !!(info1 & IOIO_STR);
	e->io.rep = !!(info1 & IOIO_REP);
	e->insn_len = (uint8_t)(info2 - e->rip);
}

static void decode_npf(struct exit_info *e, uint64_t info1, uint64_t info2)
{
	e->mem.gpa = info2;
	e->mem.present = !!(info1 & NPF_P);
	e->mem.access = (info1 & NPF_ID) ? EXIT_ACCESS_EXEC :
			(info1 & NPF_RW) ? EXIT_ACCESS_WRITE : EXIT_ACCESS_READ;
	e->mem.gla_valid = 0; /* SVM does not report the linear address */
}

static void svm_decode(struct vcpu *v, struct exit_info *e)
{
	const struct vmcb *vmcb = svm_vmcb(v);
	uint64_t code = vmcb->control.exitcode;
	uint64_t info1 = vmcb->control.exitinfo1, info2 = vmcb->control.exitinfo2;
	const struct svm_exit_desc *d = svm_exit_find(code);

	*e = (struct exit_info){ .hw_reason = code, .hw_info = { info1, info2 } };
	e->rip = vmcb->save.rip;
	e->kind = d ? d->kind : EXIT_UNKNOWN;
	e->insn_len = d ? d->insn_len : 0;
	if (d && d->insn_len && virt.nrips && vmcb->control.nrip > e->rip)
		e->insn_len = (uint8_t)(vmcb->control.nrip - e->rip);
	if (e->kind == EXIT_VIRT_INSN)
		e->insn.mnemonic = d->mnemonic;
	else if (e->kind == EXIT_PORT_IO)
		decode_ioio(e, info1, info2);
	else if (e->kind == EXIT_MEM_VIOLATION)
		decode_npf(e, info1, info2);
	else if (code == VMEXIT_SWINT)
		e->exc.intn = 1; /* the vector is in the instruction */
	else if (e->kind == EXIT_EXCEPTION)
		e->exc.vector = (uint8_t)(code - VMEXIT_EXCP_BASE);
	if (e->kind == EXIT_EXCEPTION && e->exc.vector == 1) {
		/*
		 * DR6 is set before the intercept: B0-B3 by a debugger's hardware
		 * breakpoint, BS by its single step (TF it set), not the guest's
		 */
		uint64_t hako = 0xf | (v->dbg_ctl & DEBUG_CTL_STEP && !v->dbg.tf_saved ? DR6_BS : 0);
		e->exc.dr_hits = (uint8_t)(vmcb->save.dr6 & 0xf);
		svm_vmcb(v)->save.dr6 &= ~hako;
	}
	else if (code == VMEXIT_MSR) {
		e->kind = info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ; /* APM 15.11 */
		e->msr.index = (uint32_t)v->regs.rcx;
	}
}

/* VMRUN refused the VMCB: print the state its consistency checks look at (APM 15.5.1). */
static void svm_entry_failed(struct vcpu *v)
{
	const struct vmcb *b = svm_vmcb(v);
	log_err("guest %s: VMRUN failed (VMEXIT_INVALID): efer=0x%lx cr0=0x%lx cr3=0x%lx cr4=0x%lx "
		"cs=0x%x/0x%x asid=%u n_cr3=0x%lx intercepts=0x%x/0x%x", v->vm->def.name,
		b->save.efer, b->save.cr0, b->save.cr3, b->save.cr4, b->save.cs.selector,
		b->save.cs.attrib, b->control.guest_asid, b->control.n_cr3,
		b->control.intercept_misc1, b->control.intercept_misc2);
}

/*
 * Runs `v` until its next #VMEXIT and decodes it into `e`. On the vCPU's
 * core, with host interrupts enabled. Returns 0, or -EIO when VMRUN
 * refused the VMCB (EXITCODE VMEXIT_INVALID, APM 15.5.1 consistency checks).
 */
int svm_vcpu_run(struct vcpu *v, struct exit_info *e)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb *vmcb = s->vmcb;
	if (s->first_run) {
		/* This core may have run another guest with the same ASID. */
		vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
		s->first_run = 0;
	}
	vmcb->save.rax = v->regs.rax;
	vmcb->save.cr2 = v->regs.cr2;

	/*
	 * GIF=0 holds interrupts off until STGI; host IF must be 1 during
	 * VMRUN so that physical interrupts exit the guest (V_INTR_MASKING,
	 * APM 15.21.1). A kick pending since the caller disabled interrupts
	 * stays held by GIF=0 and exits the guest right after entry.
	 */
	svm_clgi();
	irq_enable();
	svm_world_switch(&v->regs, (uint64_t)vmcb, svm_this_cpu()->host_vmsave_pa);
	svm_stgi(); /* a pending physical interrupt (a kick) is taken here */

	vmcb->control.tlb_control = 0; /* VMRUN does not clear it (APM 15.16.1) */
	v->regs.rax = vmcb->save.rax;
	v->regs.cr2 = vmcb->save.cr2;
	svm_decode(v, e);
	/* An event being delivered when the exit hit is re-queued (APM 15.7.2). */
	if (vmcb->control.exitintinfo & EVENTINJ_VALID)
		vmcb->control.eventinj = vmcb->control.exitintinfo;
	if (e->kind != EXIT_ENTRY_FAILED)
		return 0;
	svm_entry_failed(v);
	return -EIO;
}
