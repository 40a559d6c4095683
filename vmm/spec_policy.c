/*
 * vmm/spec_policy.c - which speculative-execution controls hako uses
 * between guests and what guests are told of them (see vmm/spec.h for
 * the policy in words). Portable: CPUID and IA32_ARCH_CAPABILITIES come
 * in as values, so host unit tests try processors hako never ran on.
 */
#include "vmm/spec.h"

#include "vmm/core/lib/string.h"

/* CPUID.(EAX=7,ECX=0):EDX (SDM Vol. 2A Table 3-8) */
#define C7_EDX_IBRS_IBPB (1u << 26)
#define C7_EDX_STIBP (1u << 27)
#define C7_EDX_L1D_FLUSH (1u << 28)
#define C7_EDX_ARCH_CAPS (1u << 29)
#define C7_EDX_SSBD (1u << 31)
/* CPUID 8000_0008h:EBX (AMD APM Vol. 3 E.4.7; AMD's speculation control guidance) */
#define C88_EBX_IBPB (1u << 12)
#define C88_EBX_IBRS (1u << 14)
#define C88_EBX_STIBP (1u << 15)
#define C88_EBX_SSBD (1u << 24)

/*
 * IA32_ARCH_CAPABILITIES bits a guest may see (SDM Vol. 4 Table 2-2): they
 * describe the processor, and no MSR stands behind them. Not passed:
 * TSX_CTRL [7], MCU_CONTROL [9], MISC_PACKAGE_CTLS [10],
 * ENERGY_FILTERING_CTL [11], DOITM [12], MCU_ENUMERATION [16],
 * FB_CLEAR_CTRL [18], XAPIC_DISABLE [21], OVERCLOCKING_STATUS [23],
 * GDS_CTRL [25] and anything newer: each announces an MSR guests do not get.
 */
#define ARCH_CAP_GUEST ((1ull << 0) |  /* RDCL_NO */ \
			(1ull << 1) |  /* IBRS_ALL */ \
			(1ull << 2) |  /* RSBA */ \
			(1ull << 4) |  /* SSB_NO */ \
			(1ull << 5) |  /* MDS_NO */ \
			(1ull << 6) |  /* IF_PSCHANGE_MC_NO */ \
			(1ull << 8) |  /* TAA_NO */ \
			(1ull << 13) | /* SBDR_SSDP_NO */ \
			(1ull << 14) | /* FBSDP_NO */ \
			(1ull << 15) | /* PSDP_NO */ \
			(1ull << 17) | /* FB_CLEAR: VERW clears fill buffers */ \
			(1ull << 19) | /* RRSBA */ \
			(1ull << 20) | /* BHI_NO */ \
			(1ull << 24) | /* PBRSB_NO */ \
			(1ull << 26) | /* GDS_NO */ \
			(1ull << 27) | /* RFDS_NO */ \
			(1ull << 28))  /* RFDS_CLEAR: VERW clears register files */

static int vendor_is(const struct cpuid_result *r0, const char *v)
{
	char s[12];
	memcpy(s, &r0->ebx, 4), memcpy(s + 4, &r0->edx, 4), memcpy(s + 8, &r0->ecx, 4);
	return !memcmp(s, v, 12);
}

/* See spec.h. */
void spec_decide(cpuid_fn cpuid, void *ctx, uint64_t arch_caps_host, struct spec_caps *s)
{
	struct cpuid_result r0, r7 = { 0, 0, 0, 0 }, x0, x8 = { 0, 0, 0, 0 };
	cpuid(ctx, 0, 0, &r0);
	if (r0.eax >= 7)
		cpuid(ctx, 7, 0, &r7);
	cpuid(ctx, 0x80000000u, 0, &x0);
	if (x0.eax >= 0x80000008u)
		cpuid(ctx, 0x80000008u, 0, &x8);
	*s = (struct spec_caps){ 0 };
	s->ibpb = (r7.edx & C7_EDX_IBRS_IBPB) || (x8.ebx & C88_EBX_IBPB);
	s->spec_ctrl = !!(r7.edx & (C7_EDX_IBRS_IBPB | C7_EDX_STIBP | C7_EDX_SSBD)) ||
		       !!(x8.ebx & (C88_EBX_IBRS | C88_EBX_STIBP | C88_EBX_SSBD));
	s->arch_caps = !!(r7.edx & C7_EDX_ARCH_CAPS);
	s->arch_caps_host = s->arch_caps ? arch_caps_host : 0;
	int intel = vendor_is(&r0, "GenuineIntel");
	int immune = s->arch_caps_host & (ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY);
	if (!intel || immune)
		s->l1d = SPEC_L1D_NOT_NEEDED;
	else
		s->l1d = (r7.edx & C7_EDX_L1D_FLUSH) ? SPEC_L1D_FLUSH : SPEC_L1D_UNAVAILABLE;
}

/* See spec.h. */
uint64_t spec_guest_arch_caps(uint64_t host)
{
	/* A guest runs no VMX of its own: it never needs to flush for one. */
	return (host & ARCH_CAP_GUEST) | ARCH_CAP_SKIP_L1DFL_VMENTRY;
}
