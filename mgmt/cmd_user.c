/*
 * mgmt/cmd_user.c - accounts and limits (issue 16, shared/CLI.md):
 * `user add NAME [admin]`, `user del NAME`, `user list`,
 * `quota USER [cpus=N] [mem=SIZE] [guests=N] [pool=SIZE]`, and
 * `templates`, the guests users may clone. Accounts made here live in
 * the catalog (mgmt/users_fmt.c); mgmt/policy.c keeps `user` and setting
 * limits to administrators.
 */
#include "mgmt/auth.h"
#include "mgmt/catalog.h"
#include "mgmt/cmd_passwd.h"
#include "mgmt/policy.h"
#include "mgmt/quota.h"
#include "mgmt/users_fmt.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/vm.h"

/* Runs the catalog write after an in-memory change; 0, or -1 after the error line. */
static int persist(struct shell *sh)
{
	char err[200];
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	int rc = catalog_persist(err, sizeof(err));
	catalog_release();
	return rc ? shell_error(sh, "%s", err) : 0;
}

static int user_add(struct shell *sh, int argc, char **argv)
{
	int admin = argc == 4 && !strcmp(argv[3], "admin");
	char hash[AUTH_HASH_MAX];
	if (argc != 3 && !admin)
		return shell_usage(sh, "user");
	if (auth_name_check(argv[2]))
		return shell_error(sh, "bad user name '%.40s': 1-32 of [a-z0-9_-], starting with a "
				   "letter", argv[2]);
	if (auth_get(argv[2]))
		return shell_error(sh, "user '%s' already exists; `passwd %s` changes the password",
				   argv[2], argv[2]);
	if (passwd_ask_new(sh, argv[2], hash, sizeof(hash)))
		return -1;
	int rc = auth_add(argv[2], hash, admin);
	memset(hash, 0, sizeof(hash));
	if (rc)
		return shell_error(sh, "cannot add '%s' (%s)", argv[2],
				   rc == -ENOSPC ? "too many accounts" : errno_str(rc));
	if (persist(sh)) {
		(void)auth_del(argv[2]); /* made just now, so it exists */
		return -1;
	}
	shell_printf(sh, "added %s %s\n", admin ? "administrator" : "user", argv[2]);
	return 0;
}

/* The guests `user` owns as "a, b" in buf; returns how many. */
static unsigned owned(const char *user, char *buf, unsigned len)
{
	unsigned n = 0, o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].defined && !strcmp(vms[i].def.owner, user) && o < len)
			o += fmt_snprintf(buf + o, len - o, "%s%s", n++ ? ", " : "", vms[i].def.name);
	return n;
}

static int user_del(struct shell *sh, const char *name)
{
	struct auth_user *u = auth_get(name);
	char guests[160];
	if (!u)
		return shell_error(sh, "no user '%.40s'; `user list` shows them", name);
	if (!u->stored)
		return shell_error(sh, "'%s' comes from hako.cfg; remove its user= line there", name);
	if (owned(name, guests, sizeof(guests)))
		return shell_error(sh, "'%s' owns %s; undefine them (or give them to another owner "
				   "with `set NAME owner=USER`) first", name, guests);
	struct auth_user keep = *u;
	(void)auth_del(name); /* found just now */
	if (persist(sh)) {
		(void)auth_add(keep.name, keep.hash, keep.admin); /* its slot was just freed */
		*auth_get(keep.name) = keep;
		return -1;
	}
	shell_printf(sh, "deleted user %s\n", name);
	return 0;
}

static int user_list(struct shell *sh)
{
	const struct auth_user *u;
	char guests[160];
	shell_printf(sh, "%-16s %-6s %-8s %6s\n", "NAME", "ROLE", "KEPT-IN", "GUESTS");
	for (unsigned i = 0; (u = auth_nth(i)); i++)
		shell_printf(sh, "%-16s %-6s %-8s %6u\n", u->name, u->admin ? "admin" : "user",
			     u->stored ? "catalog" : "hako.cfg", owned(u->name, guests, sizeof(guests)));
	return 0;
}

static int cmd_user(struct shell *sh, int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "add"))
		return user_add(sh, argc, argv);
	if (argc == 3 && !strcmp(argv[1], "del"))
		return user_del(sh, argv[2]);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return user_list(sh);
	return shell_usage(sh, "user");
}
SHELL_COMMAND(user, "user", "add NAME [admin] | del NAME | list",
	      "accounts of the network console (administrator)", cmd_user);

static void quota_show(struct shell *sh, const char *user)
{
	struct auth_quota q;
	struct quota_use u;
	quota_limits(user, &q);
	quota_usage(user, 1, &u);
	shell_printf(sh, "quota %s:\n", user);
	shell_printf(sh, "  cpus    %lu of %lu running\n", u.cpus, q.cpus);
	shell_printf(sh, "  mem     %luM of %luM running\n", u.mem >> 20, q.mem >> 20);
	shell_printf(sh, "  guests  %lu of %lu\n", u.guests, q.guests);
	shell_printf(sh, "  pool    %luM of %luM\n", u.pool >> 20, q.pool >> 20);
}

static int quota_set(struct shell *sh, struct auth_user *u, int argc, char **argv)
{
	struct auth_quota old = u->quota, q = u->quota;
	char err[160];
	for (int i = 2; i < argc; i++)
		if (users_quota_arg(&q, argv[i], err, sizeof(err)))
			return shell_error(sh, "%s", err);
	u->quota = q;
	if (persist(sh)) {
		if ((u = auth_get(argv[1])))
			u->quota = old;
		return -1;
	}
	return 0;
}

static int cmd_quota(struct shell *sh, int argc, char **argv)
{
	const char *user = argc >= 2 ? argv[1] : policy_user(sh);
	if (!user[0])
		return shell_usage(sh, "quota");
	struct auth_user *u = auth_get(user);
	if (!u)
		return shell_error(sh, "no user '%.40s'; `user list` shows them", user);
	if (u->admin)
		return shell_error(sh, "'%s' is an administrator: no limits apply", user);
	if (argc > 2 && quota_set(sh, u, argc, argv))
		return -1;
	quota_show(sh, user);
	return 0;
}
SHELL_COMMAND(quota, "quota", "[USER] [cpus=N] [mem=SIZE] [guests=N] [pool=SIZE]",
	      "a user's limits and use (setting them: administrator)", cmd_quota);

static int cmd_templates(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "templates");
	shell_printf(sh, "%-16s %4s %8s %5s\n", "NAME", "CPUS", "MEM", "DISKS");
	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].defined && vms[i].def.template_public)
			shell_printf(sh, "%-16s %4u %7luM %5u\n", vms[i].def.name, vms[i].def.cpus,
				     vms[i].def.mem >> 20, vms[i].def.ndisks);
	return 0;
}
SHELL_COMMAND(templates, "templates", "",
	      "the public templates: `clone NAME NEW` makes a guest of your own from one", cmd_templates);
