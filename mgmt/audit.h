/*
 * mgmt/audit.h - the audit log (issue 16): who did what to which guest,
 * and when. A bounded ring in memory, kept in the guest catalog with the
 * definitions (mgmt/users_fmt.c), shown by `log audit`. Portable.
 */
#ifndef HAKO_AUDIT_H
#define HAKO_AUDIT_H

#include <stdint.h>

#include "mgmt/auth.h"

#define AUDIT_MAX 64          /* entries kept; the oldest goes first */
#define AUDIT_TEXT_MAX 80     /* "start alice1: ok", cut to fit */

struct audit_entry {
	uint64_t epoch;       /* seconds since 1970 (UTC), 0 if the clock was unreadable */
	char user[AUTH_NAME_MAX + 1];
	char text[AUDIT_TEXT_MAX + 1];
};

/*
 * Adds an entry (the oldest goes when the ring is full). Newlines and
 * other control characters in `text` become spaces. Returns its number
 * for audit_undo().
 */
uint64_t audit_add(uint64_t epoch, const char *user, const char *text);
/*
 * Takes entry `id` back (the command it announced failed): removed when
 * it is still the newest (the one it pushed out returns), else its text
 * ends in "failed" instead of "ok".
 */
void audit_undo(uint64_t id);
/* The i-th entry, oldest first (0 past the newest). */
const struct audit_entry *audit_nth(unsigned i);
/* Entries kept. */
unsigned audit_count(void);
/* Forgets every entry (before the catalog is read again). */
void audit_clear(void);
/* 1 when an entry was added since audit_saved(): the catalog should be written. */
int audit_dirty(void);
void audit_saved(void);

#endif
