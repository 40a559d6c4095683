/*
 * vmm/vcpu_fpu.c - a guest's x87, SSE and AVX registers (and every other
 * XSAVE-managed component) and its XCR0, on the core its vCPU runs on.
 * Neither VMRUN nor VM entry switches this state (APM Vol. 2 15.5.1, SDM
 * Vol. 3C 27.3, 28.5): software must, or one guest reads what another
 * left in XMM0-15 (issue 17, finding 3).
 *
 * hako's own code uses none of these registers (the kernel is built with
 * -mno-sse -mno-80387, and tests/static/test_kernel_image.py checks that
 * only the two functions below touch them), so the guest's state and its
 * XCR0 stay loaded while hako handles its exits on that core, at no cost
 * per exit. What happens at the edges:
 *   - arrive, before the vCPU's first entry on its core: its state from
 *     its save area (XRSTOR with every component its CPUID offers enabled
 *     in XCR0; FXRSTOR without XSAVE), then its own XCR0.
 *     A new vCPU's area holds the state of a processor just out of reset
 *     (xstate_reset_image: FNINIT's x87 state, MXCSR 1F80H, XSTATE_BV 0).
 *   - leave, when the vCPU's loop ends: its state to its area (XSAVEOPT,
 *     XSAVE or FXSAVE, again with every offered component enabled: legacy
 *     SSE uses XMM0-15 whatever XCR0 says), then every component back to
 *     its initial state (XRSTOR of the reset image), then hako's XCR0 (x87
 *     only). The next vCPU on that core, of this guest or another, finds
 *     nothing of it, and the first one on a core nothing of the firmware.
 * Areas are sized from CPUID leaf 0Dh for the components the guest's
 * CPUID offers; a guest's XSETBV (which exits on both back ends) cannot
 * enable more (vmm/exit.c).
 */
#include "vmm/vcpu_fpu.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/page.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_regs.h"
#include "vmm/xstate.h"

static struct xstate_caps caps;
static uint32_t guest_size;    /* the area for everything CPUID offers (for `host`) */
static void *reset_image;      /* what a core is left holding when a vCPU leaves */
static const uint32_t fip_dummy; /* FILD's operand in the FIP/FDP scrub */

static void host_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	(void)ctx; /* the CPU itself */
	struct cpuid_regs h = cpuid(leaf, sub);
	*r = (struct cpuid_result){ h.eax, h.ebx, h.ecx, h.edx };
}

static void guest_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	vcpu_cpuid(ctx, leaf, sub, r);
}

static unsigned area_order(uint32_t size)
{
	return buddy_order_for(size);
}

/* See vcpu_fpu.h. Boot, service core. */
void vcpu_fpu_init(void)
{
	xstate_probe(host_cpuid, 0, &caps);
	uint64_t xcr0 = caps.method == XSTATE_FXSAVE ? 0 : caps.xcr0_max;
	guest_size = xstate_area_size(host_cpuid, 0, xcr0);
	uint32_t size = caps.max_size > guest_size ? caps.max_size : guest_size;
	reset_image = (void *)page_alloc_bytes(size);
	xstate_reset_image(reset_image, size);
	char line[160];
	vcpu_fpu_describe(line, sizeof(line));
	log_info("fpu: guest state switched by %s", line);
}

/* See vcpu_fpu.h. */
int vcpu_fpu_create(struct vcpu *v)
{
	uint64_t xcr0 = 0;
	if (caps.method != XSTATE_FXSAVE) {
		struct cpuid_result r;
		vcpu_cpuid(v, 0xd, 0, &r);
		xcr0 = (r.eax | (uint64_t)r.edx << 32) & caps.xcr0_max;
	}
	uint32_t size = xstate_area_size(guest_cpuid, v, xcr0);
	if (!size)
		return -EINVAL; /* CPUID leaf 0Dh describes nonsense */
	/* Pages: 4 KiB-aligned, so XSAVE's 64-byte alignment holds. */
	v->fpu_area = (void *)page_alloc(area_order(size), PAGE_HAKO);
	if (!v->fpu_area)
		return -ENOMEM;
	v->fpu_size = size;
	v->fpu_mask = xcr0;
	xstate_reset_image(v->fpu_area, size);
	v->xcr0 = XCR0_RESET;
	return 0;
}

