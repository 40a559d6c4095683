/*
 * tests/unit/test_spec.c - the speculative-execution decisions of
 * vmm/spec_policy.c on processors described by CPUID leaves 0, 7 and
 * 8000_0008h and an IA32_ARCH_CAPABILITIES value: IBPB between guests,
 * the L1D flush before VT-x entries, which MSRs exist, and what a guest
 * reads in IA32_ARCH_CAPABILITIES.
 */
#include <stdint.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/spec.h"

struct fake_cpu {
	const char *vendor;
	uint32_t leaf7_edx, ext8_ebx;
	uint32_t max_leaf;
};
static struct fake_cpu cpu;

static void fake_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	(void)ctx, (void)sub;
	memset(r, 0, sizeof(*r));
	if (leaf == 0) {
		r->eax = cpu.max_leaf;
		memcpy(&r->ebx, cpu.vendor, 4), memcpy(&r->edx, cpu.vendor + 4, 4),
			memcpy(&r->ecx, cpu.vendor + 8, 4);
	} else if (leaf == 7 && cpu.max_leaf >= 7) {
		r->edx = cpu.leaf7_edx;
	} else if (leaf == 0x80000000u) {
		r->eax = 0x80000008u;
	} else if (leaf == 0x80000008u) {
		r->ebx = cpu.ext8_ebx;
	}
}

#define IBRS_IBPB (1u << 26)
#define STIBP (1u << 27)
#define L1D_FLUSH (1u << 28)
#define ARCH_CAPS (1u << 29)
#define SSBD (1u << 31)

static void intel(uint32_t edx)
{
	cpu = (struct fake_cpu){ "GenuineIntel", edx, 0, 0x16 };
}

static void test_skylake_flushes_l1d_and_uses_ibpb(void)
{
	struct spec_caps s;
	/* Skylake with microcode: IBRS/IBPB, STIBP, L1D_FLUSH, ARCH_CAPS, SSBD; not RDCL_NO */
	intel(IBRS_IBPB | STIBP | L1D_FLUSH | ARCH_CAPS | SSBD);
	spec_decide(fake_cpuid, 0, 1ull << 2 /* RSBA */, &s);
	CHECK_EQ(s.ibpb, 1);
	CHECK_EQ(s.spec_ctrl, 1);
	CHECK_EQ(s.arch_caps, 1);
	CHECK_EQ(s.l1d, SPEC_L1D_FLUSH);
	/* the same CPU without ARCH_CAPABILITIES is affected too */
	intel(IBRS_IBPB | STIBP | L1D_FLUSH | SSBD);
	spec_decide(fake_cpuid, 0, 0, &s);
	CHECK_EQ(s.l1d, SPEC_L1D_FLUSH);
	CHECK_EQ(s.arch_caps_host, 0);
}

static void test_l1tf_immune_intel_needs_no_flush(void)
{
	struct spec_caps s;
	intel(IBRS_IBPB | L1D_FLUSH | ARCH_CAPS);
	spec_decide(fake_cpuid, 0, 1ull << 0 /* RDCL_NO */, &s);
	CHECK_EQ(s.l1d, SPEC_L1D_NOT_NEEDED);
	spec_decide(fake_cpuid, 0, 1ull << 3 /* SKIP_L1DFL_VMENTRY */, &s);
	CHECK_EQ(s.l1d, SPEC_L1D_NOT_NEEDED);
}

static void test_affected_cpu_without_l1d_flush_is_reported(void)
{
	struct spec_caps s;
	intel(0); /* old microcode: nothing enumerated */
	spec_decide(fake_cpuid, 0, 0, &s);
	CHECK_EQ(s.l1d, SPEC_L1D_UNAVAILABLE);
	CHECK_EQ(s.ibpb, 0);
	CHECK_EQ(s.spec_ctrl, 0);
	CHECK_EQ(s.arch_caps, 0);
	/* ARCH_CAPABILITIES' value counts only where CPUID says the MSR exists */
	spec_decide(fake_cpuid, 0, 1ull << 0, &s);
	CHECK_EQ(s.l1d, SPEC_L1D_UNAVAILABLE);
	CHECK_EQ(s.arch_caps_host, 0);
}

static void test_amd_uses_its_own_leaf_and_needs_no_l1d_flush(void)
{
	struct spec_caps s;
	cpu = (struct fake_cpu){ "AuthenticAMD", 0, (1u << 12) | (1u << 14) | (1u << 24), 0x10 };
	spec_decide(fake_cpuid, 0, 0, &s);
	CHECK_EQ(s.ibpb, 1);
	CHECK_EQ(s.spec_ctrl, 1);
	CHECK_EQ(s.arch_caps, 0);
	CHECK_EQ(s.l1d, SPEC_L1D_NOT_NEEDED);
	/* IBPB alone (Zen 1 early microcode): the command exists, SPEC_CTRL does not */
	cpu.ext8_ebx = 1u << 12;
	spec_decide(fake_cpuid, 0, 0, &s);
	CHECK_EQ(s.ibpb, 1);
	CHECK_EQ(s.spec_ctrl, 0);
}

static void test_emulators_offer_nothing(void)
{
	struct spec_caps s;
	cpu = (struct fake_cpu){ "AuthenticAMD", 0, 0, 0xd }; /* QEMU's qemu64 */
	spec_decide(fake_cpuid, 0, 0, &s);
	CHECK(!s.ibpb && !s.spec_ctrl && !s.arch_caps && s.l1d == SPEC_L1D_NOT_NEEDED);
	cpu = (struct fake_cpu){ "GenuineIntel", 0, 0, 0x5 }; /* no leaf 7 at all */
	spec_decide(fake_cpuid, 0, 0, &s);
	CHECK(!s.ibpb && !s.spec_ctrl && s.l1d == SPEC_L1D_UNAVAILABLE);
}

static void test_guest_arch_capabilities(void)
{
	/* every defined bit on the host: the guest keeps the descriptions only */
	uint64_t g = spec_guest_arch_caps((1ull << 31) - 1);
	CHECK(g & (1ull << 0) && g & (1ull << 1) && g & (1ull << 5) && g & (1ull << 20));
	CHECK(g & (1ull << 3)); /* SKIP_L1DFL_VMENTRY: always */
	CHECK(!(g & (1ull << 7)));   /* TSX_CTRL */
	CHECK(!(g & (1ull << 9)));   /* MCU_CONTROL */
	CHECK(!(g & (1ull << 18)));  /* FB_CLEAR_CTRL */
	CHECK(!(g & (1ull << 25)));  /* GDS_CTRL */
	CHECK_EQ(spec_guest_arch_caps(0), 1ull << 3);
	CHECK_EQ(spec_guest_arch_caps(1ull << 63), 1ull << 3); /* unknown bits stay hidden */
}

int main(void)
{
	RUN(test_skylake_flushes_l1d_and_uses_ibpb);
	RUN(test_l1tf_immune_intel_needs_no_flush);
	RUN(test_affected_cpu_without_l1d_flush_is_reported);
	RUN(test_amd_uses_its_own_leaf_and_needs_no_l1d_flush);
	RUN(test_emulators_offer_nothing);
	RUN(test_guest_arch_capabilities);
	return check_done();
}
