/*
 * vmm/backend.c - choosing the virtualization back end at boot: the one
 * the processor calls for, if its probe (vmm/vmx/probe.c,
 * vmm/svm/probe.c) finds it usable.
 */
#include "vmm/backend.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/trap.h"

#define CPUID_1_ECX_VMX (1u << 5)          /* SDM Vol. 2A CPUID leaf 1 */
#define CPUID_80000001_ECX_SVM (1u << 2)   /* APM Vol. 3 CPUID 8000_0001 */

const struct vmm_backend *backend;
struct virt_caps virt;

/*
 * Every op is called unconditionally by the neutral core, so a back end
 * with a hole is a hako bug: say so at boot, not with a jump to 0 later.
 */
static void check_complete(const struct vmm_backend *b)
{
	const void *ops[] = {
		b->probe, b->cpu_enable, b->vcpu_create, b->vcpu_destroy, b->vcpu_run,
		b->reg_read, b->reg_write, b->seg_read, b->seg_write, b->inject,
		b->intr_ready, b->intr_window, b->npt_create, b->npt_map,
		b->npt_protect, b->npt_destroy, b->tlb_flush,
	};
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!ops[i])
			hv_panic("back end %s lacks operation %u of struct vmm_backend", b->name, i);
}

/* VMX or SVM as CPUID advertises it; without either, by vendor. */
static const struct vmm_backend *cpu_kind(void)
{
	if (cpuid(1, 0).ecx & CPUID_1_ECX_VMX)
		return &vmx_backend;
	if (cpuid(0x80000000, 0).eax >= 0x80000001 &&
	    (cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM))
		return &svm_backend;
	return strcmp(virt.vendor, "AuthenticAMD") && strcmp(virt.vendor, "HygonGenuine") ?
		       &vmx_backend : &svm_backend;
}

void backend_select(void)
{
	struct cpuid_regs v = cpuid(0, 0);
	memset(&virt, 0, sizeof(virt));
	memcpy(virt.vendor + 0, &v.ebx, 4);
	memcpy(virt.vendor + 4, &v.edx, 4);
	memcpy(virt.vendor + 8, &v.ecx, 4);
	const struct vmm_backend *b = cpu_kind();
	check_complete(b);
	virt.kind = b->name;
	backend = b->probe(&virt) ? b : 0;
}
