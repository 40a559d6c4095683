/*
 * mgmt/console/login.c - the network console's login dialogue: a name
 * (echoed), a password (not), its check against mgmt/auth.c at the pace
 * login_limit.c allows, and on success a shell (console.c). Issue 17
 * finding 9: failures slow the source address and the account, not just
 * the connection, and a name and password must be typed within
 * LOGIN_WINDOW_US of the prompt.
 */
#include "mgmt/console/login_limit.h"
#include "mgmt/console/session.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"

static struct login_limit login_pace;

static void session_echo(struct session *s, uint8_t c)
{
	char t[2] = { (char)c, 0 };
	session_out(s, t);
}

/* login_prompt - (again) asks for a name; the login window starts now. */
void login_prompt(struct session *s)
{
	s->state = S_USER;
	s->flen = 0;
	s->prompted = time_us();
	session_out(s, "login: ");
}

/* The limiter's account key: unknown names share one, so it reveals nothing. */
static const char *pace_account(const struct session *s)
{
	return auth_user_exists(s->user) ? s->user : "";
}

static void login_failed(struct session *s, uint32_t from_addr)
{
	s->fails++;
	uint64_t wait = login_limit_wait(&login_pace, s->peer_ip, pace_account(s), time_us());
	LOG_WARN_RL("console: failed login for '%s' from %s (%u from that address; next check "
		    "in %llu s)", s->user, s->peer, from_addr,
		    (unsigned long long)(wait + 999999) / 1000000);
	if (s->fails >= LOGIN_TRIES) {
		session_end(s, "\nlogin incorrect; too many failures, disconnecting\n");
		return;
	}
	/* Input during the wait is dropped; a new connection waits as long. */
	s->state = S_DELAY;
	s->wait_until = time_us() + wait;
}

/* Checks the typed password; the limiter counts it as failed until it is right. */
static void check_password(struct session *s)
{
	const char *account = pace_account(s);
	uint32_t n = login_limit_attempt(&login_pace, s->peer_ip, account, time_us());
	int ok = !s->overlong && !auth_login(s->user, s->field);
	memset(s->field, 0, sizeof(s->field));
	s->flen = 0;
	s->overlong = 0;
	if (!ok)
		return login_failed(s, n);
	login_limit_succeeded(&login_pace, s->peer_ip, account);
	session_open_shell(s);
}

/* A password was typed: check it now, or when earlier failures allow. */
static void password_typed(struct session *s)
{
	session_out(s, "\n");
	uint64_t wait = login_limit_wait(&login_pace, s->peer_ip, pace_account(s), time_us());
	if (!wait)
		return check_password(s);
	s->state = S_HOLD;
	s->wait_until = time_us() + wait;
	char note[96];
	fmt_snprintf(note, sizeof(note), "(failed logins before: checking in %llu s)\n",
		     (unsigned long long)(wait + 999999) / 1000000);
	session_out(s, note);
}

static void field_done(struct session *s)
{
	s->field[s->flen] = 0;
	if (s->state == S_PASS)
		return password_typed(s);
	if (!s->flen)
		return login_prompt(s);
	memcpy(s->user, s->field, s->flen > AUTH_NAME_MAX ? AUTH_NAME_MAX : s->flen);
	s->user[s->flen > AUTH_NAME_MAX ? AUTH_NAME_MAX : s->flen] = 0;
	s->state = S_PASS;
	s->flen = 0;
	s->overlong = 0;
	session_out(s, "password: ");
}

/* login_byte - one byte of login input: the user name is echoed, the password not. */
void login_byte(struct session *s, uint8_t c)
{
	if (c == '\n' && s->last_cr)
		return;
	if (c == 0 && s->last_cr)
		return; /* telnet's CR NUL */
	s->last_cr = c == '\r';
	if (c == '\r' || c == '\n') {
		if (s->state == S_USER)
			session_out(s, "\n");
		field_done(s);
		return;
	}
	if ((c == 8 || c == 127) && s->flen) {
		s->flen--;
		if (s->state == S_USER)
			session_out(s, "\b \b");
		return;
	}
	if (c < 32 || c > 126)
		return;
	if (s->flen == FIELD_MAX) {
		s->overlong = 1;
		return;
	}
	s->field[s->flen++] = (char)c;
	if (s->state == S_USER)
		session_echo(s, c);
}


/*
 * login_timers - a held check whose time came, the end of a delay after a
 * failure, and the login window (LOGIN_WINDOW_US from the prompt).
 */
void login_timers(struct session *s, uint64_t now)
{
	if (s->state == S_HOLD && now >= s->wait_until)
		check_password(s);
	if (s->state == S_DELAY && now >= s->wait_until) {
		session_out(s, "login incorrect\n");
		login_prompt(s);
	}
	if ((s->state == S_USER || s->state == S_PASS) && now > s->prompted &&
	    now - s->prompted > LOGIN_WINDOW_US) /* prompted may be later than now: just above */
		session_end(s, "\nlogin timed out\n");
}
