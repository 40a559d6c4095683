/*
 * vmm/vcpu.c - running a vCPU: enter the guest, count the exit, dispatch
 * it, repeat. A vCPU on a dedicated core runs vcpu_loop() until the
 * guest ends or the service core asks it to stop (vm->stop_request and a
 * VEC_KICK IPI, which forces an EXIT_EXT_INTERRUPT because physical
 * interrupts are intercepted while a guest runs); it idles on the core
 * when the guest halts or a debugger holds it. A vCPU on a shared core
 * runs turns of vcpu_run_once() as vmm/sched.c decides, which never
 * wait: a halted or held one blocks, and the core runs the others.
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
#include "vmm/irq.h"
#include "vmm/sched.h"
#include "vmm/spec.h"
#include "vmm/vcpu_dr.h"
#include "vmm/vcpu_fpu.h"
#include "vmm/vm.h"

/*
 * Sets this core's LAPIC timer to the next deadline: the guest's, or a
 * shared core's. The same deadline is armed again if the timer already
 * fired: its count, calibrated against the TSC once, can run out a little
 * before the TSC reaches the deadline, and a guest left without its timer
 * (or a shared core without its slice end) runs on until something else
 * makes it exit (a Linux guest saw no timer for 30 s).
 */
void vcpu_timer_arm(struct vcpu *v)
{
	uint64_t d = v->lapic.deadline;
	if (v->shared)
		d = sched_timer_deadline(v, d);
	if (d == v->armed_deadline && (!d || lapic_timer_counting()))
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
 * guest can take it (SDM Vol. 3A 11.8, APM 15.21). A debugger's single
 * step takes none: they wait until the guest runs on (vmm/vcpu_debug.h).
 */
static void vcpu_events(struct vcpu *v)
{
	vlapic_timer_check(&v->lapic, rdtsc());
	vcpu_timer_arm(v);
	if (v->dbg_ctl & DEBUG_CTL_STEP) {
		backend->intr_window(v, 0);
		return;
	}
	if (v->lapic.nmi_pending && backend->intr_ready(v) >= 0) {
		const struct vevent nmi = { .type = VEVENT_NMI, .vector = 2 };
		if (!backend->inject(v, &nmi))
			v->lapic.nmi_pending = 0;
	}
	int vec = vlapic_pending(&v->lapic);
	if (vec < 0) {
		backend->intr_window(v, 0);
		return;
	}
	if (backend->intr_ready(v) > 0) {
		const struct vevent ev = { .type = VEVENT_EXT_INTR, .vector = (uint8_t)vec };
		if (!backend->inject(v, &ev)) {
			vlapic_ack(&v->lapic, vec);
			backend->intr_window(v, 0);
			return;
		}
	}
	backend->intr_window(v, 1);
}

int vcpu_can_wake(struct vcpu *v)
{
	struct uart_model *u = &v->vm->uart;
	if (v->vm->stop_request)
		return 1;
	if (v->wait_sipi)
		return __atomic_load_n(&v->sipi_pending, __ATOMIC_ACQUIRE) || v->init_pending;
	vlapic_timer_check(&v->lapic, rdtsc());
	if (vcpu_debug_held(v)) /* the guest's timer runs on; only the debugger lets it go */
		return vcpu_debug_released(v);
	if (vcpu_debug_wanted(v))
		return 1;
	if (v->init_pending || v->lapic.nmi_pending)
		return 1;
	if (v->vm->platform == VM_PLATFORM_BARE)
		return u->in_head != u->in_tail; /* a polling guest: console input */
	/* HLT with IF=0 only ends with NMI, INIT or SMI (SDM Vol. 2A "HLT") */
	return vlapic_pending(&v->lapic) >= 0 && v->halt_if;
}

/*
 * Dedicated core, after HLT or while a debugger holds the vCPU: sleep
 * until an interrupt for the guest, input, the debugger's word, or a stop.
 */
static void vcpu_idle(struct vcpu *v)
{
	sched_ent_enter(&v->se, SCHED_BLOCKED, time_us());
	for (;;) {
		irq_disable();
		if (vcpu_can_wake(v))
			break;
		vcpu_timer_arm(v);
		/* STI's shadow covers HLT: a kick cannot slip in between. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
	irq_enable();
	sched_ent_enter(&v->se, SCHED_RUNNING, time_us());
}

/*
 * INIT (SDM Vol. 3A 9.4): the vCPU goes to wait-for-SIPI; a SIPI that came
 * starts it in real mode at its vector. VCPU_WAIT_SIPI while none has.
 */
static enum vcpu_turn vcpu_sipi_state(struct vcpu *v)
{
	if (v->init_pending) {
		irq_vcpu_reset(v, 0);
		v->init_pending = 0;
		v->wait_sipi = 1;
	}
	if (!__atomic_load_n(&v->sipi_pending, __ATOMIC_ACQUIRE))
		return VCPU_WAIT_SIPI;
	guest_boot_sipi(v, v->sipi_vector);
	v->sipi_pending = 0;
	v->wait_sipi = 0;
	return VCPU_GO_ON;
}

enum vcpu_turn vcpu_run_once(struct vcpu *v)
{
	struct exit_info e;
	if ((v->init_pending || v->wait_sipi) && vcpu_sipi_state(v) == VCPU_WAIT_SIPI)
		return VCPU_WAIT_SIPI;
	if (vcpu_debug_check(v))
		return VCPU_HELD; /* the debugger holds it: it waits like a halted vCPU */
	irq_disable(); /* a kick after vcpu_events must make the entry exit at once */
	vcpu_events(v);
	backend->vcpu_run(v, &e); /* entry failures arrive as EXIT_ENTRY_FAILED */
	v->exits++;
	__atomic_add_fetch(&v->vm->exit_count[e.kind < EXIT_KIND_COUNT ? e.kind : 0], 1,
			   __ATOMIC_RELAXED);
	v->last_exit = e;
	enum exit_result r = exit_dispatch(v, &e);
	if (r == EXIT_HALT) {
		v->halt_if = !!(backend->reg_read(v, VREG_RFLAGS) & RFLAGS_IF);
		return VCPU_HALTED;
	}
	return r == EXIT_RESUME ? VCPU_GO_ON : VCPU_STOPPED;
}

/* Dedicated core: waits for a SIPI (or a stop). 0 when it came. */
static int vcpu_wait_sipi(struct vcpu *v)
{
	sched_ent_enter(&v->se, SCHED_BLOCKED, time_us());
	for (;;) {
		irq_disable();
		if (v->vm->stop_request) {
			irq_enable();
			return -1;
		}
		if (vcpu_sipi_state(v) == VCPU_GO_ON)
			break;
		__asm__ volatile("sti; hlt" ::: "memory");
	}
	irq_enable();
	sched_ent_enter(&v->se, SCHED_RUNNING, time_us());
	return 0;
}

static int vcpu_step(struct vcpu *v)
{
	switch (vcpu_run_once(v)) {
	case VCPU_GO_ON:
		return 1;
	case VCPU_HALTED:
	case VCPU_HELD:
		vcpu_idle(v);
		return 1;
	case VCPU_WAIT_SIPI:
		return !vcpu_wait_sipi(v);
	case VCPU_STOPPED:
		return 0;
	}
	return 0;
}

/*
 * The body a dedicated vCPU core runs (smp_run_on), v->se already RUNNING.
 * Returns to the core's parking loop when the guest stops; clearing
 * v->running is its last write.
 */
void vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	uint64_t t0 = time_us(); /* vm_launch started v->se, RUNNING */
	int err = backend->cpu_enable();
	if (err)
		vcpu_fail(v, &v->last_exit, "cannot enable virtualization on core %u (%d)",
			  v->core, err);
	/*
	 * The core changes hands: IBPB if it last ran another guest, then
	 * this vCPU's SPEC_CTRL, x87/SSE/AVX state and XCR0, DR0-DR3 and DR6,
	 * which stay on the core until it leaves (vmm/spec.c, vmm/vcpu_fpu.c,
	 * vmm/vcpu_dr.c).
	 */
	spec_vcpu_arrive(v);
	vcpu_fpu_arrive(v);
	vcpu_dr_arrive(v);
	while (!err && !v->vm->stop_request && vcpu_step(v))
		;
	lapic_timer_stop();
	vcpu_dr_leave(v);
	vcpu_fpu_leave(v);
	spec_vcpu_leave(v);
	v->armed_deadline = 0;
	v->run_us += time_us() - t0;
	sched_ent_enter(&v->se, SCHED_STOPPED, time_us());
	__atomic_store_n(&v->running, 0, __ATOMIC_RELEASE);
}
