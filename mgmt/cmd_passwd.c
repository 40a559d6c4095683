/*
 * mgmt/cmd_passwd.c - `passwd [USER]`: sets a network console password in
 * memory and prints the hako.cfg line that keeps it (shared/CLI.md).
 *
 * The password is read twice through the shell's input hook, without echo;
 * Ctrl-C cancels. Serial console only: a network session that vanished
 * mid-command would otherwise leave the state held. The salt is 16 bytes hashed from TSC readings taken
 * while the operator types: unique per hash, which is all a salt needs.
 */
#include "mgmt/auth.h"
#include "mgmt/shell/shell.h"
#include "net/crypto/rng.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define PW_MAX 128

static struct passwd_state {
	char user[AUTH_NAME_MAX + 1];
	char first[PW_MAX + 1], cur[PW_MAX + 1];
	size_t len;
	int second, overlong, last_cr;
} pw;

static void finish(struct shell *sh)
{
	if (pw.overlong || strcmp(pw.first, pw.cur)) {
		shell_error(sh, pw.overlong ? "password longer than %d characters; nothing changed" :
					      "the passwords differ; nothing changed",
			    PW_MAX);
		return;
	}
	if (!pw.len) {
		shell_error(sh, "empty password refused; nothing changed");
		return;
	}
	uint8_t salt[AUTH_SALT_LEN];
	rng_bytes(salt, sizeof(salt));
	char hash[AUTH_HASH_MAX];
	int err = auth_hash_make(hash, sizeof(hash), pw.cur, salt, AUTH_ITERATIONS);
	if (!err)
		err = auth_set(pw.user, hash);
	if (err) {
		shell_error(sh, "cannot set the password (%s)", errno_str(err));
		return;
	}
	shell_printf(sh, "password for '%s' set until reboot; to keep it, put this line in "
			 "hako/hako.cfg on the boot medium:\nuser=%s:%s\n", pw.user, pw.user, hash);
}

/* Input hook: returns 1 when the command is over. */
static int passwd_input(struct shell *sh, unsigned char c)
{
	if (c == 3) { /* Ctrl-C */
		shell_printf(sh, "^C\n");
		goto done;
	}
	if (c == '\n' && pw.last_cr) {
		pw.last_cr = 0;
		return 0; /* the LF of a CR LF */
	}
	pw.last_cr = c == '\r';
	if (c == '\r' || c == '\n') {
		pw.cur[pw.len] = 0;
		shell_printf(sh, "\n");
		if (!pw.second) {
			memcpy(pw.first, pw.cur, sizeof(pw.first));
			pw.second = 1, pw.len = 0;
			shell_printf(sh, "again: ");
			return 0;
		}
		finish(sh);
		goto done;
	}
	if ((c == 8 || c == 127) && pw.len)
		pw.len--;
	else if (c >= 32 && c < 127 && pw.len < PW_MAX)
		pw.cur[pw.len++] = (char)c;
	else if (c >= 32 && c < 127)
		pw.overlong = 1;
	return 0;
done:
	memset(&pw, 0, sizeof(pw));
	return 1;
}

static int cmd_passwd(struct shell *sh, int argc, char **argv)
{
	if (argc > 2)
		return shell_usage(sh, "passwd");
	const char *user = argc == 2 ? argv[1] : "admin";
	if (auth_name_check(user))
		return shell_error(sh, "'%.40s' is not a user name: 1-32 of [a-z0-9_-], "
				       "starting with a letter", user);
	if (sh->remote)
		return shell_error(sh, "passwd works on the serial console only");
	memset(&pw, 0, sizeof(pw));
	pw.last_cr = 1; /* the command's own line may end in CR LF */
	memcpy(pw.user, user, strlen(user) + 1);
	shell_printf(sh, "new password for %s: ", user);
	sh->input_hook = passwd_input;
	return 0;
}
SHELL_COMMAND(passwd, "passwd", "[USER]", "set a network console password (default admin)",
	      cmd_passwd);
