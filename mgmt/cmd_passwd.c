/*
 * mgmt/cmd_passwd.c - `passwd [USER]` (shared/CLI.md): sets a password.
 *
 * On the serial console (the administrator) `passwd [USER]` sets any
 * account's, admin by default; from the network console `passwd` sets
 * one's own after asking the old one, and an administrator's `passwd
 * USER` sets another's (mgmt/policy.c keeps users to their own). An
 * account of the catalog (`user add`) keeps the new hash there; one of
 * hako.cfg keeps it until reboot, and the line to keep it is printed.
 *
 * Passwords are read on the command's own terminal without echo
 * (shell_read_line); Ctrl-C cancels. The salt comes from hako's DRBG
 * (net/crypto/rng.c).
 */
#include "mgmt/cmd_passwd.h"

#include "mgmt/auth.h"
#include "mgmt/catalog.h"
#include "mgmt/policy.h"
#include "net/crypto/rng.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"

#define PW_MAX 128

static void read_wait(void)
{
	service_poll();
	cpu_relax();
}

/* One password line without echo into pw (PW_MAX + 2 bytes): its length, -1 on Ctrl-C. */
static int read_pw(struct shell *sh, const char *prompt, char *pw)
{
	shell_printf(sh, "%s", prompt);
	return shell_read_line(sh, pw, PW_MAX + 2, 0, read_wait);
}

int passwd_ask_new(struct shell *sh, const char *user, char *hash, size_t len)
{
	static char first[PW_MAX + 2], again[PW_MAX + 2]; /* service core only */
	uint8_t salt[AUTH_SALT_LEN];
	int rc = -1;
	char prompt[64];
	fmt_snprintf(prompt, sizeof(prompt), "new password for %s: ", user);
	int n = read_pw(sh, prompt, first);
	if (n < 0 || read_pw(sh, "again: ", again) < 0)
		shell_error(sh, "cancelled; nothing changed");
	else if (n > PW_MAX)
		shell_error(sh, "password longer than %d characters; nothing changed", PW_MAX);
	else if (strcmp(first, again))
		shell_error(sh, "the passwords differ; nothing changed");
	else if (!n)
		shell_error(sh, "empty password refused; nothing changed");
	else if (rng_bytes(salt, sizeof(salt)), auth_hash_make(hash, len, first, salt, AUTH_ITERATIONS))
		shell_error(sh, "cannot make the password hash; nothing changed");
	else
		rc = 0;
	memset(first, 0, sizeof(first));
	memset(again, 0, sizeof(again));
	return rc;
}

/* From the network, one's own password needs the old one first. */
static int check_old(struct shell *sh, const char *user)
{
	static char old[PW_MAX + 2]; /* service core only */
	int n = read_pw(sh, "old password: ", old);
	int rc = n < 0 ? -1 : auth_login(user, old);
	memset(old, 0, sizeof(old));
	if (rc)
		return shell_error(sh, n < 0 ? "cancelled; nothing changed" :
				   "that is not your password; nothing changed");
	return 0;
}

/* Stores the new hash: in the catalog for its accounts, else until reboot. */
static int passwd_store(struct shell *sh, const char *user, const char *hash)
{
	struct auth_user *u = auth_get(user);
	char old[AUTH_HASH_MAX], err[200];
	if (!u || !u->stored) {
		if (auth_set(user, hash))
			return shell_error(sh, "cannot set the password (too many accounts)");
		shell_printf(sh, "password for '%s' set until reboot; to keep it, put this line in "
				 "hako/hako.cfg on the boot medium:\nuser=%s:%s\n", user, user, hash);
		return 0;
	}
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	memcpy(old, u->hash, sizeof(old));
	memcpy(u->hash, hash, strlen(hash) + 1);
	int rc = catalog_persist(err, sizeof(err));
	if (rc && (u = auth_get(user)))
		memcpy(u->hash, old, sizeof(old));
	catalog_release();
	if (rc)
		return shell_error(sh, "%s", err);
	shell_printf(sh, "password for '%s' changed\n", user);
	return 0;
}

static int cmd_passwd(struct shell *sh, int argc, char **argv)
{
	if (argc > 2)
		return shell_usage(sh, "passwd");
	const char *me = policy_user(sh);
	const char *user = argc == 2 ? argv[1] : me[0] ? me : "admin";
	if (auth_name_check(user))
		return shell_error(sh, "'%.40s' is not a user name: 1-32 of [a-z0-9_-], "
				   "starting with a letter", user);
	if (sh->remote && !strcmp(user, me) && check_old(sh, user))
		return -1;
	if (sh->remote && strcmp(user, me) && !auth_get(user))
		return shell_error(sh, "no account '%s'; `user add %s` makes one", user, user);
	char hash[AUTH_HASH_MAX];
	if (passwd_ask_new(sh, user, hash, sizeof(hash)))
		return -1;
	return passwd_store(sh, user, hash);
}
SHELL_COMMAND(passwd, "passwd", "[USER]",
	      "set a password (one's own, asking the old one; an administrator's USER)", cmd_passwd);
