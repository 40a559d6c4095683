/*
 * vmm/sched.c - shared guest cores (see sched.h): run queues, placement,
 * the loop a shared core runs, preemption at the end of a slice, and the
 * accounting `stats`, `list` and `host` show. The choice of who runs is
 * vmm/sched_policy.c's (stride scheduling).
 *
 * A shared core runs sched_core_loop(): pick the ready vCPU with the
 * smallest pass, switch the core to it (vcpu_fpu.c's x87/SSE/AVX switch,
 * spec.c's IBPB when the guest changes, the back end's switch_in), and
 * run turns of it (vcpu_run_once) until
 *   - it halts (HLT with nothing to take) or waits for a SIPI: it blocks
 *     until an interrupt, IPI, NMI, INIT/SIPI or console input for it;
 *   - its slice ends and another is ready: the guest is made to exit by
 *     the VMX-preemption timer (VT-x) or by the host LAPIC timer, whose
 *     interrupt exits the guest through the INTR intercept (AMD-V); a
 *     guest spinning with interrupts off loses the core all the same;
 *   - a vCPU woke that has run less than it for its weight (after at
 *     least SCHED_WAKE_MIN_US of this one: Xen credit2's rate limit);
 *   - its guest stops: it leaves the queue for good.
 * Events for a vCPU that is not running (an IOAPIC interrupt, an IPI,
 * timer expiry) wait in its local APIC model, as on a dedicated core,
 * and are delivered at its next entry; vcpu_wake() kicks the core, which
 * looks at its halted vCPUs after every exit and whenever it wakes. The
 * LAPIC timer is armed for the earliest guest timer of any vCPU on the
 * core, so a sleeping guest's timer wakes it on time.
 *
 * The guest's TSC is the host's (no offset), so time runs on for a vCPU
 * waiting for its core exactly as for a running one: its clock and
 * timers do not drift, and a timer that fell due while it waited fires
 * when it runs next (it is late by at most the wait).
 *
 * Locking: the service core adds vCPUs to a queue (sched_launch) under
 * its lock; only the core itself removes them and changes their states.
 */
#include "vmm/sched.h"

#include "vmm/backend.h"
#include "vmm/core/lapic.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/percpu.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"
#include "vmm/spec.h"
#include "vmm/vcpu_dr.h"
#include "vmm/vcpu_fpu.h"
#include "vmm/vm.h"

#define SCHED_WAKE_MIN_US 1000

struct sched_core {
	struct spinlock lock;               /* q and n against sched_launch */
	struct vcpu *q[SCHED_PER_CORE];     /* its run queue: every vCPU it serves */
	volatile unsigned n;
	volatile int active;                /* the core runs sched_core_loop */
	unsigned placed;                    /* service core: vCPUs given the core */
	uint64_t placed_weight;
	struct vcpu *cur;                   /* whose state (FPU, VMCS) is on the core */
	int last;                           /* q index picked last */
	uint64_t vtime;                     /* the core's virtual time: pass picked last */
	uint64_t paid_us;                   /* cur's turn is charged up to here */
	int alone;                          /* no other vCPU was ready at cur's last entry */
	uint64_t slice_end;                 /* TSC */
	uint64_t wake_ok;                   /* TSC from which a woken vCPU may take the core */
	uint64_t left_tsc;                  /* when the last turn ended, for switch_tsc; 0 after idling */
	uint64_t switches, switch_tsc;
};

static struct sched_core score[MAX_CPUS];
static uint64_t slice_us = SCHED_SLICE_DEFAULT_US;

void sched_set_slice_ms(unsigned ms)
{
	if (ms >= SCHED_SLICE_MIN_MS && ms <= SCHED_SLICE_MAX_MS)
		slice_us = ms * 1000ull;
}

unsigned sched_slice_ms(void)
{
	return (unsigned)(slice_us / 1000);
}

static uint64_t us_to_tsc(uint64_t us)
{
	return us * tsc_khz / 1000;
}

