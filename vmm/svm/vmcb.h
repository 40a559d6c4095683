/*
 * vmm/svm/vmcb.h - the Virtual Machine Control Block (APM Vol. 2
 * Appendix B, "Layout of VMCB"), the SVM exit codes (Appendix C) and the
 * SVM instructions. Only the fields hako touches are named.
 */
#ifndef HAKO_SVM_VMCB_H
#define HAKO_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/lib/x86.h"


struct vmcb_seg {               /* APM B-2: segment state */
	uint16_t selector;      /* 0x0 */
	uint16_t attrib;        /* 0x2, packed attributes (see vmm/vcpu.h) */
	uint32_t limit;         /* 0x4 */
	uint64_t base;          /* 0x8 */
} __attribute__((packed));

struct vmcb_control {           /* APM Table B-1 */
	uint32_t intercept_cr;      /* 0x000: reads bits 0-15, writes 16-31 */
	uint32_t intercept_dr;      /* 0x004 */
	uint32_t intercept_exc;     /* 0x008 */
	uint32_t intercept_misc1;   /* 0x00c */
	uint32_t intercept_misc2;   /* 0x010 */
	uint32_t intercept_misc3;   /* 0x014 */
	uint8_t  reserved0[0x24];   /* 0x018 */
	uint16_t pause_threshold;   /* 0x03c */
	uint16_t pause_count;       /* 0x03e */
	uint64_t iopm_base_pa;      /* 0x040 */
	uint64_t msrpm_base_pa;     /* 0x048 */
	uint64_t tsc_offset;        /* 0x050 */
	uint32_t guest_asid;        /* 0x058 */
	uint8_t  tlb_control;       /* 0x05c */
	uint8_t  reserved1[3];      /* 0x05d */
	uint64_t v_intr;            /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING (bit 24), ... */
	uint64_t interrupt_shadow;  /* 0x068 */
	uint64_t exitcode;          /* 0x070 */
	uint64_t exitinfo1;         /* 0x078 */
	uint64_t exitinfo2;         /* 0x080 */
	uint64_t exitintinfo;       /* 0x088 */
	uint64_t np_enable;         /* 0x090: bit 0 NP_ENABLE */
	uint64_t avic_apic_bar;     /* 0x098 */
	uint64_t ghcb_pa;           /* 0x0a0 */
	uint64_t eventinj;          /* 0x0a8 */
	uint64_t n_cr3;             /* 0x0b0 */
	uint64_t lbr_virt;          /* 0x0b8 */
	uint32_t clean_bits;        /* 0x0c0 */
	uint32_t reserved2;         /* 0x0c4 */
	uint64_t nrip;              /* 0x0c8: next RIP, only with CPUID 8000_000A:EDX.NRIPS */
	uint8_t  insn_len;          /* 0x0d0: decode assists only */
	uint8_t  insn_bytes[15];    /* 0x0d1 */
	uint8_t  reserved3[0x320];  /* 0x0e0 */
} __attribute__((packed));
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area is 1 KiB");

