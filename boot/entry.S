/*
 * boot/entry.S - the kernel's first instructions (see vmm/core/bootinfo.h for
 * the machine state a loader leaves). Records the TSC for boot timing,
 * moves to the kernel's own stack, chooses the stack protector's guard
 * (vmm/core/stack_guard.c: before any protected C function has a frame)
 * and calls kmain(boot_info).
 */
	.section .text.entry, "ax"
	.code64
	.global _start
_start:
	mov %rdi, %r12
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, tsc_boot(%rip)
	lea boot_stack_top(%rip), %rsp
	xor %ebp, %ebp
	mov %r12, %rdi
	call stack_guard_init   /* r12 (boot info) survives: callee-saved */
	mov %r12, %rdi
	call kmain
1:	cli
	hlt
	jmp 1b

	.section .bss
	.align 4096
	.global boot_stack_top
boot_stack:
	.skip 65536
boot_stack_top:
