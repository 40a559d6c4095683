/*
 * vmm/vmx/vmcs.c - a vCPU's VMCS: execution, exit and entry controls
 * fitted to the capability MSRs (SDM Vol. 3C 25.6-25.8, Vol. 3D A.3-A.5),
 * host state from hako's own GDT and TSS (25.5, 28.5), guest state
 * (25.4), and access to it. Parallel to vmm/svm/vmcb.c.
 *
 * A VMCS can be read and written only where it is current, and it stays
 * active on the core that last loaded it until VMCLEAR there (25.11.1).
 * vmm/guest_boot.c sets the entry state on the service core, so until
 * the vCPU's core loads the VMCS (vmx_vmcs_load, at its first run) the
 * state waits in struct vmx_vcpu; from then on it lives in the VMCS.
 */
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/vm.h"
#include "vmm/vmx/ctls.h"
#include "vmm/vmx/vmx.h"
#include "vmm/core/lib/x86.h"

#define SEG_TYPE_TSS16_BUSY 0x3
#define PROC2_RDTSCP (1u << 3)
#define PROC2_INVPCID (1u << 12)
#define PROC2_XSAVES (1u << 20)
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2
#define INVVPID_SINGLE 1
#define INVVPID_ALL 2
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVVPID_SINGLE (1ull << 41)
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Is `v`'s VMCS current on the calling core? Then the VMCS holds its state. */
#define BLOCKING_BY_STI (1u << 0)    /* guest interruptibility state, SDM 25.4.2 */
#define BLOCKING_BY_MOV_SS (1u << 1)
#define PENDING_DBG_BS (1ull << 14)    /* pending debug exceptions: single step, SDM 25.4.2 */

static int vmcs_here(struct vcpu *v)
{
	struct vmx_vcpu *s = vmx_vcpu(v);
	return s->loaded && this_cpu()->index == v->core && vmx_this_cpu()->current == v;
}

/*
 * CR bits the guest may not own: fixed in VMX operation (SDM 24.8, A.7,
 * A.8), its writes to them exit (26.1.3) and vmm/exit.c carries them
 * out. An unrestricted guest may run with PE and PG clear; PE is the
 * guest's, but PG exits too, so that every long-mode switch passes
 * vmcs_put_reg(VREG_EFER) and its TR fixup.
 */
static uint64_t cr0_mask(void)
{
	uint64_t fixed = vmx_caps.cr0_fixed0 | ~vmx_caps.cr0_fixed1;
	return ((fixed & ~CR0_PE) | CR0_PG) & 0xffffffffull;
}

static uint64_t cr4_mask(void)
{
	return (vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1) & 0xffffffffull;
}

/* ---- controls ---- */

struct ctl_want {
	const char *name;
	enum vmcs_field field;
	const uint64_t *cap;
	uint32_t required, optional;
};

