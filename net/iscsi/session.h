/*
 * net/iscsi/session.h - an iSCSI initiator session over one connection
 * (RFC 7143): login (security and operational stages, CHAP), discovery,
 * SCSI tasks with the CmdSN window, Data-In, R2T/Data-Out, NOP keepalives,
 * logout, and recovery (reconnect with backoff and re-issue of unfinished
 * tasks; ErrorRecoveryLevel 0, so recovery is a new login with the same
 * ISID, RFC 7143 6.3.5 session reinstatement). Portable: the transport,
 * the clock and randomness come through struct iscsi_transport_ops, so
 * the same code runs over POSIX sockets in the host tests and over lwIP in
 * the kernel.
 *
 * Threading: none. Everything runs from the caller's context: the
 * transport calls iscsi_conn_up/down() and iscsi_feed(), the owner calls
 * iscsi_poll() regularly (timers, keepalive, send queue).
 */
#ifndef HAKO_ISCSI_SESSION_H
#define HAKO_ISCSI_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "net/iscsi/pdu.h"

struct iscsi_session;

struct iscsi_transport_ops {
	/* Starts connecting; report the result with iscsi_conn_up/down(). */
	int (*connect)(void *ctx, const char *host, uint16_t port);
	/* Sends up to n bytes: returns how many were taken (0..n) or -E. */
	long (*send)(void *ctx, const void *buf, size_t n);
	/* Closes the connection; no callbacks for it afterwards. */
	void (*close)(void *ctx);
	uint64_t (*now_us)(void *ctx);
	void (*random)(void *ctx, void *buf, size_t n);
	/* Optional: a cheap clock for the tasks' latency stamps (the TSC). */
	uint64_t (*stamp)(void *ctx);
};

#define ISCSI_NAME_MAX 224 /* RFC 3722: iSCSI names are at most 223 bytes */
#define ISCSI_HOST_MAX 64
#define ISCSI_SECRET_MAX 64

struct iscsi_config {
	char host[ISCSI_HOST_MAX];
	uint16_t port;
	char target[ISCSI_NAME_MAX]; /* empty for a discovery session */
	char initiator[ISCSI_NAME_MAX];
	char user[ISCSI_SECRET_MAX], secret[ISCSI_SECRET_MAX]; /* CHAP, ours */
	char target_user[ISCSI_SECRET_MAX], target_secret[ISCSI_SECRET_MAX]; /* mutual */
	int header_digest, data_digest; /* enum iscsi_digest: what we offer */
	uint64_t task_timeout_us; /* 0: 60 s */
	uint64_t keepalive_us; /* idle time before a NOP-Out ping; 0: 5 s */
};

/* Digests we offer (RFC 7143 13.1): none, CRC32C or none, CRC32C only. */
enum iscsi_digest { ISCSI_DIGEST_NONE, ISCSI_DIGEST_PREFER, ISCSI_DIGEST_REQUIRE };

enum iscsi_dir { ISCSI_DIR_NONE, ISCSI_DIR_READ, ISCSI_DIR_WRITE };

/*
 * One SCSI command. The caller owns the struct and the buffer until
 * `done` runs (exactly once). `result` is 0 or -E; `message` says why.
 */
struct iscsi_task {
	uint8_t cdb[16];
	uint64_t lun;
	void *buf;
	uint32_t len;
	enum iscsi_dir dir;
	void (*done)(struct iscsi_task *t);
	void *arg;
	/* results */
	int result;
	uint8_t status;
	uint32_t residual; /* underflow: bytes not transferred */
	uint8_t sense[32];
	uint8_t sense_len;
	char message[96];
	/* internal */
	int state, slot, ua_retries;
	uint32_t itt, cmdsn, seq;
	uint64_t deadline;
	uint32_t xfer_done; /* Data-In bytes received, or Data-Out bytes queued */
	uint32_t next_datasn;
	uint32_t unsol_left; /* unsolicited Data-Out bytes still to send */
	uint32_t r2t_offset, r2t_left, r2t_ttt, r2t_datasn, next_r2tsn;
	int r2t_active;
	/* Latency stamps in the transport's stamp ticks (0: not reached): the
	 * command queued, its last byte handed to the transport, the status in.
	 * wire_mark is the send stream's offset just past the command PDU. */
	uint64_t t_queued, t_wire, t_response;
	uint64_t wire_mark;
};

