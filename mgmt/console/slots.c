/*
 * mgmt/console/slots.c - network console slot admission. Portable; see
 * slots.h for the rules.
 */
#include "mgmt/console/slots.h"

#include "vmm/core/lib/errno.h"

static unsigned count(const struct slot_view *v, unsigned n, enum slot_state st)
{
	unsigned c = 0;
	for (unsigned i = 0; i < n; i++)
		c += v[i].state == st;
	return c;
}

static unsigned logins_from(const struct slot_view *v, unsigned n, uint32_t addr)
{
	unsigned c = 0;
	for (unsigned i = 0; i < n; i++)
		c += v[i].state == SLOT_LOGIN && v[i].addr == addr;
	return c;
}

/* Silent clients go first, then those held after failures, then typing ones. */
static int rank(const struct slot_view *s)
{
	return !s->typed ? 0 : s->held ? 1 : 2;
}

/*
 * Whether login slot `a` should make room before login slot `b`, for a
 * newcomer from `addr` (who counts with its address's clients).
 */
static int before(const struct slot_view *v, unsigned n, uint32_t addr, unsigned a, unsigned b)
{
	unsigned ca = logins_from(v, n, v[a].addr) + (v[a].addr == addr);
	unsigned cb = logins_from(v, n, v[b].addr) + (v[b].addr == addr);
	if (ca != cb)
		return ca > cb;
	if (rank(&v[a]) != rank(&v[b]))
		return rank(&v[a]) < rank(&v[b]);
	return v[a].since < v[b].since;
}

static int pick_victim(const struct slot_view *v, unsigned n, uint32_t addr)
{
	int best = -1;
	for (unsigned i = 0; i < n; i++)
		if (v[i].state == SLOT_LOGIN && (best < 0 || before(v, n, addr, i, (unsigned)best)))
			best = (int)i;
	return best;
}

int slots_admit(const struct slot_view *v, unsigned n, const struct slot_limits *lim,
		uint32_t addr, int *evict)
{
	*evict = -1;
	if (count(v, n, SLOT_SHELL) >= lim->shells)
		return -ENOSPC;
	int free_slot = -1;
	for (unsigned i = 0; i < n && free_slot < 0; i++)
		if (v[i].state == SLOT_FREE)
			free_slot = (int)i;
	if (free_slot < 0)
		return -EBUSY;
	if (count(v, n, SLOT_LOGIN) >= lim->logins)
		*evict = pick_victim(v, n, addr);
	return free_slot;
}

int slots_open_shell(const struct slot_view *v, unsigned n, const struct slot_limits *lim,
		     int admin)
{
	unsigned shells = count(v, n, SLOT_SHELL);
	if (shells >= lim->shells)
		return -ENOSPC;
	if (!admin && shells + lim->reserved >= lim->shells)
		return -EPERM;
	return 0;
}
