/*
 * net/iscsi/session.c - the connection side of an iSCSI session: states,
 * the send queue, PDU dispatch, sequence numbers (RFC 7143 4.2.2), NOP
 * keepalives (11.18, 11.19), SendTargets discovery (Appendix C), logout
 * (11.14, 11.15), asynchronous messages (11.9), rejects (11.17) and
 * reconnect with backoff. Login lives in login.c, SCSI tasks in task.c.
 * Portable.
 */
#include "net/iscsi/session.h"

#include <stdarg.h>

#include "net/iscsi/text.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"

#define LOGIN_TIMEOUT_US (10 * 1000000ull)
#define LOGOUT_TIMEOUT_US (5 * 1000000ull)
#define BACKOFF_MIN_US (100 * 1000ull)
#define BACKOFF_MAX_US (2 * 1000000ull)

static uint64_t now(struct iscsi_session *s)
{
	return s->ops->now_us(s->ctx);
}

static void set_state(struct iscsi_session *s, enum iscsi_state st)
{
	s->state = st;
	s->state_since = now(s);
}

static const char *sess_name(const struct iscsi_session *s)
{
	return s->cfg.target[0] ? s->cfg.target : s->cfg.host;
}

uint64_t iscsi_stamp(struct iscsi_session *s)
{
	return s->ops->stamp ? s->ops->stamp(s->ctx) : 0;
}

/* Stamps t_wire of the commands whose last byte the transport has taken. */
static void stamp_wire(struct iscsi_session *s)
{
	uint64_t now = 0;
	int left = 0;
	for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
		struct iscsi_task *t = s->tasks[i];
		if (!t || !t->t_queued || t->t_wire)
			continue;
		if (t->wire_mark > s->tx_sent)
			left = 1;
		else
			t->t_wire = now ? now : (now = iscsi_stamp(s));
	}
	s->wire_waiting = left;
}

/* Sends what the transport will take now; the rest waits for the next poll. */
void iscsi_tx_flush(struct iscsi_session *s)
{
	size_t before = s->tx_head;
	while (s->tx_head < s->tx_tail) {
		long n = s->ops->send(s->ctx, s->tx + s->tx_head, s->tx_tail - s->tx_head);
		if (n < 0) {
			iscsi_drop(s, (int)n, "send failed (%s)", errno_str((int)n));
			return;
		}
		if (n == 0)
			break;
		s->tx_head += (size_t)n;
	}
	s->tx_sent += s->tx_head - before;
	if (s->wire_waiting)
		stamp_wire(s);
	if (s->tx_head == s->tx_tail)
		s->tx_head = s->tx_tail = 0;
}

/* Is there room for one PDU with `data_len` bytes of data? */
int iscsi_tx_room(const struct iscsi_session *s, uint32_t data_len)
{
	size_t need = iscsi_pdu_size(data_len, s->p.header_digest, s->p.data_digest);
	return ISCSI_TX_CAP - (s->tx_tail - s->tx_head) >= need;
}

/*
 * Queues one PDU, or refuses (-ENOSPC) when it does not fit: a target that
 * stops reading while it keeps asking for answers must not make the queue
 * run past s->tx[] into what follows it.
 */
int iscsi_tx_pdu(struct iscsi_session *s, void *bhs, const void *data, uint32_t len)
{
	size_t need = iscsi_pdu_size(len, s->p.header_digest, s->p.data_digest);
	if (!iscsi_tx_room(s, len))
		return -ENOSPC;
	if (ISCSI_TX_CAP - s->tx_tail < need) {
		memmove(s->tx, s->tx + s->tx_head, s->tx_tail - s->tx_head);
		s->tx_tail -= s->tx_head, s->tx_head = 0;
	}
	s->tx_tail += iscsi_pdu_write(s->tx + s->tx_tail, bhs, data, len, s->p.header_digest,
				      s->p.data_digest);
	return 0;
}
_Static_assert(2 * (48 + 4 + ISCSI_TX_DATA_MAX + 3 + 4) <= ISCSI_TX_CAP,
	       "two of the largest PDUs fit the send queue");