/* Fits each control to its capability MSR; a required bit missing is -ENOTSUP. */
static int vmcs_controls(struct vcpu *v)
{
	const struct ctl_want ctls[] = {
		{ "pin-based", VMCS_PIN_BASED_CTLS, &vmx_caps.pin,
		  PIN_EXT_INTR_EXITING | PIN_NMI_EXITING, 0 },
		{ "processor-based", VMCS_PROC_BASED_CTLS, &vmx_caps.proc,
		  PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
			  PROC_ACTIVATE_SECONDARY, 0 },
		{ "secondary", VMCS_PROC_BASED_CTLS2, &vmx_caps.proc2,
		  PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | (vmx_caps.vpid ? PROC2_ENABLE_VPID : 0),
		  PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES | PROC2_WBINVD_EXITING },
		/*
		 * The guest's DR7 and DEBUGCTL (its own, or a debugger's
		 * watchpoints) are in force only with these two: without them
		 * an entry keeps the host's DR7 and an exit resets it to 0x400,
		 * losing the guest's (SDM 27.3.2.1, 28.3.1, 28.5.1); the TRUE_
		 * capability MSRs let both be 0 (Bochs 2.7 then arms nothing).
		 */
		{ "VM-exit", VMCS_EXIT_CTLS, &vmx_caps.exit,
		  EXIT_CTL_SAVE_DEBUG_CONTROLS | EXIT_CTL_HOST_ADDR_SPACE_SIZE | EXIT_CTL_SAVE_EFER |
			  EXIT_CTL_LOAD_EFER, 0 },
		{ "VM-entry", VMCS_ENTRY_CTLS, &vmx_caps.entry,
		  ENTRY_CTL_LOAD_DEBUG_CONTROLS | ENTRY_CTL_LOAD_EFER, 0 },
	};
	for (unsigned i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++) {
		uint32_t val, opt;
		if (vmx_fit_ctl(*ctls[i].cap, ctls[i].required, &val)) {
			log_err("vmx: %s controls 0x%x not supported (capability 0x%lx)",
				ctls[i].name, ctls[i].required, *ctls[i].cap);
			return -ENOTSUP;
		}
		/* Optional bits: whichever the processor allows (SDM A.3.3). */
		vmx_fit_ctl(*ctls[i].cap, ctls[i].optional & (uint32_t)(*ctls[i].cap >> 32), &opt);
		vmcs_write32(ctls[i].field, val | opt);
	}
	vmcs_write64(VMCS_IO_BITMAP_A, vmx_io_bitmap_pa);
	vmcs_write64(VMCS_IO_BITMAP_B, vmx_io_bitmap_pa + PAGE_SIZE);
	vmcs_write64(VMCS_MSR_BITMAP, vmx_msr_bitmap_pa);
	vmcs_write64(VMCS_EPT_POINTER, vmx_eptp(v->vm));
	/* VPID 0 is the host's (SDM 25.6.12); one per guest slot, like SVM ASIDs. */
	if (vmx_caps.vpid)
		vmcs_write16(VMCS_VPID, (uint16_t)(v->vm - vms) + 1);
	/* #MC is the host's hardware: it exits, never reaches the guest's IDT (SDM 26.2). */
	vmcs_write32(VMCS_EXCEPTION_BITMAP, 1u << 18);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_writenat(VMCS_CR0_GUEST_HOST_MASK, cr0_mask());
	vmcs_writenat(VMCS_CR4_GUEST_HOST_MASK, cr4_mask());
	return 0;
}

/* ---- host state: what a VM exit loads (SDM 25.5, 28.5; checks 27.2.3) ---- */