/* See vcpu_fpu.h. Service core, the vCPU no longer runs. */
void vcpu_fpu_destroy(struct vcpu *v)
{
	if (v->fpu_area)
		page_free((uint64_t)v->fpu_area, area_order(v->fpu_size), PAGE_HAKO);
	v->fpu_area = 0;
}

/*
 * AMD without XSAVEERPTR keeps FOP, FIP and FDP across an (F)XRSTOR of a
 * state without a pending x87 exception (struct xstate_caps): give them
 * hako's values first, as Linux does (clear exceptions, empty the stack,
 * one FILD), so that no guest reads another's last x87 instruction pointer.
 */
static inline __attribute__((always_inline)) void fip_scrub(void)
{
	if (caps.fip_leak)
		__asm__ volatile("fnclex; emms; fildl %0" ::"m"(fip_dummy) : "memory");
}

/* See vcpu_fpu.h. On v's core. */
void vcpu_fpu_arrive(struct vcpu *v)
{
	fip_scrub();
	if (caps.method == XSTATE_FXSAVE) {
		fxrstor64(v->fpu_area);
		return;
	}
	/*
	 * XRSTOR touches only the components XCR0 enables, but legacy SSE
	 * reaches XMM0-15 and MXCSR whatever XCR0 says (SDM Vol. 1 13.3): load
	 * every component the guest may use, then the guest's own XCR0.
	 */
	xsetbv(0, v->fpu_mask);
	xrstor64(v->fpu_area, v->fpu_mask);
	xsetbv(0, v->xcr0);
}

/* See vcpu_fpu.h. On v's core. */
void vcpu_fpu_leave(struct vcpu *v)
{
	/*
	 * XCR0 is read back, not taken from v->xcr0: an emulator without the
	 * XSETBV intercept (QEMU 7.2's TCG) lets the guest's XSETBV run
	 * natively. The mask keeps XSAVE within the area whatever happened.
	 */
	if (caps.method == XSTATE_FXSAVE) {
		fxsave64(v->fpu_area);
		fip_scrub();
		fxrstor64(reset_image); /* zeros, FCW 037FH, MXCSR 1F80H */
		return;
	}
	/* Every component it may use, whatever XCR0 it runs with (as in arrive). */
	v->xcr0 = xgetbv(0);
	xsetbv(0, v->fpu_mask);
	if (caps.method == XSTATE_XSAVEOPT)
		xsaveopt64(v->fpu_area, v->fpu_mask);
	else
		xsave64(v->fpu_area, v->fpu_mask);
	fip_scrub();
	/*
	 * XSTATE_BV = 0 in the reset image: XRSTOR puts every requested
	 * component in its initial state (SDM Vol. 1 13.8.1) and loads MXCSR
	 * 1F80H. With all bits requested that is every component of XCR0 =
	 * fpu_mask; XCR0 then goes back to hako's.
	 */
	xrstor64(reset_image, ~0ull);
	xsetbv(0, XCR0_RESET);
}

/* See vcpu_fpu.h. On v's core, from exit_xsetbv(). */
int vcpu_fpu_set_xcr0(struct vcpu *v, uint64_t xcr0)
{
	if (caps.method == XSTATE_FXSAVE)
		return -1;
	xsetbv(0, xcr0);
	v->xcr0 = xcr0;
	return 0;
}

/* Names of the XCR0 bits (SDM Vol. 1 13.1), for `host`. */
static const char *const component[] = {
	"x87", "SSE", "AVX", "MPX", "", "AVX-512", "", "", "PT", "PKRU", "PASID", "CET",
	"", "HDC", "UINTR", "LBR", "HWP", "AMX",
};

/* See vcpu_fpu.h: e.g. "XSAVEOPT, 832-byte areas, x87 SSE AVX". */
void vcpu_fpu_describe(char *buf, unsigned len)
{
	static const char *const how[] = { "FXSAVE (no XSAVE)", "XSAVE", "XSAVEOPT" };
	uint64_t xcr0 = caps.method == XSTATE_FXSAVE ? 3 : caps.xcr0_max;
	int n = fmt_snprintf(buf, len, "%s, %u-byte areas,", how[caps.method], guest_size);
	for (unsigned i = 0; i < sizeof(component) / sizeof(component[0]); i++)
		if ((xcr0 & (1ull << i)) && component[i][0] && n < (int)len)
			n += fmt_snprintf(buf + n, len - n, " %s", component[i]);
	if (caps.fip_leak && n < (int)len)
		fmt_snprintf(buf + n, len - n, ", FIP/FDP scrubbed");
}
