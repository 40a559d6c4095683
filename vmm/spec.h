/*
 * vmm/spec.h - speculative-execution controls between guests: what the
 * CPU offers (CPUID, IA32_ARCH_CAPABILITIES), what hako does with it, and
 * what guests are told (issue 17, finding 11).
 *
 * Decisions (vmm/spec_policy.c, portable and unit-tested):
 *   - IBPB (IA32_PRED_CMD bit 0; Intel CPUID.(EAX=7,ECX=0):EDX[26], AMD
 *     CPUID 8000_0008h:EBX[12]) whenever a core is about to run a vCPU of
 *     another guest than the last one it ran: one guest's branch-predictor
 *     training cannot steer the next one's indirect branches.
 *   - L1D flush (IA32_FLUSH_CMD bit 0, CPUID.(7,0):EDX[28]) before every
 *     VM entry on VT-x where the CPU is affected by L1TF: Intel, without
 *     IA32_ARCH_CAPABILITIES.RDCL_NO [0] or SKIP_L1DFL_VMENTRY [3] (SDM
 *     Vol. 4 Table 2-2; Intel's "L1 Terminal Fault" guidance). AMD is not
 *     affected. An affected CPU without L1D_FLUSH (old microcode) is
 *     reported, not worked around.
 *   - IA32_SPEC_CTRL and IA32_PRED_CMD: where the CPU has them, the guest
 *     sees the CPU's enumeration unchanged and uses them directly (the MSR
 *     bitmaps pass them, vmm/msr.c); SPEC_CTRL is the guest's while its
 *     vCPU owns the core and goes back to hako's value when it leaves.
 *     Where the CPU lacks them, CPUID says so and they #GP.
 *   - IA32_ARCH_CAPABILITIES: read-only, the host's bits that describe the
 *     processor (the *_NO immunities, IBRS_ALL, RSBA, ...) and
 *     SKIP_L1DFL_VMENTRY (a guest never runs VMX); not the bits that
 *     announce other MSRs hako does not give guests (TSX_CTRL, ...).
 *   - Hidden from CPUID: L1D_FLUSH (IA32_FLUSH_CMD), CORE_CAPABILITIES,
 *     SRBDS_CTRL, TSX_FORCE_ABORT, AMD's VIRT_SSBD: MSRs hako does not
 *     give guests (vmm/cpuid_policy.c).
 */
#ifndef HAKO_SPEC_H
#define HAKO_SPEC_H

#include <stdint.h>

#include "vmm/cpuid_policy.h"

#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_IA32_PRED_CMD 0x49
#define  PRED_CMD_IBPB (1ull << 0)
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define  ARCH_CAP_RDCL_NO (1ull << 0)
#define  ARCH_CAP_SKIP_L1DFL_VMENTRY (1ull << 3)
#define MSR_IA32_FLUSH_CMD 0x10b
#define  FLUSH_CMD_L1D (1ull << 0)

enum spec_l1d {
	SPEC_L1D_NOT_NEEDED,       /* not affected by L1TF (AMD, RDCL_NO, SKIP_L1DFL_VMENTRY) */
	SPEC_L1D_FLUSH,            /* affected: flush L1D before every VM entry */
	SPEC_L1D_UNAVAILABLE,      /* affected, but no L1D_FLUSH (microcode): reported */
};

struct spec_caps {
	int ibpb;                  /* IBPB exists: hako uses it when a core changes guests */
	int spec_ctrl;             /* IA32_SPEC_CTRL exists (IBRS, STIBP or SSBD enumerated) */
	int arch_caps;             /* IA32_ARCH_CAPABILITIES exists (CPUID.(7,0):EDX[29]) */
	uint64_t arch_caps_host;   /* its value, 0 without it */
	enum spec_l1d l1d;
};

/* What boot found (vmm/spec.c); read-only afterwards. */
extern struct spec_caps spec;

/*
 * Portable decisions (vmm/spec_policy.c). spec_decide: from the host's
 * CPUID and its IA32_ARCH_CAPABILITIES value (0 when it has none).
 */
void spec_decide(cpuid_fn cpuid, void *ctx, uint64_t arch_caps_host, struct spec_caps *s);
/* The IA32_ARCH_CAPABILITIES a guest reads, from the host's. */
uint64_t spec_guest_arch_caps(uint64_t host);

struct vcpu;

/* Boot, service core (vmm/spec.c): fills `spec`, logs what is in use. */
void spec_init(void);
/* On v's core before its first entry: IBPB if the core last ran another guest; v's SPEC_CTRL. */
void spec_vcpu_arrive(struct vcpu *v);
/* On v's core when it leaves: keeps v's SPEC_CTRL, puts hako's back. */
void spec_vcpu_leave(struct vcpu *v);
/* One line for `host`. */
void spec_describe(char *buf, unsigned len);

#endif
