/*
 * tests/unit/test_login_limit.c - mgmt/console/login_limit.c and slots.c:
 * failed logins are paced per address and per account, not per
 * connection, and clients that never log in cannot lock an administrator
 * out (issue 17 finding 9).
 */
#include <stdint.h>

#include "mgmt/console/login_limit.h"
#include "mgmt/console/slots.h"
#include "tests/unit/check.h"
#include "vmm/core/lib/errno.h"

#define S 1000000ull
#define A 0x0a000202u /* 10.0.2.2 */
#define B 0xc0000202u /* 192.0.2.2 */

static struct login_limit lim;

static void test_delays(void)
{
	CHECK_EQ(login_limit_addr_delay(0), 0);
	CHECK_EQ(login_limit_addr_delay(1), 1 * S);
	CHECK_EQ(login_limit_addr_delay(2), 2 * S);
	CHECK_EQ(login_limit_addr_delay(5), 16 * S);
	CHECK_EQ(login_limit_addr_delay(7), LIMIT_ADDR_MAX_US);
	CHECK_EQ(login_limit_addr_delay(UINT32_MAX), LIMIT_ADDR_MAX_US);
	CHECK_EQ(login_limit_account_delay(LIMIT_ACCOUNT_FREE), 0);
	CHECK_EQ(login_limit_account_delay(LIMIT_ACCOUNT_FREE + 1), 1 * S);
	CHECK_EQ(login_limit_account_delay(LIMIT_ACCOUNT_FREE + 3), 4 * S);
	CHECK_EQ(login_limit_account_delay(UINT32_MAX), LIMIT_ACCOUNT_MAX_US);
}

/* A guesser from one address: each new connection waits as long as the last. */
static void test_per_address(void)
{
	memset(&lim, 0, sizeof(lim));
	uint64_t now = 100 * S, total = 0;
	CHECK_EQ(login_limit_wait(&lim, A, "admin", now), 0);
	for (uint32_t k = 1; k <= 6; k++) {
		uint64_t w = login_limit_wait(&lim, A, "admin", now);
		total += w;
		now += w;
		CHECK_EQ(login_limit_attempt(&lim, A, "admin", now), k);
	}
	CHECK_EQ(total, (1 + 2 + 4 + 8 + 16) * S); /* six guesses take 31 s */
	CHECK_EQ(login_limit_wait(&lim, A, "admin", now), 32 * S);
	/* Another address is not slowed: the account has had only 6 failures. */
	CHECK_EQ(login_limit_wait(&lim, B, "admin", now), 0);
	/* Success from B forgets the account's failures, not A's. */
	login_limit_attempt(&lim, B, "admin", now);
	login_limit_succeeded(&lim, B, "admin");
	CHECK_EQ(login_limit_wait(&lim, B, "admin", now + 1), 0);
	CHECK_EQ(login_limit_wait(&lim, A, "other", now + 1), 32 * S - 1);
	/* Quiet for LIMIT_FORGET_US forgets A too. */
	CHECK_EQ(login_limit_wait(&lim, A, "admin", now + LIMIT_FORGET_US), 0);
	CHECK_EQ(login_limit_attempt(&lim, A, "admin", now + LIMIT_FORGET_US), 1);
}

/* Parallel connections: a check counts before its result, so they queue. */
static void test_parallel_checks_queue(void)
{
	memset(&lim, 0, sizeof(lim));
	uint64_t now = 5 * S;
	login_limit_attempt(&lim, A, "admin", now);
	CHECK_EQ(login_limit_wait(&lim, A, "admin", now), 1 * S);
	/* The right password, from the same address, waits too, then clears it. */
	now += 1 * S;
	login_limit_attempt(&lim, A, "admin", now);
	login_limit_succeeded(&lim, A, "admin");
	CHECK_EQ(login_limit_wait(&lim, A, "admin", now), 0);
}

/* Many addresses against one account: it slows after LIMIT_ACCOUNT_FREE. */
static void test_per_account(void)
{
	memset(&lim, 0, sizeof(lim));
	uint64_t now = 7 * S;
	for (uint32_t k = 0; k < LIMIT_ACCOUNT_FREE; k++)
		login_limit_attempt(&lim, 0x01000000u + k, "admin", now);
	CHECK_EQ(login_limit_wait(&lim, 0x02000000u, "admin", now), 0);
	login_limit_attempt(&lim, 0x01000100u, "admin", now);
	CHECK_EQ(login_limit_wait(&lim, 0x02000000u, "admin", now), 1 * S);
	CHECK_EQ(login_limit_wait(&lim, 0x02000000u, "ops", now), 0);
	/* Account names are compared in full, and "" (unknown names) is one of them. */
	CHECK_EQ(login_limit_wait(&lim, 0x02000000u, "admi", now), 0);
	for (uint32_t k = 0; k <= LIMIT_ACCOUNT_FREE; k++)
		login_limit_attempt(&lim, 0x03000000u + k, "", now);
	CHECK_EQ(login_limit_wait(&lim, 0x02000000u, "", now), 1 * S);
}

