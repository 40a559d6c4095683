/*
 * mgmt/users_fmt.c - the catalog's account and audit lines (see
 * users_fmt.h). Portable; tests/unit/test_catalog.c reads old and new
 * catalogs with it.
 */
#include "mgmt/users_fmt.h"

#include "mgmt/audit.h"
#include "mgmt/shell/args.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define QUOTA_KEYS 4
static const char *const quota_key[QUOTA_KEYS] = { "cpus", "mem", "guests", "pool" };

static uint64_t *quota_field(struct auth_quota *q, unsigned k)
{
	uint64_t *f[QUOTA_KEYS] = { &q->cpus, &q->mem, &q->guests, &q->pool };
	return f[k];
}

int users_quota_arg(struct auth_quota *q, const char *arg, char *err, unsigned errlen)
{
	const char *eq = strchr(arg, '=');
	for (unsigned k = 0; eq && k < QUOTA_KEYS; k++) {
		if (strlen(quota_key[k]) != (size_t)(eq - arg) || strncmp(arg, quota_key[k], eq - arg))
			continue;
		uint64_t v, *f = quota_field(q, k);
		if (!strcmp(eq + 1, "default")) {
			*f = AUTH_QUOTA_DEFAULT;
			return 0;
		}
		int bad = (k == 1 || k == 3) ? fmt_parse_size(eq + 1, &v)
					     : fmt_parse_uint(eq + 1, 0, 1000000, &v);
		if (bad || v == AUTH_QUOTA_DEFAULT)
			break;
		*f = v;
		return 0;
	}
	fmt_snprintf(err, errlen, "bad quota '%.40s': use cpus=N, mem=SIZE, guests=N, pool=SIZE "
		     "(or KEY=default)", arg);
	return -EINVAL;
}

static int encode_user(const struct auth_user *u, char *buf, int len, unsigned cap)
{
	len += fmt_snprintf(buf + len, cap - len, "user %s %s %s", u->name, u->admin ? "admin" : "user",
			    u->hash);
	struct auth_quota q = u->quota;
	for (unsigned k = 0; k < QUOTA_KEYS && len < (int)cap; k++)
		if (*quota_field(&q, k) != AUTH_QUOTA_DEFAULT)
			len += fmt_snprintf(buf + len, cap - len, " %s=%lu", quota_key[k],
					    *quota_field(&q, k));
	if (len < (int)cap)
		len += fmt_snprintf(buf + len, cap - len, "\n");
	return len;
}

int users_encode(char *buf, int len, unsigned cap)
{
	const struct auth_user *u;
	for (unsigned i = 0; (u = auth_nth(i)) && len < (int)cap; i++)
		if (u->stored)
			len = encode_user(u, buf, len, cap);
	const struct audit_entry *e;
	for (unsigned i = 0; (e = audit_nth(i)) && len < (int)cap; i++)
		len += fmt_snprintf(buf + len, cap - len, "audit %lu %s %s\n", e->epoch,
				    e->user[0] ? e->user : "-", e->text);
	return len < (int)cap ? len : -E2BIG;
}

static int bad(char *err, unsigned errlen, const char *what)
{
	fmt_snprintf(err, errlen, "the catalog has a malformed %s line", what);
	return -EINVAL;
}

/* user NAME admin|user HASH [QUOTA...] */
static int decode_user(char *line, char *err, unsigned errlen)
{
	char *argv[ARGS_MAX];
	int argc = args_split(line, argv);
	if (argc < 4 || auth_name_check(argv[1]) ||
	    (strcmp(argv[2], "admin") && strcmp(argv[2], "user")))
		return bad(err, errlen, "user");
	/* An account of hako.cfg's with the same name gives way to the catalog's. */
	struct auth_user *u = auth_get(argv[1]);
	int rc = u && u->stored ? -EEXIST : u ? auth_set(argv[1], argv[3]) :
		 auth_add(argv[1], argv[3], 0);
	if (rc)
		return bad(err, errlen, "user (a bad hash, a second line for one user, or too many)");
	u = auth_get(argv[1]);
	u->admin = !strcmp(argv[2], "admin");
	u->stored = 1;
	for (int i = 4; i < argc; i++)
		if (users_quota_arg(&u->quota, argv[i], err, errlen))
			return bad(err, errlen, "user quota");
	return 0;
}

/* audit EPOCH USER TEXT... */
static int decode_audit(char *line, char *err, unsigned errlen)
{
	char *p = line + 6, *user, *text;
	uint64_t epoch = 0;
	if (*p < '0' || *p > '9')
		return bad(err, errlen, "audit");
	while (*p >= '0' && *p <= '9' && epoch < (1ull << 40))
		epoch = epoch * 10 + (uint64_t)(*p++ - '0');
	if (*p++ != ' ' || !(text = strchr(user = p, ' ')))
		return bad(err, errlen, "audit");
	*text++ = 0;
	if (strcmp(user, "-") && auth_name_check(user))
		return bad(err, errlen, "audit");
	audit_add(epoch, strcmp(user, "-") ? user : "", text);
	return 0;
}

int users_decode_line(char *line, char *err, unsigned errlen)
{
	if (!strncmp(line, "user ", 5))
		return decode_user(line, err, errlen);
	if (!strncmp(line, "audit ", 6))
		return decode_audit(line, err, errlen);
	fmt_snprintf(err, errlen, "catalog line is not a `define`, `user` or `audit` line");
	return -EINVAL;
}

void users_decode_begin(void)
{
	auth_drop_stored();
	audit_clear();
}
