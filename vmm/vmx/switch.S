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
	mov 0x78(%rdi), %rax    /* guest CR2 */
	mov %rax, %cr2

	/* MOVs leave the flags alone: test `launched` once, branch after the loads. */
	test %esi, %esi
	mov 0x00(%rdi), %rax
	mov 0x08(%rdi), %rbx
	mov 0x10(%rdi), %rcx
	mov 0x18(%rdi), %rdx
	mov 0x20(%rdi), %rsi
	mov 0x30(%rdi), %rbp
	mov 0x38(%rdi), %r8
	mov 0x40(%rdi), %r9
	mov 0x48(%rdi), %r10
	mov 0x50(%rdi), %r11
	mov 0x58(%rdi), %r12
	mov 0x60(%rdi), %r13
	mov 0x68(%rdi), %r14
	mov 0x70(%rdi), %r15
	mov 0x28(%rdi), %rdi
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
	mov %rax, 0x00(%rdi)
	mov %rbx, 0x08(%rdi)
	mov %rcx, 0x10(%rdi)
	mov %rdx, 0x18(%rdi)
	mov %rsi, 0x20(%rdi)
	pop 0x28(%rdi)
	mov %rbp, 0x30(%rdi)
	mov %r8, 0x38(%rdi)
	mov %r9, 0x40(%rdi)
	mov %r10, 0x48(%rdi)
	mov %r11, 0x50(%rdi)
	mov %r12, 0x58(%rdi)
	mov %r13, 0x60(%rdi)
	mov %r14, 0x68(%rdi)
	mov %r15, 0x70(%rdi)
	mov %cr2, %rax
	mov %rax, 0x78(%rdi)
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