/* ---- placement (service core) ---- */

static int core_usable(unsigned c, uint64_t allowed)
{
	return c > 0 && c < cpu_count && cpus[c].online && !vm_core_dedicated(c) &&
	       (!allowed || (allowed >> c & 1)) && score[c].placed < SCHED_PER_CORE;
}

int sched_can_place(uint64_t allowed)
{
	for (unsigned c = 1; c < cpu_count; c++)
		if (core_usable(c, allowed))
			return 1;
	return 0;
}

int sched_core_shared(unsigned core)
{
	return core < MAX_CPUS && score[core].placed > 0;
}

/* How crowded core c would be for v: weight placed there, and v's siblings first of all. */
static uint64_t core_load(unsigned c, const struct vcpu *v)
{
	uint64_t load = score[c].placed_weight;
	for (unsigned i = 0; i < v->vm->nvcpus; i++)
		if (v->vm->vcpu[i] != v && v->vm->vcpu[i]->core == c)
			load += 1ull << 32;
	return load;
}

int sched_place(struct vcpu *v, uint64_t allowed)
{
	unsigned best = 0;
	for (unsigned c = 1; c < cpu_count; c++)
		if (core_usable(c, allowed) && (!best || core_load(c, v) < core_load(best, v)))
			best = c;
	if (!best)
		return -EBUSY;
	v->core = best;
	v->shared = 1;
	score[best].placed++;
	score[best].placed_weight += v->vm->def.weight;
	return 0;
}

void sched_unplace(struct vcpu *v)
{
	if (!v->shared || !v->core)
		return;
	score[v->core].placed--;
	score[v->core].placed_weight -= v->vm->def.weight;
	v->core = 0;
}

/*
 * Service core: vm's weight becomes w (1-10000) at once, also while it
 * runs: the weight placed on its vCPUs' cores, and the weight each vCPU's
 * pass advances by from its next charge (within a slice; the pass it has
 * keeps what it ran under the old weight, as with credit2's live weights).
 */
void sched_vm_set_weight(struct vm *vm, uint16_t w)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (v->shared && v->core)
			score[v->core].placed_weight += (uint64_t)w - vm->def.weight;
		__atomic_store_n(&v->se.weight, w, __ATOMIC_RELAXED); /* its core reads it */
	}
	vm->def.weight = w;
}

/* ---- on the core: switching and reaping ---- */

/* The core stops holding cur's state; `gone`: cur leaves the core for good. */
static void switch_out(struct sched_core *sc, int gone)
{
	struct vcpu *v = sc->cur;
	if (!v)
		return;
	lapic_timer_stop();
	v->armed_deadline = 0;
	vcpu_dr_leave(v);
	vcpu_fpu_leave(v);
	spec_vcpu_leave(v);
	if (gone && backend->vcpu_unload)
		backend->vcpu_unload(v);
	sc->cur = 0;
}

/*
 * The core changes hands: the leaving vCPU's x87/SSE/AVX state is saved
 * and cleared, its DR0-DR3 and DR6 too, SPEC_CTRL read back (vcpu_fpu.c,
 * vcpu_dr.c, spec.c); then the arriving one's back-end state, IBPB if it
 * is another guest, its SPEC_CTRL, FPU state and debug registers, as on a dedicated core's first entry.
 */
static void switch_to(struct sched_core *sc, struct vcpu *v)
{
	if (sc->cur == v)
		return;
	switch_out(sc, 0);
	if (backend->vcpu_switch_in)
		backend->vcpu_switch_in(v);
	spec_vcpu_arrive(v);
	vcpu_fpu_arrive(v);
	vcpu_dr_arrive(v);
	sc->cur = v;
	if (sc->left_tsc) {
		sc->switches++;
		sc->switch_tsc += rdtsc() - sc->left_tsc;
	}
}

