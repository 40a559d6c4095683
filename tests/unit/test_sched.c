/*
 * tests/unit/test_sched.c - the stride policy of shared guest cores
 * (vmm/sched_policy.c), driven the way vmm/sched.c drives it on a core:
 * pick, run a slice (or less when the vCPU halts), charge, repeat. The
 * shares it gives, its fairness to sleepers, and its accounting.
 */
#include <stdint.h>

#include "tests/unit/check.h"
#include "vmm/sched_policy.h"

#define SLICE 10000 /* us */

/* Runs `n` always-busy entities for `us` of simulated time; returns the clock. */
static uint64_t simulate(struct sched_ent **e, unsigned n, uint64_t us, uint64_t now)
{
	int last = -1;
	for (uint64_t end = now + us; now < end;) {
		int i = sched_pick(e, n, last);
		if (i < 0)
			break;
		sched_ent_enter(e[i], SCHED_RUNNING, now);
		now += SLICE;
		sched_charge(e[i], SLICE);
		sched_ent_enter(e[i], SCHED_READY, now);
		last = i;
	}
	return now;
}

static void test_equal_weights_share_equally(void)
{
	struct sched_ent a[3], *e[3] = { &a[0], &a[1], &a[2] };
	for (int i = 0; i < 3; i++)
		sched_ent_init(&a[i], 100, 0, 0);
	uint64_t now = simulate(e, 3, 3000000, 0);
	for (int i = 0; i < 3; i++) {
		uint64_t run = sched_ent_time(&a[i], SCHED_RUNNING, now);
		CHECK(run >= 1000000 - SLICE && run <= 1000000 + SLICE);
		CHECK_EQ(run + sched_ent_time(&a[i], SCHED_READY, now), now);
	}
}

static void test_weights_give_proportional_shares(void)
{
	struct sched_ent a[2], *e[2] = { &a[0], &a[1] };
	sched_ent_init(&a[0], 200, 0, 0);
	sched_ent_init(&a[1], 100, 0, 0);
	uint64_t now = simulate(e, 2, 3000000, 0);
	uint64_t r0 = sched_ent_time(&a[0], SCHED_RUNNING, now);
	uint64_t r1 = sched_ent_time(&a[1], SCHED_RUNNING, now);
	CHECK(r0 * 100 >= r1 * 195 && r0 * 100 <= r1 * 205);
	/* the extremes of the range */
	sched_ent_init(&a[0], SCHED_WEIGHT_MAX, 0, 0);
	sched_ent_init(&a[1], SCHED_WEIGHT_MIN, 0, 0);
	now = simulate(e, 2, 100000000, 0);
	r1 = sched_ent_time(&a[1], SCHED_RUNNING, now);
	CHECK(r1 >= SLICE && r1 <= 2 * SLICE); /* 1/10001 of 100 s: about one slice */
}

static void test_weights_are_clamped(void)
{
	struct sched_ent a;
	sched_ent_init(&a, 0, 0, 0);
	CHECK_EQ(a.weight, SCHED_WEIGHT_MIN);
	sched_ent_init(&a, 1u << 31, 0, 0);
	CHECK_EQ(a.weight, SCHED_WEIGHT_MAX);
}

static void test_sleeper_banks_no_credit(void)
{
	struct sched_ent a[2], *e[2] = { &a[0], &a[1] };
	sched_ent_init(&a[0], 100, 0, 0);
	sched_ent_init(&a[1], 100, 0, 0);
	/* b sleeps for 10 s while a runs alone */
	sched_ent_enter(&a[1], SCHED_BLOCKED, 0);
	uint64_t now = simulate(e, 2, 10000000, 0);
	CHECK_EQ(sched_ent_time(&a[0], SCHED_RUNNING, now), 10000000);
	CHECK_EQ(sched_ent_time(&a[1], SCHED_BLOCKED, now), 10000000);
	sched_wake(&a[1], a[0].pass, SLICE, now);
	/* b gets half a slice of lead, then they alternate: not 10 s of b alone */
	CHECK(sched_preempts(&a[1], &a[0]));
	uint64_t t0 = sched_ent_time(&a[0], SCHED_RUNNING, now);
	now = simulate(e, 2, 1000000, now);
	uint64_t ran = sched_ent_time(&a[0], SCHED_RUNNING, now) - t0;
	CHECK(ran >= 500000 - 2 * SLICE && ran <= 500000 + 2 * SLICE);
}

static void test_pick_skips_blocked_and_round_robins(void)
{
	struct sched_ent a[3], *e[3] = { &a[0], &a[1], &a[2] };
	for (int i = 0; i < 3; i++)
		sched_ent_init(&a[i], 100, 7, 0);
	CHECK_EQ(sched_pick(e, 3, -1), 0);
	CHECK_EQ(sched_pick(e, 3, 0), 1);
	CHECK_EQ(sched_pick(e, 3, 2), 0);
	sched_ent_enter(&a[0], SCHED_BLOCKED, 5);
	CHECK_EQ(sched_pick(e, 3, 2), 1);
	sched_ent_enter(&a[1], SCHED_BLOCKED, 5);
	sched_ent_enter(&a[2], SCHED_BLOCKED, 5);
	CHECK_EQ(sched_pick(e, 3, -1), -1);
	CHECK_EQ(sched_pick(e, 0, -1), -1);
}

static void test_accounting_adds_up(void)
{
	struct sched_ent a;
	sched_ent_init(&a, 100, 0, 1000);
	sched_ent_enter(&a, SCHED_RUNNING, 1500);  /* waited 500 */
	sched_ent_enter(&a, SCHED_BLOCKED, 4500);  /* ran 3000 */
	sched_wake(&a, 0, SLICE, 5500);            /* halted 1000 */
	CHECK_EQ(sched_ent_time(&a, SCHED_READY, 6000), 1000);
	CHECK_EQ(sched_ent_time(&a, SCHED_RUNNING, 6000), 3000);
	CHECK_EQ(sched_ent_time(&a, SCHED_BLOCKED, 6000), 1000);
	sched_ent_enter(&a, SCHED_RUNNING, 5000); /* a clock that went back adds nothing */
	CHECK_EQ(sched_ent_time(&a, SCHED_READY, 5000), 500);
}

int main(void)
{
	RUN(test_equal_weights_share_equally);
	RUN(test_weights_give_proportional_shares);
	RUN(test_weights_are_clamped);
	RUN(test_sleeper_banks_no_credit);
	RUN(test_pick_skips_blocked_and_round_robins);
	RUN(test_accounting_adds_up);
	return check_done();
}
