/*
 * vmm/xstate.h - the processor's extended state (x87, SSE, AVX and the
 * other XSAVE components) as hako saves it for a guest: which instruction
 * saves it, how large the save area is, and the architectural reset image
 * a new vCPU starts from (SDM Vol. 1 10.5 "FXSAVE and FXRSTOR", 13.4
 * "XSAVE Area", 13.6 "Processor Tracking of XSAVE-Managed State"; AMD APM
 * Vol. 2 11.5). Portable: CPUID comes in through a function, so the host
 * unit tests fake processors; vmm/vcpu_fpu.c executes the instructions.
 */
#ifndef HAKO_XSTATE_H
#define HAKO_XSTATE_H

#include <stdint.h>

#include "vmm/core/lib/x86.h"
#include "vmm/cpuid_policy.h"

/* The legacy region: FXSAVE's image, the first 512 bytes of an XSAVE area. */
struct fxsave_area {                /* SDM Vol. 1 Table 10-2 (64-bit form) */
	uint16_t fcw;               /* 0x000 x87 control word */
	uint16_t fsw;               /* 0x002 status word */
	uint8_t ftw;                /* 0x004 abridged tag word: 1 = valid, 0 = empty */
	uint8_t reserved0;          /* 0x005 */
	uint16_t fop;               /* 0x006 */
	uint64_t fip;               /* 0x008 */
	uint64_t fdp;               /* 0x010 */
	uint32_t mxcsr;             /* 0x018 */
	uint32_t mxcsr_mask;        /* 0x01c */
	uint8_t st[8][16];          /* 0x020 ST0-ST7 / MM0-MM7, 10 bytes used of 16 */
	uint8_t xmm[16][16];        /* 0x0a0 XMM0-XMM15 */
	uint8_t reserved1[96];      /* 0x1a0 */
} __attribute__((packed));
CHECK_OFFSET(struct fxsave_area, mxcsr, 0x18);
CHECK_OFFSET(struct fxsave_area, st, 0x20);
CHECK_OFFSET(struct fxsave_area, xmm, 0xa0);
_Static_assert(sizeof(struct fxsave_area) == 512, "the legacy region is 512 bytes");

struct xsave_header {               /* SDM Vol. 1 13.4.2, at offset 512 */
	uint64_t xstate_bv;         /* 0x200 components not in their initial state */
	uint64_t xcomp_bv;          /* 0x208 0: the standard (non-compacted) format */
	uint64_t reserved[6];       /* 0x210 must be 0 for XRSTOR */
} __attribute__((packed));
_Static_assert(sizeof(struct xsave_header) == 64, "the XSAVE header is 64 bytes");

#define XSTATE_LEGACY_SIZE 512u
#define XSTATE_HEADER_SIZE 64u
#define XSTATE_ALIGN 64u            /* XSAVE/XRSTOR #GP on a less aligned area */

#define FCW_INIT 0x037f             /* after FNINIT: all exceptions masked, 64-bit precision */
#define MXCSR_INIT 0x1f80           /* after reset: all SIMD exceptions masked, round to nearest */

enum xstate_method {
	XSTATE_FXSAVE,              /* no XSAVE: FXSAVE64/FXRSTOR64, x87 and SSE only */
	XSTATE_XSAVE,               /* XSAVE64/XRSTOR64 */
	XSTATE_XSAVEOPT,            /* XSAVEOPT64 (skips unmodified components)/XRSTOR64 */
};

/* What the host processor offers (xstate_probe). */
struct xstate_caps {
	enum xstate_method method;
	uint64_t xcr0_max;          /* CPUID.(0Dh,0):EDX:EAX, the bits XCR0 may hold */
	uint32_t max_size;          /* CPUID.(0Dh,0):ECX, an area for all of them */
	/*
	 * AMD processors without CPUID 8000_0008h:EBX[2] (XSAVEERPTR, "always
	 * save/restore the error pointers") save and restore FOP, FIP and FDP
	 * only while FSW.ES is set: the previous owner's values survive an
	 * (F)XRSTOR of a state without a pending exception (Linux calls this
	 * X86_BUG_FXSAVE_LEAK). vmm/vcpu_fpu.c overwrites them first.
	 */
	int fip_leak;
};


/* Fills *c from the processor's CPUID. */
void xstate_probe(cpuid_fn cpuid, void *ctx, struct xstate_caps *c);

/*
 * Bytes of a standard-format XSAVE area holding the components of `xcr0`
 * (the largest offset + size of CPUID.(0Dh,i) over its bits i >= 2, at
 * least the legacy region and the header), or 512 for FXSAVE when `xcr0`
 * is 0. 0 when CPUID describes a component that makes no sense (a size
 * or offset beyond XSTATE_MAX_SIZE).
 */
#define XSTATE_MAX_SIZE (64u * 1024)
uint32_t xstate_area_size(cpuid_fn cpuid, void *ctx, uint64_t xcr0);

/*
 * Writes the image of a processor just out of reset into `area` (`size`
 * bytes, at least 512): everything zero but FCW = 037FH (FNINIT) and
 * MXCSR = 1F80H, XSTATE_BV = 0 (every component in its initial state,
 * which XRSTOR then loads without reading it). The same image serves
 * FXRSTOR and XRSTOR.
 */
void xstate_reset_image(void *area, uint32_t size);

#endif
