/*
 * vmm/svm/vmcb.c - a vCPU's VMCB: intercepts and controls (APM Vol. 2
 * 15.9-15.13), and access to the guest state it holds (Appendix B).
 * The guest's architectural entry state itself is neutral policy, set
 * through svm_reg_write/svm_seg_write by vmm/guest_boot.c.
 */
#include "vmm/core/lib/errno.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/svm/svm.h"
#include "vmm/vm.h"

/* PAT reset value (APM 7.8.1); with nested paging g_pat must be valid. */
#define PAT_DEFAULT 0x0007040600070406ull

static void vmcb_controls(struct vmcb_control *c, struct vcpu *v)
{
	/*
	 * INVD would drop dirty lines of caches hako and other guests share,
	 * WBINVD flush them for everyone: both exit (APM 15.9), as on VT-x.
	 */
	c->intercept_misc1 = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_INIT |
			     INTERCEPT_CPUID | INTERCEPT_HLT | INTERCEPT_INVLPGA |
			     INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT | INTERCEPT_SHUTDOWN |
			     INTERCEPT_INVD;
	/* A machine check is the host's hardware: hako's, not the guest's (APM 15.12). */
	c->intercept_exc = 1u << 18;
	/*
	 * VMRUN must be intercepted or VMRUN fails (APM 15.5.1). XSETBV runs
	 * natively otherwise and could enable components the guest's CPUID
	 * does not offer: vmm/exit.c checks it and keeps the guest's XCR0.
	 */
	c->intercept_misc2 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
			     INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI |
			     INTERCEPT_SKINIT | INTERCEPT_XSETBV | INTERCEPT_WBINVD;
	c->iopm_base_pa = svm_iopm_pa;
	c->msrpm_base_pa = svm_msrpm_pa;
	/* ASID 0 belongs to the host (APM 15.16); one per guest slot. */
	c->guest_asid = (uint32_t)(v->vm - vms) + 1;
	/* Physical interrupts are masked by host IF, not the guest's (15.21.1). */
	c->v_intr = V_INTR_MASKING;
	c->np_enable = NP_ENABLE;
	c->n_cr3 = svm_npt_root(v->vm);
}

/*
 * Allocates and fills the VMCB for `v` (service core). The guest state
 * starts zeroed; vmm/guest_boot.c sets it. 0 or -ENOMEM.
 */
int svm_vcpu_create(struct vcpu *v)
{
	struct svm_vcpu *s = (struct svm_vcpu *)page_alloc(0, PAGE_HAKO);
	if (!s)
		return -ENOMEM;
	s->vmcb = (struct vmcb *)page_alloc(0, PAGE_HAKO);
	if (!s->vmcb) {
		page_free((uint64_t)s, 0, PAGE_HAKO);
		return -ENOMEM;
	}
	s->first_run = 1;
	v->arch = s;
	vmcb_controls(&s->vmcb->control, v);
	s->vmcb->save.g_pat = PAT_DEFAULT;
	s->vmcb->save.dr6 = 0xffff0ff0;
	s->vmcb->save.dr7 = 0x400;
	return 0;
}

void svm_vcpu_destroy(struct vcpu *v)
{
	struct svm_vcpu *s = v->arch;
	if (!s)
		return;
	page_free((uint64_t)s->vmcb, 0, PAGE_HAKO);
	page_free((uint64_t)s, 0, PAGE_HAKO);
	v->arch = 0;
}

uint64_t svm_reg_read(struct vcpu *v, enum vreg r)
{
	struct vmcb_save *s = &svm_vmcb(v)->save;
	switch (r) {
	case VREG_RIP:    return s->rip;
	case VREG_RSP:    return s->rsp;
	case VREG_RFLAGS: return s->rflags;
	case VREG_CR0:    return s->cr0;
	case VREG_CR3:    return s->cr3;
	case VREG_CR4:    return s->cr4;
	case VREG_EFER:   return s->efer & ~(uint64_t)EFER_SVME; /* hako's, not the guest's */
	case VREG_COUNT:  break;
	}
	return 0;
}

void svm_reg_write(struct vcpu *v, enum vreg r, uint64_t val)
{
	struct vmcb_save *s = &svm_vmcb(v)->save;
	switch (r) {
	case VREG_RIP:
		s->rip = val;
		svm_vmcb(v)->control.interrupt_shadow = 0; /* the shadowed insn was emulated */
		return;
	case VREG_RSP:    s->rsp = val; return;
	case VREG_RFLAGS: s->rflags = val; return;
	case VREG_CR0:    s->cr0 = val; return;
	case VREG_CR3:    s->cr3 = val; return;
	case VREG_CR4:    s->cr4 = val; return;
	/* The guest's EFER must have SVME set for VMRUN (APM 15.5.1). */
	case VREG_EFER:   s->efer = val | EFER_SVME; return;
	case VREG_COUNT:  return;
	}
}

static struct vmcb_seg *vmcb_seg(struct vmcb_save *s, enum vseg seg)
{
	struct vmcb_seg *const map[VSEG_COUNT] = {
		[VSEG_ES] = &s->es, [VSEG_CS] = &s->cs, [VSEG_SS] = &s->ss,
		[VSEG_DS] = &s->ds, [VSEG_FS] = &s->fs, [VSEG_GS] = &s->gs,
		[VSEG_LDTR] = &s->ldtr, [VSEG_TR] = &s->tr,
		[VSEG_GDTR] = &s->gdtr, [VSEG_IDTR] = &s->idtr,
	};
	return map[seg];
}