static int is_permanent(int err)
{
	return err == -EPERM || err == -ENOENT || err == -ENOTSUP || err == -EPROTO;
}

static void start_connect(struct iscsi_session *s)
{
	set_state(s, ISCSI_S_CONNECTING);
	s->connects++;
	int err = s->ops->connect(s->ctx, s->cfg.host, s->cfg.port);
	if (err)
		iscsi_drop(s, err, "cannot connect to %s:%u (%s)", s->cfg.host, s->cfg.port,
			   errno_str(err));
}

static void drop(struct iscsi_session *s, int err, int violation);

/*
 * Ends the connection for `err` with a logged reason. Unfinished tasks
 * go back to the queue and a reconnect follows after a backoff, unless
 * the session was logging out or the error is permanent (login refused).
 */
void iscsi_drop(struct iscsi_session *s, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	redact_text_inplace(s->error); /* it may quote the target: keep it off the terminal */
	drop(s, err, 0);
}

/*
 * The same for something the target sent (or did) against RFC 7143: after
 * ISCSI_MAX_VIOLATIONS of them in a row the session fails for good, so its
 * tasks fail now with the reason instead of at their timeout, and a
 * discovery stops logging in again.
 */
void iscsi_violation(struct iscsi_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	redact_text_inplace(s->error); /* it may quote the target: keep it off the terminal */
	drop(s, -EIO, 1);
}

static void drop(struct iscsi_session *s, int err, int violation)
{
	s->error_code = err;
	if (s->state == ISCSI_S_CLOSED || s->state == ISCSI_S_FAILED || s->state == ISCSI_S_IDLE)
		return;
	if (violation && ++s->violations >= ISCSI_MAX_VIOLATIONS) {
		char why[sizeof(s->error)];
		memcpy(why, s->error, sizeof(why));
		fmt_snprintf(s->error, sizeof(s->error), "target broke the protocol %d times in a "
			     "row: %s", s->violations, why);
		err = s->error_code = -EPROTO;
	}
	log_warn("iscsi %s: connection closed: %s", sess_name(s), s->error);
	if (!s->down)
		s->down = 1, s->down_since = now(s);
	s->ops->close(s->ctx);
	s->epoch++;
	s->tx_head = s->tx_tail = 0;
	s->p.header_digest = s->p.data_digest = 0;
	if (s->state == ISCSI_S_LOGOUT || (!s->cfg.target[0] && s->discovery_done == 2)) {
		set_state(s, ISCSI_S_CLOSED);
		iscsi_abort_all(s, -ECANCELED, "session logged out");
		return;
	}
	if (is_permanent(err)) {
		set_state(s, ISCSI_S_FAILED);
		iscsi_abort_all(s, err, s->error);
		return;
	}
	iscsi_tasks_requeue(s);
	s->backoff_us = s->backoff_us ? s->backoff_us * 2 : BACKOFF_MIN_US;
	if (s->backoff_us > BACKOFF_MAX_US)
		s->backoff_us = BACKOFF_MAX_US;
	set_state(s, ISCSI_S_BACKOFF);
}

/* Validates cfg, fills the defaults and starts the first connection; 0 or -EINVAL. */
int iscsi_session_start(struct iscsi_session *s, const struct iscsi_config *cfg,
			const struct iscsi_transport_ops *ops, void *ctx)
{
	if (!cfg->host[0] || !cfg->initiator[0] || !cfg->port)
		return -EINVAL;
	if (cfg->target_user[0] && !cfg->user[0])
		return -EINVAL; /* mutual CHAP needs the one-way part too */
	s->cfg = *cfg;
	if (!s->cfg.task_timeout_us)
		s->cfg.task_timeout_us = 60 * 1000000ull;
	if (!s->cfg.keepalive_us)
		s->cfg.keepalive_us = 5 * 1000000ull;
	s->ops = ops, s->ctx = ctx;
	/* ISID type 10b "random" (RFC 7143 10.12.5): kept across reconnects
	 * so the target reinstates, i.e. cleans up, the old session. */
	ops->random(ctx, s->isid, sizeof(s->isid));
	s->isid[0] = 0x80;
	s->cmdsn = 1;
	start_connect(s);
	return 0;
}

