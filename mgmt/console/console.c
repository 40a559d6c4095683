/*
 * mgmt/console/console.c - the network management console: the shell over TCP
 * (hako.cfg `mgmt_port=`, default 2323) after a login.
 *
 * Works with telnet and nc: telnet negotiation (RFC 854) is answered with
 * "server echoes, no go-ahead" (RFC 857, RFC 858) and otherwise skipped;
 * output lines end in CR LF.
 *
 * Rules (issue 6, hardened by issue 17 finding 9): passwords are checked
 * against mgmt/auth.c's hashes, at the pace login_limit.c sets per source
 * address and per account (1 s, 2 s, 4 s ... after each failure, whatever
 * the connection), and the fifth failure on one connection ends it (see
 * login.c). Slots
 * follow slots.c: at most CONSOLE_LOGINS clients at the login prompt, where
 * a newcomer takes the place of a silent or waiting one when full, and
 * CONSOLE_SHELLS logged-in sessions, the last CONSOLE_RESERVED of them for
 * administrators. A name and password must be typed within
 * LOGIN_WINDOW_US of the prompt, and a shell session ends after
 * `mgmt_idle=` seconds without input (default 900). Output goes through a
 * per-session ring: when a reader is slow the ring's overflow is dropped,
 * and when it takes nothing for STALL_TIMEOUT_US it is disconnected, so
 * no reader ever holds up the service core. A session's end ends its
 * shell (shell_end), which lets go of an attached guest console before
 * the slot serves anyone else.
 *
 * All of it runs on the service core: lwIP callbacks (from the network
 * poller) and console_poll() for timers and commands. Receive callbacks
 * only queue a shell session's input; console_poll() feeds it to the
 * shell outside any lwIP callback, so a command may wait on the network
 * (iSCSI verbs, starting a guest on a LUN) by polling the service core,
 * lwIP included (lwIP is NO_SYS: single-threaded, never re-entered).
 * While a session's command runs, its further input waits in its input
 * ring (the command reads a confirmation or a Ctrl-C from there), and the
 * nested console_poll() calls serve the other sessions: their commands run
 * nested inside the waiting one, one at a time per session. A command
 * that finishes later without waiting (shell_pend: `start` of a guest
 * whose disks open over the network) leaves its session's input queued
 * too, but for a Ctrl-C, which goes to the command. A session whose peer
 * goes away during its command stays allocated until the command returns
 * (or, when it is pending, is detached from it); its output is dropped.
 * Sessions close only from console_poll(), never inside an lwIP callback,
 * except a client at the login prompt that makes room for a newer one
 * (admit(): it runs no command). Connections close through linger.c, so
 * clients that never close cannot hold lwIP's PCBs. The login dialogue is
 * in login.c.
 */
#include "net/net.h"

#include "lwip/tcp.h"
#include "mgmt/auth.h"
#include "mgmt/console/console.h"
#include "mgmt/console/linger.h"
#include "mgmt/console/session.h"
#include "mgmt/console/slots.h"
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "vmm/core/host.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

#define CONSOLE_PORT 2323
#define IDLE_DEFAULT_S 900
#define STALL_TIMEOUT_US (30 * 1000000ull)
#define CTRL_C 3

/* Allocated by console_start(): about 80 KiB each, only when networking. */
static struct session *sessions;
static struct tcp_pcb *listener;
static uint64_t idle_us = IDLE_DEFAULT_S * 1000000ull;
static struct log_ratelimit refuse_rl = LOG_RATELIMIT_INIT(5);
static const struct slot_limits slot_limits = { CONSOLE_SHELLS, CONSOLE_RESERVED, CONSOLE_LOGINS };

static int session_getc(void *ctx);
static int session_interrupted(void *ctx);

static void flush(struct session *s)
{
	if (!s->pcb)
		return;
	int wrote = 0;
	while (s->out_len) {
		size_t chunk = CONSOLE_RING - s->out_head < s->out_len ? CONSOLE_RING - s->out_head :
									   s->out_len;
		size_t room = tcp_sndbuf(s->pcb);
		if (chunk > room)
			chunk = room;
		if (chunk > 0xffff)
			chunk = 0xffff;
		if (!chunk || tcp_write(s->pcb, s->out + s->out_head, (u16_t)chunk,
					TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		s->out_head = (s->out_head + chunk) % CONSOLE_RING;
		s->out_len -= chunk;
		wrote = 1;
	}
	if (wrote) {
		s->last_progress = time_us();
		tcp_output(s->pcb);
	}
	if (!s->out_len)
		s->last_progress = time_us();
}

/* Queues raw bytes; what does not fit in the ring is dropped. */
static void out_raw(struct session *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++) {
		if (s->out_len == CONSOLE_RING) {
			s->dropped += n - i;
			return;
		}
		s->out[(s->out_head + s->out_len++) % CONSOLE_RING] = p[i];
	}
}

/* Text output: LF becomes CR LF, and 0xff is doubled (telnet IAC). */
static void out_text(struct session *s, const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\n')
			out_raw(s, "\r\n", 2);
		else if ((uint8_t)t[i] == TELNET_IAC)
			out_raw(s, "\xff\xff", 2);
		else
			out_raw(s, &t[i], 1);
	}
	flush(s);
}

