/*
 * vmm/xstate.c - sizing and initialising the save area of a guest's
 * x87/SSE/AVX state (see xstate.h). Portable.
 */
#include "vmm/xstate.h"

#include "vmm/core/lib/string.h"

#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_EDX_FXSR (1u << 24)
#define CPUID_XSTATE_LEAF 0xdu
#define XSTATE_SUB1_XSAVEOPT (1u << 0)
#define CPUID88_EBX_XSAVEERPTR (1u << 2)

static int vendor_is(const struct cpuid_result *r, const char *v)
{
	char s[12];
	memcpy(s, &r->ebx, 4), memcpy(s + 4, &r->edx, 4), memcpy(s + 8, &r->ecx, 4);
	return !memcmp(s, v, 12);
}

/* See xstate.h. */
void xstate_probe(cpuid_fn cpuid, void *ctx, struct xstate_caps *c)
{
	struct cpuid_result r0, r1, r;
	*c = (struct xstate_caps){ XSTATE_FXSAVE, 0, XSTATE_LEGACY_SIZE, 0 };
	cpuid(ctx, 0, 0, &r0);
	cpuid(ctx, 1, 0, &r1);
	if (r0.eax >= CPUID_XSTATE_LEAF && (r1.ecx & CPUID1_ECX_XSAVE)) {
		cpuid(ctx, CPUID_XSTATE_LEAF, 0, &r);
		c->xcr0_max = r.eax | (uint64_t)r.edx << 32;
		c->max_size = r.ecx;
		cpuid(ctx, CPUID_XSTATE_LEAF, 1, &r);
		c->method = (r.eax & XSTATE_SUB1_XSAVEOPT) ? XSTATE_XSAVEOPT : XSTATE_XSAVE;
	}
	if (vendor_is(&r0, "AuthenticAMD") || vendor_is(&r0, "HygonGenuine")) {
		cpuid(ctx, 0x80000000u, 0, &r);
		uint32_t ebx = 0;
		if (r.eax >= 0x80000008u) {
			cpuid(ctx, 0x80000008u, 0, &r);
			ebx = r.ebx;
		}
		c->fip_leak = !(ebx & CPUID88_EBX_XSAVEERPTR);
	}
}

/* See xstate.h. */
uint32_t xstate_area_size(cpuid_fn cpuid, void *ctx, uint64_t xcr0)
{
	uint32_t size = XSTATE_LEGACY_SIZE + XSTATE_HEADER_SIZE;
	if (!xcr0)
		return XSTATE_LEGACY_SIZE;
	/* Components 0 (x87) and 1 (SSE) live in the legacy region (13.4.1). */
	for (unsigned i = 2; i < 63; i++) {
		struct cpuid_result r;
		if (!(xcr0 & (1ull << i)))
			continue;
		cpuid(ctx, CPUID_XSTATE_LEAF, i, &r); /* EAX size, EBX offset (13.2) */
		if (r.eax > XSTATE_MAX_SIZE || r.ebx > XSTATE_MAX_SIZE - r.eax)
			return 0;
		if (r.ebx + r.eax > size)
			size = r.ebx + r.eax;
	}
	return size;
}

/* See xstate.h. */
void xstate_reset_image(void *area, uint32_t size)
{
	struct fxsave_area *f = area;
	memset(area, 0, size);
	f->fcw = FCW_INIT;
	f->mxcsr = MXCSR_INIT;
}
