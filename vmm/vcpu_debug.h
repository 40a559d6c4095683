/*
 * vmm/vcpu_debug.h - stopping a guest's vCPUs for a debugger, their
 * registers and memory while stopped, software breakpoints and single
 * steps (`debug NAME`, mgmt/gdb/).
 *
 * All-stop, as GDB's remote protocol expects: the service core asks
 * (vcpu_debug_stop_all) and kicks the vCPU cores; each vCPU stops on its
 * own core at its next exit (vcpu_debug_check, from vcpu_run_once),
 * copying its registers into `struct vcpu_debug` first, since only its
 * own core may read a VMCS. A held vCPU is then a halted one to its
 * core (vmm/vcpu.c, vmm/sched.c): not runnable and not charged, so a
 * dedicated core sleeps and a shared core runs its other vCPUs, and
 * vcpu_can_wake() wakes it only when the debugger lets it go. The
 * debugger reads and changes the copy; at `continue` or `step` each
 * vCPU writes back what changed and arms the back end's debug controls
 * (backend->debug_set) before it enters again.
 *
 * A breakpoint is an INT3 byte hako writes over the guest's code; the
 * #BP it raises exits (the #BP intercept, and on AMD-V the INTn one,
 * which QEMU's TCG takes for INT3) and stops every vCPU. An INT3 of the
 * guest's own goes back to the guest. A single step is the monitor trap
 * flag on VT-x and RFLAGS.TF with #DB intercepted on AMD-V; a step that
 * hako emulated (CPUID, port I/O) ends when RIP moves. A step takes no
 * interrupt or NMI (they wait in the local APIC model until the guest
 * runs on, as KVM's KVM_GUESTDBG_BLOCKIRQ holds them), so `stepi` lands
 * on the next instruction. On AMD-V hako's TF is hidden from the
 * guest: RFLAGS reads show the guest's own, a stepped PUSHF has it
 * taken out of the word it pushed, and the step's DR6.BS is cleared
 * (vmm/svm/exit.c).
 *
 * Nothing here runs unless a debugger is attached: the vCPU loop's cost
 * is one load and branch per exit.
 */
#ifndef HAKO_VCPU_DEBUG_H
#define HAKO_VCPU_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/exit.h"

struct vcpu;
struct vm;

#define DEBUG_MAX_BREAKPOINTS 32

/* The registers a debugger sees: the order of GDB's amd64 core registers. */
enum dbg_reg {
	DBG_RAX, DBG_RBX, DBG_RCX, DBG_RDX, DBG_RSI, DBG_RDI, DBG_RBP, DBG_RSP,
	DBG_R8, DBG_R9, DBG_R10, DBG_R11, DBG_R12, DBG_R13, DBG_R14, DBG_R15,
	DBG_RIP, DBG_RFLAGS,
	DBG_CS, DBG_SS, DBG_DS, DBG_ES, DBG_FS, DBG_GS,
	DBG_FS_BASE, DBG_GS_BASE,
	DBG_CR0, DBG_CR2, DBG_CR3, DBG_CR4, DBG_EFER,
	DBG_REG_COUNT
};
/* The ones a debugger may change (the segment and control registers it may only read). */
#define DBG_REG_WRITABLE(r) ((r) <= DBG_RFLAGS)

/* Why the guest stopped, as the debugger hears it. */
enum dbg_stop { DBG_STOP_NONE, DBG_STOP_INTERRUPT, DBG_STOP_BREAKPOINT, DBG_STOP_STEP };

/* One vCPU's part (struct vcpu.dbg). */
struct vcpu_debug {
	volatile int parked;  /* held (stopped): registers copied, not runnable; the debugger's */
	volatile int go;      /* the debugger let it run (vcpu_debug_resume) */
	int step;             /* run one instruction, then stop again */
	uint64_t step_rip;    /* where the step began */
	uint64_t tf_saved;    /* AMD-V, VT-x without MTF: the guest's own RFLAGS.TF while hako steps */
	uint64_t pushf_rsp;   /* the step is a PUSHF (backend step_tf): RSP before it, */
	uint8_t pushf_size;   /* its operand size (0: not a PUSHF) */
	uint8_t pushf_len;    /* and its length */
	uint64_t dr7_saved;   /* the guest's own DR7 while the debugger's is in */
	int dirty;            /* the debugger changed regs[] */
	uint64_t regs[DBG_REG_COUNT];
};

/* A hardware breakpoint or watchpoint: one of DR0-DR3 (SDM Vol. 3B 18.2). */
#define DEBUG_MAX_WATCH 4
enum debug_watch_type { WATCH_EXEC = 0, WATCH_WRITE = 1, WATCH_ACCESS = 3 }; /* DR7 R/W */
struct debug_watch {
	uint64_t addr;
	uint8_t len;          /* 1, 2, 4 or 8; 1 for WATCH_EXEC */
	uint8_t type;         /* enum debug_watch_type */
	uint8_t used;
};