/* session_out - queues text for the client and sends what fits (see session.h). */
void session_out(struct session *s, const char *t)
{
	out_text(s, t, strlen(t));
}

static void shell_out(void *ctx, const char *t, size_t n)
{
	out_text(ctx, t, n);
}

/*
 * session_end - marks the session for release by console_poll(), after
 * `why` (may be 0). A session already ending is left alone.
 */
void session_end(struct session *s, const char *why)
{
	if (s->state == S_FREE || s->state == S_CLOSING)
		return;
	if (why)
		session_out(s, why);
	s->state = S_CLOSING;
}

/*
 * Frees a session's slot, from console_poll() (or admit(), for a client at
 * the login prompt that runs no command). Its shell ends first:
 * whatever it had attached (a guest console) lets go before the slot can
 * serve the next client.
 */
static void release(struct session *s)
{
	struct tcp_pcb *pcb = s->pcb;
	shell_end(&s->sh);
	memset(s->field, 0, sizeof(s->field)); /* a password held for its check */
	s->pcb = 0;
	s->state = S_FREE;
	if (!pcb)
		return;
	(void)linger_close(pcb); /* not inside this PCB's callback: an abort needs no ERR_ABRT */
}

static void slot_views(struct slot_view *v)
{
	for (int i = 0; i < CONSOLE_SLOTS; i++) {
		const struct session *s = &sessions[i];
		enum slot_state st = s->state == S_FREE ? SLOT_FREE :
				     s->state == S_SHELL ? SLOT_SHELL :
				     s->state == S_CLOSING ? SLOT_GOING : SLOT_LOGIN;
		v[i] = (struct slot_view){ st, s->peer_ip, s->sh.admin, s->typed,
					   s->state == S_HOLD || s->state == S_DELAY, s->started };
	}
}

/*
 * session_open_shell - the login of s->user succeeded: opens its shell if
 * slots.c gives it a shell slot (the last one only for an administrator),
 * else ends the session saying why.
 */
void session_open_shell(struct session *s)
{
	struct slot_view v[CONSOLE_SLOTS];
	slot_views(v);
	int admin = auth_is_admin(s->user);
	int err = slots_open_shell(v, CONSOLE_SLOTS, &slot_limits, admin);
	if (err) {
		session_end(s, err == -EPERM ? "hako: the last session is kept for an administrator; "
					       "try again later\n" :
					       "hako: too many sessions (at most 4 at a time); try again "
					       "later\n");
		return;
	}
	log_info("console: '%s' logged in from %s", s->user, s->peer);
	s->state = S_SHELL;
	shell_init(&s->sh, shell_out, s);
	s->sh.remote = 1;
	s->sh.admin = admin;
	shell_set_input(&s->sh, session_getc, session_interrupted);
	shell_printf(&s->sh, "hako %s - type 'help' for the verbs, 'exit' to leave\n", HAKO_VERSION);
	shell_prompt(&s->sh);
}

static void data_byte(struct session *s, uint8_t c)
{
	s->typed = 1;
	switch (s->state) {
	case S_USER:
	case S_PASS:
		login_byte(s, c);
		break;
	case S_SHELL:
		if (s->last_cr && (c == '\n' || c == 0)) {
			s->last_cr = 0; /* the rest of the password line's CR LF */
			break;
		}
		s->last_cr = 0;
		if (s->in_len < CONSOLE_IN)
			s->in[(s->in_head + s->in_len++) % CONSOLE_IN] = c;
		else
			s->in_dropped++; /* more than the ring at once (see on_recv) */
		break;
	case S_HOLD:
	case S_DELAY: /* input while a login waits is dropped */
	case S_FREE:
	case S_CLOSING:
		break;
	}
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct session *s = arg;
	(void)err; /* lwIP passes ERR_OK here in 2.1 */
	if (!s) {
		if (p)
			pbuf_free(p);
		return ERR_OK;
	}
	if (!p) {
		session_end(s, 0);
		return ERR_OK;
	}
	/* Telnet decoding only shrinks the bytes; when the input ring has no
	 * room (a command is running and input piles up) lwIP keeps the pbuf
	 * and offers it again later (tcp_process_refused_data), and the window
	 * stays shut meanwhile. A pbuf larger than the whole ring is taken
	 * once the ring is empty, and what does not fit is dropped. */
	if (p->tot_len > CONSOLE_IN - s->in_len && s->in_len)
		return ERR_MEM;
	s->last_input = time_us();
	for (struct pbuf *q = p; q; q = q->next) {
		for (u16_t i = 0; i < q->len && s->state != S_CLOSING; i++) {
			int c = telnet_rx_byte(&s->tn, ((uint8_t *)q->payload)[i]);
			if (c >= 0)
				data_byte(s, (uint8_t)c);
		}
	}
	/* Consume at once so the window stays open (TESTING.md: slirp). */
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct session *s = arg;
	(void)pcb, (void)len; /* any acknowledgment means progress */
	if (s) {
		s->last_progress = time_us();
		flush(s);
	}
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct session *s = arg;
	(void)err; /* the connection is gone whatever the reason */
	if (s) {
		s->pcb = 0; /* lwIP already freed it */
		/* console_poll() releases it (once a running command returns; a
		 * pending one is detached from it first). */
		s->state = S_CLOSING;
	}
}

