/*
 * tests/unit/test_cr.c - host tests of vmm/cr.c: the checks and effects
 * of MOV to CR0/CR4, LMSW and XSETBV that hako carries out for a VT-x
 * guest (SDM Vol. 2B "MOV", "LMSW", Vol. 2C "XSETBV", Vol. 3A 10.8.5).
 */
#include <stdint.h>
#include <stdio.h>

#include "tests/unit/check.h"
#include "vmm/cr.h"

#define CR0_LINUX (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG)

/* An application processor after SIPI: real mode, CR0 = ET (SDM Table 9-1). */
static struct cr_state reset_state(void)
{
	return (struct cr_state){ CR0_ET, 0, 0, 0, 0 };
}

static void test_cr0_long_mode_activation(void)
{
	/* Linux's trampoline: PE, then PAE, EFER.LME, then CR0 with PG and NE. */
	struct cr_state s = reset_state();
	CHECK(cr_write_cr0(&s, CR0_PE) == 0 && s.cr0 == (CR0_PE | CR0_ET) && s.efer == 0);
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME;
	CHECK(cr_write_cr0(&s, CR0_LINUX) == 0);
	CHECK_EQ(s.cr0, CR0_LINUX);
	CHECK_EQ(s.efer, EFER_LME | EFER_LMA);
	/* Paging without LME: 32-bit paging, no LMA. */
	s = reset_state();
	CHECK(cr_write_cr0(&s, CR0_PE | CR0_PG) == 0 && s.efer == 0);
	/* Leaving paging from compatibility mode clears LMA. */
	s = (struct cr_state){ CR0_LINUX, 0x1000, CR4_PAE, EFER_LME | EFER_LMA, 0 };
	CHECK(cr_write_cr0(&s, CR0_LINUX & ~CR0_PG) == 0 && s.efer == EFER_LME);
}

static void test_cr0_refusals(void)
{
	struct cr_state s = reset_state(), before;
	before = s;
	CHECK(cr_write_cr0(&s, CR0_PG) == -1);                   /* PG without PE */
	CHECK(cr_write_cr0(&s, CR0_PE | CR0_NW) == -1);          /* NW without CD */
	CHECK(cr_write_cr0(&s, CR0_PE | (1ull << 32)) == -1);    /* bits 63:32 */
	CHECK(cr_write_cr0(&s, CR0_PE | (1ull << 6)) == -1);     /* reserved bit 6 */
	s.efer = EFER_LME;                                    /* long mode needs PAE */
	before.efer = EFER_LME;
	CHECK(cr_write_cr0(&s, CR0_PE | CR0_PG) == -1);
	CHECK(s.cr0 == before.cr0 && s.efer == before.efer);     /* nothing changed */
	/* 64-bit code cannot turn paging off; nor can anyone with PCIDE set. */
	s = (struct cr_state){ CR0_LINUX, 0, CR4_PAE, EFER_LME | EFER_LMA, 1 };
	CHECK(cr_write_cr0(&s, CR0_LINUX & ~CR0_PG) == -1);
	s.cs_l = 0;
	s.cr4 |= CR4_PCIDE;
	CHECK(cr_write_cr0(&s, CR0_LINUX & ~CR0_PG) == -1);
	/* CD with NW, and the caching bits alone, are fine. */
	s = reset_state();
	CHECK(cr_write_cr0(&s, CR0_CD | CR0_NW) == 0 && s.cr0 == (CR0_CD | CR0_NW | CR0_ET));
}

static void test_lmsw(void)
{
	struct cr_state s = { CR0_PE | CR0_ET | CR0_NE, 0, 0, 0, 0 };
	/* Only bits 3:0 load, and PE cannot be cleared. */
	CHECK(cr_lmsw(&s, 0xfff0 | CR0_TS) == 0);
	CHECK_EQ(s.cr0, CR0_PE | CR0_ET | CR0_NE | CR0_TS);
	s = reset_state();
	CHECK(cr_lmsw(&s, CR0_PE | CR0_MP) == 0 && s.cr0 == (CR0_ET | CR0_PE | CR0_MP));
}

static void test_cr4(void)
{
	/* Haswell-like CPUID: PCID, XSAVE; FSGSBASE, SMEP; no UMIP/PKE/LA57. */
	uint64_t allowed = cr4_allowed((1u << 17) | (1u << 26), (1u << 0) | (1u << 7), 0);
	CHECK(allowed & CR4_OSXSAVE && allowed & CR4_PCIDE && allowed & CR4_SMEP);
	CHECK(!(allowed & (CR4_UMIP | CR4_PKE | CR4_LA57 | CR4_SMAP)));
	CHECK(!(allowed & (1ull << 13)) && !(allowed & (1ull << 14))); /* VMXE, SMXE */
	struct cr_state s = { CR0_LINUX, 0x5000, CR4_PAE, EFER_LME | EFER_LMA, 1 };
	CHECK(cr_write_cr4(&s, CR4_PAE | CR4_PGE | CR4_OSXSAVE, allowed) == 0);
	CHECK_EQ(s.cr4, CR4_PAE | CR4_PGE | CR4_OSXSAVE);
	CHECK(cr_write_cr4(&s, CR4_PAE | (1ull << 13), allowed) == -1);   /* VMXE */
	CHECK(cr_write_cr4(&s, CR4_PAE | CR4_UMIP, allowed) == -1);       /* not offered */
	CHECK(cr_write_cr4(&s, CR4_PGE, allowed) == -1);                  /* PAE off in long mode */
	CHECK(cr_write_cr4(&s, CR4_PAE | CR4_PCIDE, allowed) == 0);       /* CR3[11:0] = 0 */
	s.cr4 = CR4_PAE;
	s.cr3 = 0x5001;
	CHECK(cr_write_cr4(&s, CR4_PAE | CR4_PCIDE, allowed) == -1);      /* PCID 1 in CR3 */
	s = reset_state();
	CHECK(cr_write_cr4(&s, CR4_PAE | CR4_PCIDE, allowed) == -1);      /* not in long mode */
	CHECK(cr_write_cr4(&s, CR4_PAE, allowed) == 0 && s.cr4 == CR4_PAE);
}

static void test_xsetbv(void)
{
	const uint64_t haswell = 0x7;           /* x87, SSE, AVX */
	CHECK(cr_xsetbv_check(0, 0x7, haswell) == 0);
	CHECK(cr_xsetbv_check(0, 0x3, haswell) == 0);
	CHECK(cr_xsetbv_check(0, 0x1, haswell) == 0);
	CHECK(cr_xsetbv_check(0, 0x6, haswell) == -1);   /* x87 must stay on */
	CHECK(cr_xsetbv_check(0, 0x5, haswell) == -1);   /* AVX without SSE */
	CHECK(cr_xsetbv_check(1, 0x1, haswell) == -1);   /* only XCR0 */
	CHECK(cr_xsetbv_check(0, 0x1f, haswell) == -1);  /* MPX not offered */
	const uint64_t skx = 0xff;
	CHECK(cr_xsetbv_check(0, 0xe7, skx) == 0);
	CHECK(cr_xsetbv_check(0, 0x27, skx) == -1);      /* AVX-512 states go together */
	CHECK(cr_xsetbv_check(0, 0x0f, skx) == -1);      /* BNDREGS without BNDCSR */
	CHECK(cr_xsetbv_check(0, 0x1f, skx) == 0);
}

int main(void)
{
	RUN(test_cr0_long_mode_activation);
	RUN(test_cr0_refusals);
	RUN(test_lmsw);
	RUN(test_cr4);
	RUN(test_xsetbv);
	return check_done();
}
