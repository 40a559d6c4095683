/*
 * vmm/cr.c - the architectural effect of control-register and XCR0 writes
 * that hako carries out for a guest (see cr.h). Portable.
 */
#include "vmm/cr.h"

/* Bits 31:0 of CR0 that exist (SDM Vol. 3A 2.5); 63:32 are reserved. */
#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
		     CR0_NW | CR0_CD | CR0_PG)

/* Long-mode activation follows CR0.PG when EFER.LME is set (SDM Vol. 3A 10.8.5). */
static uint64_t efer_after(const struct cr_state *s, uint64_t cr0)
{
	if (!(cr0 & CR0_PG))
		return s->efer & ~EFER_LMA;
	if (!(s->cr0 & CR0_PG) && (s->efer & EFER_LME))
		return s->efer | EFER_LMA;
	return s->efer;
}

int cr_write_cr0(struct cr_state *s, uint64_t val)
{
	int pg_on = (val & CR0_PG) && !(s->cr0 & CR0_PG);
	int pg_off = !(val & CR0_PG) && (s->cr0 & CR0_PG);
	if (val & ~CR0_DEFINED)
		return -1;
	if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return -1;
	/* Entering long mode needs PAE paging; leaving it from 64-bit code is refused. */
	if (pg_on && (s->efer & EFER_LME) && !(s->cr4 & CR4_PAE))
		return -1;
	if (pg_off && (((s->efer & EFER_LMA) && s->cs_l) || (s->cr4 & CR4_PCIDE)))
		return -1;
	s->efer = efer_after(s, val);
	s->cr0 = val | CR0_ET;
	return 0;
}

int cr_lmsw(struct cr_state *s, uint16_t src)
{
	const uint64_t low = CR0_PE | CR0_MP | CR0_EM | CR0_TS;
	uint64_t val = (s->cr0 & ~low) | (src & low) | (s->cr0 & CR0_PE);
	return cr_write_cr0(s, val);
}

int cr_write_cr4(struct cr_state *s, uint64_t val, uint64_t allowed)
{
	uint64_t changed = val ^ s->cr4;
	int lma = !!(s->efer & EFER_LMA);
	if (val & ~allowed)
		return -1;
	/* In long mode PAE stays on and LA57 cannot change (SDM Vol. 2B "MOV"). */
	if (lma && ((changed & CR4_LA57) || !(val & CR4_PAE)))
		return -1;
	/* PCIDE may be set only in long mode with CR3[11:0] = 0. */
	if ((changed & val & CR4_PCIDE) && (!lma || (s->cr3 & 0xfff)))
		return -1;
	s->cr4 = val;
	return 0;
}

uint64_t cr4_allowed(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t leaf7_ecx)
{
	uint64_t a = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
		     CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	/* CPUID bits per SDM Vol. 2A "CPUID", Tables 3-10 and 3-8 (leaf 7). */
	const struct { uint32_t reg, bit; uint64_t cr4; } opt[] = {
		{ leaf1_ecx, 17, CR4_PCIDE }, { leaf1_ecx, 26, CR4_OSXSAVE },
		{ leaf7_ebx, 0, CR4_FSGSBASE }, { leaf7_ebx, 7, CR4_SMEP },
		{ leaf7_ebx, 20, CR4_SMAP }, { leaf7_ecx, 2, CR4_UMIP },
		{ leaf7_ecx, 3, CR4_PKE }, { leaf7_ecx, 16, CR4_LA57 },
	};
	for (unsigned i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i].reg & (1u << opt[i].bit))
			a |= opt[i].cr4;
	return a;
}

#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)
#define XCR0_BNDREGS (1ull << 3)
#define XCR0_BNDCSR (1ull << 4)
#define XCR0_AVX512 (7ull << 5)  /* opmask, ZMM_Hi256, Hi16_ZMM */

int cr_xsetbv_check(uint32_t index, uint64_t val, uint64_t supported)
{
	if (index != 0 || !(val & XCR0_X87) || (val & ~supported))
		return -1;
	if ((val & XCR0_AVX) && !(val & XCR0_SSE))
		return -1;
	if (!!(val & XCR0_BNDREGS) != !!(val & XCR0_BNDCSR))
		return -1;
	if ((val & XCR0_AVX512) && ((val & XCR0_AVX512) != XCR0_AVX512 || !(val & XCR0_AVX)))
		return -1;
	return 0;
}