/* The transport connected: log in. */
void iscsi_conn_up(struct iscsi_session *s)
{
	if (s->state != ISCSI_S_CONNECTING)
		return;
	set_state(s, ISCSI_S_LOGIN);
	s->last_rx = now(s);
	iscsi_rx_reset(&s->rx, ISCSI_RX_DATA_MAX);
	iscsi_login_begin(s);
	iscsi_tx_flush(s);
}

/* The transport lost the connection: requeue and reconnect later. */
void iscsi_conn_down(struct iscsi_session *s, int err, const char *why)
{
	iscsi_drop(s, err ? err : -EIO, "%s", why);
}

/* 4.2.2.1: take ExpCmdSN/MaxCmdSN only from a consistent pair, only forward. */
void iscsi_update_sn(struct iscsi_session *s, uint32_t exp, uint32_t max)
{
	if (iscsi_sn_lt(max, exp - 1))
		return;
	if (iscsi_sn_lt(s->exp_cmdsn, exp))
		s->exp_cmdsn = exp;
	if (iscsi_sn_lt(s->max_cmdsn, max))
		s->max_cmdsn = max;
}

/* A status-bearing PDU: StatSN must be the next one (4.2.2.2, ERL 0). */
int iscsi_check_statsn(struct iscsi_session *s, uint32_t statsn)
{
	if (statsn != s->exp_statsn) {
		iscsi_violation(s, "out-of-sequence StatSN %u, expected %u", statsn, s->exp_statsn);
		return -EIO;
	}
	s->exp_statsn++;
	return 0;
}

static void fill_request(struct iscsi_session *s, struct iscsi_bhs *h, uint8_t op, uint32_t itt)
{
	memset(h, 0, sizeof(*h));
	h->opcode = op;
	h->flags = ISCSI_FLAG_FINAL;
	h->itt = iscsi_be32(itt);
	h->ttt = iscsi_be32(ISCSI_RSVD_TAG);
	h->statsn = iscsi_be32(s->cmdsn); /* CmdSN, not advanced for immediate PDUs */
	h->exp_cmdsn = iscsi_be32(s->exp_statsn); /* ExpStatSN */
}

static uint32_t next_tag(struct iscsi_session *s)
{
	return 0x80000000u | (s->next_itt++ & 0x7fffffff);
}

/* 11.18: a NOP-Out ping (our ITT) or the answer to a target's ping (its TTT). */
static void send_nop_out(struct iscsi_session *s, uint32_t itt, uint32_t ttt,
			 const uint8_t *lun, const void *data, uint32_t len)
{
	struct iscsi_bhs h;
	fill_request(s, &h, ISCSI_OP_NOP_OUT | ISCSI_OP_IMMEDIATE, itt);
	h.ttt = iscsi_be32(ttt);
	if (lun)
		memcpy(h.lun, lun, 8);
	if (iscsi_tx_pdu(s, &h, data, len))
		return; /* the queue is full of data; the target sees traffic anyway */
}

static void rx_nop_in(struct iscsi_session *s, const struct iscsi_bhs *h, const uint8_t *d,
		      uint32_t len)
{
	uint32_t itt = iscsi_be32(h->itt), ttt = iscsi_be32(h->ttt);
	if (itt != ISCSI_RSVD_TAG) {
		if (itt != s->ping_itt || !s->ping_itt) {
			iscsi_violation(s, "NOP-In answers ITT 0x%x we never sent", itt);
			return;
		}
		if (iscsi_check_statsn(s, iscsi_be32(h->statsn)))
			return;
		s->ping_itt = 0;
	} else if (ttt != ISCSI_RSVD_TAG) {
		/* The target pings us; tgt ends the session if we stay silent. */
		send_nop_out(s, ISCSI_RSVD_TAG, ttt, h->lun, d,
			     len > s->p.target_max_recv_dsl ? 0 : len);
		s->pings_answered++;
	}
	iscsi_update_sn(s, iscsi_be32(h->exp_cmdsn), iscsi_be32(h->max_cmdsn));
}

