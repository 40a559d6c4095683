/*
 * vmm/vcpu.h - a virtual CPU: the neutral part of its state and the loop
 * that runs it on its dedicated core.
 *
 * The general-purpose registers the hardware does not switch (everything
 * but RSP and RIP on both vendors: APM Vol. 2 15.5.1, SDM Vol. 3C 27.3,
 * 28.5) live in `struct guest_regs`; the back end's world switch stores
 * and loads them around every VMRUN/VMRESUME. Everything else (RIP, RSP,
 * RFLAGS, control registers, EFER, segments) lives in the VMCB/VMCS and is
 * reached through backend->reg_read/reg_write/seg_read/seg_write.
 */
#ifndef HAKO_VCPU_H
#define HAKO_VCPU_H

#include <stdint.h>

#include "vmm/guest_regs_asm.h"

#include "vmm/dev/lapic.h"
#include "vmm/exit.h"
#include "vmm/sched_policy.h"
#include "vmm/vcpu_debug.h"
#include "vmm/vcpu_dr.h"
#include "vmm/core/lib/x86.h"

struct vm;

/* Order is fixed: the back ends' world-switch assembly indexes it. */
struct guest_regs {
	uint64_t rax;  /* 0x00 */
	uint64_t rbx;  /* 0x08 */
	uint64_t rcx;  /* 0x10 */
	uint64_t rdx;  /* 0x18 */
	uint64_t rsi;  /* 0x20 */
	uint64_t rdi;  /* 0x28 */
	uint64_t rbp;  /* 0x30 */
	uint64_t r8;   /* 0x38 */
	uint64_t r9;   /* 0x40 */
	uint64_t r10;  /* 0x48 */
	uint64_t r11;  /* 0x50 */
	uint64_t r12;  /* 0x58 */
	uint64_t r13;  /* 0x60 */
	uint64_t r14;  /* 0x68 */
	uint64_t r15;  /* 0x70 */
	uint64_t cr2;  /* 0x78; SVM keeps CR2 in the VMCB, VMX needs software to switch it */
};
_Static_assert(sizeof(struct guest_regs) == 0x80, "guest_regs layout is used by assembly");
#define CHECK_GR(f, off) _Static_assert(__builtin_offsetof(struct guest_regs, f) == (off), #f)
CHECK_GR(rax, GR_RAX); CHECK_GR(rbx, GR_RBX); CHECK_GR(rcx, GR_RCX); CHECK_GR(rdx, GR_RDX);
CHECK_GR(rsi, GR_RSI); CHECK_GR(rdi, GR_RDI); CHECK_GR(rbp, GR_RBP); CHECK_GR(r8, GR_R8);
CHECK_GR(r9, GR_R9); CHECK_GR(r10, GR_R10); CHECK_GR(r11, GR_R11); CHECK_GR(r12, GR_R12);
CHECK_GR(r13, GR_R13); CHECK_GR(r14, GR_R14); CHECK_GR(r15, GR_R15); CHECK_GR(cr2, GR_CR2);
#undef CHECK_GR

/* Registers kept in the VMCB/VMCS. */
enum vreg {
	VREG_RIP,
	VREG_RSP,
	VREG_RFLAGS,
	VREG_CR0,
	VREG_CR3,
	VREG_CR4,
	VREG_EFER,
	VREG_COUNT
};

enum vseg {
	VSEG_ES, VSEG_CS, VSEG_SS, VSEG_DS, VSEG_FS, VSEG_GS,
	VSEG_LDTR, VSEG_TR, VSEG_GDTR, VSEG_IDTR,
	VSEG_COUNT
};

/*
 * A segment register. `attr` uses the packed 12-bit form of the VMCB
 * (APM Vol. 2 15.5.1): bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L,
 * 10 D/B, 11 G. VMX access rights are the same bits with 8-11 moved to
 * 12-15 (SDM Vol. 3C 24.4.1); vmx converts. GDTR/IDTR use base+limit only.
 */
struct vseg_desc {
	uint16_t selector;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
};
#define SEG_ATTR_TYPE(t) ((t) & 0xf)
#define  SEG_TYPE_CODE_XR_A 0xb  /* execute/read, accessed */
#define  SEG_TYPE_DATA_RW_A 0x3  /* read/write, accessed */
#define  SEG_TYPE_TSS64_BUSY 0xb
#define  SEG_TYPE_LDT 0x2
#define SEG_ATTR_S (1u << 4)
#define SEG_ATTR_DPL(d) (((d) & 3) << 5)
#define SEG_ATTR_P (1u << 7)
#define SEG_ATTR_AVL (1u << 8)
#define SEG_ATTR_L (1u << 9)
#define SEG_ATTR_DB (1u << 10)
#define SEG_ATTR_G (1u << 11)

