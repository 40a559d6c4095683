/*
 * vmm/backend.h - what a virtualization back end (vmm/svm/, vmm/vmx/)
 * implements, and nothing more.
 *
 * A back end only (1) decodes a VM exit into a neutral struct exit_info,
 * (2) loads and stores guest state, (3) programs the nested page tables
 * (NPT, EPT). Exit dispatch, CPUID/MSR policy, the port I/O bus, device
 * models, guest memory, ELF loading and the guest lifecycle are neutral
 * code in vmm/ that calls through `backend`.
 *
 * All ops with a `struct vcpu *` run on that vCPU's own core, except
 * vcpu_create/vcpu_destroy (service core, vCPU not running). Nested-paging
 * ops run on the service core before the first or after the last run.
 */
#ifndef HAKO_BACKEND_H
#define HAKO_BACKEND_H

#include <stdint.h>

#include "vmm/exit.h"
#include "vmm/vcpu.h"

struct vm;

/* What boot found out about the machine's hardware virtualization. */
struct virt_caps {
	const char *kind;  /* "vmx" or "svm": the back end this CPU calls for */
	char vendor[13];   /* CPUID leaf 0 */
	char detail[160];  /* what was found, or why it is not usable */
	int ept_or_npt, unrestricted, vpid, nrips;
};
extern struct virt_caps virt;

/* Nested page permissions (npt_map/npt_protect). */
#define NPT_R 0x1
#define NPT_W 0x2
#define NPT_X 0x4
#define NPT_RWX (NPT_R | NPT_W | NPT_X)

struct vmm_backend {
	const char *name;  /* "svm" or "vmx", as `version` prints it */

	/*
	 * Is this back end usable on the machine? Fills the capabilities and,
	 * either way, a sentence in c->detail. 1 or 0. Boot, service core.
	 */
	int (*probe)(struct virt_caps *c);

	/*
	 * Enables virtualization on the calling core (EFER.SVME + host save
	 * area / VMXON). Idempotent; 0 or -E... Called on every vCPU core
	 * before its first vcpu_run.
	 */
	int (*cpu_enable)(void);

	/* Allocates the VMCB/VMCS for `v` (v->vm->nested already built). */
	int (*vcpu_create)(struct vcpu *v);
	void (*vcpu_destroy)(struct vcpu *v);

	/*
	 * Enters the guest and returns at the next VM exit with `e` decoded.
	 * Loads/stores v->regs around the world switch. Called with host
	 * interrupts DISABLED (the caller has just looked for pending guest
	 * events; a kick arriving after that must not be taken by hako before
	 * the entry but make the guest exit at once), returns with them
	 * enabled. Physical interrupts arriving while the guest runs cause
	 * EXIT_EXT_INTERRUPT and are then taken by hako (so that smp_kick()
	 * reaches the vCPU loop). Returns 0, or -E... when entry itself failed
	 * (e->kind == EXIT_ENTRY_FAILED, details logged).
	 */
	int (*vcpu_run)(struct vcpu *v, struct exit_info *e);

	uint64_t (*reg_read)(struct vcpu *v, enum vreg r);
	/*
	 * Writing VREG_RIP also ends an interrupt shadow (STI, MOV SS): hako
	 * moves RIP only after emulating the instruction under it.
	 */
	void (*reg_write)(struct vcpu *v, enum vreg r, uint64_t val);
	void (*seg_read)(struct vcpu *v, enum vseg s, struct vseg_desc *d);
	void (*seg_write)(struct vcpu *v, enum vseg s, const struct vseg_desc *d);

	/*
	 * Queues an event for delivery at the next entry. -EBUSY if one is
	 * pending. A VEVENT_SOFT_INTR returns to ev->next_rip (SVM: RIP with
	 * NRIPS in the VMCB's next-RIP, else RIP itself moved there).
	 */
	int (*inject)(struct vcpu *v, const struct vevent *ev);

	/*
	 * Can an external interrupt be injected at the next entry? -1: an
	 * event is already queued (inject would fail); 0: the guest blocks
	 * interrupts now (RFLAGS.IF = 0 or an STI/MOV SS shadow); 1: yes.
	 */
	int (*intr_ready)(struct vcpu *v);
	/*
	 * on = 1: make the guest exit with EXIT_INTR_WINDOW as soon as it
	 * accepts interrupts (SVM V_IRQ + VINTR intercept, APM 15.21.4; VMX
	 * "interrupt-window exiting", SDM 25.7.5); on = 0: stop asking.
	 */
	void (*intr_window)(struct vcpu *v, int on);

	/*
	 * Nested paging: builds an empty table for `vm` (vm->nested), maps
	 * [gpa, gpa+size) to [hpa, hpa+size) with 2 MiB pages where both are
	 * 2 MiB-aligned and 4 KiB pages otherwise, changes permissions, and
	 * frees every table page. Sizes and addresses are 4 KiB multiples.
	 */
	int (*npt_create)(struct vm *vm);
	int (*npt_map)(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot);
	int (*npt_protect)(struct vm *vm, uint64_t gpa, uint64_t size, unsigned prot);
	void (*npt_destroy)(struct vm *vm);

	/* Flushes the guest's TLB entries (after nested-paging changes). */
	void (*tlb_flush)(struct vcpu *v);

	/*
	 * Shared cores (vmm/sched.c), on v's core; each may be 0 when the
	 * back end has nothing to do. switch_in makes v's state the core's
	 * before any other op on v there, when the core last ran another
	 * vCPU (VMX: VMPTRLD and the guest MSRs the VMCS does not hold).
	 * unload is v's last act on the core (VMX: VMCLEAR). preempt_arm
	 * makes the guest exit after about `tsc_ticks` (0: never), called
	 * with interrupts off before vcpu_run; 0, or -ENOTSUP and the
	 * caller uses the host's LAPIC timer instead (VMX: the VMX-preemption
	 * timer, SDM Vol. 3C 26.5.1; SVM: none, the LAPIC timer's interrupt
	 * exits the guest through the INTR intercept).
	 */
	void (*vcpu_switch_in)(struct vcpu *v);
	void (*vcpu_unload)(struct vcpu *v);
	int (*preempt_arm)(struct vcpu *v, uint64_t tsc_ticks);
	/*
	 * A debugger's controls (DEBUG_CTL_*, vmm/vcpu_debug.h) for the next
	 * entries: intercept #BP; run one instruction, then exit (VT-x: the
	 * monitor trap flag, EXIT_MTF; AMD-V: RFLAGS.TF and the #DB
	 * intercept, with the guest's own TF kept in v->dbg.tf_saved); the
	 * guest's DR7 from `dr` (its own kept in v->dbg.dr7_saved) with #DB
	 * intercepted, its hits in exit_info.exc.dr_hits. DR0-DR3 the caller
	 * loads itself.
	 */
	void (*debug_set)(struct vcpu *v, unsigned ctl, const struct debug_dr *dr);
	/* 1 when DEBUG_CTL_STEP sets the guest's RFLAGS.TF (AMD-V), which a PUSHF would store. */
	int step_tf;
};

extern const struct vmm_backend svm_backend;
extern const struct vmm_backend vmx_backend;

/* The back end chosen at boot, or 0 when the CPU's is not usable. */
extern const struct vmm_backend *backend;

/*
 * Picks the back end the CPU calls for (VMX or SVM in CPUID, else by
 * vendor), probes it and fills `virt`; `backend` stays 0 when the probe
 * says no (virt.detail says why). Once, at boot, on the service core.
 */
void backend_select(void);

#endif
