/*
 * vmm/svm/svm.h - the SVM back end's internal interface between its files
 * (svm.c: enabling and the ops table; vmcb.c: guest state; exit.c: run
 * and decode; npt.c: nested paging).
 */
#ifndef HAKO_SVM_H
#define HAKO_SVM_H

#include <stdint.h>

#include "vmm/backend.h"
#include "vmm/svm/vmcb.h"

int svm_probe(struct virt_caps *c);

struct vm;

/* Per physical core (percpu->vmm). */
struct svm_cpu {
	uint64_t hsave_pa;        /* VM_HSAVE_PA: VMRUN's host save area */
	uint64_t host_vmsave_pa;  /* VMSAVE/VMLOAD area for the host's FS/GS/TR... */
};

/* Shared, read-only permission maps (all intercepted, a few MSRs passed). */
extern uint64_t svm_iopm_pa, svm_msrpm_pa;

int svm_cpu_enable(void);
struct svm_cpu *svm_this_cpu(void);

int svm_vcpu_create(struct vcpu *v);
void svm_vcpu_destroy(struct vcpu *v);
uint64_t svm_reg_read(struct vcpu *v, enum vreg r);
void svm_reg_write(struct vcpu *v, enum vreg r, uint64_t val);
void svm_seg_read(struct vcpu *v, enum vseg s, struct vseg_desc *d);
void svm_seg_write(struct vcpu *v, enum vseg s, const struct vseg_desc *d);
int svm_inject(struct vcpu *v, const struct vevent *ev);
int svm_intr_ready(struct vcpu *v);
void svm_intr_window(struct vcpu *v, int on);
void svm_tlb_flush(struct vcpu *v);
void svm_debug_set(struct vcpu *v, unsigned ctl, const struct debug_dr *dr);

int svm_vcpu_run(struct vcpu *v, struct exit_info *e);

int svm_npt_create(struct vm *vm);
int svm_npt_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot);
int svm_npt_protect(struct vm *vm, uint64_t gpa, uint64_t size, unsigned prot);
void svm_npt_destroy(struct vm *vm);
uint64_t svm_npt_root(struct vm *vm);

static inline struct vmcb *svm_vmcb(struct vcpu *v)
{
	return ((struct svm_vcpu *)v->arch)->vmcb;
}

#endif
