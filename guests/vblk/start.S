/*
 * guests/vblk/start.S - entry of the virtio-blk test guest. hako enters in
 * 64-bit mode (guests/README.md): RDI = memory size, RSI = command line,
 * RDX = vCPU index. Only vCPU 0 runs the tests.
 */
	.section .text.start, "ax"
	.globl _start
_start:
	test %rdx, %rdx
	jnz 1f
	call vblk_main
1:	cli
	hlt
	jmp 1b
	.section .note.GNU-stack, "", @progbits
