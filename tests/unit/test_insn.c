/*
 * tests/unit/test_insn.c - the MMIO instruction decoder (vmm/insn.c) and
 * the guest page-table walker (vmm/guest_pt.c), on instruction bytes as GCC
 * emits them for Linux's readl/writel/readb and APIC accessors.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "vmm/guest_pt.h"
#include "vmm/insn.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void test_mov_forms(void)
{
	struct insn in;
	/* mov %eax,(%rdx)  - writel */
	CHECK_EQ(insn_decode(B(0x89, 0x02), 1, 0, &in), 0);
	CHECK_EQ(in.kind, INSN_STORE); CHECK_EQ(in.len, 2); CHECK_EQ(in.size, 4); CHECK_EQ(in.reg, 0);
	/* mov 0x300(%rax),%r9d  - REX.R, disp32 */
	CHECK_EQ(insn_decode(B(0x44, 0x8b, 0x88, 0x00, 0x03, 0x00, 0x00), 1, 0, &in), 0);
	CHECK_EQ(in.kind, INSN_LOAD); CHECK_EQ(in.len, 7); CHECK_EQ(in.reg, 9); CHECK_EQ(in.size, 4);
	/* mov (%rdi),%rax - REX.W */
	CHECK_EQ(insn_decode(B(0x48, 0x8b, 0x07), 1, 0, &in), 0);
	CHECK_EQ(in.size, 8); CHECK_EQ(in.len, 3);
	/* mov %dx,0x10(%rax) - 66 prefix, disp8 */
	CHECK_EQ(insn_decode(B(0x66, 0x89, 0x50, 0x10), 1, 0, &in), 0);
	CHECK_EQ(in.size, 2); CHECK_EQ(in.len, 4); CHECK_EQ(in.reg, 2);
	/* mov %al,(%rdx) and mov (%rsi),%bh (no REX: high byte) */
	CHECK_EQ(insn_decode(B(0x88, 0x02), 1, 0, &in), 0);
	CHECK_EQ(in.size, 1);
	CHECK_EQ(insn_decode(B(0x8a, 0x3e), 1, 0, &in), 0);
	CHECK_EQ(in.reg, 3); CHECK(in.reg_high8);
	/* with REX, reg 7 is %dil */
	CHECK_EQ(insn_decode(B(0x40, 0x8a, 0x3e), 1, 0, &in), 0);
	CHECK_EQ(in.reg, 7); CHECK(!in.reg_high8);
	/* mov %eax,0xfee000b0 - SIB with no base (disp32) */
	CHECK_EQ(insn_decode(B(0x89, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe), 1, 0, &in), 0);
	CHECK_EQ(in.len, 7);
	/* mov %eax,0x1234(%rip) */
	CHECK_EQ(insn_decode(B(0x89, 0x05, 0x34, 0x12, 0, 0), 1, 0, &in), 0);
	CHECK_EQ(in.len, 6);
}

static void test_imm_and_extend(void)
{
	struct insn in;
	uint64_t gpr[16] = { 0 };
	/* movl $0x0,0x70(%rax) */
	CHECK_EQ(insn_decode(B(0xc7, 0x40, 0x70, 0x78, 0x56, 0x34, 0x12), 1, 0, &in), 0);
	CHECK_EQ(in.len, 7); CHECK(in.has_imm); CHECK_EQ(insn_store_value(&in, gpr), 0x12345678);
	/* movq $-1,(%rax): imm32 sign-extended */
	CHECK_EQ(insn_decode(B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff), 1, 0, &in), 0);
	CHECK_EQ(in.size, 8); CHECK_EQ(insn_store_value(&in, gpr), (long long)~0ull);
	/* movb $0x5,(%rdx) */
	CHECK_EQ(insn_decode(B(0xc6, 0x02, 0x05), 1, 0, &in), 0);
	CHECK_EQ(in.len, 3); CHECK_EQ(insn_store_value(&in, gpr), 5);
	/* C7 /1 is not MOV */
	CHECK_EQ(insn_decode(B(0xc7, 0x08, 0, 0, 0, 0), 1, 0, &in), -22);
	/* movzbl (%rax),%eax and movzwl */
	CHECK_EQ(insn_decode(B(0x0f, 0xb6, 0x00), 1, 0, &in), 0);
	CHECK_EQ(in.size, 1); CHECK_EQ(in.dst_size, 4); CHECK_EQ(in.len, 3);
	CHECK_EQ(insn_load_result(&in, ~0ull, 0x1ff), 0xff);
	CHECK_EQ(insn_decode(B(0x0f, 0xb7, 0x00), 1, 0, &in), 0);
	CHECK_EQ(insn_load_result(&in, ~0ull, 0x18765), 0x8765);
	/* movsbq (%rax),%rcx */
	CHECK_EQ(insn_decode(B(0x48, 0x0f, 0xbe, 0x08), 1, 0, &in), 0);
	CHECK_EQ(in.reg, 1); CHECK_EQ(insn_load_result(&in, 0, 0x80), (long long)0xffffffffffffff80ull);
	/* movswl: sign-extends to 32 bits, and 32-bit results clear the top */
	CHECK_EQ(insn_decode(B(0x0f, 0xbf, 0x00), 1, 0, &in), 0);
	CHECK_EQ(insn_load_result(&in, ~0ull, 0x8000), 0xffff8000ull);
}

