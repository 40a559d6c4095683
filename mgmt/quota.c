/*
 * mgmt/quota.c - users' limits and their use (see quota.h). A guest
 * counts for its owner (vm_def.owner); running means its cores and
 * memory are taken (running or starting).
 */
#include "mgmt/quota.h"

#include "mgmt/cfg.h"
#include "vmm/blk/cow_pool.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

/* Without quota_* in hako.cfg. */
#define QUOTA_CPUS 2
#define QUOTA_MEM (1ull << 30)
#define QUOTA_GUESTS 4
#define QUOTA_POOL (4ull << 30)

static uint64_t cfg_limit(const char *key, int size, uint64_t dflt)
{
	const char *v = cfg_get(&hako_cfg, key);
	uint64_t n;
	if (!v || (size ? fmt_parse_size(v, &n) : fmt_parse_uint(v, 0, 1000000, &n)))
		return dflt; /* a malformed value was reported at boot */
	return n;
}

void quota_limits(const char *user, struct auth_quota *q)
{
	const struct auth_user *u = auth_get(user);
	struct auth_quota own = u ? u->quota : (struct auth_quota){ AUTH_QUOTA_DEFAULT,
			AUTH_QUOTA_DEFAULT, AUTH_QUOTA_DEFAULT, AUTH_QUOTA_DEFAULT };
	q->cpus = own.cpus != AUTH_QUOTA_DEFAULT ? own.cpus : cfg_limit("quota_cpus", 0, QUOTA_CPUS);
	q->mem = own.mem != AUTH_QUOTA_DEFAULT ? own.mem : cfg_limit("quota_mem", 1, QUOTA_MEM);
	q->guests = own.guests != AUTH_QUOTA_DEFAULT ? own.guests :
		    cfg_limit("quota_guests", 0, QUOTA_GUESTS);
	q->pool = own.pool != AUTH_QUOTA_DEFAULT ? own.pool : cfg_limit("quota_pool", 1, QUOTA_POOL);
}

/* Pool bytes of the volumes a guest's disks name ("cow:ID" or "cow:ID:BASE"). */
static uint64_t pool_bytes(const struct vm_def *d)
{
	uint64_t bytes = 0;
	for (unsigned k = 0; cow_pool && k < d->ndisks; k++) {
		const char *u = d->disk[k].url;
		uint64_t id;
		char num[12] = "";
		if (strncmp(u, "cow:", 4))
			continue;
		for (unsigned i = 0; u[4 + i] >= '0' && u[4 + i] <= '9' && i + 1 < sizeof(num); i++)
			num[i] = u[4 + i];
		uint32_t chunks;
		if (!fmt_parse_uint(num, 1, UINT32_MAX, &id) && !cow_pool_usage((uint32_t)id, &chunks))
			bytes += (uint64_t)chunks * COW_CHUNK;
	}
	return bytes;
}

void quota_usage(const char *user, int pool, struct quota_use *u)
{
	memset(u, 0, sizeof(*u));
	for (unsigned i = 0; i < VM_MAX; i++) {
		const struct vm *vm = &vms[i];
		if (!vm->defined || strcmp(vm->def.owner, user))
			continue;
		u->guests++;
		if (vm->state == VM_RUNNING || vm->state == VM_STARTING) {
			u->cpus += vm->def.cpus;
			u->mem += vm->def.mem;
		}
		if (pool)
			u->pool += pool_bytes(&vm->def);
	}
}

int quota_check_new_guest(const char *user, char *err, unsigned len)
{
	struct auth_quota q;
	struct quota_use u;
	quota_limits(user, &q);
	quota_usage(user, 1, &u);
	if (u.guests + 1 > q.guests)
		return fmt_snprintf(err, len, "quota: you have %lu guests of %lu allowed; undefine one "
				    "first", u.guests, q.guests), -EPERM;
	if (u.pool >= q.pool)
		return fmt_snprintf(err, len, "quota: your guests use %lu MiB of the pool, %lu MiB "
				    "allowed; undefine a clone first", u.pool >> 20, q.pool >> 20),
		       -EPERM;
	return 0;
}

int quota_check_start(const char *user, const struct vm *vm, char *err, unsigned len)
{
	struct auth_quota q;
	struct quota_use u;
	quota_limits(user, &q);
	quota_usage(user, 0, &u);
	if (u.cpus + vm->def.cpus > q.cpus)
		return fmt_snprintf(err, len, "quota: %lu vCPUs running, %u more would pass the %lu "
				    "allowed; stop a guest first", u.cpus, vm->def.cpus, q.cpus), -EPERM;
	if (u.mem + vm->def.mem > q.mem)
		return fmt_snprintf(err, len, "quota: %lu MiB of memory running, %lu MiB more would "
				    "pass the %lu MiB allowed; stop a guest first", u.mem >> 20,
				    vm->def.mem >> 20, q.mem >> 20), -EPERM;
	return 0;
}
