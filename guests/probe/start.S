/*
 * guests/probe/start.S - entry and exception stubs of the probe guest.
 * hako enters in 64-bit mode (guests/README.md): RDI = memory size,
 * RSI = command line, RDX = vCPU index, RSP = a small stack.
 */
	.section .text.start, "ax"
	.globl _start
_start:
	test %rdx, %rdx
	jnz 2f                  /* only vCPU 0 probes */
	call probe_main
	jmp 1f
2:	mov %rsi, %rdi
	call probe_ap           /* the others count for a debugger, or halt */
1:	cli
	hlt
	jmp 1b

/* Exception stubs: push the vector, then a common path to C. */
	.text
.macro STUB vec, has_error
	.globl exc_stub_\vec
exc_stub_\vec:
	.if \has_error == 0
	push $0
	.endif
	push $\vec
	jmp exc_common
.endm
	STUB 6, 0
	STUB 13, 1

exc_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov %rsp, %rdi          /* struct exc_frame * */
	call probe_exception
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp           /* vector, error code */
	iretq
	.section .note.GNU-stack, "", @progbits