static void test_load_merge(void)
{
	struct insn in;
	uint64_t gpr[16] = { 0x1122334455667788ull, 0, 0, 0x0000aabb };
	CHECK_EQ(insn_decode(B(0x8b, 0x00), 1, 0, &in), 0); /* 32-bit: zero-extends */
	CHECK_EQ(insn_load_result(&in, gpr[0], 0xdeadbeef), 0xdeadbeef);
	CHECK_EQ(insn_decode(B(0x66, 0x8b, 0x00), 1, 0, &in), 0); /* 16-bit: merges */
	CHECK_EQ(insn_load_result(&in, gpr[0], 0xbeef), 0x112233445566beefull);
	CHECK_EQ(insn_decode(B(0x8a, 0x20), 1, 0, &in), 0); /* mov (%rax),%ah */
	CHECK_EQ(insn_load_result(&in, gpr[0], 0x99), 0x1122334455669988ull);
	CHECK_EQ(insn_decode(B(0x88, 0x3a), 1, 0, &in), 0); /* mov %bh,(%rdx) */
	CHECK_EQ(insn_store_value(&in, gpr), 0xaa);
	/* moffs: mov 0xfee00020,%eax (64-bit absolute) */
	CHECK_EQ(insn_decode(B(0xa1, 0x20, 0, 0xe0, 0xfe, 0, 0, 0, 0), 1, 0, &in), 0);
	CHECK_EQ(in.len, 9); CHECK_EQ(in.kind, INSN_LOAD); CHECK_EQ(in.size, 4);
}

static void test_bad_input(void)
{
	struct insn in;
	uint8_t many[20];
	memset(many, 0x66, sizeof(many));
	CHECK_EQ(insn_decode(many, sizeof(many), 1, 0, &in), -22);         /* over 15 bytes */
	CHECK_EQ(insn_decode(B(0x89), 1, 0, &in), -22);                     /* truncated */
	CHECK_EQ(insn_decode(B(0x89, 0xc0), 1, 0, &in), -22);               /* register form */
	CHECK_EQ(insn_decode(B(0x01, 0x00), 1, 0, &in), -22);               /* ADD */
	CHECK_EQ(insn_decode(B(0xc7, 0x00, 0x01, 0x02), 1, 0, &in), -22);   /* short imm */
	CHECK_EQ(insn_decode(B(0x0f, 0x0b), 1, 0, &in), -22);               /* UD2 */
	/* 32-bit protected mode: 66 gives 16-bit, no REX (0x48 is DEC) */
	CHECK_EQ(insn_decode(B(0x66, 0x89, 0x02), 0, 1, &in), 0);
	CHECK_EQ(in.size, 2);
	CHECK_EQ(insn_decode(B(0x48, 0x89, 0x02), 0, 1, &in), -22);
	/* 16-bit mode: mov %ax,(%bx+disp16) */
	CHECK_EQ(insn_decode(B(0x89, 0x87, 0x34, 0x12), 0, 0, &in), 0);
	CHECK_EQ(in.len, 4); CHECK_EQ(in.size, 2);
	/* random bytes never crash and never report more than 15 */
	srand(1);
	for (int i = 0; i < 200000; i++) {
		uint8_t r[16];
		for (unsigned j = 0; j < sizeof(r); j++)
			r[j] = (uint8_t)rand();
		unsigned n = (unsigned)rand() % 17;
		if (!insn_decode(r, n, rand() & 1, rand() & 1, &in) && (in.len > n || in.len > 15))
			CHECK(0);
	}
}

/* ---- gpt ---- */

static uint8_t gmem[1 << 20];

static int gread(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	(void)ctx;
	if (gpa + size > sizeof(gmem))
		return -14;
	uint64_t v = 0;
	memcpy(&v, gmem + gpa, size);
	*val = v;
	return 0;
}

static void put(uint64_t gpa, uint64_t v) { memcpy(gmem + gpa, &v, 8); }

