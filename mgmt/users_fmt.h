/*
 * mgmt/users_fmt.h - accounts, quotas and the audit log in the guest
 * catalog (issue 16). Portable. Besides its `define` lines, a catalog
 * (mgmt/catalog_fmt.h) holds one line per account made by `user add`:
 *
 *     user NAME admin|user HASH [cpus=N] [mem=BYTES] [guests=N] [pool=BYTES]
 *
 * (a quota key only where the administrator set one; HASH as in auth.h),
 * and one line per audit entry, oldest first:
 *
 *     audit EPOCH USER TEXT...
 */
#ifndef HAKO_USERS_FMT_H
#define HAKO_USERS_FMT_H

#include "mgmt/auth.h"

/*
 * Appends the account and audit lines to buf (which holds `len` bytes
 * already). Returns the new length, or -E2BIG when they do not fit in cap.
 */
int users_encode(char *buf, int len, unsigned cap);

/*
 * One catalog line that is not a `define` line (modified in place):
 * 0 when it was an account or audit line and is now loaded, -EINVAL with
 * a sentence in err otherwise. Nothing in it is trusted.
 */
int users_decode_line(char *line, char *err, unsigned errlen);

/* Forgets the stored accounts and the audit log (a catalog is read next). */
void users_decode_begin(void);

/*
 * Applies one `cpus=N`, `mem=SIZE`, `guests=N` or `pool=SIZE` word
 * (`KEY=default` takes hako.cfg's again) to q: 0 or -EINVAL with err.
 */
int users_quota_arg(struct auth_quota *q, const char *arg, char *err, unsigned errlen);

#endif
