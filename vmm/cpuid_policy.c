/*
 * vmm/cpuid_policy.c - the guest's view of CPUID. Portable.
 *
 * The guest sees the host's CPU with five changes: the hypervisor-present
 * bit is set (CPUID.1:ECX[31], reserved for this use by both vendors);
 * OSXSAVE (CPUID.1:ECX[27]) is the guest's CR4.OSXSAVE, not hako's;
 * leaves 0x40000000.. answer with hako's signature and the TSC frequency;
 * the virtualization features hako does not offer a guest (VMX:
 * CPUID.1:ECX[5], SDM Vol. 2A "CPUID"; SVM: CPUID 8000_0001:ECX[2] and the
 * whole SVM leaf 8000_000A, APM Vol. 3 E.4) are hidden; and of the
 * speculation controls (vmm/spec.h) those whose MSRs guests do not get
 * are hidden: L1D_FLUSH, CORE_CAPABILITIES, SRBDS_CTRL and TSX_FORCE_ABORT
 * (CPUID.(7,0):EDX[28,30,9,13]) and AMD's VIRT_SSBD (8000_0008:EBX[25]).
 * IBRS/IBPB, STIBP, SSBD and ARCH_CAPABILITIES stay as the host has them:
 * vmm/msr.c gives guests exactly those MSRs.
 *
 * For guests with the emulated PC platform (Linux), the APIC IDs are the
 * vCPU's, the TSC-deadline timer is offered (hako emulates it), and what
 * hako does not emulate is hidden: MCE/MCA (their MSRs), MTRRs, RDTSCP
 * and RDPID (IA32_TSC_AUX is the host's), x2APIC (xAPIC is what the
 * platform offers), MONITOR/MWAIT (an idle vCPU should HLT, which
 * exits, rather than wait inside the guest), IA32_TSC_ADJUST, APERF/MPERF and the energy bias
 * (leaf 6), and the performance counters (Intel's leaf 0xA and PDCM, the
 * AMD core counters).
 */
#include "vmm/cpuid_policy.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID81_ECX_SVM (1u << 2)
#define CPUID_SVM_LEAF 0x8000000au
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_EDX_MCE (1u << 7)
#define CPUID_EDX_MTRR (1u << 12)
#define CPUID_EDX_MCA (1u << 14)
#define CPUID81_EDX_RDTSCP (1u << 27)
#define CPUID81_ECX_PERFCTR_CORE (1u << 23)
#define CPUID7_ECX_RDPID (1u << 22)
#define CPUID7_EBX_TSC_ADJUST (1u << 1)
#define CPUID1_ECX_PDCM (1u << 15)
#define CPUID1_ECX_MONITOR (1u << 3)
#define CPUID_PERFMON_LEAF 0xau
#define CPUID7_EDX_SRBDS_CTRL (1u << 9)
#define CPUID7_EDX_TSX_FORCE_ABORT (1u << 13)
#define CPUID7_EDX_L1D_FLUSH (1u << 28)
#define CPUID7_EDX_CORE_CAPS (1u << 30)
#define CPUID88_EBX_VIRT_SSBD (1u << 25)
#define CPUID_POWER_LEAF 6u

static uint32_t sig_word(int i)
{
	const char *s = CPUID_HV_SIGNATURE;
	return (uint32_t)(uint8_t)s[4 * i] | (uint32_t)(uint8_t)s[4 * i + 1] << 8 |
	       (uint32_t)(uint8_t)s[4 * i + 2] << 16 | (uint32_t)(uint8_t)s[4 * i + 3] << 24;
}

static int hv_leaf(const struct cpuid_ctx *c, uint32_t leaf, struct cpuid_result *r)
{
	if (leaf < CPUID_HV_BASE || leaf > CPUID_HV_BASE + 0xff)
		return 0;
	*r = (struct cpuid_result){ 0, 0, 0, 0 };
	if (leaf == CPUID_HV_BASE) {
		r->eax = CPUID_HV_TIMING; /* highest hypervisor leaf */
		r->ebx = sig_word(0);
		r->ecx = sig_word(1);
		r->edx = sig_word(2);
	} else if (leaf == CPUID_HV_TIMING) {
		r->eax = c->tsc_khz;
	}
	return 1;
}

static void platform_leaf(const struct cpuid_ctx *c, uint32_t leaf, struct cpuid_result *r)
{
	const uint32_t hidden = CPUID_EDX_MCE | CPUID_EDX_MTRR | CPUID_EDX_MCA;
	if (leaf == 1) {
		r->ebx = (r->ebx & 0x00ffffffu) | c->apic_id << 24;
		r->ecx &= ~(CPUID1_ECX_X2APIC | CPUID1_ECX_PDCM | CPUID1_ECX_MONITOR);
		r->ecx |= CPUID1_ECX_TSC_DEADLINE;
		r->edx &= ~hidden;
	} else if (leaf == CPUID_POWER_LEAF) {
		r->ecx = 0; /* no APERF/MPERF, no energy-performance bias MSRs */
	} else if (leaf == CPUID_PERFMON_LEAF) {
		*r = (struct cpuid_result){ 0, 0, 0, 0 }; /* no architectural PMU */
	} else if (leaf == 7) {
		r->ebx &= ~CPUID7_EBX_TSC_ADJUST;
		r->ecx &= ~CPUID7_ECX_RDPID;
	} else if (leaf == 0xb) {
		r->edx = c->apic_id;
	} else if (leaf == 0x80000001u) {
		r->edx &= ~(hidden | CPUID81_EDX_RDTSCP);
		r->ecx &= ~CPUID81_ECX_PERFCTR_CORE;
	} else if (leaf == 0x8000001eu) {
		r->eax = c->apic_id;
	}
}

void cpuid_policy(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	if (hv_leaf(c, leaf, r))
		return;
	c->host_cpuid(c->ctx, leaf, sub, r);
	if (leaf == 1) {
		r->ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_OSXSAVE);
		r->ecx |= CPUID1_ECX_HYPERVISOR | (c->osxsave ? CPUID1_ECX_OSXSAVE : 0);
	} else if (leaf == 0x80000001u) {
		r->ecx &= ~CPUID81_ECX_SVM;
	} else if (leaf == CPUID_SVM_LEAF) {
		*r = (struct cpuid_result){ 0, 0, 0, 0 };
	} else if (leaf == 7 && sub == 0) {
		r->edx &= ~(CPUID7_EDX_SRBDS_CTRL | CPUID7_EDX_TSX_FORCE_ABORT | CPUID7_EDX_L1D_FLUSH |
			    CPUID7_EDX_CORE_CAPS);
	} else if (leaf == 0x80000008u) {
		r->ebx &= ~CPUID88_EBX_VIRT_SSBD;
	}
	if (c->linux_platform)
		platform_leaf(c, leaf, r);
}
