/*
 * vmm/cr.h - what a guest's write to a control register or to XCR0 does
 * when hako has to carry it out: the architectural checks (#GP cases) of
 * MOV to CR0/CR4, LMSW, CLTS and XSETBV (SDM Vol. 2B "MOV—Move to/from
 * Control Registers", "LMSW", "CLTS", Vol. 2C "XSETBV") and long-mode
 * activation on a CR0.PG change (SDM Vol. 3A 10.8.5, AMD APM
 * Vol. 2 14.6). Portable: no hardware headers, unit-tested natively.
 *
 * VT-x makes these exit when the guest touches a bit hako owns (the CR0
 * and CR4 guest/host masks, SDM Vol. 3C 26.1.3) and makes XSETBV exit
 * always; vmm/exit.c applies the result through the back end.
 */
#ifndef HAKO_CR_H
#define HAKO_CR_H

#include <stdint.h>

#include "vmm/core/lib/x86.h"


/* The state a control-register write depends on and changes. */
struct cr_state {
	uint64_t cr0, cr3, cr4, efer;
	int cs_l;  /* CS.L: the guest runs 64-bit code */
};

/*
 * MOV to CR0 with `val`: 0 and s->cr0 (ET forced to 1, as on every CPU
 * since the i486) and s->efer.LMA updated, or -1 for #GP(0) with *s
 * unchanged.
 */
int cr_write_cr0(struct cr_state *s, uint64_t val);

/* LMSW: loads CR0 bits 3:0 from `src`, but cannot clear PE. As cr_write_cr0. */
int cr_lmsw(struct cr_state *s, uint16_t src);

/*
 * MOV to CR4 with `val`; `allowed` holds the bits this guest's CPUID
 * offers (cr4_allowed). 0 and s->cr4 updated, or -1 for #GP(0).
 */
int cr_write_cr4(struct cr_state *s, uint64_t val, uint64_t allowed);

/*
 * The CR4 bits a guest may set, from its view of CPUID leaf 1 (ECX) and
 * leaf 7 subleaf 0 (EBX, ECX). VMXE and SMXE are never offered.
 */
uint64_t cr4_allowed(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t leaf7_ecx);

/*
 * XSETBV of XCR `index` with `val`, where `supported` is what CPUID leaf
 * 0xD subleaf 0 EDX:EAX reports: 0 when the write is valid, -1 for
 * #GP(0) (SDM Vol. 1 13.3: x87 always on, AVX needs SSE, the AVX-512
 * states go together and need AVX).
 */
int cr_xsetbv_check(uint32_t index, uint64_t val, uint64_t supported);

#endif
