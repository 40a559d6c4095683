/*
 * vmm/core/lib/x86.h - architectural bits of the x86-64 control
 * registers, EFER, RFLAGS and XCR0 (SDM Vol. 3A 2.2.1, 2.5, 2.6; AMD APM
 * Vol. 2 3.1), and the compile-time layout check every hardware structure
 * uses (STYLE.md). Numbers only: portable, for the kernel and the host
 * unit tests alike.
 */
#ifndef HAKO_X86_H
#define HAKO_X86_H

#define CHECK_OFFSET(t, f, off) _Static_assert(__builtin_offsetof(t, f) == (off), #t "." #f)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_LA57 (1ull << 12)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)

#define XCR0_RESET 0x1ull  /* x87 only (SDM Vol. 1 13.3) */

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_SVME (1ull << 12)

#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)

#define DR6_BS (1ull << 14) /* a single-step #DB (SDM Vol. 3B 18.2.3) */

#endif