struct vmcb_save {              /* APM Table B-2, at VMCB offset 0x400 */
	struct vmcb_seg es;     /* 0x400 */
	struct vmcb_seg cs;     /* 0x410 */
	struct vmcb_seg ss;     /* 0x420 */
	struct vmcb_seg ds;     /* 0x430 */
	struct vmcb_seg fs;     /* 0x440 */
	struct vmcb_seg gs;     /* 0x450 */
	struct vmcb_seg gdtr;   /* 0x460 */
	struct vmcb_seg ldtr;   /* 0x470 */
	struct vmcb_seg idtr;   /* 0x480 */
	struct vmcb_seg tr;     /* 0x490 */
	uint8_t  reserved0[0x2b];   /* 0x4a0 */
	uint8_t  cpl;           /* 0x4cb */
	uint32_t reserved1;     /* 0x4cc */
	uint64_t efer;          /* 0x4d0 */
	uint8_t  reserved2[0x70];   /* 0x4d8 */
	uint64_t cr4;           /* 0x548 */
	uint64_t cr3;           /* 0x550 */
	uint64_t cr0;           /* 0x558 */
	uint64_t dr7;           /* 0x560 */
	uint64_t dr6;           /* 0x568 */
	uint64_t rflags;        /* 0x570 */
	uint64_t rip;           /* 0x578 */
	uint8_t  reserved3[0x58];   /* 0x580 */
	uint64_t rsp;           /* 0x5d8 */
	uint8_t  reserved4[0x18];   /* 0x5e0: S_CET, SSP, ISST_ADDR */
	uint64_t rax;           /* 0x5f8 */
	uint64_t star;          /* 0x600 */
	uint64_t lstar;         /* 0x608 */
	uint64_t cstar;         /* 0x610 */
	uint64_t sfmask;        /* 0x618 */
	uint64_t kernel_gs_base;/* 0x620 */
	uint64_t sysenter_cs;   /* 0x628 */
	uint64_t sysenter_esp;  /* 0x630 */
	uint64_t sysenter_eip;  /* 0x638 */
	uint64_t cr2;           /* 0x640 */
	uint8_t  reserved5[0x20];   /* 0x648 */
	uint64_t g_pat;         /* 0x668 */
} __attribute__((packed));

struct vmcb {
	struct vmcb_control control;    /* 0x000 */
	struct vmcb_save save;          /* 0x400 */
} __attribute__((packed, aligned(4096)));
CHECK_OFFSET(struct vmcb, control.iopm_base_pa, 0x040);
CHECK_OFFSET(struct vmcb, control.guest_asid, 0x058);
CHECK_OFFSET(struct vmcb, control.exitcode, 0x070);
CHECK_OFFSET(struct vmcb, control.np_enable, 0x090);
CHECK_OFFSET(struct vmcb, control.eventinj, 0x0a8);
CHECK_OFFSET(struct vmcb, control.n_cr3, 0x0b0);
CHECK_OFFSET(struct vmcb, control.nrip, 0x0c8);
CHECK_OFFSET(struct vmcb, save.cs, 0x410);
CHECK_OFFSET(struct vmcb, save.tr, 0x490);
CHECK_OFFSET(struct vmcb, save.cpl, 0x4cb);
CHECK_OFFSET(struct vmcb, save.efer, 0x4d0);
CHECK_OFFSET(struct vmcb, save.cr4, 0x548);
CHECK_OFFSET(struct vmcb, save.rip, 0x578);
CHECK_OFFSET(struct vmcb, save.rsp, 0x5d8);
CHECK_OFFSET(struct vmcb, save.rax, 0x5f8);
CHECK_OFFSET(struct vmcb, save.cr2, 0x640);
CHECK_OFFSET(struct vmcb, save.g_pat, 0x668);
_Static_assert(sizeof(struct vmcb) == 4096, "a VMCB is one page");

/* intercept_misc1 (VMCB 0x00c) */
#define INTERCEPT_INTR      (1u << 0)
#define INTERCEPT_NMI       (1u << 1)
#define INTERCEPT_VINTR     (1u << 4)
#define INTERCEPT_INIT      (1u << 3)
#define INTERCEPT_CPUID     (1u << 18)
#define INTERCEPT_INTN      (1u << 21)
#define INTERCEPT_INVD      (1u << 22)
#define INTERCEPT_HLT       (1u << 24)
#define INTERCEPT_INVLPGA   (1u << 26)
#define INTERCEPT_IOIO_PROT (1u << 27)
#define INTERCEPT_MSR_PROT  (1u << 28)
#define INTERCEPT_SHUTDOWN  (1u << 31)
/* intercept_misc2 (VMCB 0x010) */
#define INTERCEPT_VMRUN     (1u << 0)
#define INTERCEPT_VMMCALL   (1u << 1)
#define INTERCEPT_VMLOAD    (1u << 2)
#define INTERCEPT_VMSAVE    (1u << 3)
#define INTERCEPT_STGI      (1u << 4)
#define INTERCEPT_CLGI      (1u << 5)
#define INTERCEPT_SKINIT    (1u << 6)
#define INTERCEPT_WBINVD    (1u << 9)
#define INTERCEPT_XSETBV    (1u << 13)

