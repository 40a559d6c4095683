/*
 * guests/probe/ring3_entry.S - the probe's trip to ring 3 for `int-user`
 * (ring3.c): entering CPL 3 with IRETQ, the INT instructions it runs
 * there, and the gates they reach (SDM Vol. 3A 6.12.1.1: INT n checks
 * the gate's DPL against the CPL; a gate below it raises #GP).
 */
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define KERNEL_DS 0x10

	.text
/* ring3_enter(rsp): runs ring3_code at CPL 3 on stack `rsp`; returns when it executes INT 0x82. */
	.globl ring3_enter
ring3_enter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, ring3_kernel_rsp(%rip)
	pushq $USER_DS          /* SS */
	pushq %rdi              /* RSP */
	pushq $0x2              /* RFLAGS: interrupts off */
	pushq $USER_CS          /* CS */
	lea ring3_code(%rip), %rax
	push %rax               /* RIP */
	iretq

	.globl ring3_code, ring3_after_81, ring3_after_80
ring3_code:
	int $0x81               /* DPL 3 gate: returns to the next instruction */
ring3_after_81:
	int $0x80               /* DPL 0 gate: #GP */
ring3_after_80:
	int $0x82               /* DPL 3 gate: back to CPL 0 */
	ud2

/* Gate 0x82: back to ring3_enter's caller, the interrupt's frame left behind. */
	.globl ring3_leave_stub
ring3_leave_stub:
	mov ring3_kernel_rsp(%rip), %rsp
	mov $KERNEL_DS, %eax
	mov %eax, %ss
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* Gates 0x80 and 0x81: note the return RIP and CS the interrupt pushed. */
.macro GATE vec
	.globl ring3_gate\vec\()_stub
ring3_gate\vec\()_stub:
	mov (%rsp), %rax
	mov %rax, ring3_rip\vec(%rip)
	mov 8(%rsp), %rax
	mov %rax, ring3_cs\vec(%rip)
	incl ring3_hits\vec(%rip)
	iretq
.endm
	GATE 80
	GATE 81

/* #GP: note its error code; go on after the INT 0x80 (the CPU may report either end of it). */
	.globl ring3_gp_stub
ring3_gp_stub:
	pop %rax
	mov %rax, ring3_gp_error(%rip)
	incl ring3_gp_count(%rip)
	lea ring3_after_80(%rip), %rax
	mov %rax, (%rsp)
	iretq

	.bss
	.align 8
ring3_kernel_rsp: .quad 0
	.globl ring3_rip80, ring3_cs80, ring3_rip81, ring3_cs81, ring3_gp_error
	.globl ring3_hits80, ring3_hits81, ring3_gp_count
ring3_rip80: .quad 0
ring3_cs80: .quad 0
ring3_rip81: .quad 0
ring3_cs81: .quad 0
ring3_gp_error: .quad 0
ring3_hits80: .long 0
ring3_hits81: .long 0
ring3_gp_count: .long 0
	.section .note.GNU-stack, "", @progbits