/* Full tables make room with the least recent entry, never crash. */
static void test_tables_full(void)
{
	memset(&lim, 0, sizeof(lim));
	uint64_t now = 1 * S;
	login_limit_attempt(&lim, A, "admin", now);
	for (uint32_t k = 0; k < 200; k++)
		login_limit_attempt(&lim, 0x05000000u + k, "x", now + 1 + k);
	CHECK_EQ(login_limit_wait(&lim, A, "admin", now), 0); /* A made room */
	char name[64];
	for (uint32_t k = 0; k < 100; k++) {
		snprintf(name, sizeof(name), "user%u-with-a-rather-long-name-over-32", k);
		login_limit_attempt(&lim, B, name, now + 300 + k);
	}
	CHECK_EQ(login_limit_attempt(&lim, B, "user0", now + 500), 101);
}

/* ---- slots ---- */

static const struct slot_limits limits = { 4, 1, 4 };

static void test_idle_clients_make_room(void)
{
	struct slot_view v[10] = { 0 };
	int evict;
	/* Four clients that said nothing fill the login slots... */
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(slots_admit(v, 10, &limits, A, &evict), i);
		CHECK_EQ(evict, -1);
		v[i] = (struct slot_view){ SLOT_LOGIN, A, 0, 0, 0, 10 + (uint64_t)i };
	}
	/* ...the next one takes the place of the oldest of them. */
	CHECK_EQ(slots_admit(v, 10, &limits, A, &evict), 4);
	CHECK_EQ(evict, 0);
	/* One that typed stays; silent ones go first, then those held after failures. */
	v[0].typed = 1;
	v[1].typed = 1, v[1].held = 1;
	slots_admit(v, 10, &limits, A, &evict);
	CHECK_EQ(evict, 2);
	v[2].typed = v[3].typed = 1;
	slots_admit(v, 10, &limits, A, &evict);
	CHECK_EQ(evict, 1);
	/* The address holding the most login slots gives one up first. */
	v[0].addr = B;
	v[1].addr = B;
	slots_admit(v, 10, &limits, A, &evict); /* A: 2 + the newcomer, B: 2 */
	CHECK_EQ(evict, 2);
	slots_admit(v, 10, &limits, B, &evict);
	CHECK_EQ(evict, 1);
}

static void test_shell_slots_and_reserve(void)
{
	struct slot_view v[10] = { 0 };
	int evict;
	for (int i = 0; i < 3; i++)
		v[i] = (struct slot_view){ SLOT_SHELL, A, 0, 0, 0, 0 };
	/* The last shell slot is an administrator's. */
	CHECK_EQ(slots_open_shell(v, 10, &limits, 0), -EPERM);
	CHECK_EQ(slots_open_shell(v, 10, &limits, 1), 0);
	CHECK_EQ(slots_admit(v, 10, &limits, A, &evict), 3);
	v[3] = (struct slot_view){ SLOT_SHELL, A, 1, 0, 0, 0 };
	/* All four used: nobody could log in, so a newcomer is refused at once. */
	CHECK_EQ(slots_admit(v, 10, &limits, A, &evict), -ENOSPC);
	CHECK_EQ(slots_open_shell(v, 10, &limits, 1), -ENOSPC);
	/* Ending sessions count for nothing but are not free either. */
	v[0].state = SLOT_GOING;
	for (int i = 4; i < 10; i++)
		v[i].state = SLOT_GOING;
	CHECK_EQ(slots_admit(v, 10, &limits, A, &evict), -EBUSY);
	v[9].state = SLOT_FREE;
	CHECK_EQ(slots_admit(v, 10, &limits, A, &evict), 9);
	CHECK_EQ(evict, -1);
	CHECK_EQ(slots_open_shell(v, 10, &limits, 1), 0);
}

int main(void)
{
	RUN(test_delays);
	RUN(test_per_address);
	RUN(test_parallel_checks_queue);
	RUN(test_per_account);
	RUN(test_tables_full);
	RUN(test_idle_clients_make_room);
	RUN(test_shell_slots_and_reserve);
	return check_done();
}
