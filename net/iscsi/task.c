/*
 * net/iscsi/task.c - SCSI tasks over an iSCSI session: the ITT table,
 * the CmdSN window (RFC 7143 4.2.2.1), SCSI Command with immediate data
 * (11.3), unsolicited and solicited Data-Out (11.7, 11.8), Data-In with
 * status (11.7.4), SCSI Response and sense data (11.4), UNIT ATTENTION
 * retry, re-issue after a lost connection, and per-task timeouts.
 * Portable.
 *
 * ITTs of tasks are slot | generation << 8, so an answer for a slot that
 * has since been reused (a timed-out task) is recognised and ignored.
 */
#include "net/iscsi/session.h"

#include "net/iscsi/scsi.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"

enum { T_FREE, T_QUEUED, T_SENT };
#define UA_RETRIES 4
#define TASK_MAX_LEN (16u << 20)

static struct log_ratelimit stale_rl = LOG_RATELIMIT_INIT(5);

/* Tasks submitted and not yet finished. */
int iscsi_tasks_pending(const struct iscsi_session *s)
{
	int n = 0;
	for (int i = 0; i < ISCSI_MAX_TASKS; i++)
		n += s->tasks[i] != 0;
	return n;
}

/* Frees t's slot and calls its done once with result and message. */
void iscsi_task_finish(struct iscsi_session *s, struct iscsi_task *t, int result,
		       const char *msg)
{
	s->tasks[t->slot] = 0;
	s->slot_gen[t->slot]++;
	if (!result)
		s->violations = 0; /* the target answered properly */
	t->state = T_FREE;
	t->result = result;
	fmt_snprintf(t->message, sizeof(t->message), "%s", msg ? msg : "");
	t->done(t);
}

/* Finishes every unfinished task with err. */
void iscsi_abort_all(struct iscsi_session *s, int err, const char *why)
{
	for (int i = 0; i < ISCSI_MAX_TASKS; i++)
		if (s->tasks[i])
			iscsi_task_finish(s, s->tasks[i], err, why);
}

static void task_reset(struct iscsi_task *t)
{
	t->state = T_QUEUED;
	t->xfer_done = t->next_datasn = t->unsol_left = 0;
	t->r2t_active = 0;
	t->next_r2tsn = 0;
	t->t_queued = t->t_wire = t->t_response = 0;
}

/* Queues t (see session.h); sends it at once when the window allows. */
int iscsi_submit(struct iscsi_session *s, struct iscsi_task *t)
{
	int slot = -1;
	if (!t->done || t->len > TASK_MAX_LEN || (t->dir != ISCSI_DIR_NONE && (!t->buf || !t->len)) ||
	    (t->dir == ISCSI_DIR_NONE && t->len))
		return -EINVAL;
	for (int i = 0; i < ISCSI_MAX_TASKS && slot < 0; i++)
		if (!s->tasks[i])
			slot = i;
	if (slot < 0)
		return -EBUSY;
	if (s->state == ISCSI_S_FAILED || s->state == ISCSI_S_CLOSED || s->logout_wanted)
		return s->error_code ? s->error_code : -ECANCELED;
	/* Down for longer than a task may wait: a new task could only time out
	 * (after the whole timeout again, one after the other for a guest that
	 * keeps writing), so it fails now, until a login succeeds; open-iscsi's
	 * replacement_timeout behaves the same. */
	if (s->down && s->ops->now_us(s->ctx) - s->down_since >= s->cfg.task_timeout_us)
		return -ETIMEDOUT;
	task_reset(t);
	t->slot = slot, t->seq = s->task_seq++, t->ua_retries = 0;
	t->status = 0, t->residual = 0, t->sense_len = 0, t->message[0] = 0;
	t->deadline = s->ops->now_us(s->ctx) + s->cfg.task_timeout_us;
	s->tasks[slot] = t;
	if (s->state == ISCSI_S_FULL) {
		iscsi_tasks_pump(s);
		iscsi_tx_flush(s);
	}
	return 0;
}