#define V_IRQ (1ull << 8)
#define V_INTR_PRIO(p) ((uint64_t)(p) << 16)
#define V_IGN_TPR (1ull << 20)
#define V_INTR_MASKING (1ull << 24)
#define INTERRUPT_SHADOW 1ull
#define TLB_CONTROL_FLUSH_ALL 1
#define NP_ENABLE 1ull

/* EVENTINJ (APM 15.20) */
#define EVENTINJ_TYPE_INTR (0ull << 8)
#define EVENTINJ_TYPE_NMI (2ull << 8)
#define EVENTINJ_TYPE_EXCEPTION (3ull << 8)
#define EVENTINJ_TYPE_SOFT_INTR (4ull << 8)
#define EVENTINJ_EV (1ull << 11)
#define EVENTINJ_VALID (1ull << 31)

/* Exit codes (APM Appendix C) */
#define VMEXIT_EXCP_BASE 0x40
#define VMEXIT_INTR 0x60
#define VMEXIT_NMI 0x61
#define VMEXIT_INIT 0x63
#define VMEXIT_VINTR 0x64
#define VMEXIT_MC (VMEXIT_EXCP_BASE + 18)
#define VMEXIT_CPUID 0x72
#define VMEXIT_SWINT 0x75
#define VMEXIT_INVD 0x76
#define VMEXIT_HLT 0x78
#define VMEXIT_INVLPGA 0x7a
#define VMEXIT_IOIO 0x7b
#define VMEXIT_MSR 0x7c
#define VMEXIT_SHUTDOWN 0x7f
#define VMEXIT_VMRUN 0x80
#define VMEXIT_VMMCALL 0x81
#define VMEXIT_VMLOAD 0x82
#define VMEXIT_VMSAVE 0x83
#define VMEXIT_STGI 0x84
#define VMEXIT_CLGI 0x85
#define VMEXIT_SKINIT 0x86
#define VMEXIT_WBINVD 0x89
#define VMEXIT_XSETBV 0x8d
#define VMEXIT_NPF 0x400
#define VMEXIT_INVALID ((uint64_t)-1)

/* IOIO EXITINFO1 (APM 15.10.2) */
#define IOIO_TYPE_IN (1u << 0)
#define IOIO_STR (1u << 2)
#define IOIO_REP (1u << 3)
#define IOIO_SZ8 (1u << 4)
#define IOIO_SZ16 (1u << 5)
#define IOIO_SZ32 (1u << 6)
#define IOIO_PORT_SHIFT 16

/* NPF EXITINFO1: a #PF-style error code (APM 15.25.6) */
#define NPF_P (1ull << 0)
#define NPF_RW (1ull << 1)
#define NPF_ID (1ull << 4)
#define NPF_GUEST_PAGE (1ull << 33)

/* Per-vCPU back-end state (vcpu->arch). */
struct svm_vcpu {
	struct vmcb *vmcb;      /* one page */
	int first_run;          /* flush the ASID's TLB on the first VMRUN */
};

static inline void svm_clgi(void) { __asm__ volatile("clgi" ::: "memory"); }
static inline void svm_stgi(void) { __asm__ volatile("stgi" ::: "memory"); }

/* World switch (switch.S): loads regs, VMRUNs `vmcb_pa`, stores regs. */
void svm_world_switch(void *regs, uint64_t vmcb_pa, uint64_t host_vmsave_pa);

#endif
