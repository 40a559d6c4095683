/*
 * mgmt/console/login_limit.c - failed-login pacing per source address and
 * per account. Portable; see login_limit.h for the rules.
 */
#include "mgmt/console/login_limit.h"

#include "vmm/core/lib/string.h"

#define SECOND_US 1000000ull

/* 1 s << (n - 1), capped; 0 for n = 0. */
static uint64_t doubling(uint32_t n, uint64_t cap)
{
	if (!n)
		return 0;
	if (n > 32)
		return cap;
	uint64_t d = SECOND_US << (n - 1);
	return d < cap ? d : cap;
}

uint64_t login_limit_addr_delay(uint32_t fails)
{
	return doubling(fails, LIMIT_ADDR_MAX_US);
}

uint64_t login_limit_account_delay(uint32_t fails)
{
	return fails > LIMIT_ACCOUNT_FREE ? doubling(fails - LIMIT_ACCOUNT_FREE, LIMIT_ACCOUNT_MAX_US)
					  : 0;
}

/* An entry still counts while it has failures that are not yet forgotten. */
static int live(const struct limit_entry *e, uint64_t now)
{
	return e->fails && now - e->last < LIMIT_FORGET_US;
}

/* Whether `e` should make room before `best`: dead entries first, then the oldest. */
static int sooner(const struct limit_entry *e, const struct limit_entry *best, uint64_t now)
{
	if (!live(best, now))
		return 0;
	return !live(e, now) || e->last < best->last;
}

static struct limit_entry *new_addr(struct login_limit *l, uint32_t addr, uint64_t now)
{
	unsigned v = 0;
	for (unsigned i = 1; i < LIMIT_ADDRS; i++)
		if (sooner(&l->addrs[i].e, &l->addrs[v].e, now))
			v = i;
	l->addrs[v].addr = addr;
	l->addrs[v].e = (struct limit_entry){ 0, 0, 0 };
	return &l->addrs[v].e;
}

static struct limit_entry *new_account(struct login_limit *l, const char *name, uint64_t now)
{
	unsigned v = 0;
	for (unsigned i = 1; i < LIMIT_ACCOUNTS; i++)
		if (sooner(&l->accounts[i].e, &l->accounts[v].e, now))
			v = i;
	size_t n = strlen(name) < LIMIT_NAME_MAX ? strlen(name) : LIMIT_NAME_MAX;
	memset(l->accounts[v].name, 0, sizeof(l->accounts[v].name));
	memcpy(l->accounts[v].name, name, n);
	l->accounts[v].e = (struct limit_entry){ 0, 0, 0 };
	return &l->accounts[v].e;
}

/* The live entry of an address or an account, or -1. */
static int find_addr(const struct login_limit *l, uint32_t addr, uint64_t now)
{
	for (int i = 0; i < LIMIT_ADDRS; i++)
		if (l->addrs[i].addr == addr && live(&l->addrs[i].e, now))
			return i;
	return -1;
}

static int find_account(const struct login_limit *l, const char *name, uint64_t now)
{
	for (int i = 0; i < LIMIT_ACCOUNTS; i++)
		if (!strncmp(l->accounts[i].name, name, LIMIT_NAME_MAX) &&
		    live(&l->accounts[i].e, now))
			return i;
	return -1;
}

static uint64_t until(const struct limit_entry *e, uint64_t now)
{
	return e->next_ok > now ? e->next_ok - now : 0;
}

uint64_t login_limit_wait(const struct login_limit *l, uint32_t addr, const char *account,
			  uint64_t now)
{
	int i = find_addr(l, addr, now), k = find_account(l, account, now);
	uint64_t a = i < 0 ? 0 : until(&l->addrs[i].e, now);
	uint64_t b = k < 0 ? 0 : until(&l->accounts[k].e, now);
	return a > b ? a : b;
}

static void count(struct limit_entry *e, uint64_t delay, uint64_t now)
{
	e->last = now;
	e->next_ok = now + delay;
}

uint32_t login_limit_attempt(struct login_limit *l, uint32_t addr, const char *account,
			     uint64_t now)
{
	int i = find_addr(l, addr, now), k = find_account(l, account, now);
	struct limit_entry *a = i < 0 ? new_addr(l, addr, now) : &l->addrs[i].e;
	struct limit_entry *u = k < 0 ? new_account(l, account, now) : &l->accounts[k].e;
	if (a->fails < UINT32_MAX)
		a->fails++;
	if (u->fails < UINT32_MAX)
		u->fails++;
	count(a, login_limit_addr_delay(a->fails), now);
	count(u, login_limit_account_delay(u->fails), now);
	return a->fails;
}

void login_limit_succeeded(struct login_limit *l, uint32_t addr, const char *account)
{
	for (unsigned i = 0; i < LIMIT_ADDRS; i++)
		if (l->addrs[i].addr == addr)
			l->addrs[i].e = (struct limit_entry){ 0, 0, 0 };
	for (unsigned i = 0; i < LIMIT_ACCOUNTS; i++)
		if (!strncmp(l->accounts[i].name, account, LIMIT_NAME_MAX))
			l->accounts[i].e = (struct limit_entry){ 0, 0, 0 };
}