/* The queued task submitted first (re-issued tasks keep their place). */
static struct iscsi_task *next_queued(struct iscsi_session *s)
{
	struct iscsi_task *best = 0;
	for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
		struct iscsi_task *t = s->tasks[i];
		if (t && t->state == T_QUEUED && (!best || iscsi_sn_lt(t->seq, best->seq)))
			best = t;
	}
	return best;
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* 11.3 with immediate data (13.11) up to FirstBurstLength. */
static int send_command(struct iscsi_session *s, struct iscsi_task *t)
{
	struct iscsi_scsi_cmd h;
	uint32_t imm = 0;
	if (t->dir == ISCSI_DIR_WRITE && s->p.immediate_data)
		imm = min3(t->len, s->p.first_burst, s->p.target_max_recv_dsl);
	if (!iscsi_tx_room(s, imm))
		return -EAGAIN;
	t->itt = (uint32_t)t->slot | (uint32_t)s->slot_gen[t->slot] << 8;
	t->cmdsn = s->cmdsn++;
	memset(&h, 0, sizeof(h));
	if (t->dir == ISCSI_DIR_WRITE && !s->p.initial_r2t)
		t->unsol_left = (t->len < s->p.first_burst ? t->len : s->p.first_burst) - imm;
	h.opcode = ISCSI_OP_SCSI_CMD;
	/* 11.3.1: F is clear when unsolicited Data-Out PDUs follow. */
	h.flags = (t->unsol_left ? 0 : ISCSI_FLAG_FINAL) | ISCSI_CMD_ATTR_SIMPLE |
		  (t->dir == ISCSI_DIR_READ ? ISCSI_CMD_READ : 0) |
		  (t->dir == ISCSI_DIR_WRITE ? ISCSI_CMD_WRITE : 0);
	iscsi_lun_encode(h.lun, t->lun);
	h.itt = iscsi_be32(t->itt);
	h.edtl = iscsi_be32(t->len);
	h.cmdsn = iscsi_be32(t->cmdsn);
	h.exp_statsn = iscsi_be32(s->exp_statsn);
	memcpy(h.cdb, t->cdb, 16);
	t->xfer_done = imm;
	t->state = T_SENT;
	int rc = iscsi_tx_pdu(s, &h, t->buf, imm); /* room checked above: 0 */
	t->t_queued = iscsi_stamp(s);
	t->wire_mark = s->tx_sent + (s->tx_tail - s->tx_head);
	s->wire_waiting = 1;
	return rc;
}

/* One Data-Out PDU (11.7): at most the target's MaxRecvDataSegmentLength. */
static int send_data_out(struct iscsi_session *s, struct iscsi_task *t, uint32_t ttt,
			 uint32_t offset, uint32_t *left, uint32_t *datasn)
{
	struct iscsi_bhs h;
	uint32_t n = *left < s->p.target_max_recv_dsl ? *left : s->p.target_max_recv_dsl;
	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_DATA_OUT;
	h.flags = n == *left ? ISCSI_FLAG_FINAL : 0;
	iscsi_lun_encode(h.lun, t->lun);
	h.itt = iscsi_be32(t->itt);
	h.ttt = iscsi_be32(ttt);
	h.exp_cmdsn = iscsi_be32(s->exp_statsn); /* ExpStatSN */
	h.data_sn = iscsi_be32(*datasn);
	h.offset = iscsi_be32(offset);
	if (iscsi_tx_pdu(s, &h, (uint8_t *)t->buf + offset, n))
		return -EAGAIN; /* sent later, with the same DataSN */
	(*datasn)++;
	*left -= n;
	return 0;
}

static int pump_data(struct iscsi_session *s, struct iscsi_task *t)
{
	while (t->unsol_left) {
		uint32_t before = t->unsol_left;
		if (send_data_out(s, t, ISCSI_RSVD_TAG, t->xfer_done, &t->unsol_left, &t->next_datasn))
			return -EAGAIN;
		t->xfer_done += before - t->unsol_left;
	}
	while (t->r2t_active && t->r2t_left) {
		uint32_t before = t->r2t_left;
		if (send_data_out(s, t, t->r2t_ttt, t->r2t_offset, &t->r2t_left, &t->r2t_datasn))
			return -EAGAIN;
		t->r2t_offset += before - t->r2t_left;
	}
	if (t->r2t_active && !t->r2t_left)
		t->r2t_active = 0;
	return 0;
}

/* Sends new commands inside the CmdSN window, then pending Data-Out. */
void iscsi_tasks_pump(struct iscsi_session *s)
{
	struct iscsi_task *t;
	if (s->state != ISCSI_S_FULL || s->logout_wanted)
		return;
	for (int i = 0; i < ISCSI_MAX_TASKS; i++)
		if ((t = s->tasks[i]) && t->state == T_SENT && pump_data(s, t))
			return;
	while ((t = next_queued(s)) && !iscsi_sn_lt(s->max_cmdsn, s->cmdsn)) {
		if (send_command(s, t) || pump_data(s, t))
			return;
	}
}

