/*
 * vmm/core/trap.S - interrupt and exception entry stubs.
 *
 * Every vector gets a stub that makes the stack look the same (a dummy
 * error code where the CPU pushes none, SDM Vol. 3A 6.13), pushes the
 * vector number, saves the general registers as a struct trap_frame and
 * calls trap_dispatch(frame).
 */
	.text
	.code64

	.altmacro
/*
 * Each stub is padded to 16 bytes, so vector v's stub is at
 * trap_stub_base + 16 * v. The CPU pushes an error code for vectors 8,
 * 10-14, 17, 21, 29 and 30 (SDM Vol. 3A Table 6-1).
 */
	.macro stub v
	.align 16
trap_stub_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushq $0
	.endif
	pushq $\v
	jmp trap_common
	.endm

	.align 16
	.global trap_stub_base
trap_stub_base:
	.set vec, 0
	.rept 256
	stub %vec
	.set vec, vec + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