/* DR0-DR3 and DR7 as the debugger wants them (backend->debug_set). */
struct debug_dr {
	uint64_t dr[4];
	uint64_t dr7;
};

struct debug_breakpoint {
	uint64_t gva;
	uint64_t gpa;
	uint8_t saved;        /* the guest's byte under the INT3 */
};

/* A guest's part (vm->debug), while a debugger is attached. */
struct vm_debug {
	volatile int stop_req;        /* every vCPU stops (is held) at its next chance */
	volatile int stop_vcpu;       /* who stopped first, and why */
	volatile int stop_why;        /* enum dbg_stop */
	volatile int stop_watch;      /* DBG_STOP_BREAKPOINT by DRn: its index + 1, or 0 */
	unsigned nbp;
	struct debug_breakpoint bp[DEBUG_MAX_BREAKPOINTS];
	struct debug_watch hw[DEBUG_MAX_WATCH];
};

/* Back-end debug controls (backend->debug_set): what the next entries need. */
#define DEBUG_CTL_BREAKPOINTS 0x1 /* intercept #BP (and INTn on AMD-V) */
#define DEBUG_CTL_STEP 0x2        /* stop after one instruction */
#define DEBUG_CTL_HW 0x4          /* DR7 from struct debug_dr; #DB intercepted */

/* ---- the vCPU's side (its own core) ---- */

/*
 * From vcpu_run_once before each entry: 1 while the debugger holds v
 * (the caller does not enter; v waits as a halted vCPU does, until
 * vcpu_can_wake), 0 to enter. Stops v when the debugger asks, and lets
 * it go when the debugger says so.
 */
int vcpu_debug_check(struct vcpu *v);
/* Does the debugger hold v (registers copied out, not runnable)? */
int vcpu_debug_held(const struct vcpu *v);
/* Has the debugger let held v go (resume, step or detach)? */
int vcpu_debug_released(const struct vcpu *v);
/* 1 when a vCPU that is not held should run, to stop for the debugger. */
int vcpu_debug_wanted(const struct vcpu *v);
/* An intercepted #BP/#DB (or INTn) while a debugger is attached; EXIT_* of vmm/exit_dispatch.h. */
int vcpu_debug_exception(struct vcpu *v, const struct exit_info *e);

/* The single step of `v` ended (VT-x: a monitor-trap-flag exit; AMD-V: its #DB). */
void vcpu_debug_step_done(struct vcpu *v);

/* ---- the debugger's side (service core) ---- */

/* Attaches: the guest keeps running until vcpu_debug_stop_all. 0 or -ENOMEM. */
int vcpu_debug_attach(struct vm *vm);
/* Detaches: breakpoints removed, every vCPU runs on untraced. */
void vcpu_debug_detach(struct vm *vm);
/* Asks every vCPU to stop (Ctrl-C: `why` DBG_STOP_INTERRUPT). */
void vcpu_debug_stop_all(struct vm *vm, enum dbg_stop why);
/* Kicks the vCPUs that have not stopped yet again (a stop under way). */
void vcpu_debug_kick(struct vm *vm);
/*
 * 1 once every vCPU that runs is held and has seen the last resume (the
 * stop is complete: none of them runs guest code until the next resume).
 */
int vcpu_debug_all_parked(const struct vm *vm);
/* Lets every vCPU run (`step_vcpu` < 0), or only vCPU `step_vcpu` for one instruction. */
void vcpu_debug_resume(struct vm *vm, int step_vcpu);
/* Copies guest memory at virtual address `gva` as vCPU `vcpu` sees it. 0 or -EFAULT. */
int vcpu_debug_read(struct vm *vm, unsigned vcpu, uint64_t gva, void *buf, size_t len);
int vcpu_debug_write(struct vm *vm, unsigned vcpu, uint64_t gva, const void *buf, size_t len);
/* Guest-physical memory (`monitor phys`). 0 or -EFAULT. */
int vcpu_debug_read_phys(struct vm *vm, uint64_t gpa, void *buf, size_t len);
/* Software breakpoints. 0, -EFAULT, -ENOSPC; removing one that is not there is 0. */
int vcpu_debug_break_insert(struct vm *vm, unsigned vcpu, uint64_t gva);
int vcpu_debug_break_remove(struct vm *vm, uint64_t gva);
/*
 * Hardware breakpoints and watchpoints (the vCPU's DR0-DR3; the guest's
 * own use of them is overridden while any is set). 0, -EINVAL (length or
 * alignment), -ENOSPC (all four in use); removing one not there is 0.
 */
int vcpu_debug_watch_insert(struct vm *vm, enum debug_watch_type type, uint64_t addr, unsigned len);
int vcpu_debug_watch_remove(struct vm *vm, enum debug_watch_type type, uint64_t addr, unsigned len);

#endif
