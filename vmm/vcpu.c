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
#include "vmm/core/lapic.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/percpu.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/cr.h"
#include "vmm/exit_dispatch.h"
#include "vmm/guest_boot.h"
#include "vmm/vm.h"

void vcpu_skip_insn(struct vcpu *v, const struct exit_info *e)
{
	backend->reg_write(v, VREG_RIP, e->rip + e->insn_len);
}

/* GPR number in instruction encodings (SDM Vol. 2A Table 2-2) -> hako's slot. */
static uint64_t *gpr_slot(struct vcpu *v, unsigned enc)
{
	struct guest_regs *r = &v->regs;
	uint64_t *const map[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, 0, &r->rbp, &r->rsi,
				    &r->rdi, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12,
				    &r->r13, &r->r14, &r->r15 };
	return map[enc & 15];
}

uint64_t vcpu_gpr_get(struct vcpu *v, unsigned enc)
{
	return (enc & 15) == 4 ? backend->reg_read(v, VREG_RSP) : *gpr_slot(v, enc);
}

void vcpu_gpr_set(struct vcpu *v, unsigned enc, uint64_t val)
{
	if ((enc & 15) == 4)
		backend->reg_write(v, VREG_RSP, val);
	else
		*gpr_slot(v, enc) = val;
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

/* Sets this core's LAPIC timer to the guest's next timer deadline. */
static void timer_arm(struct vcpu *v)
{
	uint64_t d = v->lapic.deadline;
	if (d == v->armed_deadline)
		return;
	v->armed_deadline = d;
	if (!d) {
		lapic_timer_stop();
		return;
	}
	uint64_t now = rdtsc();
	lapic_timer_arm(d > now ? d - now : 1);
}

/*
 * Before each entry, host interrupts off: fires a due guest timer,
 * injects the highest deliverable interrupt or asks for an exit when the
 * guest can take it (SDM Vol. 3A 11.8, APM 15.21).
 */
static void vcpu_events(struct vcpu *v)
{
	vlapic_timer_check(&v->lapic, rdtsc());
	timer_arm(v);
	if (v->lapic.nmi_pending && backend->intr_ready(v) >= 0) {
		const struct vevent nmi = { VEVENT_NMI, 2, 0, 0 };
		if (!backend->inject(v, &nmi))
			v->lapic.nmi_pending = 0;
	}
	int vec = vlapic_pending(&v->lapic);
	if (vec < 0) {
		backend->intr_window(v, 0);
		return;
	}
	if (backend->intr_ready(v) > 0) {
		const struct vevent ev = { VEVENT_EXT_INTR, (uint8_t)vec, 0, 0 };
		if (!backend->inject(v, &ev)) {
			vlapic_ack(&v->lapic, vec);
			backend->intr_window(v, 0);
			return;
		}
	}
	backend->intr_window(v, 1);
}

static int idle_wakeup(struct vcpu *v)
{
	struct uart_model *u = &v->vm->uart;
	if (v->vm->stop_request || v->init_pending || v->lapic.nmi_pending)
		return 1;
	if (!v->vm->linux_guest)
		return u->in_head != u->in_tail; /* a polling guest: console input */
	/* HLT with IF=0 only ends with NMI, INIT or SMI (SDM Vol. 2A "HLT") */
	return vlapic_pending(&v->lapic) >= 0 &&
	       (backend->reg_read(v, VREG_RFLAGS) & RFLAGS_IF);
}

/* After HLT: sleep until an interrupt for the guest, input, or a stop. */
static void vcpu_idle(struct vcpu *v)
{
	for (;;) {
		irq_disable();
		vlapic_timer_check(&v->lapic, rdtsc());
		if (idle_wakeup(v))
			break;
		timer_arm(v);
		/* STI's shadow covers HLT: a kick cannot slip in between. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
	irq_enable();
}

/* An application processor: park until a SIPI, then start in real mode there. */
static int vcpu_wait_sipi(struct vcpu *v)
{
	v->init_pending = 0;
	v->wait_sipi = 1;
	for (;;) {
		irq_disable();
		if (v->vm->stop_request)
			break;
		if (__atomic_load_n(&v->sipi_pending, __ATOMIC_ACQUIRE)) {
			irq_enable();
			guest_boot_sipi(v, v->sipi_vector);
			v->sipi_pending = 0;
			v->wait_sipi = 0;
			return 0;
		}
		__asm__ volatile("sti; hlt" ::: "memory");
	}
	irq_enable();
	return -1;
}

static int vcpu_step(struct vcpu *v)
{
	struct exit_info e;
	if (v->init_pending || v->wait_sipi) {
		vlapic_vcpu_reset(v, 0);
		if (vcpu_wait_sipi(v))
			return 0;
	}
	irq_disable(); /* a kick after vcpu_events must make the entry exit at once */
	vcpu_events(v);
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
	lapic_timer_stop();
	/* A guest's XSETBV stays in XCR0 (vmm/exit.c): the next guest here starts from reset. */
	if (read_cr4() & CR4_OSXSAVE)
		xsetbv(0, XCR0_RESET);
	v->armed_deadline = 0;
	v->run_us += time_us() - t0;
	__atomic_store_n(&v->running, 0, __ATOMIC_RELEASE);
}
