/*
 * vmm/cpuid_policy.h - CPUID as a guest sees it. Portable: the host's
 * answer comes in, the guest's goes out.
 */
#ifndef HAKO_CPUID_POLICY_H
#define HAKO_CPUID_POLICY_H

#include <stdint.h>

#define CPUID_HV_BASE 0x40000000u  /* hypervisor leaves (Linux/Xen/KVM convention) */
#define CPUID_HV_TIMING 0x40000010u /* EAX = TSC kHz (the VMware/KVM timing leaf) */
#define CPUID_HV_SIGNATURE "hakohakohako"

struct cpuid_result {
	uint32_t eax, ebx, ecx, edx;
};

/* The host's answer for (leaf, subleaf): the CPU itself, or a test's fake. */
typedef void (*cpuid_fn)(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r);

struct cpuid_ctx {
	uint32_t tsc_khz;
	cpuid_fn host_cpuid;
	void *ctx;
	uint32_t apic_id;   /* the vCPU's initial APIC ID (CPUID.1:EBX[31:24], 0xB, 8000_001E) */
	int linux_platform; /* the guest has hako's emulated PC platform (vmm/platform.h) */
	int osxsave;        /* the guest's CR4.OSXSAVE, which CPUID.1:ECX[27] reflects */
};

/* Fills *r with what the guest sees for CPUID(leaf, sub). */
void cpuid_policy(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub, struct cpuid_result *r);

#endif
