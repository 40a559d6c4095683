/*
 * vmm/sched_policy.c - stride scheduling for shared guest cores, and the
 * accounting of run, wait and halted time (see sched_policy.h for the
 * policy and why). Portable: no hardware here; vmm/sched.c applies it on
 * a core and tests/unit/test_sched.c checks the shares it gives.
 */
#include "vmm/sched_policy.h"

void sched_ent_init(struct sched_ent *e, uint32_t weight, uint64_t vtime, uint64_t now)
{
	*e = (struct sched_ent){ 0 };
	e->weight = weight < SCHED_WEIGHT_MIN ? SCHED_WEIGHT_MIN :
		    weight > SCHED_WEIGHT_MAX ? SCHED_WEIGHT_MAX : weight;
	e->state = SCHED_READY;
	e->pass = vtime;
	e->since_us = now;
}

void sched_ent_enter(struct sched_ent *e, enum sched_state s, uint64_t now)
{
	if (now > e->since_us) { /* a stretch that went backwards adds nothing */
		e->us[e->state] += now - e->since_us;
		e->since_us = now;
	}
	e->state = s;
}

void sched_charge(struct sched_ent *e, uint64_t ran_us)
{
	e->pass += ran_us * SCHED_PASS_SCALE / e->weight;
}

void sched_wake(struct sched_ent *e, uint64_t vtime, uint64_t slice_us, uint64_t now)
{
	uint64_t bonus = slice_us / 2 * SCHED_PASS_SCALE / e->weight;
	uint64_t floor = vtime > bonus ? vtime - bonus : 0;
	if (e->pass < floor)
		e->pass = floor;
	sched_ent_enter(e, SCHED_READY, now);
}

int sched_pick(struct sched_ent *const *e, unsigned n, int last)
{
	int best = -1;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (unsigned)(last + 1 + (int)k) % n;
		if (e[i]->state != SCHED_READY && e[i]->state != SCHED_RUNNING)
			continue;
		if (best < 0 || e[i]->pass < e[best]->pass)
			best = (int)i;
	}
	return best;
}

int sched_preempts(const struct sched_ent *w, const struct sched_ent *cur)
{
	return w->state == SCHED_READY && w->pass < cur->pass;
}

uint64_t sched_ent_time(const struct sched_ent *e, enum sched_state s, uint64_t now)
{
	uint64_t t = e->us[s];
	if (e->state == s && now > e->since_us)
		t += now - e->since_us;
	return t;
}