/* Finishes a vCPU whose guest stops: off the core for good, then v->running = 0. */
static void retire_here(struct sched_core *sc, struct vcpu *v, uint64_t now)
{
	if (sc->cur == v)
		switch_out(sc, 1);
	else if (backend->vcpu_unload)
		backend->vcpu_unload(v);
	sched_ent_enter(&v->se, SCHED_STOPPED, now);
	__atomic_store_n(&v->running, 0, __ATOMIC_RELEASE); /* the service core may free it now */
}

/* Under the lock: removes stopped vCPUs from the queue into gone[]. */
static unsigned reap(struct sched_core *sc, struct vcpu **gone)
{
	unsigned ng = 0, k = 0;
	for (unsigned i = 0; i < sc->n; i++) {
		if (sc->q[i]->vm->stop_request)
			gone[ng++] = sc->q[i];
		else
			sc->q[k++] = sc->q[i];
	}
	sc->n = k;
	if (ng)
		sc->last = -1;
	return ng;
}

/* Halted vCPUs with something to take become ready. Interrupts off. */
static void wake_blocked(struct sched_core *sc, uint64_t now)
{
	for (unsigned i = 0; i < sc->n; i++) {
		struct vcpu *o = sc->q[i];
		if (o->se.state == SCHED_BLOCKED && vcpu_can_wake(o))
			sched_wake(&o->se, sc->vtime, slice_us, now);
	}
}

/*
 * Interrupts off: retires stopped vCPUs, wakes halted ones, and returns
 * the one to run, or 0 when none is ready. *empty when the queue is
 * empty: the core is no longer shared-active and the loop must end.
 */
static struct vcpu *pick_next(struct sched_core *sc, int *empty)
{
	struct vcpu *gone[SCHED_PER_CORE], *v = 0;
	struct sched_ent *ents[SCHED_PER_CORE];
	uint64_t now = time_us();
	spin_lock(&sc->lock);
	unsigned ng = reap(sc, gone);
	*empty = sc->n == 0;
	if (*empty)
		sc->active = 0;
	wake_blocked(sc, now);
	for (unsigned i = 0; i < sc->n; i++)
		ents[i] = &sc->q[i]->se;
	int i = sched_pick(ents, sc->n, sc->last);
	if (i >= 0) {
		v = sc->q[i];
		sc->last = i;
	}
	spin_unlock(&sc->lock);
	for (unsigned k = 0; k < ng; k++)
		retire_here(sc, gone[k], now);
	return v;
}

/* Is another vCPU than v ready (after waking those with something to take)? */
static int others_ready(struct sched_core *sc, const struct vcpu *v, uint64_t now)
{
	int any = 0;
	irq_disable();
	wake_blocked(sc, now);
	for (unsigned i = 0; i < sc->n; i++)
		any |= sc->q[i] != v && sc->q[i]->se.state == SCHED_READY;
	irq_enable();
	return any;
}

/* Has a ready vCPU run less for its weight than v, counting v's turn so far? */
static int woken_preempts(struct sched_core *sc, const struct vcpu *v, uint64_t ran_us)
{
	struct sched_ent cur = v->se;
	sched_charge(&cur, ran_us);
	int yes = 0;
	irq_disable();
	wake_blocked(sc, time_us());
	for (unsigned i = 0; i < sc->n && !yes; i++)
		yes = sc->q[i] != v && sched_preempts(&sc->q[i]->se, &cur);
	irq_enable();
	return yes;
}

/*
 * v ran alone since its last entry: nobody else wanted the core, so the
 * core's virtual time moves with v's pass (stride scheduling's global
 * pass, whose clients are the ready ones), and a vCPU queued since then
 * (a guest that started) starts level with v instead of being owed all
 * the time v ran alone, which v would pay back by waiting as long.
 * Before anything is woken: a vCPU woken now gets the new virtual time.
 */