void svm_seg_read(struct vcpu *v, enum vseg seg, struct vseg_desc *d)
{
	const struct vmcb_seg *s = vmcb_seg(&svm_vmcb(v)->save, seg);
	d->selector = s->selector;
	d->attr = s->attrib;
	d->limit = s->limit;
	d->base = s->base;
}

void svm_seg_write(struct vcpu *v, enum vseg seg, const struct vseg_desc *d)
{
	struct vmcb_save *save = &svm_vmcb(v)->save;
	struct vmcb_seg *s = vmcb_seg(save, seg);
	s->selector = d->selector;
	s->attrib = d->attr;
	s->limit = d->limit;
	s->base = d->base;
	if (seg == VSEG_SS)
		save->cpl = (d->attr >> 5) & 3; /* CPL is SS.DPL (APM 15.5.1) */
}

/*
 * Queues an event in EVENTINJ (APM 15.20). -EBUSY if one is pending. A
 * software interrupt returns to the next RIP: with NRIPS the CPU takes it
 * from the VMCB's next-RIP field (RIP stays on the INT, where a fault in
 * its delivery points); without, from RIP, which moves past the INT.
 */
int svm_inject(struct vcpu *v, const struct vevent *ev)
{
	struct vmcb *b = svm_vmcb(v);
	struct vmcb_control *c = &b->control;
	if (c->eventinj & EVENTINJ_VALID)
		return -EBUSY;
	uint64_t type = ev->type == VEVENT_EXCEPTION ? EVENTINJ_TYPE_EXCEPTION :
			ev->type == VEVENT_NMI       ? EVENTINJ_TYPE_NMI :
			ev->type == VEVENT_SOFT_INTR ? EVENTINJ_TYPE_SOFT_INTR :
						       EVENTINJ_TYPE_INTR;
	if (ev->type == VEVENT_SOFT_INTR && virt.nrips)
		c->nrip = ev->next_rip;
	else if (ev->type == VEVENT_SOFT_INTR)
		b->save.rip = ev->next_rip;
	uint64_t inj = ev->vector | type | EVENTINJ_VALID;
	if (ev->has_error)
		inj |= EVENTINJ_EV | (uint64_t)ev->error << 32;
	c->eventinj = inj;
	return 0;
}

/*
 * QEMU's TCG has no flush-by-ASID: flush everything at the next VMRUN
 * (TLB_CONTROL 1, APM 15.16.1). The control resets itself after use.
 */
void svm_tlb_flush(struct vcpu *v)
{
	svm_vmcb(v)->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
}

int svm_intr_ready(struct vcpu *v)
{
	const struct vmcb *b = svm_vmcb(v);
	if (b->control.eventinj & EVENTINJ_VALID)
		return -1;
	return (b->save.rflags & RFLAGS_IF) && !(b->control.interrupt_shadow & INTERRUPT_SHADOW);
}

/*
 * A virtual interrupt (V_IRQ) that only serves to cause #VMEXIT(VINTR)
 * when the guest could take it (APM 15.21.4); it is never delivered
 * because the exit comes first. Priority 15 and V_IGN_TPR: only RFLAGS.IF
 * and the interrupt shadow decide.
 */
void svm_intr_window(struct vcpu *v, int on)
{
	struct vmcb_control *c = &svm_vmcb(v)->control;
	const uint64_t virq = V_IRQ | V_INTR_PRIO(15) | V_IGN_TPR;
	if (on) {
		c->v_intr |= virq;
		c->intercept_misc1 |= INTERCEPT_VINTR;
	} else {
		c->v_intr &= ~virq;
		c->intercept_misc1 &= ~INTERCEPT_VINTR;
	}
}

/*
 * A debugger's controls (backend.h debug_set): the #BP intercept for its
 * breakpoints, and the INTn one, which QEMU's TCG checks for INT3 instead
 * (target/i386/tcg excp_helper.c raise_interrupt2); DR7 for hardware
 * breakpoints and watchpoints, whose #DB is intercepted; a single step by RFLAGS.TF with #DB intercepted (APM 15.12),
 * the guest's own TF kept aside until the step ends.
 */
void svm_debug_set(struct vcpu *v, unsigned ctl, const struct debug_dr *dr)
{
	struct vmcb *b = svm_vmcb(v);
	uint32_t exc = b->control.intercept_exc & ~(1u << 1 | 1u << 3);
	if (ctl & DEBUG_CTL_BREAKPOINTS)
		exc |= 1u << 3;
	if (ctl & (DEBUG_CTL_STEP | DEBUG_CTL_HW))
		exc |= 1u << 1;
	if ((ctl & DEBUG_CTL_HW) && !(v->dbg_ctl & DEBUG_CTL_HW))
		v->dbg.dr7_saved = b->save.dr7;
	if (ctl & DEBUG_CTL_HW)
		b->save.dr7 = dr->dr7 | 0x400; /* bit 10 reads as 1 */
	else if (v->dbg_ctl & DEBUG_CTL_HW)
		b->save.dr7 = v->dbg.dr7_saved;
	b->control.intercept_exc = exc;
	if (ctl & DEBUG_CTL_BREAKPOINTS)
		b->control.intercept_misc1 |= INTERCEPT_INTN;
	else
		b->control.intercept_misc1 &= ~INTERCEPT_INTN;
	int stepping = !!(v->dbg_ctl & DEBUG_CTL_STEP);
	if ((ctl & DEBUG_CTL_STEP) && !stepping) {
		v->dbg.tf_saved = b->save.rflags & RFLAGS_TF;
		b->save.rflags |= RFLAGS_TF;
	} else if (!(ctl & DEBUG_CTL_STEP) && stepping) {
		b->save.rflags = (b->save.rflags & ~(uint64_t)RFLAGS_TF) | v->dbg.tf_saved;
	}
}
