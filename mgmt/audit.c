/*
 * mgmt/audit.c - the audit ring (see audit.h). Portable; the catalog
 * keeps it (mgmt/users_fmt.c) and mgmt/policy.c fills it.
 */
#include "mgmt/audit.h"

#include "vmm/core/lib/string.h"

static struct audit_entry ring[AUDIT_MAX];
static unsigned first, count; /* the oldest entry and how many there are */
static int dirty;

/* Copies at most max bytes of s, control characters as spaces. */
static void copy_clean(char *out, const char *s, unsigned max)
{
	unsigned i = 0;
	for (; s[i] && i < max; i++)
		out[i] = (unsigned char)s[i] < 32 || s[i] == 127 ? ' ' : s[i];
	out[i] = 0;
}

void audit_add(uint64_t epoch, const char *user, const char *text)
{
	struct audit_entry *e = &ring[(first + count) % AUDIT_MAX];
	if (count == AUDIT_MAX)
		first = (first + 1) % AUDIT_MAX;
	else
		count++;
	e->epoch = epoch;
	copy_clean(e->user, user, AUTH_NAME_MAX);
	copy_clean(e->text, text, AUDIT_TEXT_MAX);
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
	dirty = 0;
}

int audit_dirty(void)
{
	return dirty;
}

void audit_saved(void)
{
	dirty = 0;
}