/* Says why and closes; returns what on_accept returns for the PCB. */
static err_t refuse(struct tcp_pcb *pcb, const char *msg)
{
	tcp_write(pcb, msg, (u16_t)strlen(msg), TCP_WRITE_FLAG_COPY);
	return linger_close(pcb) ? ERR_ABRT : ERR_OK;
}

static void peer_str(struct tcp_pcb *pcb, char *buf, size_t n)
{
	char ip[16];
	net_ip_str(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)), ip, sizeof(ip));
	fmt_snprintf(buf, n, "%s:%u", ip, pcb->remote_port);
}

/*
 * Picks the slot for a new client (slots.c). A client waiting at the
 * login prompt that has to make room is released at once (it runs no
 * command), so a burst of connections cannot use up the slots. Returns 0
 * with *refused set to what on_accept must return when there is none.
 */
static struct session *admit(struct tcp_pcb *pcb, uint32_t ip, err_t *refused)
{
	struct slot_view v[CONSOLE_SLOTS];
	int evict;
	slot_views(v);
	int i = slots_admit(v, CONSOLE_SLOTS, &slot_limits, ip, &evict);
	if (i < 0) {
		if (log_ratelimit_ok(&refuse_rl))
			log_warn("console: client refused: %s", i == -ENOSPC ?
				 "4 sessions logged in already" : "every slot still closing");
		*refused = refuse(pcb, i == -ENOSPC ? "hako: too many sessions (at most 4 at a time); "
						      "try again later\r\n" :
						      "hako: busy; try again in a moment\r\n");
		return 0;
	}
	if (evict >= 0) {
		struct session *old = &sessions[evict];
		LOG_WARN_RL("console: %s closed to make room for a new client at the login prompt",
			    old->peer);
		session_out(old, "\nhako: too many clients at the login prompt; this one made room for "
			     "a newer one\n");
		release(old);
	}
	return &sessions[i];
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg; /* one listener */
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	if (!auth_user_count())
		return refuse(pcb, "hako: network login is disabled until a password is set: run "
				   "'passwd' on the serial console, or add a user= line made by "
				   "tools/hako-passwd to hako.cfg\r\n");
	uint32_t ip = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
	err_t refused = ERR_OK;
	struct session *s = admit(pcb, ip, &refused);
	if (!s)
		return refused;
	memset(s, 0, offsetof(struct session, out));
	s->out_head = s->out_len = s->dropped = 0;
	s->busy = 0, s->in_head = s->in_len = s->in_dropped = 0;
	s->pcb = pcb;
	s->peer_ip = ip;
	s->started = s->last_input = s->last_progress = time_us();
	peer_str(pcb, s->peer, sizeof(s->peer));
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	static const uint8_t offer[] = { TELNET_IAC, TELNET_WILL, TELNET_OPT_ECHO,
					 TELNET_IAC, TELNET_WILL, TELNET_OPT_SGA };
	out_raw(s, offer, sizeof(offer));
	session_out(s, "hako management console\n");
	login_prompt(s);
	return ERR_OK;
}

static void session_timers(struct session *s, uint64_t now)
{
	login_timers(s, now);
	if (s->state == S_SHELL && !s->busy && !shell_pending(&s->sh) && now - s->last_input > idle_us)
		session_end(s, "\nidle timeout; bye\n");
	if (s->out_len && now - s->last_progress > STALL_TIMEOUT_US) {
		log_warn("console: %s reads nothing; disconnected", s->peer);
		s->out_len = 0;
		session_end(s, 0);
	}
}

/*
 * Feeds a session's queued input to its shell, outside lwIP: a complete
 * line runs its command here, and the command may poll the service core
 * (this function included) while it waits.
 */