/*
 * Every request of one text exchange carries the same ITT (11.10.3). A
 * full send queue means the target asks for more without reading what we
 * sent (its receive window shut): that ends the connection.
 */
static void send_text(struct iscsi_session *s, uint32_t itt, uint32_t ttt, const char *text,
		      uint32_t len)
{
	struct iscsi_bhs h;
	fill_request(s, &h, ISCSI_OP_TEXT_REQ, itt);
	h.ttt = iscsi_be32(ttt);
	if (iscsi_tx_pdu(s, &h, text, len)) {
		iscsi_violation(s, "target does not read what it asked for (send queue full)");
		return;
	}
	s->login_itt = itt;
	s->cmdsn++; /* text requests are not immediate: they use a CmdSN */
}

/*
 * 11.14. Without room in the send queue it stays wanted (logout_wanted):
 * poll_full() tries again, and whoever closes the session bounds the wait.
 */
static void send_logout(struct iscsi_session *s)
{
	struct iscsi_bhs h;
	uint32_t itt = next_tag(s);
	fill_request(s, &h, ISCSI_OP_LOGOUT_REQ | ISCSI_OP_IMMEDIATE, itt);
	h.flags = ISCSI_FLAG_FINAL; /* reason code 0: close the session (11.14.1) */
	h.ttt = 0; /* CID 0 */
	if (iscsi_tx_pdu(s, &h, 0, 0)) {
		s->logout_wanted = 1;
		return;
	}
	s->login_itt = itt;
	set_state(s, ISCSI_S_LOGOUT);
}

/*
 * Appendix C: SendTargets answers may span several PDUs: a response with
 * F=0 (C=1 while the text is cut, 11.11) is answered with an empty Text
 * Request carrying its TTT, and the pieces are joined in s->disc, so a
 * key=value pair cut between two PDUs is whole again (6.2).
 */
static void rx_text(struct iscsi_session *s, const struct iscsi_bhs *h, const uint8_t *d,
		    uint32_t len)
{
	if (iscsi_be32(h->itt) != s->login_itt || s->cfg.target[0] || s->discovery_done != 1) {
		iscsi_violation(s, "unexpected Text Response");
		return;
	}
	if (iscsi_check_statsn(s, iscsi_be32(h->statsn)))
		return;
	iscsi_update_sn(s, iscsi_be32(h->exp_cmdsn), iscsi_be32(h->max_cmdsn));
	if ((h->flags & ISCSI_FLAG_FINAL) && (h->flags & ISCSI_FLAG_CONT)) {
		iscsi_violation(s, "Text Response with both the F and the C bit");
		return;
	}
	if (len > sizeof(s->disc) - 1 - s->disc_len) {
		iscsi_violation(s, "SendTargets answer longer than %zu bytes", sizeof(s->disc));
		return;
	}
	if (++s->text_pieces > ISCSI_TEXT_MAX_PIECES) {
		iscsi_violation(s, "SendTargets answer in more than %d pieces", ISCSI_TEXT_MAX_PIECES);
		return;
	}
	/* Target names and addresses reach the console: only printable ASCII
	 * (and the NULs between pairs) goes in. */
	for (uint32_t i = 0; i < len; i++)
		s->disc[s->disc_len + i] = d[i] && (d[i] < 0x20 || d[i] > 0x7e) ? '?' : (char)d[i];
	s->disc_len += len;
	if (!(h->flags & ISCSI_FLAG_FINAL)) {
		send_text(s, s->login_itt, iscsi_be32(h->ttt), 0, 0);
		return;
	}
	s->discovery_done = 2;
	s->violations = 0;
	send_logout(s);
}