static void vmcs_host_state(void)
{
	struct percpu *c = this_cpu();
	struct desc_ptr idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));

	vmcs_writenat(VMCS_HOST_CR0, read_cr0());
	vmcs_writenat(VMCS_HOST_CR3, read_cr3());
	vmcs_writenat(VMCS_HOST_CR4, read_cr4());
	vmcs_write16(VMCS_HOST_CS_SELECTOR, GDT_KCODE);
	vmcs_write16(VMCS_HOST_SS_SELECTOR, GDT_KDATA);
	vmcs_write16(VMCS_HOST_DS_SELECTOR, GDT_KDATA);
	vmcs_write16(VMCS_HOST_ES_SELECTOR, GDT_KDATA);
	vmcs_write16(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_GS_SELECTOR, 0);
	/* TR must not be 0 (27.2.3): hako's own TSS, never the firmware's. */
	vmcs_write16(VMCS_HOST_TR_SELECTOR, GDT_TSS);
	vmcs_writenat(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_writenat(VMCS_HOST_GS_BASE, (uint64_t)c); /* this_cpu() reads GS:0 */
	vmcs_writenat(VMCS_HOST_TR_BASE, (uint64_t)&c->tss);
	vmcs_writenat(VMCS_HOST_GDTR_BASE, (uint64_t)c->gdt);
	vmcs_writenat(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write32(VMCS_HOST_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_HOST_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_HOST_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_writenat(VMCS_HOST_RIP, (uint64_t)vmx_exit_entry);
}

/* ---- guest state ---- */

static void vmcs_put_seg(enum vseg seg, const struct vseg_desc *d)
{
	if (seg == VSEG_GDTR || seg == VSEG_IDTR) {
		int idt = seg == VSEG_IDTR;
		vmcs_write32(idt ? VMCS_GUEST_IDTR_LIMIT : VMCS_GUEST_GDTR_LIMIT, d->limit);
		vmcs_writenat(idt ? VMCS_GUEST_IDTR_BASE : VMCS_GUEST_GDTR_BASE, d->base);
		return;
	}
	/* enum vseg runs ES CS SS DS FS GS LDTR TR, the VMCS's order (B.1.2). */
	vmcs_write16(VMCS_GUEST_SEG(VMCS_GUEST_ES_SELECTOR, seg), d->selector);
	vmcs_write32(VMCS_GUEST_SEG(VMCS_GUEST_ES_LIMIT, seg), d->limit);
	vmcs_write32(VMCS_GUEST_SEG(VMCS_GUEST_ES_AR, seg), vmx_ar_from_attr(d->attr));
	vmcs_writenat(VMCS_GUEST_SEG(VMCS_GUEST_ES_BASE, seg), d->base);
}

static void vmcs_get_seg(enum vseg seg, struct vseg_desc *d)
{
	if (seg == VSEG_GDTR || seg == VSEG_IDTR) {
		int idt = seg == VSEG_IDTR;
		*d = (struct vseg_desc){ 0, 0, vmcs_read32(idt ? VMCS_GUEST_IDTR_LIMIT : VMCS_GUEST_GDTR_LIMIT),
					 vmcs_readnat(idt ? VMCS_GUEST_IDTR_BASE : VMCS_GUEST_GDTR_BASE) };
		return;
	}
	d->selector = vmcs_read16(VMCS_GUEST_SEG(VMCS_GUEST_ES_SELECTOR, seg));
	d->limit = vmcs_read32(VMCS_GUEST_SEG(VMCS_GUEST_ES_LIMIT, seg));
	d->attr = vmx_attr_from_ar(vmcs_read32(VMCS_GUEST_SEG(VMCS_GUEST_ES_AR, seg)));
	d->base = vmcs_readnat(VMCS_GUEST_SEG(VMCS_GUEST_ES_BASE, seg));
}

/*
 * An IA-32e mode guest's TR must be a 64-bit busy TSS (type 11) at entry
 * (SDM 27.3.1.2), but a CPU switching to long mode keeps the TR it had:
 * a processor started by SIPI still holds the 16-bit busy TSS (type 3)
 * of its reset state until the guest loads its own with LTR. The type of
 * a TR not yet used by the guest is only an entry check, so it becomes 11.
 */
static void vmcs_tr_long_mode(void)
{
	enum vmcs_field f = VMCS_GUEST_SEG(VMCS_GUEST_ES_AR, VSEG_TR);
	uint32_t ar = vmcs_read32(f);
	if ((ar & 0xf) == SEG_TYPE_TSS16_BUSY)
		vmcs_write32(f, (ar & ~0xfu) | SEG_TYPE_TSS64_BUSY);
}

static void vmcs_put_reg(enum vreg r, uint64_t val)
{
	switch (r) {
	case VREG_RIP:
		/*
		 * Moving RIP past an emulated instruction ends any STI or MOV SS
		 * shadow, as executing it would have (SDM 25.4.2, 27.3.1.5),
		 * the same as SVM's interrupt shadow.
		 */
		vmcs_writenat(VMCS_GUEST_RIP, val);
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) & ~(BLOCKING_BY_STI | BLOCKING_BY_MOV_SS));
		return;
	case VREG_RSP:    vmcs_writenat(VMCS_GUEST_RSP, val); return;
	case VREG_RFLAGS: vmcs_writenat(VMCS_GUEST_RFLAGS, val); return;
	case VREG_CR3:    vmcs_writenat(VMCS_GUEST_CR3, val); return;
	case VREG_CR0:
		/* The guest reads its own value through the shadow (SDM 25.6.6). */
		vmcs_writenat(VMCS_CR0_READ_SHADOW, val);
		vmcs_writenat(VMCS_GUEST_CR0, vmx_fix_cr(val, vmx_caps.cr0_fixed0,
							 vmx_caps.cr0_fixed1, CR0_PE | CR0_PG));
		return;
	case VREG_CR4:
		vmcs_writenat(VMCS_CR4_READ_SHADOW, val);
		vmcs_writenat(VMCS_GUEST_CR4, vmx_fix_cr(val, vmx_caps.cr4_fixed0,
							 vmx_caps.cr4_fixed1, 0));
		return;
	case VREG_EFER: {
		/* "IA-32e mode guest" must equal EFER.LMA at entry (SDM 27.3.1.1). */
		uint32_t entry = vmcs_read32(VMCS_ENTRY_CTLS) & ~ENTRY_CTL_IA32E_MODE_GUEST;
		vmcs_write32(VMCS_ENTRY_CTLS, entry | ((val & EFER_LMA) ? ENTRY_CTL_IA32E_MODE_GUEST : 0));
		vmcs_write64(VMCS_GUEST_IA32_EFER, val);
		if (val & EFER_LMA)
			vmcs_tr_long_mode();
		return;
	}
	case VREG_COUNT:  return;
	}
}

