/*
 * mgmt/audit.c - the audit ring (see audit.h). Portable; the catalog
 * keeps it (mgmt/users_fmt.c) and mgmt/policy.c fills it.
 */
#include "mgmt/audit.h"

#include "vmm/core/lib/string.h"

static struct audit_entry ring[AUDIT_MAX];
static unsigned first, count; /* the oldest entry and how many there are */
static int dirty;
static uint64_t adds;                 /* entries ever added: the newest's number */
static struct audit_entry pushed_out; /* by the newest, if the ring was full */
static int had_pushed_out, dirty_before;

/* Copies at most max bytes of s, control characters as spaces. */
static void copy_clean(char *out, const char *s, unsigned max)
{
	unsigned i = 0;
	for (; s[i] && i < max; i++)
		out[i] = (unsigned char)s[i] < 32 || s[i] == 127 ? ' ' : s[i];
	out[i] = 0;
}

uint64_t audit_add(uint64_t epoch, const char *user, const char *text)
{
	struct audit_entry *e = &ring[(first + count) % AUDIT_MAX];
	had_pushed_out = count == AUDIT_MAX;
	dirty_before = dirty;
	if (had_pushed_out) {
		pushed_out = *e;
		first = (first + 1) % AUDIT_MAX;
	} else {
		count++;
	}
	e->epoch = epoch;
	copy_clean(e->user, user, AUTH_NAME_MAX);
	copy_clean(e->text, text, AUDIT_TEXT_MAX);
	dirty = 1;
	return ++adds;
}

void audit_undo(uint64_t id)
{
	if (!id || id > adds || adds - id >= count)
		return; /* gone from the ring already */
	if (id == adds) {
		if (had_pushed_out) {
			first = (first + AUDIT_MAX - 1) % AUDIT_MAX;
			ring[first] = pushed_out;
		} else {
			count--;
		}
		had_pushed_out = 0;
		dirty = dirty_before;
		adds--;
		return;
	}
	struct audit_entry *e = &ring[(first + count - 1 - (unsigned)(adds - id)) % AUDIT_MAX];
	char *ok = strstr(e->text, ": ok");
	if (ok && !ok[4] && ok + 8 <= e->text + AUDIT_TEXT_MAX)
		memcpy(ok, ": failed", 9);
	dirty = 1;
}

const struct audit_entry *audit_nth(unsigned i)
{
	return i < count ? &ring[(first + i) % AUDIT_MAX] : 0;
}

unsigned audit_count(void)
{
	return count;
}

void audit_clear(void)
{
	memset(ring, 0, sizeof(ring));
	first = count = 0;
	dirty = had_pushed_out = 0;
}

int audit_dirty(void)
{
	return dirty;
}

void audit_saved(void)
{
	dirty = 0;
}