static void rx_logout(struct iscsi_session *s, const struct iscsi_bhs *h)
{
	if (s->state != ISCSI_S_LOGOUT || iscsi_be32(h->itt) != s->login_itt) {
		iscsi_violation(s, "unexpected Logout Response");
		return;
	}
	if (iscsi_check_statsn(s, iscsi_be32(h->statsn)))
		return;
	s->violations = 0;
	log_info("iscsi %s: logged out", s->cfg.target[0] ? s->cfg.target : "discovery");
	s->ops->close(s->ctx);
	s->epoch++;
	set_state(s, ISCSI_S_CLOSED);
	iscsi_abort_all(s, -ECANCELED, "session logged out");
}

/* 11.9: events 1-4 all end in a new connection for ERL 0 initiators. */
static void rx_async(struct iscsi_session *s, const struct iscsi_bhs *h)
{
	uint8_t event = (uint8_t)(iscsi_be32(h->data_sn) >> 24);
	if (iscsi_check_statsn(s, iscsi_be32(h->statsn)))
		return;
	iscsi_update_sn(s, iscsi_be32(h->exp_cmdsn), iscsi_be32(h->max_cmdsn));
	if (event == 0) {
		log_info("iscsi %s: SCSI asynchronous event", sess_name(s));
		return;
	}
	iscsi_drop(s, -EIO, "target asked to end the connection (async event %u)", event);
}

static void rx_full(struct iscsi_session *s, const struct iscsi_bhs *h, const uint8_t *d,
		    uint32_t len)
{
	switch (h->opcode & ISCSI_OPCODE_MASK) {
	case ISCSI_OP_NOP_IN: rx_nop_in(s, h, d, len); break;
	case ISCSI_OP_SCSI_RSP:
	case ISCSI_OP_DATA_IN:
	case ISCSI_OP_R2T: iscsi_task_rx(s, h, d, len); break;
	case ISCSI_OP_TEXT_RSP: rx_text(s, h, d, len); break;
	case ISCSI_OP_LOGOUT_RSP: rx_logout(s, h); break;
	case ISCSI_OP_ASYNC: rx_async(s, h); break;
	case ISCSI_OP_REJECT:
		iscsi_violation(s, "target rejected a PDU (reason 0x%02x)", h->spec[0]);
		break;
	default:
		iscsi_violation(s, "unexpected opcode 0x%02x in full feature phase", h->opcode);
	}
}

static void rx_pdu(struct iscsi_session *s)
{
	const struct iscsi_bhs *h = (const void *)s->rx.hdr;
	const char *why;
	if (iscsi_bhs_check(h, s->rx.data_len, &why)) {
		iscsi_violation(s, "malformed PDU (opcode 0x%02x): %s", h->opcode, why);
		return;
	}
	s->last_rx = now(s);
	if (s->state == ISCSI_S_LOGIN) {
		if ((h->opcode & ISCSI_OPCODE_MASK) != ISCSI_OP_LOGIN_RSP) {
			iscsi_violation(s, "opcode 0x%02x during login", h->opcode);
			return;
		}
		iscsi_login_rx(s, h, (const char *)s->rx.data, s->rx.data_len);
	} else if (s->state == ISCSI_S_FULL || s->state == ISCSI_S_LOGOUT) {
		rx_full(s, h, s->rx.data, s->rx.data_len);
	}
}

/* Bytes from the transport: cut into PDUs and handle each. */
void iscsi_feed(struct iscsi_session *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t epoch = s->epoch;
	while (len && s->epoch == epoch) {
		size_t used;
		const char *why = "";
		int r = iscsi_rx_feed(&s->rx, p, len, &used, &why);
		p += used, len -= used;
		if (r < 0) {
			iscsi_violation(s, "malformed PDU: %s", why);
			return;
		}
		if (r == 0)
			break;
		rx_pdu(s);
		iscsi_rx_next(&s->rx);
	}
	if (s->epoch == epoch && s->state == ISCSI_S_FULL)
		iscsi_tasks_pump(s);
	if (s->epoch == epoch)
		iscsi_tx_flush(s);
}