static uint64_t vmcs_get_reg(enum vreg r)
{
	switch (r) {
	case VREG_RIP:    return vmcs_readnat(VMCS_GUEST_RIP);
	case VREG_RSP:    return vmcs_readnat(VMCS_GUEST_RSP);
	case VREG_RFLAGS: return vmcs_readnat(VMCS_GUEST_RFLAGS);
	case VREG_CR3:    return vmcs_readnat(VMCS_GUEST_CR3);
	case VREG_CR0:
		return (vmcs_readnat(VMCS_GUEST_CR0) & ~cr0_mask()) |
		       (vmcs_readnat(VMCS_CR0_READ_SHADOW) & cr0_mask());
	case VREG_CR4:
		return (vmcs_readnat(VMCS_GUEST_CR4) & ~cr4_mask()) |
		       (vmcs_readnat(VMCS_CR4_READ_SHADOW) & cr4_mask());
	case VREG_EFER:   return vmcs_read64(VMCS_GUEST_IA32_EFER);
	case VREG_COUNT:  break;
	}
	return 0;
}

/* Guest state no neutral register covers: the architectural reset values (SDM 25.4). */
static void vmcs_guest_state(struct vmx_vcpu *s)
{
	vmcs_write64(VMCS_LINK_POINTER, ~0ull); /* no shadow VMCS (27.3.1.5) */
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_writenat(VMCS_GUEST_DR7, 0x400);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, 0); /* active */
	vmcs_write32(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_GUEST_SYSENTER_EIP, 0);
	for (enum vseg seg = 0; seg < VSEG_COUNT; seg++)
		vmcs_put_seg(seg, &s->seg[seg]);
	for (enum vreg r = 0; r < VREG_COUNT; r++)
		vmcs_put_reg(r, s->reg[r]);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, s->pending_intr);
	vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, s->pending_error);
}

/*
 * Translations tagged with this guest's EPTP and VPID may survive from an
 * earlier guest that had the same slot or the same table address on this
 * core: drop them before the first entry (SDM 29.4.3.1, 29.4.3.3).
 */
static void vmx_flush_here(struct vcpu *v)
{
	int single = !!(vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE);
	vmx_invept(single ? INVEPT_SINGLE : INVEPT_ALL, vmx_eptp(v->vm));
	if (!vmx_caps.vpid)
		return;
	single = !!(vmx_caps.ept_vpid & EPT_CAP_INVVPID_SINGLE);
	vmx_invvpid(single ? INVVPID_SINGLE : INVVPID_ALL, (uint16_t)(v->vm - vms) + 1);
}

/*
 * Makes `v`'s VMCS current on the calling core (its own) and fills it:
 * controls, host state, then the guest state waiting in struct vmx_vcpu.
 * 0, or -EIO/-ENOTSUP (logged) when the VMCS cannot be used.
 */
int vmx_vmcs_load(struct vcpu *v)
{
	struct vmx_vcpu *s = vmx_vcpu(v);
	if (vmx_clear(s->vmcs_pa) || vmx_ptrld(s->vmcs_pa)) {
		log_err("guest %s: VMCLEAR/VMPTRLD of the VMCS at 0x%lx failed", v->vm->def.name,
			s->vmcs_pa);
		return -EIO;
	}
	s->active = 1;
	vmx_this_cpu()->current = v;
	int err = vmcs_controls(v);
	if (err)
		return err;
	vmcs_host_state();
	vmcs_guest_state(s);
	vmx_flush_here(v);
	/* The guest owns these while it runs (vmx.c); none of the last guest's values leak. */
	static const uint32_t guest_owned[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
						MSR_KERNEL_GS_BASE };
	for (unsigned i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++)
		wrmsr(guest_owned[i], 0);
	s->loaded = 1;
	s->launched = 0;
	return 0;
}

/* ---- the back-end ops on guest state ---- */

/*
 * Allocates the VMCS for `v` and sets the guest state to zero (service
 * core; vmm/guest_boot.c then sets the entry state). 0 or -ENOMEM.
 */
int vmx_vcpu_create(struct vcpu *v)
{
	struct vmx_vcpu *s = (struct vmx_vcpu *)page_alloc(0, PAGE_HAKO);
	if (!s)
		return -ENOMEM;
	s->vmcs_pa = page_alloc(0, PAGE_HAKO);
	if (!s->vmcs_pa) {
		page_free((uint64_t)s, 0, PAGE_HAKO);
		return -ENOMEM;
	}
	/* The VMCS region starts with the revision identifier (SDM 25.2). */
	*(volatile uint32_t *)s->vmcs_pa = vmx_caps.revision;
	s->reg[VREG_RFLAGS] = 0x2;
	v->arch = s;
	return 0;
}

