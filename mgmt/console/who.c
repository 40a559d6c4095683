/*
 * mgmt/console/who.c - `who` lists the console sessions (user, address,
 * since) and `who end ID` lets an administrator end one (issue 16). A
 * user sees their own sessions only.
 */
#include "mgmt/console/session.h"
#include "mgmt/policy.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"

static void who_line(struct shell *sh, unsigned id, const char *user, const char *from,
		     uint64_t since_us, int mine)
{
	char when[24];
	uint64_t now = policy_now(), ago = (time_us() - since_us) / 1000000;
	policy_time_str(now && now > ago ? now - ago : 0, when, sizeof(when));
	shell_printf(sh, "%-3u %-16s %-22s %s%s\n", id, user, from, when, mine ? "  (this session)" : "");
}

static int who_list(struct shell *sh)
{
	int admin = shell_is_admin(sh);
	shell_printf(sh, "%-3s %-16s %-22s %s\n", "ID", "USER", "ADDRESS", "SINCE");
	if (admin)
		who_line(sh, 0, "admin", "serial", 0, !sh->remote);
	struct session *s;
	for (unsigned i = 0; (s = console_session(i)); i++)
		if (s->state == S_SHELL && (admin || !strcmp(s->user, policy_user(sh))))
			who_line(sh, i + 1, s->user, s->peer, s->started, &s->sh == sh);
	return 0;
}

static int who_end(struct shell *sh, const char *arg)
{
	uint64_t id;
	struct session *s = 0;
	if (!shell_is_admin(sh))
		return shell_error(sh, "only an administrator may end a session");
	if (!fmt_parse_uint(arg, 1, CONSOLE_SLOTS, &id))
		s = console_session((unsigned)id - 1);
	if (!s || s->state != S_SHELL)
		return shell_error(sh, "no network session %.12s; `who` lists them (the serial "
				   "console, 0, cannot be ended)", arg);
	if (&s->sh == sh)
		return shell_error(sh, "that is this session; `exit` leaves it");
	log_info("console: session %lu ('%s' from %s) ended by %s", id, s->user, s->peer,
		 sh->remote ? policy_user(sh) : "the serial console");
	session_end(s, "\nhako: an administrator ended this session\n");
	shell_printf(sh, "ended session %lu (%s from %s)\n", id, s->user, s->peer);
	return 0;
}

static int cmd_who(struct shell *sh, int argc, char **argv)
{
	if (argc == 1)
		return who_list(sh);
	if (argc == 3 && !strcmp(argv[1], "end"))
		return who_end(sh, argv[2]);
	return shell_usage(sh, "who");
}
SHELL_COMMAND(who, "who", "[end ID]",
	      "console sessions: user, address, since; `who end ID` ends one (administrator)", cmd_who);
