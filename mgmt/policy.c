/*
 * mgmt/policy.c - roles, ownership and the audit log at the shell's door
 * (see policy.h). One table says, per verb, what a user (an account that
 * is not an administrator) may do; a verb missing from it is the
 * administrators'. The checks run before the command, so the verbs'
 * own files stay as they were, and a refusal is one `error:` line.
 */
#include "mgmt/policy.h"

#include "drivers/rtc/cmos.h"
#include "mgmt/audit.h"
#include "mgmt/auth.h"
#include "mgmt/catalog.h"
#include "mgmt/quota.h"
#include "vmm/core/lib/calendar.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

enum rule {
	R_ANY,          /* anyone */
	R_GUEST,        /* argv[1], when given, must be the user's guest */
	R_DEFINE,       /* define: keys a user may give, the guest quota */
	R_SET,          /* set: the user's guest, keys a user may give */
	R_START,        /* start: the user's guest, the cpus and memory quota */
	R_CLONE,        /* clone: the user's guest or a public template, the guest quota */
	R_SELF,         /* passwd, quota: about oneself only */
};

struct verb_rule {
	const char *verb;
	enum rule rule;
	int audited;    /* leaves an audit entry */
};

static const struct verb_rule rules[] = {
	{ "help", R_ANY, 0 },       { "version", R_ANY, 0 },      { "host", R_ANY, 0 },
	{ "exit", R_ANY, 0 },       { "list", R_ANY, 0 },         { "templates", R_ANY, 0 },
	{ "who", R_ANY, 1 },        { "show", R_GUEST, 0 },       { "stats", R_GUEST, 0 },
	{ "undefine", R_GUEST, 1 }, { "destroy", R_GUEST, 1 },    { "shutdown", R_GUEST, 1 },
	{ "reset", R_GUEST, 1 },    { "console", R_GUEST, 1 },    { "debug", R_GUEST, 1 },
	{ "trace", R_GUEST, 0 },    { "define", R_DEFINE, 1 },    { "set", R_SET, 1 },
	{ "start", R_START, 1 },    { "clone", R_CLONE, 1 },      { "passwd", R_SELF, 1 },
	{ "quota", R_SELF, 1 },
};

/* Administrators' verbs that change something: audited too. */
static const char *const admin_audited[] = { "user", "reboot", "poweroff", "iscsi", "disk" };

static uint64_t boot_epoch, boot_us;

const char *policy_user(const struct shell *sh)
{
	return sh && sh->remote && sh->user ? sh->user : "";
}

int may_act(const struct shell *sh, const struct vm *vm)
{
	if (!vm || !vm->defined)
		return 0;
	if (shell_is_admin(sh))
		return 1;
	const char *me = policy_user(sh);
	return me[0] && !strcmp(vm->def.owner, me);
}

int policy_no_guest(struct shell *sh, const char *name)
{
	return shell_error(sh, "unknown guest '%.40s'; `list` shows the defined ones", name);
}

const char *policy_actor(void)
{
	return policy_user(shell_current());
}

static const struct verb_rule *find_rule(const char *verb)
{
	for (unsigned i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].verb, verb))
			return &rules[i];
	return 0;
}

static int is_audited(const char *verb)
{
	const struct verb_rule *r = find_rule(verb);
	for (unsigned i = 0; !r && i < sizeof(admin_audited) / sizeof(admin_audited[0]); i++)
		if (!strcmp(admin_audited[i], verb))
			return 1;
	return r && r->audited;
}

/* ---- the audit log ---- */

/* Writes the audit ring with the catalog, unless a definition change holds it (it goes next time). */
static void audit_flush(void)
{
	char err[200];
	if (!audit_dirty() || catalog_hold(err, sizeof(err)))
		return;
	audit_saved(); /* a failed write is not retried until the next entry or change */
	if (catalog_persist(err, sizeof(err)))
		log_warn("audit: %s", err);
	catalog_release();
}

