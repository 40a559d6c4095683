/*
 * tests/unit/test_xstate.c - the XSAVE area of a guest's x87/SSE/AVX state
 * (vmm/xstate.c): which instruction a CPU calls for, the area's size for
 * the components a guest may enable, and the reset image a new vCPU starts
 * from, against fake processors described by their CPUID leaves 0, 1, 0Dh
 * and 8000_0008h.
 */
#include <stdint.h>
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/xstate.h"

/* A fake CPU: vendor, XSAVE/XSAVEOPT, and component i at offset[i] with size[i]. */
static struct {
	const char *vendor;
	int xsave, xsaveopt, errptr;
	uint64_t xcr0;
	uint32_t max_size;
	uint32_t size[64], offset[64];
} cpu;

static void fake_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	(void)ctx;
	memset(r, 0, sizeof(*r));
	if (leaf == 0) {
		r->eax = 0xd;
		memcpy(&r->ebx, cpu.vendor, 4), memcpy(&r->edx, cpu.vendor + 4, 4),
			memcpy(&r->ecx, cpu.vendor + 8, 4);
	} else if (leaf == 1) {
		r->ecx = cpu.xsave ? 1u << 26 : 0;
		r->edx = 1u << 24; /* FXSR */
	} else if (leaf == 0xd && sub == 0 && cpu.xsave) {
		r->eax = (uint32_t)cpu.xcr0, r->edx = (uint32_t)(cpu.xcr0 >> 32);
		r->ecx = cpu.max_size;
	} else if (leaf == 0xd && sub == 1 && cpu.xsave) {
		r->eax = cpu.xsaveopt ? 1 : 0;
	} else if (leaf == 0xd && sub >= 2 && sub < 64 && cpu.xsave) {
		r->eax = cpu.size[sub], r->ebx = cpu.offset[sub];
	} else if (leaf == 0x80000000u) {
		r->eax = 0x80000008u;
	} else if (leaf == 0x80000008u) {
		r->ebx = cpu.errptr ? 1u << 2 : 0;
	}
}

/* A Haswell-like Intel CPU: x87, SSE, AVX (256 bytes at 576). */
static void haswell(void)
{
	memset(&cpu, 0, sizeof(cpu));
	cpu.vendor = "GenuineIntel";
	cpu.xsave = cpu.xsaveopt = 1;
	cpu.xcr0 = 0x7;
	cpu.max_size = 832;
	cpu.size[2] = 256, cpu.offset[2] = 576;
}

static void test_xsave_cpu_sizes_from_leaf_0d(void)
{
	struct xstate_caps c;
	haswell();
	xstate_probe(fake_cpuid, 0, &c);
	CHECK_EQ(c.method, XSTATE_XSAVEOPT);
	CHECK_EQ(c.xcr0_max, 0x7);
	CHECK_EQ(c.max_size, 832);
	CHECK_EQ(c.fip_leak, 0);
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x7), 832);
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x3), 576); /* legacy region + header */
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x1), 576);
	cpu.xsaveopt = 0;
	xstate_probe(fake_cpuid, 0, &c);
	CHECK_EQ(c.method, XSTATE_XSAVE);
}

static void test_avx512_and_pkru_take_the_largest_end(void)
{
	haswell();
	cpu.xcr0 = 0x2e7; /* x87 SSE AVX opmask ZMM_Hi256 Hi16_ZMM PKRU */
	cpu.size[5] = 64, cpu.offset[5] = 1088;
	cpu.size[6] = 512, cpu.offset[6] = 1152;
	cpu.size[7] = 1024, cpu.offset[7] = 1664;
	cpu.size[9] = 8, cpu.offset[9] = 2688;
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x2e7), 2696);
	/* only what the guest may enable counts: without PKRU the area ends at Hi16_ZMM */
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0xe7), 2688);
	/* components are not in offset order: the largest end wins, not the last bit */
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x207), 2696);
}

static void test_nonsense_leaf_0d_is_refused(void)
{
	haswell();
	cpu.size[2] = 0xffffff00u, cpu.offset[2] = 0x200; /* would wrap a 32-bit sum */
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x7), 0);
	cpu.size[2] = 256, cpu.offset[2] = XSTATE_MAX_SIZE;
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0x7), 0);
}

static void test_no_xsave_means_fxsave(void)
{
	struct xstate_caps c;
	memset(&cpu, 0, sizeof(cpu));
	cpu.vendor = "GenuineIntel";
	xstate_probe(fake_cpuid, 0, &c);
	CHECK_EQ(c.method, XSTATE_FXSAVE);
	CHECK_EQ(c.xcr0_max, 0);
	CHECK_EQ(xstate_area_size(fake_cpuid, 0, 0), 512);
}

static void test_amd_before_xsaveerptr_leaks_fip(void)
{
	struct xstate_caps c;
	haswell();
	cpu.vendor = "AuthenticAMD";
	xstate_probe(fake_cpuid, 0, &c);
	CHECK_EQ(c.fip_leak, 1);
	cpu.errptr = 1; /* Zen 2 and later: always save/restore the error pointers */
	xstate_probe(fake_cpuid, 0, &c);
	CHECK_EQ(c.fip_leak, 0);
	cpu.vendor = "HygonGenuine";
	cpu.errptr = 0;
	xstate_probe(fake_cpuid, 0, &c);
	CHECK_EQ(c.fip_leak, 1);
}

static void test_reset_image_is_a_processor_out_of_reset(void)
{
	static uint8_t area[1024] __attribute__((aligned(64)));
	memset(area, 0xcc, sizeof(area)); /* whatever was there before */
	xstate_reset_image(area, sizeof(area));
	const struct fxsave_area *f = (const void *)area;
	const struct xsave_header *h = (const void *)(area + XSTATE_LEGACY_SIZE);
	CHECK_EQ(f->fcw, 0x037f);
	CHECK_EQ(f->fsw, 0);
	CHECK_EQ(f->ftw, 0);   /* abridged: every register empty */
	CHECK_EQ(f->mxcsr, 0x1f80);
	CHECK_EQ(h->xstate_bv, 0); /* XRSTOR: every component to its initial state */
	CHECK_EQ(h->xcomp_bv, 0);  /* standard format */
	unsigned nonzero = 0;
	for (unsigned i = 0; i < sizeof(area); i++)
		nonzero += area[i] != 0;
	CHECK_EQ(nonzero, 4); /* the two bytes of FCW and of MXCSR */
}

int main(void)
{
	RUN(test_xsave_cpu_sizes_from_leaf_0d);
	RUN(test_avx512_and_pkru_take_the_largest_end);
	RUN(test_nonsense_leaf_0d_is_refused);
	RUN(test_no_xsave_means_fxsave);
	RUN(test_amd_before_xsaveerptr_leaks_fip);
	RUN(test_reset_image_is_a_processor_out_of_reset);
	return check_done();
}
