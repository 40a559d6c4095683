/*
 * vmm/svm/switch.S - the SVM world switch (APM Vol. 2 15.5 "VMRUN
 * Instruction", 15.5.2 "VMSAVE and VMLOAD").
 *
 * void svm_world_switch(struct guest_regs *regs, uint64_t vmcb_pa,
 *                       uint64_t host_vmsave_pa)
 *
 * Called with GIF=0 (CLGI) and host RFLAGS.IF=1: with V_INTR_MASKING the
 * host IF then lets physical interrupts cause #VMEXIT(INTR) while the
 * guest runs. VMRUN saves and restores only part of the host state; the
 * rest (FS, GS and their hidden bases, TR, LDTR, KernelGSBase, STAR and
 * friends, SYSENTER) is swapped with VMSAVE/VMLOAD around it. The guest's
 * RAX, RSP and RIP live in the VMCB; the other GPRs in *regs.
 */
#include "vmm/guest_regs_asm.h"

	.text
	.globl svm_world_switch
	.type svm_world_switch, @function
svm_world_switch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi               /* 0x10(%rsp): regs */
	push %rdx               /* 0x08(%rsp): host VMSAVE area */
	push %rsi               /* 0x00(%rsp): guest VMCB */

	mov %rdx, %rax
	vmsave                  /* host FS/GS/TR/... to the host area */
	mov %rsi, %rax
	vmload                  /* the guest's from its VMCB */

	GUEST_GPRS_LOAD %rdi
	mov GR_RDI(%rdi), %rdi

	vmrun                   /* RAX = VMCB; returns at #VMEXIT with host RSP, RAX */

	vmsave                  /* RAX is the VMCB again */
	mov 0x10(%rsp), %rax    /* regs */
	GUEST_GPRS_SAVE %rax
	mov %rdi, GR_RDI(%rax)

	mov 0x08(%rsp), %rax
	vmload                  /* host FS/GS bases (GS points at percpu) */

	add $0x18, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size svm_world_switch, . - svm_world_switch
	.section .note.GNU-stack, "", @progbits
