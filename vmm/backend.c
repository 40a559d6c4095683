/*
 * vmm/backend.c - choosing the back end that vmm/virt.c found usable.
 */
#include "vmm/backend.h"

#include "vmm/core/host.h"

const struct vmm_backend *backend;

/* Weak until vmm/vmx/ lands, so either back end links on its own. */
extern const struct vmm_backend vmx_backend __attribute__((weak));

void backend_select(void)
{
	if (host.virt.backend == VIRT_SVM)
		backend = &svm_backend;
	else if (host.virt.backend == VIRT_VMX && &vmx_backend)
		backend = &vmx_backend;
	else
		backend = 0;
}