struct clear_req {
	uint64_t vmcs_pa;
	volatile int done;
};

static void clear_on_core(void *arg)
{
	struct clear_req *r = arg;
	struct vmx_cpu *x = vmx_this_cpu();
	r->done = vmx_clear(r->vmcs_pa) ? -1 : 1;
	if (x->current && vmx_vcpu(x->current)->vmcs_pa == r->vmcs_pa)
		x->current = 0; /* a shared core's current VMCS may be another's */
}

/*
 * Frees `v`'s VMCS (service core, vCPU stopped). A VMCS that was active
 * on a core must be VMCLEARed there before its memory is reused, or the
 * core may later write cached VMCS data into it (SDM 25.11.1): that core
 * is parked, so it is asked to. If it does not answer, the page is kept.
 */
void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	if (!s)
		return;
	int cleared = !s->active;
	if (s->active) {
		struct clear_req req = { s->vmcs_pa, 0 };
		if (!smp_run_on(v->core, clear_on_core, &req))
			for (uint64_t t0 = time_us(); !req.done && time_us() - t0 < 1000000;)
				cpu_relax();
		cleared = req.done == 1;
		if (!cleared)
			log_err("vmx: core %u did not VMCLEAR a VMCS; keeping its page", v->core);
	}
	if (cleared)
		page_free(s->vmcs_pa, 0, PAGE_HAKO);
	page_free((uint64_t)s, 0, PAGE_HAKO);
	v->arch = 0;
}

/*
 * Guest register and segment access for the neutral code: from the VMCS
 * on the vCPU's own core once it is loaded, from struct vmx_vcpu before.
 */
uint64_t vmx_reg_read(struct vcpu *v, enum vreg r)
{
	if ((unsigned)r >= VREG_COUNT)
		return 0;
	return vmcs_here(v) ? vmcs_get_reg(r) : vmx_vcpu(v)->reg[r];
}

void vmx_reg_write(struct vcpu *v, enum vreg r, uint64_t val)
{
	if ((unsigned)r >= VREG_COUNT)
		return;
	if (vmcs_here(v))
		vmcs_put_reg(r, val);
	else
		vmx_vcpu(v)->reg[r] = val;
}

void vmx_seg_read(struct vcpu *v, enum vseg seg, struct vseg_desc *d)
{
	if (vmcs_here(v))
		vmcs_get_seg(seg, d);
	else
		*d = vmx_vcpu(v)->seg[seg];
}

void vmx_seg_write(struct vcpu *v, enum vseg seg, const struct vseg_desc *d)
{
	if (vmcs_here(v))
		vmcs_put_seg(seg, d);
	else
		vmx_vcpu(v)->seg[seg] = *d;
}

/*
 * Queues an event in the VM-entry interruption-information field (SDM
 * 25.8.3, 27.6). Real mode takes no error code (27.2.1.3). -EBUSY if one
 * is pending.
 */
int vmx_inject(struct vcpu *v, const struct vevent *ev)
{
	struct vmx_vcpu *s = vmx_vcpu(v);
	int here = vmcs_here(v);
	uint32_t pending = here ? vmcs_read32(VMCS_ENTRY_INTR_INFO) : s->pending_intr;
	if (pending & INTR_INFO_VALID)
		return -EBUSY;
	uint32_t type = ev->type == VEVENT_EXCEPTION ? INTR_TYPE_HW_EXCEPTION :
			ev->type == VEVENT_NMI       ? INTR_TYPE_NMI :
						       INTR_TYPE_EXT_INTR;
	uint32_t info = ev->vector | type << 8 | INTR_INFO_VALID;
	if (ev->has_error && (vmx_reg_read(v, VREG_CR0) & CR0_PE))
		info |= INTR_INFO_DELIVER_ERROR;
	if (!here) {
		s->pending_intr = info;
		s->pending_error = ev->error;
		return 0;
	}
	vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, ev->error);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, info);
	return 0;
}


/*
 * Can an external interrupt be injected at the next entry? (SDM 27.2:
 * IF=1 and no STI/MOV SS blocking.) -1 when an event is already queued.
 * On the vCPU's core with its VMCS current; elsewhere only the queued
 * event is known, so the answer is "not now".
 */
