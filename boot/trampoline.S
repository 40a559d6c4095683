/*
 * boot/trampoline.S - where an application processor starts.
 *
 * A STARTUP IPI starts a core in real mode at CS:IP = (page << 8):0
 * (SDM Vol. 3A 9.4.4). vmm/core/smp.c copies this code to a free page
 * below 1 MiB, fills the data block at its end, and sends INIT-SIPI-SIPI.
 * The core then goes real mode -> protected mode -> long mode (SDM Vol.
 * 3A 9.8.5 "Initializing IA-32e Mode") and jumps to ap_entry() in the
 * kernel with its struct percpu in RDI. Everything here is addressed
 * relative to the trampoline page, whose physical address is kept in EBX.
 * Once patched, that page is read-only and the only executable one in the
 * identity map (vmm/core/paging.c, paging_seal_code).
 */
	.section .rodata
	.code16
	.global smp_trampoline_start, smp_trampoline_end
smp_trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	xor %ebx, %ebx
	mov %cs, %bx
	shl $4, %ebx            /* EBX = physical base of the trampoline */
	lgdtl (tr_gdtr - smp_trampoline_start)
	mov %cr0, %eax
	or $1, %eax             /* CR0.PE */
	mov %eax, %cr0
	ljmpl *(tr_pm_ptr - smp_trampoline_start)

	.code32
tr_pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax          /* CR4.PAE */
	mov %eax, %cr4
	mov (tr_cr3_low - smp_trampoline_start)(%ebx), %eax
	mov %eax, %cr3
	/*
	 * EFER.LME, and EFER.NXE when hako's tables use execute-disable:
	 * without it their bit 63 is reserved and the first walk through a
	 * data page faults (SDM Vol. 3A 4.1.4, 4.5). smp.c fills tr_efer.
	 */
	mov $0xc0000080, %ecx
	rdmsr
	or (tr_efer - smp_trampoline_start)(%ebx), %eax
	wrmsr
	mov %cr0, %eax
	or $0x80010001, %eax    /* CR0.PG | CR0.WP | CR0.PE */
	mov %eax, %cr0
	ljmpl *(tr_lm_ptr - smp_trampoline_start)(%ebx)

	.code64
tr_lm64:
	/*
	 * All APs start at once, so each finds its own stack and percpu by
	 * its local APIC ID (xAPIC ID register, bits 31:24, SDM Vol. 3A
	 * 11.4.6) in the table of {apic_id, stack, percpu} triples.
	 */
	mov $0x1b, %ecx         /* IA32_APIC_BASE */
	rdmsr
	and $0xfffff000, %eax
	mov 0x20(%rax), %eax
	shr $24, %eax
	mov (tr_table - smp_trampoline_start)(%rbx), %rsi
	mov (tr_count - smp_trampoline_start)(%rbx), %rcx
	test %rcx, %rcx
	jz tr_lost
1:	cmp (%rsi), %rax
	je 2f
	add $24, %rsi
	dec %rcx
	jnz 1b
tr_lost:                        /* not a core hako asked for: stay halted */
	cli
	hlt
	jmp tr_lost
2:	mov 8(%rsi), %rsp
	mov 16(%rsi), %rdi
	mov (tr_cr3 - smp_trampoline_start)(%rbx), %rax
	mov %rax, %cr3
	mov (tr_entry - smp_trampoline_start)(%rbx), %rax
	xor %ebp, %ebp
	jmp *%rax

	/*
	 * The descriptors come with their accessed bit set: loading a selector
	 * whose bit is clear makes the CPU write it (SDM Vol. 3A 3.4.5.1), and
	 * once paging is on this page is read-only (Bochs faults on that write).
	 */
	.align 16
tr_gdt:
	.quad 0
	.quad 0x00cf9b000000ffff  /* 0x08: 32-bit code, flat */
	.quad 0x00cf93000000ffff  /* 0x10: data, flat */
	.quad 0x00209b0000000000  /* 0x18: 64-bit code */
tr_gdt_end:
	.global smp_tr_gdtr, smp_tr_pm_ptr, smp_tr_lm_ptr
	.global smp_tr_cr3_low, smp_tr_cr3, smp_tr_table, smp_tr_count, smp_tr_entry
	.global smp_tr_efer
	.align 8
smp_tr_gdtr:
tr_gdtr:
	.word tr_gdt_end - tr_gdt - 1
	.long 0                 /* patched: base + (tr_gdt - start) */
	.align 8
smp_tr_pm_ptr:
tr_pm_ptr:
	.long 0                 /* patched: base + (tr_pm32 - start) */
	.word 0x08
	.align 8
smp_tr_lm_ptr:
tr_lm_ptr:
	.long 0                 /* patched: base + (tr_lm64 - start) */
	.word 0x18
	.align 8
smp_tr_cr3_low:
tr_cr3_low: .quad 0
smp_tr_cr3:
tr_cr3: .quad 0
smp_tr_table:
tr_table: .quad 0
smp_tr_count:
tr_count: .quad 0
smp_tr_entry:
tr_entry: .quad 0
smp_tr_efer:
tr_efer: .quad 0                /* patched: EFER bits to set (LME, NXE) */
	.global smp_tr_gdt, smp_tr_pm32, smp_tr_lm64
	.set smp_tr_gdt, tr_gdt
	.set smp_tr_pm32, tr_pm32
	.set smp_tr_lm64, tr_lm64
smp_trampoline_end:
