/*
 * mgmt/quota.h - users' limits against what they use (issue 16): running
 * vCPUs and memory, defined guests, pool space of their guests' clone
 * disks. Limits are per account (`quota USER ...`, kept in the catalog)
 * or hako.cfg's quota_* defaults. Administrators have none.
 */
#ifndef HAKO_QUOTA_H
#define HAKO_QUOTA_H

#include "mgmt/auth.h"
#include "vmm/vm.h"

struct quota_use {
	uint64_t cpus, mem;     /* of its running (or starting) guests */
	uint64_t guests;        /* defined */
	uint64_t pool;          /* bytes its guests' pool volumes hold */
};

/* A user's limits: its own where set, else hako.cfg's (or the built-in defaults). */
void quota_limits(const char *user, struct auth_quota *q);
/* What a user uses now. Reads the pool volumes' maps (disk I/O) when `pool`. */
void quota_usage(const char *user, int pool, struct quota_use *u);
/*
 * 0 when `user` may have another guest (define, clone); else -EPERM with
 * a sentence giving use and limit in err.
 */
int quota_check_new_guest(const char *user, char *err, unsigned len);
/* 0 when starting vm keeps `user` within cpus and memory; else -EPERM and err. */
int quota_check_start(const char *user, const struct vm *vm, char *err, unsigned len);

#endif