static void poll_full(struct iscsi_session *s, uint64_t t)
{
	if (!s->cfg.target[0] && !s->discovery_done) {
		static const char st[] = "SendTargets=All";
		s->discovery_done = 1;
		s->text_pieces = 0;
		send_text(s, next_tag(s), ISCSI_RSVD_TAG, st, sizeof(st));
		if (s->state != ISCSI_S_FULL)
			return;
	}
	if (t - s->last_rx > 2 * s->cfg.keepalive_us && s->ping_itt) {
		iscsi_drop(s, -ETIMEDOUT, "target did not answer NOP-Out for %llu s",
			   (unsigned long long)(2 * s->cfg.keepalive_us / 1000000));
		return;
	}
	if (t - s->last_rx > s->cfg.keepalive_us && !s->ping_itt) {
		s->ping_itt = next_tag(s);
		send_nop_out(s, s->ping_itt, ISCSI_RSVD_TAG, 0, 0, 0);
	}
	if (s->logout_wanted && !iscsi_tasks_pending(s))
		send_logout(s);
	else
		iscsi_tasks_pump(s);
}

/* Timers (backoff, login, keepalive, logout, task deadlines) and the send queue. */
void iscsi_poll(struct iscsi_session *s)
{
	uint64_t t = now(s);
	switch (s->state) {
	case ISCSI_S_BACKOFF:
		if (t - s->state_since >= s->backoff_us)
			start_connect(s);
		break;
	case ISCSI_S_CONNECTING:
	case ISCSI_S_LOGIN:
		if (t - s->state_since > LOGIN_TIMEOUT_US)
			iscsi_drop(s, -ETIMEDOUT, "no login within %llu s",
				   (unsigned long long)(LOGIN_TIMEOUT_US / 1000000));
		break;
	case ISCSI_S_FULL: poll_full(s, t); break;
	case ISCSI_S_LOGOUT:
		if (t - s->state_since > LOGOUT_TIMEOUT_US)
			iscsi_drop(s, -ETIMEDOUT, "no logout response");
		break;
	default: break;
	}
	iscsi_tasks_expire(s, t);
	if (s->state == ISCSI_S_FULL || s->state == ISCSI_S_LOGIN || s->state == ISCSI_S_LOGOUT)
		iscsi_tx_flush(s);
}

/*
 * Logs out (11.14, reason 0: close the session) once the tasks in flight
 * are done: at once when none are; closes at once when not logged in.
 * The session is ISCSI_S_CLOSED after the Logout Response, or after
 * iscsi_drop() when the target never answers (LOGOUT_TIMEOUT_US).
 */
void iscsi_logout(struct iscsi_session *s)
{
	if (s->state == ISCSI_S_FULL || s->state == ISCSI_S_LOGIN || s->state == ISCSI_S_CONNECTING ||
	    s->state == ISCSI_S_BACKOFF)
		s->logout_wanted = 1;
	if (s->state == ISCSI_S_FULL && !iscsi_tasks_pending(s) && iscsi_tx_room(s, 0)) {
		send_logout(s);
		iscsi_tx_flush(s);
		return;
	}
	if (s->state != ISCSI_S_FULL && s->state != ISCSI_S_LOGOUT) {
		if (s->state == ISCSI_S_CONNECTING || s->state == ISCSI_S_LOGIN)
			s->ops->close(s->ctx);
		s->epoch++;
		set_state(s, ISCSI_S_CLOSED);
		iscsi_abort_all(s, -ECANCELED, "session closed");
	}
}

/* Called with the full-feature phase reached (login.c). */
void iscsi_discovery_walk(const struct iscsi_session *s,
			  void (*fn)(void *arg, const char *name, const char *addr), void *arg)
{
	size_t pos = 0;
	struct iscsi_kv kv;
	const char *name = 0, *addr = "";
	while (iscsi_text_next(s->disc, s->disc_len, &pos, &kv) == 1) {
		if (!strcmp(kv.key, "TargetName")) {
			if (name)
				fn(arg, name, addr);
			name = kv.value, addr = "";
		} else if (!strcmp(kv.key, "TargetAddress") && name && !*addr) {
			addr = kv.value;
		}
	}
	if (name)
		fn(arg, name, addr);
}
