/*
 * vmm/vmx/probe.c - is VT-x usable on this machine? VMX in CPUID, not
 * locked off by the firmware (IA32_FEATURE_CONTROL), secondary controls
 * with EPT (4-level walks, write-back, 2 MiB pages) and unrestricted
 * guest (SDM Vol. 3C 24.6.2, Vol. 3D Appendix A.3, A.10).
 */
#include "vmm/vmx/vmx.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"

#define FC_LOCK (1ull << 0)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)

#define PROCBASED_ACTIVATE_SECONDARY (1ull << 31)
#define PROCBASED2_EPT (1ull << 1)
#define PROCBASED2_VPID (1ull << 5)
#define PROCBASED2_UNRESTRICTED (1ull << 7)
#define EPT_CAP_WALK4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)

/*
 * Is VT-x usable here, with EPT (4-level, write-back, 2 MiB pages) and
 * unrestricted guest? Fills `c` and says why not in c->detail. 1 or 0.
 */
int vmx_probe(struct virt_caps *c)
{
	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		fmt_snprintf(c->detail, sizeof(c->detail), "Intel CPU without VT-x (CPUID.1:ECX.VMX = 0)");
		return 0;
	}
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FC_LOCK) && !(fc & FC_VMX_OUTSIDE_SMX)) {
		fmt_snprintf(c->detail, sizeof(c->detail),
			     "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked); enable it in the firmware setup");
		return 0;
	}
	/* Allowed-1 settings are the high 32 bits (SDM Vol. 3D A.3.2, A.3.3). */
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) & PROCBASED_ACTIVATE_SECONDARY)) {
		fmt_snprintf(c->detail, sizeof(c->detail), "VT-x without secondary controls (no EPT)");
		return 0;
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
		return 0;
	}
		fmt_snprintf(c->detail, sizeof(c->detail), "VT-x with EPT%s, unrestricted guest%s%s",
		     (ept & EPT_CAP_2M) ? " (2 MiB pages)" : "", c->vpid ? ", VPID" : "",
		     (fc & FC_LOCK) ? "" : "; firmware left VT-x unlocked, hako enables it");
	return 1;
}