static void follow_alone(struct sched_core *sc, struct vcpu *v, uint64_t now)
{
	sched_charge(&v->se, now - sc->paid_us);
	sc->paid_us = now;
	if (v->se.pass > sc->vtime)
		sc->vtime = v->se.pass;
	for (unsigned i = 0; i < sc->n; i++) {
		struct sched_ent *e = &sc->q[i]->se;
		if (sc->q[i] != v && e->state == SCHED_READY && e->pass < sc->vtime)
			e->pass = sc->vtime;
	}
}

/* After each exit: should v give the core up now? */
static int should_yield(struct sched_core *sc, struct vcpu *v, uint64_t t0)
{
	uint64_t tsc = rdtsc(), now = time_us();
	if (sc->alone)
		follow_alone(sc, v, now);
	if (tsc >= sc->slice_end) {
		if (others_ready(sc, v, now))
			return 1;
		sc->slice_end = tsc + us_to_tsc(slice_us); /* alone: a new slice */
		return 0;
	}
	return now - t0 >= SCHED_WAKE_MIN_US && woken_preempts(sc, v, now - sc->paid_us);
}

/* Runs turns of v until it blocks, its guest stops, or it yields; charges it. */
static void run_turns(struct sched_core *sc, struct vcpu *v)
{
	switch_to(sc, v);
	uint64_t t0 = time_us();
	enum sched_state next = SCHED_READY;
	if (v->se.pass > sc->vtime)
		sc->vtime = v->se.pass;
	sched_ent_enter(&v->se, SCHED_RUNNING, t0);
	sc->paid_us = t0;
	sc->alone = 0;
	sc->slice_end = rdtsc() + us_to_tsc(slice_us);
	sc->wake_ok = rdtsc() + us_to_tsc(SCHED_WAKE_MIN_US);
	for (;;) {
		enum vcpu_turn t = vcpu_run_once(v);
		if (t == VCPU_STOPPED || v->vm->stop_request)
			break;
		if (t != VCPU_GO_ON) {
			irq_disable();
			int wake = vcpu_can_wake(v);
			irq_enable();
			if (!wake) {
				next = SCHED_BLOCKED;
				break;
			}
			continue;
		}
		if (should_yield(sc, v, t0))
			break;
	}
	uint64_t now = time_us();
	sched_charge(&v->se, now - sc->paid_us);
	sched_ent_enter(&v->se, next, now);
	sc->left_tsc = rdtsc();
}

/* Interrupts off, nothing ready: halt until the earliest guest timer on the core or a kick. */
static void core_idle(struct sched_core *sc)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < sc->n; i++) {
		uint64_t t = sc->q[i]->lapic.deadline;
		if (t && (!d || t < d))
			d = t;
	}
	if (sc->cur)
		sc->cur->armed_deadline = 0; /* the LAPIC timer is the core's now */
	uint64_t now = rdtsc();
	if (d)
		lapic_timer_arm(d > now ? d - now : 1);
	else
		lapic_timer_stop();
	sc->left_tsc = 0;
	if (!this_cpu()->work)
		__asm__ volatile("sti; hlt" ::: "memory");
	irq_enable();
}

/* Work the service core left in the mailbox (smp_run_on), as the parking loop would run it. */
static void run_mailbox(void)
{
	struct percpu *c = this_cpu();
	irq_disable();
	void (*fn)(void *) = c->work;
	void *arg = c->work_arg;
	if (fn)
		c->work = 0;
	irq_enable();
	if (fn)
		fn(arg);
}

/* The body of a shared core (smp_run_on): until its run queue is empty. */
static void sched_core_loop(void *arg)
{
	struct sched_core *sc = arg;
	int empty = 0, err = backend->cpu_enable();
	sc->last = -1;
	while (!empty) {
		run_mailbox();
		irq_disable();
		struct vcpu *v = pick_next(sc, &empty);
		if (err && v) {
			irq_enable();
			vcpu_fail(v, &v->last_exit, "cannot enable virtualization on core %u (%d)",
				  v->core, err);
			continue;
		}
		if (v) {
			irq_enable();
			run_turns(sc, v);
		} else if (!empty) {
			core_idle(sc);
		} else {
			irq_enable();
		}
	}
	lapic_timer_stop();
}