/*
 * An event to inject at the next entry (APM 15.20 EVENTINJ, SDM 26.6).
 * VEVENT_SOFT_INTR is the guest's own INT n, which only AMD-V's INTn
 * intercept brings to hako (vmm/vcpu_debug.c): delivered as the
 * instruction would, the gate's DPL checked, returning to next_rip.
 */
enum vevent_type { VEVENT_EXT_INTR, VEVENT_NMI, VEVENT_EXCEPTION, VEVENT_SOFT_INTR };
struct vevent {
	enum vevent_type type;
	uint8_t vector;
	uint8_t has_error;
	uint32_t error;
	uint64_t next_rip;       /* VEVENT_SOFT_INTR: the instruction after INT n */
};
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

struct vcpu {
	struct guest_regs regs;  /* first: the world switch takes &vcpu->regs */
	struct vm *vm;
	unsigned id;             /* 0 .. vm->nvcpus-1 */
	unsigned core;           /* physical core (cpus[] index) it runs on */
	void *arch;              /* the back end's state: VMCB or VMCS and friends */
	volatile int running;    /* set while the vCPU loop owns its core */
	struct exit_info last_exit;
	uint64_t exits;          /* all exits of this vCPU */
	uint64_t run_us;         /* time spent in the vCPU loop */
	struct vlapic lapic;     /* its local APIC (vmm/dev/lapic.c) */
	/* Multiprocessor start-up (SDM Vol. 3A 9.4): set by other vCPUs' IPIs. */
	volatile int wait_sipi;  /* parked until a SIPI (application processors) */
	volatile int sipi_pending;
	volatile uint8_t sipi_vector;
	volatile int init_pending;
	uint64_t msr_pat, msr_mtrr_def_type;  /* MSRs hako keeps for the guest */
	/*
	 * x87/SSE/AVX state while the vCPU is off its core, and its XCR0
	 * (vmm/vcpu_fpu.c): a save area for the components its CPUID offers.
	 */
	void *fpu_area;
	uint32_t fpu_size;
	uint64_t fpu_mask;       /* the XCR0 bits its CPUID offers: what the area holds */
	uint64_t xcr0;
	uint64_t spec_ctrl;      /* IA32_SPEC_CTRL while off its core (vmm/spec.c) */
	struct vcpu_dr dr;       /* DR0-DR3, DR6 while off its core (vmm/vcpu_dr.c) */
	uint64_t armed_deadline; /* guest timer deadline the host timer is set for */
	/*
	 * Scheduling (vmm/sched.c): `se` accounts run, wait and halted time
	 * for every vCPU; only a shared one (on a shared core) waits for it.
	 */
	int shared;
	struct sched_ent se;
	int halt_if;             /* RFLAGS.IF when it halted: which events wake it */
	struct vcpu_debug dbg;   /* while a debugger holds the guest (vmm/vcpu_debug.c) */
	unsigned dbg_ctl;        /* DEBUG_CTL_* armed in the back end */
};

/* What one turn of a vCPU (vcpu_run_once) ended with. */
enum vcpu_turn {
	VCPU_GO_ON,              /* enter it again */
	VCPU_HALTED,             /* HLT: it waits for an interrupt (vcpu_can_wake) */
	VCPU_WAIT_SIPI,          /* an application processor waiting for its SIPI */
	VCPU_HELD,               /* a debugger holds it: it waits for the debugger (vcpu_can_wake) */
	VCPU_STOPPED,            /* its guest stops, crashed or asked to power off */
};

/*
 * One entry into the guest and the handling of the exit it ends with;
 * never waits. On v's core, host interrupts on; returns with them on.
 */
enum vcpu_turn vcpu_run_once(struct vcpu *v);
/*
 * Would a halted vCPU (or one waiting for a SIPI) run now: an interrupt
 * it accepts, an NMI, INIT, SIPI, console input of a bare guest, or its
 * guest stopping? One a debugger holds runs only when the debugger lets
 * it go (or its guest stops). Fires its due guest timer first. On v's
 * core, host interrupts off.
 */
int vcpu_can_wake(struct vcpu *v);
/*
 * Arms this core's LAPIC timer for v's next guest timer (and, on a shared
 * core, what else is due there: vmm/sched.c). Host interrupts off.
 */
void vcpu_timer_arm(struct vcpu *v);

/*
 * The vCPU loop: runs on v->core until the guest stops or fails, or the
 * service core asks it to stop (vm->stop_request + smp_kick). Started
 * with smp_run_on(v->core, vcpu_loop, v).
 */
void vcpu_loop(void *vcpu);

#endif
