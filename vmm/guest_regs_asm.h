/*
 * vmm/guest_regs_asm.h - struct guest_regs (vmm/vcpu.h) for the world
 * switches (vmm/svm/switch.S, vmm/vmx/switch.S): the field offsets, and
 * loading or storing the GPRs both back ends move the same way. RAX, RDI
 * (the usual base register) and RSP differ between SVM and VMX, so each
 * switch handles those itself. Assembly only; vcpu.h checks the offsets.
 */
#ifndef HAKO_GUEST_REGS_ASM_H
#define HAKO_GUEST_REGS_ASM_H

#define GR_RAX 0x00
#define GR_RBX 0x08
#define GR_RCX 0x10
#define GR_RDX 0x18
#define GR_RSI 0x20
#define GR_RDI 0x28
#define GR_RBP 0x30
#define GR_R8  0x38
#define GR_R9  0x40
#define GR_R10 0x48
#define GR_R11 0x50
#define GR_R12 0x58
#define GR_R13 0x60
#define GR_R14 0x68
#define GR_R15 0x70
#define GR_CR2 0x78

#ifdef __ASSEMBLER__
/* The guest's RBX, RCX, RDX, RSI, RBP and R8-R15 from the guest_regs at \base. */
.macro GUEST_GPRS_LOAD base
	mov GR_RBX(\base), %rbx
	mov GR_RCX(\base), %rcx
	mov GR_RDX(\base), %rdx
	mov GR_RSI(\base), %rsi
	mov GR_RBP(\base), %rbp
	mov GR_R8(\base), %r8
	mov GR_R9(\base), %r9
	mov GR_R10(\base), %r10
	mov GR_R11(\base), %r11
	mov GR_R12(\base), %r12
	mov GR_R13(\base), %r13
	mov GR_R14(\base), %r14
	mov GR_R15(\base), %r15
.endm

/* The same registers into the guest_regs at \base. */
.macro GUEST_GPRS_SAVE base
	mov %rbx, GR_RBX(\base)
	mov %rcx, GR_RCX(\base)
	mov %rdx, GR_RDX(\base)
	mov %rsi, GR_RSI(\base)
	mov %rbp, GR_RBP(\base)
	mov %r8, GR_R8(\base)
	mov %r9, GR_R9(\base)
	mov %r10, GR_R10(\base)
	mov %r11, GR_R11(\base)
	mov %r12, GR_R12(\base)
	mov %r13, GR_R13(\base)
	mov %r14, GR_R14(\base)
	mov %r15, GR_R15(\base)
.endm
#endif

#endif