uint64_t policy_now(void)
{
	return boot_epoch ? boot_epoch + (time_us() - boot_us) / 1000000 : 0;
}

void policy_time_str(uint64_t epoch, char *buf, unsigned len)
{
	struct cal_time t;
	if (!epoch) {
		fmt_snprintf(buf, len, "-");
		return;
	}
	cal_from_epoch(epoch, &t);
	fmt_snprintf(buf, len, "%04u-%02u-%02u %02u:%02u:%02u", t.year, t.month, t.day, t.hour, t.min,
		     t.sec);
}

void policy_audit(struct shell *sh, const char *text)
{
	audit_add(policy_now(), policy_user(sh), text);
}

/*
 * "VERB WORD...: RESULT": the verb and its first words, but no KEY=VALUE
 * (a disk URL may carry a CHAP secret) except for quota's limits.
 */
static uint64_t audit_command(struct shell *sh, int argc, char **argv, const char *result)
{
	char text[AUDIT_TEXT_MAX + 1];
	int n = 0, quota = !strcmp(argv[0], "quota");
	for (int i = 0; i < argc && i < 6 && n < (int)sizeof(text); i++)
		if (!i || quota || (!strchr(argv[i], '=') && !strchr(argv[i], '@')))
			n += fmt_snprintf(text + n, sizeof(text) - n, "%s%.32s", i ? " " : "", argv[i]);
	if (n < (int)sizeof(text))
		fmt_snprintf(text + n, sizeof(text) - n, ": %s", result);
	return audit_add(policy_now(), policy_user(sh), text);
}

/*
 * An allowed audited command's entry is made before it runs, so that the
 * catalog write of the command itself (define, set, clone...) carries it;
 * policy_done() takes it back if the command failed. Commands of other
 * sessions run inside a command's waits, so the entries nest.
 */
#define NEST_MAX 16
static uint64_t nest[NEST_MAX];
static unsigned depth;

/*
 * Service poller: writes new audit entries with the catalog once no
 * command runs. Not from policy_done(): a pending command (start) may
 * finish and prompt during the write, before its shell_execute() returns.
 */
static int audit_poll(void)
{
	static int flushing;
	if (!audit_dirty() || flushing || shell_current())
		return 0;
	flushing = 1;
	audit_flush();
	flushing = 0;
	return 1;
}
SERVICE_POLLER(audit, audit_poll);

/* ---- the checks ---- */

/* A user's define or set words: no owner=, template=, or disk on a LUN or pool volume. */
static int keys_allowed(struct shell *sh, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "owner=", 6) || !strncmp(argv[i], "template=", 9))
			return shell_error(sh, "only an administrator may set %.*s=",
					   (int)(strchr(argv[i], '=') - argv[i]), argv[i]);
		if (!strncmp(argv[i], "disk=", 5) && strncmp(argv[i] + 5, "ram:", 4) &&
		    strncmp(argv[i] + 5, "esp:", 4) && argv[i][5])
			return shell_error(sh, "only an administrator may give a guest a disk on a LUN "
					   "or in the pool; clone a public template (`templates`) instead");
	}
	return 0;
}

/* The named guest, when the user may act on it; else the unknown-guest error. */
static struct vm *own_guest(struct shell *sh, const char *name)
{
	struct vm *vm = vm_find(name);
	if (!may_act(sh, vm)) {
		policy_no_guest(sh, name);
		return 0;
	}
	return vm;
}

static int check_clone(struct shell *sh, int argc, char **argv)
{
	if (argc < 3)
		return 0; /* the verb prints its usage */
	struct vm *src = vm_find(argv[1]);
	if (!may_act(sh, src) && !(src && src->def.template_public))
		return policy_no_guest(sh, argv[1]);
	char err[200];
	if (quota_check_new_guest(policy_user(sh), err, sizeof(err)))
		return shell_error(sh, "%s", err);
	return 0;
}

