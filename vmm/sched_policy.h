/*
 * vmm/sched_policy.h - the policy of a shared guest core: which of its
 * vCPUs runs next, and what each has had (portable; vmm/sched_policy.c).
 *
 * Stride scheduling (Waldspurger and Weihl, 1995) in its virtual-time
 * form: each vCPU has a weight and a pass; running for t advances its
 * pass by t / weight, and the ready vCPU with the smallest pass runs
 * next. Over any stretch of time the CPU each gets is proportional to its
 * weight, within one slice, without the periodic credit refills of Xen's
 * credit schedulers. A vCPU that slept does not bank its absence: on
 * waking its pass is raised to the core's virtual time less half a slice
 * (the little it keeps lets it preempt the running vCPU, so wake-ups are
 * served quickly, as credit2 and CFS do).
 */
#ifndef HAKO_SCHED_POLICY_H
#define HAKO_SCHED_POLICY_H

#include <stdint.h>

#define SCHED_WEIGHT_MIN 1
#define SCHED_WEIGHT_MAX 10000
#define SCHED_WEIGHT_DEFAULT 100
#define SCHED_PASS_SCALE (1ull << 20)   /* pass units per microsecond at weight 1 */

/* READY: waits for its core; BLOCKED: halted; STOPPED: off its core for good. */
enum sched_state { SCHED_READY, SCHED_RUNNING, SCHED_BLOCKED, SCHED_STOPPED, SCHED_STATE_COUNT };

/* One vCPU as the policy sees it; times in microseconds. */
struct sched_ent {
	uint32_t weight;
	enum sched_state state;
	uint64_t pass;
	uint64_t since_us;              /* when it entered `state` */
	uint64_t us[SCHED_STATE_COUNT]; /* time spent in each state: wait, run, halted */
};

/* A fresh entity: READY at `now` with the core's virtual time `vtime`. */
void sched_ent_init(struct sched_ent *e, uint32_t weight, uint64_t vtime, uint64_t now);
/* Accounts the time since the last change to the old state and enters `s`. */
void sched_ent_enter(struct sched_ent *e, enum sched_state s, uint64_t now);
/* After running for `ran_us`: advances its pass by ran_us / weight. */
void sched_charge(struct sched_ent *e, uint64_t ran_us);
/*
 * A BLOCKED entity becomes READY at `now`; its pass is raised to at least
 * vtime - half a slice of its own (`slice_us`).
 */
void sched_wake(struct sched_ent *e, uint64_t vtime, uint64_t slice_us, uint64_t now);
/*
 * The READY or RUNNING entity with the smallest pass, or -1. Ties go to
 * the first index after `last` (round robin among equals).
 */
int sched_pick(struct sched_ent *const *e, unsigned n, int last);
/* Should READY `w` take the core from RUNNING `cur` now (wake-up preemption)? */
int sched_preempts(const struct sched_ent *w, const struct sched_ent *cur);
/* Time the entity spent in state `s` up to `now`, the current stretch included. */
uint64_t sched_ent_time(const struct sched_ent *e, enum sched_state s, uint64_t now);

#endif