/* Takes the oldest queued input byte; the caller checked in_len. */
static uint8_t in_pop(struct session *s)
{
	uint8_t c = s->in[s->in_head];
	s->in_head = (s->in_head + 1) % CONSOLE_IN;
	s->in_len--;
	return c;
}

static void run_input(struct session *s)
{
	s->busy = 1;
	int saved = service_command_begin();
	while (s->in_len && s->state == S_SHELL && !shell_pending(&s->sh)) {
		shell_feed(&s->sh, in_pop(s));
		if (s->sh.closed)
			session_end(s, 0);
	}
	service_command_end(saved);
	s->busy = 0;
	s->last_input = time_us(); /* a long command is not idleness */
}

/* Busy while a session has input to run or output the network has not taken yet. */
static int console_poll(void)
{
	int busy = 0;
	for (int i = 0; sessions && i < CONSOLE_SLOTS; i++) {
		struct session *s = &sessions[i];
		if (s->state == S_FREE)
			continue;
		session_timers(s, time_us());
		if (s->in_dropped && log_ratelimit_ok(&refuse_rl)) {
			log_warn("console: %s: %llu input bytes dropped (more than %d at once)", s->peer,
				 (unsigned long long)s->in_dropped, CONSOLE_IN);
			s->in_dropped = 0;
		}
		if (s->state == S_SHELL && shell_pending(&s->sh)) {
			/* A command finishes later: input waits here, but for a Ctrl-C. */
			if (session_interrupted(s))
				shell_interrupt(&s->sh);
			s->last_input = time_us();
		} else if (s->state == S_SHELL && !s->busy && s->in_len && service_commands_allowed()) {
			run_input(s);
			busy = 1;
		}
		flush(s);
		busy |= s->out_len > 0 || (s->in_len > 0 && !shell_pending(&s->sh));
		if (s->state == S_CLOSING && !s->busy) {
			shell_detach(&s->sh); /* a pending command forgets this terminal */
			release(s);
		}
	}
	return busy;
}

/* A running command's next input byte (a confirmation answer). */
static int session_getc(void *ctx)
{
	struct session *s = ctx;
	if (s->state != S_SHELL || !s->pcb)
		return SHELL_GONE;
	return s->in_len ? in_pop(s) : SHELL_NO_INPUT;
}

/*
 * Ctrl-C typed during a command: like a terminal's interrupt, it also
 * discards what was typed ahead of it; input after it stays queued.
 */
static int session_interrupted(void *ctx)
{
	struct session *s = ctx;
	for (size_t i = 0; i < s->in_len; i++)
		if (s->in[(s->in_head + i) % CONSOLE_IN] == CTRL_C) {
			s->in_head = (s->in_head + i + 1) % CONSOLE_IN;
			s->in_len -= i + 1;
			return 1;
		}
	return 0;
}
SERVICE_POLLER(console, console_poll);

static void auth_report(const char *name, const char *why)
{
	log_warn("hako.cfg: user '%s' ignored: %s", name, why);
}

/*
 * console_start - loads users from hako.cfg and listens on mgmt_port.
 * Called once by the network start-up, after lwIP is initialised (see console.h).
 */
void console_start(void)
{
	uint64_t port = CONSOLE_PORT, idle;
	const char *v = cfg_get(&hako_cfg, "mgmt_port");
	if (v)
		fmt_parse_uint(v, 1, 65535, &port); /* cfg.c already checked it */
	v = cfg_get(&hako_cfg, "mgmt_idle");
	if (v && !fmt_parse_uint(v, 1, 86400, &idle))
		idle_us = idle * 1000000ull;
	sessions = (struct session *)page_alloc_bytes(CONSOLE_SLOTS * sizeof(struct session));
	if (!auth_load(&hako_cfg, auth_report))
		log_warn("console: no user with a password: network logins refused until "
			 "'passwd' is run on the serial console");
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb || tcp_bind(pcb, IP_ANY_TYPE, (u16_t)port) != ERR_OK) {
		log_err("console: cannot listen on TCP port %lu", port);
		if (pcb)
			tcp_abort(pcb);
		return;
	}
	listener = tcp_listen(pcb);
	if (!listener) {
		log_err("console: cannot listen on TCP port %lu (out of memory)", port);
		return;
	}
	tcp_accept(listener, on_accept);
	log_info("console: listening on TCP port %lu", port);
}

/* exit: ends a network session (on the serial console it says so). */
static int cmd_exit(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "exit");
	if (!sh->remote)
		return shell_error(sh, "exit ends a network session; the serial console stays");
	shell_printf(sh, "bye\n");
	sh->closed = 1;
	return 0;
}
SHELL_COMMAND(exit, "exit", "", "leave a network console session", cmd_exit);