static int check_self(struct shell *sh, int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && strcmp(argv[1], policy_user(sh))))
		return shell_error(sh, "only an administrator may use '%s' for another account%s",
				   argv[0], argc > 2 ? " or set limits" : "");
	return 0;
}

/* A user's command: 0 when the table allows it, else -1 after one error line. */
static int user_allow(struct shell *sh, int argc, char **argv)
{
	const struct verb_rule *r = find_rule(argv[0]);
	char err[200];
	struct vm *vm;
	if (!auth_get(policy_user(sh)))
		return shell_error(sh, "your account was deleted; `exit` ends the session");
	if (!r)
		return shell_error(sh, "only an administrator may use '%.32s'", argv[0]);
	switch (r->rule) {
	case R_ANY:
		return 0;
	case R_GUEST:
		return argc >= 2 && !own_guest(sh, argv[1]) ? -1 : 0;
	case R_DEFINE:
		if (argc < 2 || keys_allowed(sh, argc, argv))
			return argc < 2 ? 0 : -1;
		if (quota_check_new_guest(policy_user(sh), err, sizeof(err)))
			return shell_error(sh, "%s", err);
		return 0;
	case R_SET:
		return argc >= 2 && (!own_guest(sh, argv[1]) || keys_allowed(sh, argc, argv)) ? -1 : 0;
	case R_START:
		if (argc < 2 || !(vm = own_guest(sh, argv[1])))
			return argc < 2 ? 0 : -1;
		if (vm_stopped(vm) && quota_check_start(policy_user(sh), vm, err, sizeof(err)))
			return shell_error(sh, "%s", err);
		return 0;
	case R_CLONE:
		return check_clone(sh, argc, argv);
	case R_SELF:
		return check_self(sh, argc, argv);
	}
	return shell_error(sh, "only an administrator may use '%.32s'", argv[0]);
}

/* An administrator's owner=USER names an account (define, set). */
static int owner_exists(struct shell *sh, int argc, char **argv)
{
	if (strcmp(argv[0], "define") && strcmp(argv[0], "set"))
		return 0;
	for (int i = 2; i < argc; i++)
		if (!strncmp(argv[i], "owner=", 6) && argv[i][6] && !auth_get(argv[i] + 6))
			return shell_error(sh, "no user '%.40s'; `user list` shows them", argv[i] + 6);
	return 0;
}

static int policy_allow(struct shell *sh, int argc, char **argv)
{
	/* `who` and `quota` only when they change something (who end, limits) */
	int audited = is_audited(argv[0]) && (strcmp(argv[0], "who") || argc > 1) &&
		      (strcmp(argv[0], "quota") || argc > 2);
	if (shell_is_admin(sh) && owner_exists(sh, argc, argv))
		return -1;
	if (!shell_is_admin(sh) && user_allow(sh, argc, argv)) {
		if (audited)
			audit_command(sh, argc, argv, "refused");
		return -1;
	}
	uint64_t id = 0;
	if (!strcmp(argv[0], "reboot") || !strcmp(argv[0], "poweroff")) {
		/* on the catalog now: a reboot does not come back to policy_done() */
		audit_command(sh, argc, argv, "requested");
		audit_flush();
	} else if (audited) {
		id = audit_command(sh, argc, argv, "ok");
	}
	if (depth < NEST_MAX)
		nest[depth] = id;
	depth++;
	return 0;
}

static void policy_done(struct shell *sh, int argc, char **argv, int rc)
{
	(void)sh, (void)argc, (void)argv; /* the entry was made in policy_allow() */
	if (!depth)
		return;
	depth--;
	if (depth < NEST_MAX && nest[depth] && rc < 0)
		audit_undo(nest[depth]);
}

static const struct shell_guard guard = { policy_allow, policy_done };

void policy_init(void)
{
	boot_epoch = cmos_read_epoch();
	boot_us = time_us();
	shell_set_guard(&guard);
}