void sched_launch(struct vcpu *v)
{
	struct sched_core *sc = &score[v->core];
	spin_lock(&sc->lock);
	sched_ent_init(&v->se, v->vm->def.weight, sc->vtime, time_us());
	sc->q[sc->n] = v;
	__atomic_store_n(&sc->n, sc->n + 1, __ATOMIC_RELEASE);
	int start = !sc->active;
	sc->active = 1;
	spin_unlock(&sc->lock);
	if (!start) {
		smp_kick(v->core); /* the core looks at its queue at the next exit */
		return;
	}
	/* The mailbox may still hold the core's last work (a VMCLEAR): it is taken at once. */
	for (uint64_t t0 = time_us(); smp_run_on(v->core, sched_core_loop, sc);)
		if (time_us() - t0 > 1000000)
			hv_panic("shared core %u would not take its run queue", v->core);
}

static uint64_t earlier(uint64_t d, uint64_t t)
{
	return !d || t < d ? t : d;
}

/*
 * A halted vCPU on the core that has something to take (an IPI, an
 * interrupt) makes the running one exit once it may be preempted
 * (wake_ok), where should_yield() weighs the two; one that waits for its
 * timer, when that is due (but not before wake_ok either).
 */
uint64_t sched_timer_deadline(struct vcpu *v, uint64_t d)
{
	struct sched_core *sc = &score[v->core];
	uint64_t now = rdtsc(), soon = sc->wake_ok > now ? sc->wake_ok : now + 1;
	int alone = 1;
	for (unsigned i = 0; i < sc->n; i++) {
		struct vcpu *o = sc->q[i];
		if (o == v)
			continue;
		if (o->se.state == SCHED_BLOCKED) {
			if (vcpu_can_wake(o))
				d = earlier(d, soon);
			else if (o->lapic.deadline)
				d = earlier(d, o->lapic.deadline > sc->wake_ok ? o->lapic.deadline :
						 sc->wake_ok);
		} else if (o->se.state == SCHED_READY) {
			alone = 0;
		}
	}
	/* Alone on the core, it keeps running: another's arrival or wake-up kicks it out. */
	sc->alone = alone;
	uint64_t end = alone ? 0 : sc->slice_end;
	uint64_t left = end ? (end > now ? end - now : 1) : 0;
	if (backend->preempt_arm && !backend->preempt_arm(v, left))
		return d;
	return end && (!d || end < d) ? end : d;
}

/* ---- accounting and `host` ---- */

uint64_t sched_vcpu_us(const struct vcpu *v, enum sched_state s)
{
	return sched_ent_time(&v->se, s, time_us());
}

uint64_t sched_vm_us(const struct vm *vm, enum sched_state s)
{
	uint64_t t = vm->cpu_us[s];
	if (vm->state == VM_RUNNING)
		for (unsigned i = 0; i < vm->nvcpus; i++)
			t += sched_vcpu_us(vm->vcpu[i], s);
	return t;
}

void sched_vcpu_retire(struct vcpu *v)
{
	for (unsigned s = 0; s < SCHED_STOPPED; s++)
		v->vm->cpu_us[s] += v->se.us[s];
}

void sched_core_info(unsigned core, struct sched_core_info *out)
{
	*out = (struct sched_core_info){ 0 };
	if (core >= MAX_CPUS)
		return;
	struct sched_core *sc = &score[core];
	out->shared = sc->placed > 0;
	out->placed = sc->placed;
	out->nvcpus = sc->n;
	out->switches = sc->switches;
	out->switch_ns = sc->switches && tsc_khz ?
			 sc->switch_tsc * 1000000 / tsc_khz / sc->switches : 0;
	for (unsigned i = 0; i < out->nvcpus && i < SCHED_PER_CORE; i++)
		out->vcpu[i] = sc->q[i];
}