/* Negotiated operational parameters (RFC 7143 13). */
struct iscsi_params {
	int header_digest, data_digest, immediate_data, initial_r2t;
	uint32_t max_recv_dsl; /* ours, declared */
	uint32_t target_max_recv_dsl; /* limit for what we send */
	uint32_t first_burst, max_burst, max_outstanding_r2t;
};

enum iscsi_state {
	ISCSI_S_IDLE, /* not started */
	ISCSI_S_CONNECTING,
	ISCSI_S_LOGIN,
	ISCSI_S_FULL, /* full feature phase */
	ISCSI_S_LOGOUT, /* logout sent */
	ISCSI_S_BACKOFF, /* waiting to reconnect */
	ISCSI_S_FAILED, /* permanent: login refused; tasks fail at once */
	ISCSI_S_CLOSED, /* logged out */
};

#define ISCSI_MAX_TASKS 64
/*
 * The send queue, and the largest data segment hako puts in one PDU: a
 * target's MaxRecvDataSegmentLength above it is clamped to it (RFC 7143
 * 13.12 only bounds what the target can take), so every PDU fits the
 * queue with room to spare and the queue never has to hold more than it
 * can (iscsi_tx_pdu refuses rather than overflow).
 */
#define ISCSI_TX_CAP (256 * 1024)
#define ISCSI_TX_DATA_MAX (64 * 1024)
#define ISCSI_DISC_MAX (16 * 1024)
#define ISCSI_LOGIN_TEXT_MAX 8192
/* A SendTargets answer in more pieces than this is a target's loop, not an answer. */
#define ISCSI_TEXT_MAX_PIECES 64
/*
 * Protocol violations in a row (iscsi_violation) after which the session
 * fails for good instead of logging in again: a target that breaks the
 * protocol the same way after every reconnect would otherwise keep hako
 * logging in until each task's timeout. A task that completes resets it.
 */
#define ISCSI_MAX_VIOLATIONS 3

struct iscsi_session {
	struct iscsi_config cfg;
	const struct iscsi_transport_ops *ops;
	void *ctx;
	enum iscsi_state state;
	char error[192]; /* why the last connection or login failed */
	int error_code;
	struct iscsi_params p;
	/* sequence numbers (RFC 7143 4.2.2) */
	uint32_t cmdsn, exp_cmdsn, max_cmdsn, exp_statsn;
	uint8_t isid[6];
	uint16_t tsih;
	/* login state machine */
	int login_step, login_rounds, mutual_id;
	uint32_t login_itt, next_itt;
	uint8_t mutual_challenge[16];
	char login_text[ISCSI_LOGIN_TEXT_MAX]; /* our next request's keys */
	size_t login_text_len;
	/* a response's keys, joined across PDUs sent with the C bit (6.2) */
	char login_rx[ISCSI_LOGIN_TEXT_MAX];
	size_t login_rx_len;
	/* tasks */
	struct iscsi_task *tasks[ISCSI_MAX_TASKS];
	uint32_t task_seq;
	uint8_t slot_gen[ISCSI_MAX_TASKS];
	/* discovery (SendTargets) */
	int discovery_done; /* 0 not asked, 1 asked, 2 answered */
	char disc[ISCSI_DISC_MAX];
	size_t disc_len;
	/* timers */
	uint64_t state_since, last_rx, ping_sent, backoff_us;
	uint32_t ping_itt;
	int connects, logout_wanted;
	/* Without a connection since down_since (down set): once that is longer
	 * than the task timeout, new tasks fail at once (iscsi_submit). */
	uint64_t down_since;
	int down;
	int violations; /* iscsi_violation()s since the last task or answer that completed */
	int text_pieces; /* Text Responses of the SendTargets exchange */
	uint32_t pings_answered; /* NOP-Ins from the target we answered */
	uint32_t epoch; /* bumped when a connection ends: stale work stops */
	/* byte streams */
	uint8_t tx[ISCSI_TX_CAP];
	size_t tx_head, tx_tail;
	uint64_t tx_sent; /* bytes the transport took since the session started */
	int wire_waiting; /* a command's t_wire may be due: iscsi_tx_flush looks */
	struct iscsi_rx rx;
};

