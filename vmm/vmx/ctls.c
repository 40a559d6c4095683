/*
 * vmm/vmx/ctls.c - portable VMX arithmetic (see ctls.h): control fitting
 * from capability MSRs (SDM Vol. 3D A.3-A.5), CR fixed bits (A.7, A.8),
 * and segment access-rights conversion (SDM Vol. 3C 25.4.1).
 */
#include "vmm/vmx/ctls.h"

#include "vmm/core/lib/errno.h"

int vmx_fit_ctl(uint64_t cap, uint32_t want, uint32_t *out)
{
	uint32_t must_be_one = (uint32_t)cap;
	uint32_t may_be_one = (uint32_t)(cap >> 32);
	*out = (want | must_be_one) & may_be_one;
	return (want & ~may_be_one) ? -ENOTSUP : 0;
}

uint64_t vmx_fix_cr(uint64_t val, uint64_t fixed0, uint64_t fixed1, uint64_t exempt)
{
	uint64_t fixed = (val | fixed0) & fixed1;
	return (fixed & ~exempt) | (val & exempt);
}

#define ATTR_P (1u << 7)

uint32_t vmx_ar_from_attr(uint16_t attr)
{
	if (!(attr & ATTR_P))
		return VMX_AR_UNUSABLE;
	return (attr & 0xffu) | ((uint32_t)(attr & 0xf00u) << 4);
}

uint16_t vmx_attr_from_ar(uint32_t ar)
{
	if (ar & VMX_AR_UNUSABLE)
		return 0;
	return (uint16_t)((ar & 0xffu) | ((ar >> 4) & 0xf00u));
}
