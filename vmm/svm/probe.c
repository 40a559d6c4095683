/*
 * vmm/svm/probe.c - is AMD-V usable on this machine? SVM in CPUID, not
 * disabled by the firmware (VM_CR.SVMDIS), nested paging (APM Vol. 2
 * 15.4, 15.25.1; CPUID 8000_000A).
 */
#include "vmm/svm/svm.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"

/*
 * Is AMD-V usable here, with nested paging? Fills `c` (next-RIP save,
 * ASIDs) and says why not in c->detail. 1 or 0.
 */
int svm_probe(struct virt_caps *c)
{
	if (cpuid(0x80000000, 0).eax < 0x8000000a || !(cpuid(0x80000001, 0).ecx & (1u << 2))) {
		fmt_snprintf(c->detail, sizeof(c->detail), "AMD CPU without AMD-V (CPUID 8000_0001:ECX.SVM = 0)");
		return 0;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		fmt_snprintf(c->detail, sizeof(c->detail),
			     "AMD-V is disabled by the firmware (VM_CR.SVMDIS); enable SVM in the firmware setup");
		return 0;
	}
	struct cpuid_regs r = cpuid(0x8000000a, 0);
	c->ept_or_npt = !!(r.edx & (1u << 0));
	c->nrips = !!(r.edx & (1u << 3));
	c->unrestricted = 1; /* SVM runs real mode and paged guests alike */
	if (!c->ept_or_npt) {
		fmt_snprintf(c->detail, sizeof(c->detail), "AMD-V without nested paging; hako needs NPT");
		return 0;
	}
		fmt_snprintf(c->detail, sizeof(c->detail), "AMD-V with nested paging, %u ASIDs%s", r.ebx,
		     c->nrips ? ", next-RIP save" : "");
	return 1;
}
