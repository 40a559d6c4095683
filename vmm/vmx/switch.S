/*
 * vmm/vmx/switch.S - the VMX world switch (SDM Vol. 3C 27 "VM Entries",
 * 28.5 "Loading Host State"), parallel to vmm/svm/switch.S.
 *
 * int vmx_world_switch(struct guest_regs *regs, int launched)
 *
 * Called with host interrupts disabled on the core whose current VMCS
 * belongs to the vCPU owning *regs. VM entry loads the guest's RSP, RIP,
 * RFLAGS, control and segment registers from the VMCS; the other GPRs
 * and CR2 come from *regs (the VMCS does not hold them, SDM 27.3). A VM
 * exit loads host state from the VMCS and continues at vmx_exit_entry
 * (HOST_RIP) with RSP = HOST_RSP, written here just before entry, and
 * RFLAGS = 2: interrupts stay off until C code turns them on.
 * Returns 0 after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed
 * (VMfailInvalid/VMfailValid; the VM-instruction error field says why).
 */
#include "vmm/guest_regs_asm.h"

#define VMCS_HOST_RSP 0x6c14

	.text
	.globl vmx_world_switch
	.type vmx_world_switch, @function
vmx_world_switch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi               /* 0x00(%rsp) at exit: regs */

	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	mov GR_CR2(%rdi), %rax  /* guest CR2 */
	mov %rax, %cr2

	/* MOVs leave the flags alone: test `launched` once, branch after the loads. */
	test %esi, %esi
	mov GR_RAX(%rdi), %rax
	GUEST_GPRS_LOAD %rdi
	mov GR_RDI(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* Entry failed: still on the host stack, the guest's values in the GPRs. */
	mov $1, %eax
	jmp 3f

	.globl vmx_exit_entry
vmx_exit_entry:
	push %rdi               /* guest RDI; 0x08(%rsp) is regs */
	mov 0x08(%rsp), %rdi
	mov %rax, GR_RAX(%rdi)
	GUEST_GPRS_SAVE %rdi
	pop GR_RDI(%rdi)
	mov %cr2, %rax
	mov %rax, GR_CR2(%rdi)
	xor %eax, %eax
3:	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size vmx_world_switch, . - vmx_world_switch
	.section .note.GNU-stack, "", @progbits
