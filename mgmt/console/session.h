/*
 * mgmt/console/session.h - one network console session, shared by the
 * connection side (console.c: TCP, output and input rings, commands) and
 * the login dialogue (login.c). Private to mgmt/console/.
 */
#ifndef HAKO_SESSION_H
#define HAKO_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt/auth.h"
#include "mgmt/console/telnet.h"
#include "mgmt/shell/shell.h"

struct tcp_pcb;

#define CONSOLE_SHELLS 4   /* logged-in sessions at most */
#define CONSOLE_RESERVED 1 /* of them, kept for administrators */
#define CONSOLE_LOGINS 4   /* clients at the login prompt at most */
#define CONSOLE_SLOTS (CONSOLE_SHELLS + CONSOLE_LOGINS + 2) /* + 2 still closing */
#define CONSOLE_RING (64 * 1024)
#define LOGIN_TRIES 5
#define LOGIN_WINDOW_US (15 * 1000000ull) /* to type a name and a password */
#define FIELD_MAX 128
#define CONSOLE_IN 4096

/*
 * S_HOLD: a password typed, waiting for login_limit to allow its check;
 * S_DELAY: after a failure, until "login incorrect" and a new prompt.
 */
enum sess_state { S_FREE, S_USER, S_PASS, S_HOLD, S_DELAY, S_SHELL, S_CLOSING };

struct session {
	enum sess_state state;
	struct telnet_rx tn;
	struct tcp_pcb *pcb;
	struct shell sh;
	char user[AUTH_NAME_MAX + 1];
	char field[FIELD_MAX + 1];
	size_t flen;
	int overlong, last_cr, typed;
	unsigned fails;
	uint64_t started, prompted, last_input, wait_until, last_progress;
	uint8_t out[CONSOLE_RING];
	size_t out_head, out_len; /* ring: bytes [head, head+len) are pending */
	uint64_t dropped;
	char peer[24];
	uint32_t peer_ip; /* host byte order */
	int busy; /* its command runs: console_poll() leaves its input queued */
	uint64_t in_dropped;
	uint8_t in[CONSOLE_IN]; /* shell input, telnet already decoded */
	size_t in_head, in_len;
};


/* console.c: text to the client (LF becomes CR LF), and its end. */
void session_out(struct session *s, const char *text);
/* Ends the session from console_poll(); `why`, when given, is its last line. */
void session_end(struct session *s, const char *why);
/* The login succeeded: a shell, if slots.c gives it a shell slot; else the end. */
void session_open_shell(struct session *s);

/* login.c: the dialogue from the first prompt to session_open_shell(). */
void login_prompt(struct session *s);
/* One input byte while the session is in a login state. */
void login_byte(struct session *s, uint8_t c);
/* Holds, delays and the login window; console_poll() calls it each round. */
void login_timers(struct session *s, uint64_t now);

#endif
