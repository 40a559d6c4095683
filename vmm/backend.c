/*
 * vmm/backend.c - choosing the back end that vmm/virt.c found usable.
 */
#include "vmm/backend.h"

#include "vmm/core/host.h"
#include "vmm/core/trap.h"

const struct vmm_backend *backend;

/*
 * Every op is called unconditionally by the neutral core, so a back end
 * with a hole is a hako bug: say so at boot, not with a jump to 0 later.
 */
static void check_complete(const struct vmm_backend *b)
{
	const void *ops[] = {
		b->cpu_enable, b->vcpu_create, b->vcpu_destroy, b->vcpu_run,
		b->reg_read, b->reg_write, b->seg_read, b->seg_write, b->inject,
		b->intr_ready, b->intr_window, b->npt_create, b->npt_map,
		b->npt_protect, b->npt_destroy, b->tlb_flush,
	};
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!ops[i])
			hv_panic("back end %s lacks operation %u of struct vmm_backend", b->name, i);
}

/* Selects `backend` from host.virt.backend; call once after virt_detect(). */
void backend_select(void)
{
	if (host.virt.backend == VIRT_SVM)
		backend = &svm_backend;
	else if (host.virt.backend == VIRT_VMX)
		backend = &vmx_backend;
	else
		backend = 0;
	if (backend)
		check_complete(backend);
}
