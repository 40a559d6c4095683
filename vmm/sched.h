/*
 * vmm/sched.h - shared guest cores: vCPUs that take turns on a core, in
 * proportion to their weights (vmm/sched.c; the policy is
 * vmm/sched_policy.c).
 *
 * A guest with `sched=dedicated` (the default) has a core per vCPU that
 * nobody else uses (vmm/vm.c). A guest with `sched=shared` has each vCPU
 * placed on a guest core that no dedicated guest holds (the least loaded
 * of those its `cores=` allows); such a core is shared until its last
 * vCPU leaves, and runs sched_core_loop() instead of a single vCPU.
 */
#ifndef HAKO_SCHED_H
#define HAKO_SCHED_H

#include <stdint.h>

#include "vmm/sched_policy.h"

struct vcpu;
struct vm;

#define SCHED_SLICE_DEFAULT_US 10000
#define SCHED_SLICE_MIN_MS 1
#define SCHED_SLICE_MAX_MS 1000
#define SCHED_PER_CORE 64          /* vCPUs one shared core takes */

/* hako.cfg `timeslice=` (milliseconds, checked by mgmt/cfg.c). Boot. */
void sched_set_slice_ms(unsigned ms);
unsigned sched_slice_ms(void);

/*
 * Service core, at `start`: picks v->core for a shared vCPU among the
 * guest cores in `allowed` (0: any) that no dedicated vCPU holds: the
 * one with the least weight placed on it, preferring cores without
 * another vCPU of the same guest. 0, or -EBUSY when there is none.
 */
int sched_place(struct vcpu *v, uint64_t allowed);
/* Service core: v (placed) no longer counts on its core. */
void sched_unplace(struct vcpu *v);
/* Service core: vm->def.weight becomes w, at once for its vCPUs that run (sched.c). */
void sched_vm_set_weight(struct vm *vm, uint16_t w);
/* Can a shared guest with `cores=allowed` be placed at all? */
int sched_can_place(uint64_t allowed);
/* Does any shared vCPU have `core`? Then no dedicated guest may take it. */
int sched_core_shared(unsigned core);

/*
 * Service core: v (placed, v->running set) joins its core's run queue;
 * the core starts scheduling if it was idle. It leaves the queue by
 * itself when its guest stops (vm->stop_request + a kick), clearing
 * v->running last, as a dedicated vCPU does.
 */
void sched_launch(struct vcpu *v);

/*
 * vmm/vcpu.c, on a shared vCPU's core with interrupts off, before entry:
 * the TSC deadline for the core's LAPIC timer given the guest's own `d`
 * (0: none): the earliest timer of the core's halted vCPUs, and the end
 * of v's slice unless the back end's preemption timer ends it.
 */
uint64_t sched_timer_deadline(struct vcpu *v, uint64_t d);

/* CPU time of a guest in state s (run, wait, halted), live vCPUs and past ones. */
uint64_t sched_vm_us(const struct vm *vm, enum sched_state s);
/* A vCPU's, now. */
uint64_t sched_vcpu_us(const struct vcpu *v, enum sched_state s);
/* Guest teardown (service core): v's accounting goes into its guest's totals. */
void sched_vcpu_retire(struct vcpu *v);

/* What `host` shows of one core. */
struct sched_core_info {
	int shared;
	unsigned nvcpus;           /* on its run queue */
	unsigned placed;           /* given this core (some still starting) */
	uint64_t switches;         /* from one vCPU to another */
	uint64_t switch_ns;        /* their average cost: exit of one to entry of the next */
	const struct vcpu *vcpu[SCHED_PER_CORE];
};
void sched_core_info(unsigned core, struct sched_core_info *out);

#endif
