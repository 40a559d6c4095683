/*
 * tests/unit/test_vmx_ctls.c - host tests of vmm/vmx/ctls.c: fitting VMX
 * controls to capability MSRs (SDM Vol. 3D A.3), CR fixed bits (A.7,
 * A.8) and segment access-rights conversion (SDM Vol. 3C 25.4.1).
 */
#include <stdint.h>
#include <stdio.h>

#include "tests/unit/check.h"
#include "vmm/core/lib/errno.h"
#include "vmm/vmx/ctls.h"

static void test_fit_ctl(void)
{
	uint32_t out;
	/* Haswell's TRUE pin-based MSR: bits 1, 2, 4 must be 1; 0-7 may be. */
	uint64_t pin = 0x0000007f00000016ull;
	CHECK(vmx_fit_ctl(pin, 0x9, &out) == 0 && out == 0x1f);
	/* Asking for a bit that may not be 1 fails and drops it. */
	CHECK(vmx_fit_ctl(pin, 0x100 | 0x1, &out) == -ENOTSUP && out == 0x17);
	/* Must-be-one bits appear even when nothing is asked. */
	CHECK(vmx_fit_ctl(pin, 0, &out) == 0 && out == 0x16);
	/* Everything allowed, nothing required: exactly what was asked. */
	CHECK(vmx_fit_ctl(0xffffffff00000000ull, 0x80000080u, &out) == 0 && out == 0x80000080u);
	/* Nothing may be 1. */
	CHECK(vmx_fit_ctl(0, 0x1, &out) == -ENOTSUP && out == 0);
}

static void test_fix_cr(void)
{
	/* Typical CR0: PE, NE, PG fixed to 1; all may be 1. */
	uint64_t f0 = 0x80000021ull, f1 = 0xffffffffull;
	CHECK(vmx_fix_cr(0x10, f0, f1, 0) == 0x80000031ull);
	/* Unrestricted guest: PE and PG keep the guest's value, NE is forced. */
	CHECK(vmx_fix_cr(0x10, f0, f1, 0x80000001ull) == 0x30);
	CHECK(vmx_fix_cr(0x80000011ull, f0, f1, 0x80000001ull) == 0x80000031ull);
	/* CR4: VMXE fixed to 1; bits above 22 may not be 1. */
	CHECK(vmx_fix_cr(0x20 | (1ull << 40), 0x2000, 0x7fffff, 0) == 0x2020);
}

static void test_access_rights(void)
{
	/* 64-bit code: type B, S, P, L, G -> AR 0xa09b. */
	uint16_t code = 0xb | 0x10 | 0x80 | 0x200 | 0x800;
	CHECK(vmx_ar_from_attr(code) == 0xa09b);
	CHECK(vmx_attr_from_ar(0xa09b) == code);
	/* Flat data with D/B and G: AR 0xc093. */
	CHECK(vmx_ar_from_attr(0x3 | 0x10 | 0x80 | 0x400 | 0x800) == 0xc093);
	/* Busy 64-bit TSS, present, byte granular. */
	CHECK(vmx_ar_from_attr(0xb | 0x80) == 0x8b);
	/* Not present -> unusable, and back to no attributes. */
	CHECK(vmx_ar_from_attr(0) == VMX_AR_UNUSABLE);
	CHECK(vmx_ar_from_attr(0x93 & ~0x80) == VMX_AR_UNUSABLE);
	CHECK(vmx_attr_from_ar(VMX_AR_UNUSABLE | 0x93) == 0);
	/* Round trip over every present attribute value. */
	int bad = 0;
	for (uint32_t a = 0; a < 0x1000; a++)
		if ((a & 0x80) && vmx_attr_from_ar(vmx_ar_from_attr((uint16_t)a)) != a)
			bad++;
	CHECK(bad == 0);
}

int main(void)
{
	RUN(test_fit_ctl);
	RUN(test_fix_cr);
	RUN(test_access_rights);
	return check_done();
}
