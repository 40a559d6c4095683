/*
 * vmm/vcpu.c - the vCPU loop on a guest's dedicated core: enter the
 * guest, count the exit, dispatch it, repeat, until the guest ends or the
 * service core asks it to stop (vm->stop_request and a VEC_KICK IPI,
 * which forces an EXIT_EXT_INTERRUPT because physical interrupts are
 * intercepted while a guest runs).
 */
#include "vmm/vcpu.h"

#include <stdarg.h>

#include "vmm/backend.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/exit_dispatch.h"
#include "vmm/lib/fmt.h"
#include "vmm/lib/log.h"
#include "vmm/vm.h"

void vcpu_skip_insn(struct vcpu *v, const struct exit_info *e)
{
	backend->reg_write(v, VREG_RIP, e->rip + e->insn_len);
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, int has_error, uint32_t error)
{
	const struct vevent ev = { VEVENT_EXCEPTION, vector, (uint8_t)!!has_error, error };
	if (backend->inject(v, &ev))
		vcpu_fail(v, &v->last_exit, "exception %u while another event is pending", vector);
}

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

/* After HLT: sleep until the service core wakes us (input, stop). */
static void vcpu_idle(struct vcpu *v)
{
	struct uart_model *u = &v->vm->uart;
	for (;;) {
		irq_disable();
		if (v->vm->stop_request || u->in_head != u->in_tail)
			break;
		/* STI's shadow covers HLT: a kick cannot slip in between. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
	irq_enable();
}

static int vcpu_step(struct vcpu *v)
{
	struct exit_info e;
	backend->vcpu_run(v, &e); /* entry failures arrive as EXIT_ENTRY_FAILED */
	v->exits++;
	__atomic_add_fetch(&v->vm->exit_count[e.kind < EXIT_KIND_COUNT ? e.kind : 0], 1,
			   __ATOMIC_RELAXED);
	v->last_exit = e;
	enum exit_result r = exit_dispatch(v, &e);
	if (r == EXIT_HALT)
		vcpu_idle(v);
	return r == EXIT_RESUME || r == EXIT_HALT;
}

/*
 * The body a vCPU core runs (smp_run_on). Returns to the core's parking
 * loop when the guest stops; clearing v->running is its last write.
 */
void vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	uint64_t t0 = time_us();
	int err = backend->cpu_enable();
	if (err)
		vcpu_fail(v, &v->last_exit, "cannot enable virtualization on core %u (%d)",
			  v->core, err);
	while (!err && !v->vm->stop_request && vcpu_step(v))
		;
	v->run_us += time_us() - t0;
	__atomic_store_n(&v->running, 0, __ATOMIC_RELEASE);
}
