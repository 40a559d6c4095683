/*
 * vmm/virt.h - which hardware virtualization this machine offers.
 */
#ifndef HAKO_VIRT_H
#define HAKO_VIRT_H

enum virt_backend { VIRT_NONE, VIRT_VMX, VIRT_SVM };

struct virt_caps {
	enum virt_backend backend;
	char vendor[13];
	char detail[160]; /* what was found, or why nothing is usable */
	int ept_or_npt, unrestricted, vpid, nrips;
};

/* Inspects CPUID and the capability MSRs of the calling core. */
void virt_detect(struct virt_caps *c);
/* "vmx", "svm" or "none", as `version` prints it. */
const char *virt_backend_name(enum virt_backend b);

#endif