/*
 * Prepares `s` (zeroed by the caller) and starts connecting. For a
 * discovery session leave cfg->target empty: after login it sends
 * SendTargets=All, stores the answer and logs out.
 */
int iscsi_session_start(struct iscsi_session *s, const struct iscsi_config *cfg,
			const struct iscsi_transport_ops *ops, void *ctx);
/* Timers, keepalive, reconnect, the send queue. Call often. */
void iscsi_poll(struct iscsi_session *s);
/* Transport events. */
void iscsi_conn_up(struct iscsi_session *s);
void iscsi_conn_down(struct iscsi_session *s, int err, const char *why);
void iscsi_feed(struct iscsi_session *s, const void *buf, size_t len);

/*
 * Queues a task; -EBUSY when all ITT slots are in use, -EINVAL for a bad
 * one, -ETIMEDOUT when the session has had no connection for longer than
 * the task timeout (s->error says why).
 */
int iscsi_submit(struct iscsi_session *s, struct iscsi_task *t);
/* Logs out (after the tasks in flight finish) and closes. */
void iscsi_logout(struct iscsi_session *s);
/* Fails every unfinished task with `err` and closes the connection. */
void iscsi_abort_all(struct iscsi_session *s, int err, const char *why);
int iscsi_tasks_pending(const struct iscsi_session *s);

/*
 * SendTargets results: calls fn for each TargetName with its first
 * TargetAddress (or "" when none was given).
 */
void iscsi_discovery_walk(const struct iscsi_session *s,
			  void (*fn)(void *arg, const char *name, const char *addr), void *arg);

/* Internal, shared by session.c, login.c and task.c. */
int iscsi_tx_room(const struct iscsi_session *s, uint32_t data_len);
/* Queues one PDU: 0, or -ENOSPC (nothing queued) when iscsi_tx_room() says no. */
int iscsi_tx_pdu(struct iscsi_session *s, void *bhs, const void *data, uint32_t len);
void iscsi_tx_flush(struct iscsi_session *s);
uint64_t iscsi_stamp(struct iscsi_session *s);
void iscsi_drop(struct iscsi_session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The target broke the protocol: iscsi_drop(), counted (ISCSI_MAX_VIOLATIONS). */
void iscsi_violation(struct iscsi_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void iscsi_update_sn(struct iscsi_session *s, uint32_t exp_cmdsn, uint32_t max_cmdsn);
int iscsi_check_statsn(struct iscsi_session *s, uint32_t statsn);
void iscsi_login_begin(struct iscsi_session *s);
void iscsi_login_rx(struct iscsi_session *s, const struct iscsi_bhs *h, const char *data,
		    uint32_t len);
void iscsi_task_rx(struct iscsi_session *s, const struct iscsi_bhs *h, const uint8_t *data,
		   uint32_t len);
void iscsi_tasks_pump(struct iscsi_session *s);
void iscsi_tasks_requeue(struct iscsi_session *s);
void iscsi_tasks_expire(struct iscsi_session *s, uint64_t now);
void iscsi_task_finish(struct iscsi_session *s, struct iscsi_task *t, int result,
		       const char *msg);

#endif
