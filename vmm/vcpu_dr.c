/*
 * vmm/vcpu_dr.c - a guest's debug address registers DR0-DR3 and its DR6,
 * on the core its vCPU runs on.
 *
 * Neither back end intercepts MOV to or from a debug register, and neither
 * world switch carries DR0-DR3: VM entry and exit load and save only DR7
 * (SDM Vol. 3C 25.4.1 guest-state area, with the "load/save debug
 * controls"), VMRUN and #VMEXIT only DR6 and DR7 (the VMCB's save area,
 * APM Vol. 2 15.5.1). So without this file, a guest read the addresses the
 * previous guest on its core left there (and on VT-x its DR6 too), and a
 * guest on a shared core found its own changed after another's slice.
 * They are switched like the FPU state (vmm/vcpu_fpu.c), where the core
 * changes hands: once per arrival and departure, never per exit. A
 * debugger's DR0-DR3 (vmm/vcpu_debug.c loads them on the vCPU's core)
 * travel with the vCPU the same way.
 */
#include "vmm/vcpu_dr.h"

#include "vmm/vcpu.h"

#define DR6_INIT 0xffff0ff0ull /* its value after reset (SDM Vol. 3B 18.2.3) */

#define DR_GET(n, val) __asm__ volatile("mov %%db" #n ", %0" : "=r"(val))
#define DR_PUT(n, val) __asm__ volatile("mov %0, %%db" #n ::"r"(val))

static void dr_load(const uint64_t dr[4], uint64_t dr6)
{
	DR_PUT(0, dr[0]);
	DR_PUT(1, dr[1]);
	DR_PUT(2, dr[2]);
	DR_PUT(3, dr[3]);
	DR_PUT(6, dr6);
}

void vcpu_dr_arrive(struct vcpu *v)
{
	static const uint64_t reset[4];
	if (v->dr.saved)
		dr_load(v->dr.dr, v->dr.dr6);
	else
		dr_load(reset, DR6_INIT);
}

void vcpu_dr_leave(struct vcpu *v)
{
	static const uint64_t reset[4];
	DR_GET(0, v->dr.dr[0]);
	DR_GET(1, v->dr.dr[1]);
	DR_GET(2, v->dr.dr[2]);
	DR_GET(3, v->dr.dr[3]);
	DR_GET(6, v->dr.dr6);
	v->dr.saved = 1;
	dr_load(reset, DR6_INIT);
}