/*
 * After a lost connection every unfinished task is issued again; the new
 * login brings a new UNIT ATTENTION, so the retry budget starts afresh.
 */
void iscsi_tasks_requeue(struct iscsi_session *s)
{
	for (int i = 0; i < ISCSI_MAX_TASKS; i++)
		if (s->tasks[i]) {
			task_reset(s->tasks[i]);
			s->tasks[i]->ua_retries = 0;
		}
}

/* Fails the tasks whose deadline passed, with the last connection error. */
void iscsi_tasks_expire(struct iscsi_session *s, uint64_t now)
{
	char msg[96];
	for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
		struct iscsi_task *t = s->tasks[i];
		if (!t || now < t->deadline)
			continue;
		fmt_snprintf(msg, sizeof(msg), "no answer within %llu s%s%s",
			     (unsigned long long)(s->cfg.task_timeout_us / 1000000),
			     s->error[0] ? "; last error: " : "", s->error);
		iscsi_task_finish(s, t, -ETIMEDOUT, msg);
	}
}

/* The task an incoming ITT names, or 0 for a stale or unknown one. */
static struct iscsi_task *lookup(struct iscsi_session *s, uint32_t itt)
{
	uint32_t slot = itt & 0xff;
	if (itt >> 16 || slot >= ISCSI_MAX_TASKS)
		return 0;
	struct iscsi_task *t = s->tasks[slot];
	return t && t->state == T_SENT && t->itt == itt ? t : 0;
}

/* CHECK CONDITION: UNIT ATTENTION is retried, the rest becomes an error. */
static void task_check_condition(struct iscsi_session *s, struct iscsi_task *t)
{
	struct scsi_sense sn;
	char msg[96];
	if (scsi_sense_parse(t->sense, t->sense_len, &sn)) {
		iscsi_task_finish(s, t, -EIO, "CHECK CONDITION without usable sense data");
		return;
	}
	if (sn.key == SENSE_UNIT_ATTENTION && t->ua_retries++ < UA_RETRIES) {
		task_reset(t); /* tgt reports 29/00 once after each login */
		return;
	}
	scsi_sense_describe(&sn, msg, sizeof(msg));
	iscsi_task_finish(s, t, sn.key == SENSE_DATA_PROTECT ? -EPERM : -EIO, msg);
}

static void task_status(struct iscsi_session *s, struct iscsi_task *t, uint8_t flags,
			uint8_t status, uint32_t residual)
{
	char msg[64];
	t->status = status;
	t->residual = flags & ISCSI_RSP_UNDERFLOW ? residual : 0;
	if (flags & ISCSI_RSP_UNDERFLOW && residual > t->len) {
		iscsi_violation(s, "residual %u larger than the transfer %u", residual, t->len);
		return;
	}
	switch (status) {
	case SCSI_STATUS_GOOD:
		if (t->dir == ISCSI_DIR_READ && t->xfer_done != t->len - t->residual) {
			iscsi_violation(s, "read got %u bytes, status says %u", t->xfer_done,
				   t->len - t->residual);
			return;
		}
		iscsi_task_finish(s, t, 0, 0);
		return;
	case SCSI_STATUS_CHECK_CONDITION: task_check_condition(s, t); return;
	case SCSI_STATUS_BUSY:
	case SCSI_STATUS_TASK_SET_FULL: task_reset(t); return; /* until the deadline */
	case SCSI_STATUS_RESERVATION_CONFLICT:
		iscsi_task_finish(s, t, -EBUSY, "reservation conflict");
		return;
	}
	fmt_snprintf(msg, sizeof(msg), "SCSI status 0x%02x", status);
	iscsi_task_finish(s, t, -EIO, msg);
}

