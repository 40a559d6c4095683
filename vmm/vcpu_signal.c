/*
 * vmm/vcpu_signal.c - what other code asks of a vCPU, from any core:
 * wake it, deliver INIT and SIPI (SDM Vol. 3A 9.4.4), end its guest
 * (vcpu_fail), power it off or reset it. Each sets a flag the vCPU's own
 * loop (vmm/vcpu.c) acts on at its next exit, and kicks the vCPU's core.
 */
#include "vmm/vcpu_signal.h"

#include <stdarg.h>

#include "vmm/backend.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/percpu.h"
#include "vmm/core/smp.h"
#include "vmm/exit_names.h"
#include "vmm/vm.h"

static void vcpu_dump(struct vcpu *v)
{
	const struct guest_regs *r = &v->regs;
	log_err("guest %s: rax=%lx rbx=%lx rcx=%lx rdx=%lx rsi=%lx rdi=%lx rsp=%lx rbp=%lx",
		v->vm->def.name, r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
		backend->reg_read(v, VREG_RSP), r->rbp);
	log_err("guest %s: cr0=%lx cr3=%lx cr4=%lx efer=%lx rflags=%lx", v->vm->def.name,
		backend->reg_read(v, VREG_CR0), backend->reg_read(v, VREG_CR3),
		backend->reg_read(v, VREG_CR4), backend->reg_read(v, VREG_EFER),
		backend->reg_read(v, VREG_RFLAGS));
}

void vcpu_fail(struct vcpu *v, const struct exit_info *e, const char *fmt, ...)
{
	struct vm *vm = v->vm;
	char why[128];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	spin_lock(&vm->lock);
	int first = !vm->failed;
	if (first)
		fmt_snprintf(vm->crash_reason, sizeof(vm->crash_reason),
			     "%s (exit %s, vcpu %u, rip 0x%lx)", why, exit_kind_name(e->kind),
			     v->id, e->rip);
	vm->failed = 1;
	vm->stop_request = 1;
	spin_unlock(&vm->lock);
	if (!first)
		return;
	log_err("guest %s: crashed: %s (hw exit 0x%lx, info 0x%lx 0x%lx)", vm->def.name,
		vm->crash_reason, e->hw_reason, e->hw_info[0], e->hw_info[1]);
	vcpu_dump(v);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i] != v)
			smp_kick(vm->vcpu[i]->core);
}

void vcpu_wake(struct vcpu *v)
{
	if (v->core != this_cpu()->index)
		smp_kick(v->core);
}

void vcpu_signal_init(struct vcpu *v)
{
	if (v->wait_sipi)
		return; /* already in wait-for-SIPI */
	v->init_pending = 1;
	vcpu_wake(v);
}

void vcpu_signal_sipi(struct vcpu *v, uint8_t vector)
{
	if (!v->wait_sipi || v->sipi_pending)
		return; /* SIPIs are ignored outside wait-for-SIPI (SDM 9.4.4.1) */
	v->sipi_vector = vector;
	__atomic_store_n(&v->sipi_pending, 1, __ATOMIC_RELEASE);
	vcpu_wake(v);
}

void vm_request_power(struct vcpu *v, enum vm_power what)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	if (vm->power == VM_POWER_NONE)
		vm->power = what;
	vm->stop_request = 1;
	spin_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i] != v)
			vcpu_wake(vm->vcpu[i]);
}
