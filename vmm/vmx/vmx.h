/*
 * vmm/vmx/vmx.h - the VMX back end's internal interface between its files
 * (vmx.c: enabling and the ops table; vmcs.c: controls and guest state;
 * exit.c: run and decode; ept.c: extended page tables), parallel to
 * vmm/svm/svm.h.
 */
#ifndef HAKO_VMX_H
#define HAKO_VMX_H

#include <stdint.h>

#include "vmm/backend.h"
#include "vmm/vmx/vmcs.h"

int vmx_probe(struct virt_caps *c);

struct vm;

/* What the capability MSRs allow, read once on the first core (SDM Vol. 3D A). */
struct vmx_caps {
	uint32_t revision;           /* IA32_VMX_BASIC[30:0] */
	uint64_t pin, proc, proc2, exit, entry; /* TRUE_ MSRs when BASIC[55] says so */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t ept_vpid;           /* IA32_VMX_EPT_VPID_CAP */
	int vpid;                    /* VPIDs usable */
	int preempt;                 /* the VMX-preemption timer exists (pin-based bit 6) */
	unsigned preempt_shift;      /* it counts TSC >> this (IA32_VMX_MISC[4:0], SDM A.6) */
};
extern struct vmx_caps vmx_caps;

/* Per physical core (percpu->vmm). */
struct vmx_cpu {
	uint64_t vmxon_pa;           /* the VMXON region (SDM Vol. 3C 25.11.5) */
	struct vcpu *current;        /* whose VMCS is current on this core */
};

/* Per vCPU (vcpu->arch). */
struct vmx_vcpu {
	uint64_t vmcs_pa;
	int active;                  /* VMPTRLD done on v->core: VMCLEAR there before freeing */
	int loaded;                  /* VMCS initialised and current on v->core */
	int launched;                /* VMLAUNCH done: VMRESUME from now on */
	/*
	 * Guest state set before the first entry (vmm/guest_boot.c runs on
	 * the service core, where this VMCS cannot be current); written to
	 * the VMCS on the vCPU's core by vmx_vmcs_load().
	 */
	uint64_t reg[VREG_COUNT];
	struct vseg_desc seg[VSEG_COUNT];
	uint32_t pending_intr;       /* VM-entry interruption info to queue */
	uint32_t pending_error;
	/* On a shared core (share.c): its STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE while off it. */
	uint64_t guest_msr[5];
};

/* Shared, read-only bitmaps: every port and every MSR exits but a few (SDM 25.6.4, 25.6.9). */
extern uint64_t vmx_io_bitmap_pa, vmx_msr_bitmap_pa;

int vmx_cpu_enable(void);
struct vmx_cpu *vmx_this_cpu(void);

int vmx_vcpu_create(struct vcpu *v);
void vmx_vcpu_destroy(struct vcpu *v);
int vmx_vmcs_load(struct vcpu *v);
uint64_t vmx_reg_read(struct vcpu *v, enum vreg r);
void vmx_reg_write(struct vcpu *v, enum vreg r, uint64_t val);
void vmx_seg_read(struct vcpu *v, enum vseg s, struct vseg_desc *d);
void vmx_seg_write(struct vcpu *v, enum vseg s, const struct vseg_desc *d);
int vmx_inject(struct vcpu *v, const struct vevent *ev);
int vmx_intr_ready(struct vcpu *v);
void vmx_intr_window(struct vcpu *v, int on);
void vmx_tlb_flush(struct vcpu *v);
void vmx_debug_set(struct vcpu *v, unsigned ctl, const struct debug_dr *dr);

int vmx_vcpu_run(struct vcpu *v, struct exit_info *e);
void vmx_vcpu_switch_in(struct vcpu *v);
void vmx_vcpu_unload(struct vcpu *v);
int vmx_preempt_arm(struct vcpu *v, uint64_t tsc_ticks);
void vmx_kick_fallback(struct vcpu *v);
/* vmm/vmx/switch.S: 0 after a VM exit, 1 when VMLAUNCH/VMRESUME failed. */
int vmx_world_switch(struct guest_regs *regs, int launched);
extern const char vmx_exit_entry[];

int vmx_ept_create(struct vm *vm);
int vmx_ept_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot);
int vmx_ept_protect(struct vm *vm, uint64_t gpa, uint64_t size, unsigned prot);
void vmx_ept_destroy(struct vm *vm);
uint64_t vmx_eptp(struct vm *vm);

static inline struct vmx_vcpu *vmx_vcpu(struct vcpu *v)
{
	return v->arch;
}

#endif
