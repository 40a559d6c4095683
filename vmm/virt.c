/*
 * vmm/virt.c - detecting VT-x with EPT and unrestricted guest (SDM Vol. 3C
 * 23.6, 24.6.2, Appendix A) or AMD-V with nested paging (APM Vol. 2
 * 15.4, 15.25), and saying clearly why when neither is usable.
 */
#include "vmm/virt.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define FC_LOCK (1ull << 0)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)

#define PROCBASED_ACTIVATE_SECONDARY (1ull << 31)
#define PROCBASED2_EPT (1ull << 1)
#define PROCBASED2_VPID (1ull << 5)
#define PROCBASED2_UNRESTRICTED (1ull << 7)
#define EPT_CAP_WALK4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)

const char *virt_backend_name(enum virt_backend b)
{
	return b == VIRT_VMX ? "vmx" : b == VIRT_SVM ? "svm" : "none";
}

static void detect_vmx(struct virt_caps *c)
{
	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		fmt_snprintf(c->detail, sizeof(c->detail), "Intel CPU without VT-x (CPUID.1:ECX.VMX = 0)");
		return;
	}
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FC_LOCK) && !(fc & FC_VMX_OUTSIDE_SMX)) {
		fmt_snprintf(c->detail, sizeof(c->detail),
			     "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked); enable it in the firmware setup");
		return;
	}
	/* Allowed-1 settings are the high 32 bits (SDM Vol. 3D A.3.2, A.3.3). */
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) & PROCBASED_ACTIVATE_SECONDARY)) {
		fmt_snprintf(c->detail, sizeof(c->detail), "VT-x without secondary controls (no EPT)");
		return;
	}
	uint64_t ctls2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	uint64_t ept = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	c->ept_or_npt = (ctls2 & PROCBASED2_EPT) && (ept & EPT_CAP_WALK4) && (ept & EPT_CAP_WB) &&
			(ept & EPT_CAP_2M);
	c->unrestricted = !!(ctls2 & PROCBASED2_UNRESTRICTED);
	c->vpid = !!(ctls2 & PROCBASED2_VPID);
	if (!c->ept_or_npt || !c->unrestricted) {
		fmt_snprintf(c->detail, sizeof(c->detail), "VT-x without %s; hako needs both",
			     !c->ept_or_npt ? "EPT (4-level, write-back, 2 MiB pages)" : "unrestricted guest");
		return;
	}
	c->backend = VIRT_VMX;
	fmt_snprintf(c->detail, sizeof(c->detail), "VT-x with EPT%s, unrestricted guest%s%s",
		     (ept & EPT_CAP_2M) ? " (2 MiB pages)" : "", c->vpid ? ", VPID" : "",
		     (fc & FC_LOCK) ? "" : "; firmware left VT-x unlocked, hako enables it");
}

static void detect_svm(struct virt_caps *c)
{
	if (cpuid(0x80000000, 0).eax < 0x8000000a || !(cpuid(0x80000001, 0).ecx & (1u << 2))) {
		fmt_snprintf(c->detail, sizeof(c->detail), "AMD CPU without AMD-V (CPUID 8000_0001:ECX.SVM = 0)");
		return;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		fmt_snprintf(c->detail, sizeof(c->detail),
			     "AMD-V is disabled by the firmware (VM_CR.SVMDIS); enable SVM in the firmware setup");
		return;
	}
	struct cpuid_regs r = cpuid(0x8000000a, 0);
	c->ept_or_npt = !!(r.edx & (1u << 0));
	c->nrips = !!(r.edx & (1u << 3));
	c->unrestricted = 1; /* SVM runs real mode and paged guests alike */
	if (!c->ept_or_npt) {
		fmt_snprintf(c->detail, sizeof(c->detail), "AMD-V without nested paging; hako needs NPT");
		return;
	}
	c->backend = VIRT_SVM;
	fmt_snprintf(c->detail, sizeof(c->detail), "AMD-V with nested paging, %u ASIDs%s", r.ebx,
		     c->nrips ? ", next-RIP save" : "");
}

void virt_detect(struct virt_caps *c)
{
	memset(c, 0, sizeof(*c));
	struct cpuid_regs v = cpuid(0, 0);
	memcpy(c->vendor + 0, &v.ebx, 4);
	memcpy(c->vendor + 4, &v.edx, 4);
	memcpy(c->vendor + 8, &v.ecx, 4);
	if (!strcmp(c->vendor, "GenuineIntel"))
		detect_vmx(c);
	else if (!strcmp(c->vendor, "AuthenticAMD"))
		detect_svm(c);
	else
		fmt_snprintf(c->detail, sizeof(c->detail), "unknown CPU vendor '%s'", c->vendor);
}