int vmx_intr_ready(struct vcpu *v)
{
	struct vmx_vcpu *s = vmx_vcpu(v);
	if (!vmcs_here(v))
		return (s->pending_intr & INTR_INFO_VALID) ? -1 : 0;
	if (vmcs_read32(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)
		return -1;
	if (!(vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF))
		return 0;
	return (vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) ? 0 : 1;
}

/*
 * "Interrupt-window exiting" (SDM 25.6.2, 26.7.5): with it set the guest
 * exits (reason 7) at the first instruction boundary where it accepts
 * interrupts. Only touched on the vCPU's own core, just before entry.
 */
void vmx_intr_window(struct vcpu *v, int on)
{
	if (!vmcs_here(v) || !((vmx_caps.proc >> 32) & PROC_INTR_WINDOW_EXITING))
		return;
	uint32_t ctl = vmcs_read32(VMCS_PROC_BASED_CTLS);
	uint32_t want = on ? ctl | PROC_INTR_WINDOW_EXITING : ctl & ~PROC_INTR_WINDOW_EXITING;
	if (want != ctl)
		vmcs_write32(VMCS_PROC_BASED_CTLS, want);
}

/* Drops the guest's cached translations (after EPT changes); on the vCPU's core. */
void vmx_tlb_flush(struct vcpu *v)
{
	if (vmcs_here(v))
		vmx_flush_here(v);
}

/*
 * A single step without the monitor trap flag (Bochs 2.7's Haswell has
 * none; its other models advertise MTF but ignore it, see README): RFLAGS.TF
 * with #DB in the exception bitmap, as on AMD-V, the guest's own TF kept
 * aside. An entry with TF = 1 inside an STI or MOV SS shadow needs BS in
 * the pending debug exceptions (SDM 27.3.1.5).
 */
static void vmx_step_by_tf(struct vcpu *v, int on)
{
	uint64_t fl = vmcs_readnat(VMCS_GUEST_RFLAGS);
	if (!on) {
		vmcs_writenat(VMCS_GUEST_RFLAGS, (fl & ~RFLAGS_TF) | v->dbg.tf_saved);
		return;
	}
	v->dbg.tf_saved = fl & RFLAGS_TF;
	vmcs_writenat(VMCS_GUEST_RFLAGS, fl | RFLAGS_TF);
	if (vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS))
		vmcs_writenat(VMCS_GUEST_PENDING_DBG, vmcs_readnat(VMCS_GUEST_PENDING_DBG) | PENDING_DBG_BS);
}

/*
 * A debugger's controls (backend.h debug_set): #BP in the exception
 * bitmap beside #MC (SDM 25.6.3) for its breakpoints; #DB and the guest's
 * DR7 for hardware breakpoints and watchpoints; the monitor trap
 * flag (SDM 26.5.2) for a single step, which exits with reason 37 after
 * one instruction, or TF where there is no MTF. On the vCPU's own core.
 */
void vmx_debug_set(struct vcpu *v, unsigned ctl, const struct debug_dr *dr)
{
	if (!vmcs_here(v))
		return;
	int mtf = !!((vmx_caps.proc >> 32) & PROC_MONITOR_TRAP_FLAG);
	uint32_t bitmap = 1u << 18;
	if (ctl & DEBUG_CTL_BREAKPOINTS)
		bitmap |= 1u << 3;
	if ((ctl & DEBUG_CTL_HW) || ((ctl & DEBUG_CTL_STEP) && !mtf))
		bitmap |= 1u << 1;
	vmcs_write32(VMCS_EXCEPTION_BITMAP, bitmap);
	if ((ctl & DEBUG_CTL_HW) && !(v->dbg_ctl & DEBUG_CTL_HW))
		v->dbg.dr7_saved = vmcs_readnat(VMCS_GUEST_DR7);
	if (ctl & DEBUG_CTL_HW)
		vmcs_writenat(VMCS_GUEST_DR7, dr->dr7 | 0x400);
	else if (v->dbg_ctl & DEBUG_CTL_HW)
		vmcs_writenat(VMCS_GUEST_DR7, v->dbg.dr7_saved);
	int step = !!(ctl & DEBUG_CTL_STEP), stepping = !!(v->dbg_ctl & DEBUG_CTL_STEP);
	if (!mtf) {
		if (step != stepping)
			vmx_step_by_tf(v, step);
		return;
	}
	uint32_t proc = vmcs_read32(VMCS_PROC_BASED_CTLS);
	proc = step ? proc | PROC_MONITOR_TRAP_FLAG : proc & ~PROC_MONITOR_TRAP_FLAG;
	vmcs_write32(VMCS_PROC_BASED_CTLS, proc);
}
