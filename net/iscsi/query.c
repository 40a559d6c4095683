/*
 * net/iscsi/query.c - discovery and a target's LUNs, step by step (see
 * query.h): each step submits one task, whose done callback only marks it
 * finished; iscsi_query_step() reads the answer and submits the next.
 * Portable.
 */
#include "net/iscsi/query.h"

#include <stdarg.h>

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

enum { Q_LOGIN, Q_REPORT, Q_INQUIRY, Q_CAP16, Q_CAP10, Q_DONE };

/* The query ended well: its results are in q. */
static int done(struct iscsi_query *q)
{
	q->status = 0;
	q->step = Q_DONE;
	q->why[0] = 0;
	return 0;
}

static void task_done(struct iscsi_task *t)
{
	((struct iscsi_query *)t->arg)->task_done = 1;
}

static int end(struct iscsi_query *q, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int end(struct iscsi_query *q, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
	q->status = status;
	q->step = Q_DONE;
	return status;
}

void iscsi_query_start(struct iscsi_query *q, enum iscsi_query_kind kind,
		       struct iscsi_session *s, uint64_t timeout_us)
{
	memset(q, 0, sizeof(*q));
	q->kind = kind, q->s = s;
	q->deadline_us = s->ops->now_us(s->ctx) + timeout_us;
	q->status = -EINPROGRESS;
	q->step = Q_LOGIN;
}

/* The reason a failed task or session gives, or the error's name. */
static const char *reason(const struct iscsi_query *q, int err)
{
	return q->t.message[0] ? q->t.message : q->s->error[0] ? q->s->error : errno_str(err);
}

static int submit(struct iscsi_query *q, int step)
{
	struct iscsi_task *t = &q->t;
	if (step == Q_REPORT) {
		memset(t, 0, sizeof(*t));
		t->buf = q->buf, t->len = sizeof(q->buf), t->dir = ISCSI_DIR_READ;
		scsi_cdb_report_luns(t->cdb, sizeof(q->buf));
	} else if (step == Q_INQUIRY) {
		memset(t, 0, sizeof(*t));
		t->lun = q->lun[q->at].lun, t->buf = q->buf, t->len = 96, t->dir = ISCSI_DIR_READ;
		scsi_cdb_inquiry(t->cdb, 96);
	} else {
		iscsi_task_capacity(t, q->lun[q->at].lun, q->buf, step == Q_CAP10);
	}
	t->done = task_done, t->arg = q;
	q->step = step, q->task_done = 0;
	int rc = iscsi_submit(q->s, t);
	if (rc)
		return end(q, rc, "LUN query failed: %s", reason(q, rc));
	return -EINPROGRESS;
}

/* The login, and for a discovery its answer. */
static int step_login(struct iscsi_query *q)
{
	struct iscsi_session *s = q->s;
	if (q->kind == ISCSI_QUERY_DISCOVER && s->discovery_done == 2)
		return done(q);
	int rc = iscsi_login_status(s, q->deadline_us);
	if (q->kind == ISCSI_QUERY_DISCOVER) {
		if (!rc && s->ops->now_us(s->ctx) > q->deadline_us)
			rc = -ETIMEDOUT;
		if (rc && rc != -EINPROGRESS)
			return end(q, rc, "discovery at %s:%u failed: %s", s->cfg.host, s->cfg.port,
				   s->error[0] ? s->error : "no answer");
		return -EINPROGRESS;
	}
	if (rc == -EINPROGRESS)
		return rc;
	if (rc) {
		const char *why = s->error[0] ? s->error : errno_str(rc);
		return end(q, rc, "%s%s (%s at %s:%u)", strncmp(why, "login", 5) ? "login failed: " : "",
			   why, s->cfg.target, s->cfg.host, s->cfg.port);
	}
	return submit(q, Q_REPORT);
}

/* The next LUN's INQUIRY, or the end. */
static int next_lun(struct iscsi_query *q)
{
	if (++q->at >= q->nluns)
		return done(q);
	return submit(q, Q_INQUIRY);
}

static int step_answer(struct iscsi_query *q)
{
	struct iscsi_task *t = &q->t;
	uint32_t got = t->len - t->residual;
	char why[96] = "";
	int rc;
	if (q->step == Q_REPORT) {
		uint64_t luns[ISCSI_QUERY_LUNS];
		int n = t->result ? t->result : scsi_parse_report_luns(q->buf, got, luns, ISCSI_QUERY_LUNS);
		if (n < 0)
			return end(q, n, "REPORT LUNS failed: %s: %s", errno_str(n), reason(q, n));
		q->nluns = n < ISCSI_QUERY_LUNS ? n : ISCSI_QUERY_LUNS;
		for (int i = 0; i < q->nluns; i++)
			q->lun[i].lun = luns[i];
		q->at = -1;
		return next_lun(q);
	}
	if (q->step == Q_INQUIRY) {
		rc = t->result ? t->result : scsi_parse_inquiry(q->buf, got, &q->lun[q->at].inq);
		if (rc)
			return end(q, rc, "LUN query failed: %s: %s", errno_str(rc), reason(q, rc));
		return q->lun[q->at].inq.peripheral_type == 0 ? submit(q, Q_CAP16) : next_lun(q);
	}
	rc = iscsi_capacity_result(t, q->buf, q->step == Q_CAP10, &q->lun[q->at].cap, why,
				   sizeof(why));
	if (rc == 1)
		return submit(q, Q_CAP10);
	if (rc)
		return end(q, rc, "LUN query failed: %s: %s", errno_str(rc),
			   why[0] ? why : reason(q, rc));
	return next_lun(q);
}

int iscsi_query_step(struct iscsi_query *q)
{
	if (q->step == Q_DONE)
		return q->status;
	if (q->step == Q_LOGIN)
		return step_login(q);
	if (!q->task_done)
		return -EINPROGRESS;
	return step_answer(q);
}

void iscsi_query_cancel(struct iscsi_query *q)
{
	if (q->step == Q_DONE)
		return;
	if (q->step != Q_LOGIN && !q->task_done)
		iscsi_abort_all(q->s, -ECANCELED, "interrupted");
	end(q, -ECANCELED, "interrupted");
}