/* 11.4: SCSI Response; sense data is SenseLength (2 bytes) + sense (11.4.7). */
static void rx_response(struct iscsi_session *s, struct iscsi_task *t, const struct iscsi_bhs *h,
			const uint8_t *d, uint32_t len)
{
	char msg[64];
	if (h->spec[0] != 0) {
		fmt_snprintf(msg, sizeof(msg), "target failure (iSCSI response 0x%02x)", h->spec[0]);
		iscsi_task_finish(s, t, -EIO, msg);
		return;
	}
	t->sense_len = 0;
	if (len >= 2) {
		uint32_t sl = (uint32_t)d[0] << 8 | d[1];
		if (sl > len - 2) {
			iscsi_violation(s, "SenseLength %u beyond the data segment", sl);
			return;
		}
		t->sense_len = (uint8_t)(sl < sizeof(t->sense) ? sl : sizeof(t->sense));
		memcpy(t->sense, d + 2, t->sense_len);
	}
	task_status(s, t, h->flags, h->spec[1], iscsi_be32(h->count));
}

/* 11.7: Data-In must arrive in order (DataPDUInOrder=Yes) inside the buffer. */
static void rx_data_in(struct iscsi_session *s, struct iscsi_task *t, const struct iscsi_bhs *h,
		       const uint8_t *d, uint32_t len)
{
	uint32_t off = iscsi_be32(h->offset), sn = iscsi_be32(h->data_sn);
	if (t->dir != ISCSI_DIR_READ) {
		iscsi_violation(s, "Data-In for a task that reads nothing (ITT 0x%x)", t->itt);
		return;
	}
	if (sn != t->next_datasn || off != t->xfer_done || len > t->len - off) {
		iscsi_violation(s, "Data-In out of sequence: DataSN %u offset %u len %u "
			   "(expected DataSN %u offset %u of %u)", sn, off, len, t->next_datasn,
			   t->xfer_done, t->len);
		return;
	}
	memcpy((uint8_t *)t->buf + off, d, len);
	t->xfer_done += len, t->next_datasn++;
	if (h->flags & ISCSI_DATAIN_STATUS) {
		if (!(h->flags & ISCSI_FLAG_FINAL)) {
			iscsi_violation(s, "Data-In with status but without F bit");
			return;
		}
		t->sense_len = 0;
		task_status(s, t, h->flags, h->spec[1], iscsi_be32(h->count));
	}
}

/* 11.8: one R2T at a time (MaxOutstandingR2T=1), inside the transfer. */
static void rx_r2t(struct iscsi_session *s, struct iscsi_task *t, const struct iscsi_bhs *h)
{
	uint32_t off = iscsi_be32(h->offset), n = iscsi_be32(h->count);
	uint32_t sn = iscsi_be32(h->data_sn);
	if (t->dir != ISCSI_DIR_WRITE || t->r2t_active || sn != t->next_r2tsn || !n ||
	    n > s->p.max_burst || off > t->len || n > t->len - off) {
		iscsi_violation(s, "bad R2T: R2TSN %u offset %u length %u for a %u-byte %s task",
			   sn, off, n, t->len, t->dir == ISCSI_DIR_WRITE ? "write" : "non-write");
		return;
	}
	t->next_r2tsn++;
	t->r2t_active = 1;
	t->r2t_offset = off, t->r2t_left = n;
	t->r2t_ttt = iscsi_be32(h->ttt);
	t->r2t_datasn = 0;
}

/* SCSI Response, Data-In and R2T: sequence numbers first, then the task. */
void iscsi_task_rx(struct iscsi_session *s, const struct iscsi_bhs *h, const uint8_t *d,
		   uint32_t len)
{
	uint8_t op = h->opcode & ISCSI_OPCODE_MASK;
	uint32_t itt = iscsi_be32(h->itt);
	int has_status = op == ISCSI_OP_SCSI_RSP ||
			 (op == ISCSI_OP_DATA_IN && (h->flags & ISCSI_DATAIN_STATUS));
	if (has_status && iscsi_check_statsn(s, iscsi_be32(h->statsn)))
		return;
	iscsi_update_sn(s, iscsi_be32(h->exp_cmdsn), iscsi_be32(h->max_cmdsn));
	struct iscsi_task *t = lookup(s, itt);
	if (!t) {
		if (log_ratelimit_ok(&stale_rl))
			log_warn("iscsi: ignoring opcode 0x%02x for finished ITT 0x%x", op, itt);
		return;
	}
	if (has_status)
		t->t_response = iscsi_stamp(s);
	if (op == ISCSI_OP_SCSI_RSP)
		rx_response(s, t, h, d, len);
	else if (op == ISCSI_OP_DATA_IN)
		rx_data_in(s, t, h, d, len);
	else
		rx_r2t(s, t, h);
}