static void test_gpt(void)
{
	const struct guest_pt_ops ops = { 0, gread };
	struct guest_pt_mode m = { 0, 0, 0, 0 };
	uint64_t gpa;
	CHECK_EQ(guest_pt_translate(&ops, &m, 0x1234, &gpa), 0); /* paging off */
	CHECK_EQ(gpa, 0x1234);
	/* 4-level: 0xffffffff81000123 -> 4 KiB page at 0x55000 */
	uint64_t la = 0xffffffff81000123ull;
	put(0x1000 + ((la >> 39) & 511) * 8, 0x2003);
	put(0x2000 + ((la >> 30) & 511) * 8, 0x3003);
	put(0x3000 + ((la >> 21) & 511) * 8, 0x4003);
	put(0x4000 + ((la >> 12) & 511) * 8, 0x55003);
	m = (struct guest_pt_mode){ 1ull << 31, 0x1000, 1 << 5, 1 << 10 };
	CHECK_EQ(guest_pt_translate(&ops, &m, la, &gpa), 0);
	CHECK_EQ(gpa, 0x55123);
	/* 2 MiB page */
	put(0x3000 + ((la >> 21) & 511) * 8, 0x600083);
	CHECK_EQ(guest_pt_translate(&ops, &m, la, &gpa), 0);
	CHECK_EQ(gpa, 0x600000 + (la & 0x1fffff));
	/* not present, and a table outside guest memory */
	put(0x3000 + ((la >> 21) & 511) * 8, 0);
	CHECK_EQ(guest_pt_translate(&ops, &m, la, &gpa), -14);
	put(0x3000 + ((la >> 21) & 511) * 8, 0x7ff0000003ull);
	CHECK_EQ(guest_pt_translate(&ops, &m, la, &gpa), -14);
	/* 5-level (CR4.LA57): one more table above, indexed by bits 56:48 */
	put(0x3000 + ((la >> 21) & 511) * 8, 0x4003);
	put(0x9000 + ((la >> 48) & 511) * 8, 0x1003);
	m.cr3 = 0x9000;
	m.cr4 |= 1 << 12;
	CHECK_EQ(guest_pt_translate(&ops, &m, la, &gpa), 0);
	CHECK_EQ(gpa, 0x55123);
	put(0x9000 + ((la >> 48) & 511) * 8, 0);
	CHECK_EQ(guest_pt_translate(&ops, &m, la, &gpa), -14);
	/* 32-bit paging with a 4 MiB page */
	put(0x8000 + (0xc0400000u >> 22) * 4, 0x00c00083);
	m = (struct guest_pt_mode){ 1ull << 31, 0x8000, 1 << 4, 0 };
	CHECK_EQ(guest_pt_translate(&ops, &m, 0xc0412345, &gpa), 0);
	CHECK_EQ(gpa, 0xc12345);
}

static void test_pushf(void)
{
	uint8_t len = 0;
	CHECK_EQ(insn_pushf(B(0x9c), 1, 1, &len), 8); /* pushfq */
	CHECK_EQ(len, 1);
	CHECK_EQ(insn_pushf(B(0x66, 0x9c), 1, 1, &len), 2);
	CHECK_EQ(len, 2);
	CHECK_EQ(insn_pushf(B(0x66, 0x48, 0x9c), 1, 1, &len), 8); /* REX.W wins */
	CHECK_EQ(len, 3);
	CHECK_EQ(insn_pushf(B(0x9c), 0, 1, &len), 4); /* pushfd */
	CHECK_EQ(insn_pushf(B(0x66, 0x9c), 0, 1, &len), 2);
	CHECK_EQ(insn_pushf(B(0x9c), 0, 0, &len), 2); /* 16-bit code */
	CHECK_EQ(insn_pushf(B(0x66, 0x9c), 0, 0, &len), 4);
	CHECK_EQ(insn_pushf(B(0x48, 0x9c), 0, 1, &len), 0); /* DEC EAX outside 64-bit mode */
	CHECK_EQ(insn_pushf(B(0x9d), 1, 1, &len), 0);      /* popf */
	CHECK_EQ(insn_pushf(B(0x66, 0x66), 1, 1, &len), 0); /* truncated */
	CHECK_EQ(insn_pushf(B(0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26,
			      0x26, 0x26, 0x26, 0x26, 0x9c), 1, 1, &len), 0); /* past 15 bytes */
}

int main(void)
{
	RUN(test_mov_forms);
	RUN(test_imm_and_extend);
	RUN(test_load_merge);
	RUN(test_bad_input);
	RUN(test_gpt);
	RUN(test_pushf);
	return check_done();
}
