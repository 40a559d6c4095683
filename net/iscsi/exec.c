/*
 * net/iscsi/exec.c - run-to-completion helpers and the iscsi:// URL
 * parser. Portable.
 */
#include "net/iscsi/exec.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

static void exec_done(struct iscsi_task *t)
{
	*(int *)t->arg = 1;
}

/* Submits t and drives `wait` + iscsi_poll() until it is done; t->result. */
int iscsi_exec(struct iscsi_session *s, struct iscsi_task *t, iscsi_wait_fn wait, void *arg)
{
	int finished = 0, err;
	t->done = exec_done, t->arg = &finished;
	if ((err = iscsi_submit(s, t)))
		return err;
	while (!finished) {
		if (wait(arg)) {
			/* Cancelled: the task must not outlive the caller's buffer. */
			iscsi_abort_all(s, -ECANCELED, "interrupted");
			return -ECANCELED;
		}
		iscsi_poll(s);
	}
	return t->result;
}

/*
 * Where a login stands, without waiting: 0 in full feature phase,
 * -EINPROGRESS while it goes on, or why it will not succeed: a permanent
 * failure (its -E), ISCSI_REFUSED_TRIES refused connections
 * (-ECONNREFUSED), a host name that did not resolve (-EHOSTUNREACH), or
 * -ETIMEDOUT once the clock passed `deadline_us`.
 */
int iscsi_login_status(const struct iscsi_session *s, uint64_t deadline_us)
{
	if (s->state == ISCSI_S_FULL)
		return 0;
	if (s->state == ISCSI_S_FAILED || s->state == ISCSI_S_CLOSED)
		return s->error_code ? s->error_code : -EIO;
	/* Nobody listens there: say so now rather than at the timeout. */
	if (s->state == ISCSI_S_BACKOFF && s->error_code == -ECONNREFUSED &&
	    s->connects >= ISCSI_REFUSED_TRIES)
		return -ECONNREFUSED;
	/* The host name did not resolve (the DNS server answered, or never
	 * will within its retries): waiting longer will not change that. A
	 * session already in use keeps retrying (session.c). */
	if (s->state == ISCSI_S_BACKOFF && s->error_code == -EHOSTUNREACH)
		return -EHOSTUNREACH;
	if (s->ops->now_us(s->ctx) > deadline_us)
		return -ETIMEDOUT;
	return -EINPROGRESS;
}

/* Until iscsi_login_status() says 0 or an error; -ECANCELED when wait gives up. */
int iscsi_wait_login(struct iscsi_session *s, uint64_t timeout_us, iscsi_wait_fn wait, void *arg)
{
	uint64_t end = s->ops->now_us(s->ctx) + timeout_us;
	int rc;
	while ((rc = iscsi_login_status(s, end)) == -EINPROGRESS) {
		if (wait(arg))
			return -ECANCELED;
		iscsi_poll(s);
	}
	return rc;
}

static void task_init(struct iscsi_task *t, uint64_t lun, void *buf, uint32_t len,
		      enum iscsi_dir dir)
{
	memset(t, 0, sizeof(*t));
	t->lun = lun, t->buf = buf, t->len = len, t->dir = dir;
}

/* TEST UNIT READY; on failure the reason goes to why. */
int iscsi_cmd_tur(struct iscsi_session *s, uint64_t lun, iscsi_wait_fn w, void *a, char *why,
		  size_t n)
{
	struct iscsi_task t;
	iscsi_task_tur(&t, lun);
	int err = iscsi_exec(s, &t, w, a);
	if (err)
		fmt_snprintf(why, n, "%s", t.message);
	return err;
}

/* Standard INQUIRY data of `lun`. */
int iscsi_cmd_inquiry(struct iscsi_session *s, uint64_t lun, struct scsi_inquiry *inq,
		      iscsi_wait_fn w, void *a)
{
	uint8_t buf[96];
	struct iscsi_task t;
	task_init(&t, lun, buf, sizeof(buf), ISCSI_DIR_READ);
	scsi_cdb_inquiry(t.cdb, sizeof(buf));
	int err = iscsi_exec(s, &t, w, a);
	return err ? err : scsi_parse_inquiry(buf, t.len - t.residual, inq);
}

/* REPORT LUNS: the number of LUNs, up to `max` of them in luns. */
int iscsi_cmd_report_luns(struct iscsi_session *s, uint64_t *luns, int max, iscsi_wait_fn w,
			  void *a)
{
	uint8_t buf[8 + 8 * 64];
	struct iscsi_task t;
	task_init(&t, 0, buf, sizeof(buf), ISCSI_DIR_READ);
	scsi_cdb_report_luns(t.cdb, sizeof(buf));
	int err = iscsi_exec(s, &t, w, a);
	return err ? err : scsi_parse_report_luns(buf, t.len - t.residual, luns, max);
}

/* TEST UNIT READY as a task for `lun` (its done and arg are the caller's). */
void iscsi_task_tur(struct iscsi_task *t, uint64_t lun)
{
	task_init(t, lun, 0, 0, ISCSI_DIR_NONE);
	scsi_cdb_tur(t->cdb);
}

/*
 * READ CAPACITY as a task for `lun` into buf (ISCSI_CAPACITY_BUF bytes):
 * the (16) form, or the (10) form when `use10` (SBC-3 5.16).
 */
void iscsi_task_capacity(struct iscsi_task *t, uint64_t lun, uint8_t *buf, int use10)
{
	task_init(t, lun, buf, use10 ? 8 : ISCSI_CAPACITY_BUF, ISCSI_DIR_READ);
	if (use10)
		scsi_cdb_read_capacity10(t->cdb);
	else
		scsi_cdb_read_capacity16(t->cdb, ISCSI_CAPACITY_BUF);
}

/*
 * The answer of a finished iscsi_task_capacity(): 0 and *cap, 1 when the
 * target refused the (16) form as an ILLEGAL REQUEST (send the (10) form
 * next), or -E... with the reason in why.
 */
int iscsi_capacity_result(const struct iscsi_task *t, const uint8_t *buf, int use10,
			  struct scsi_capacity *cap, char *why, size_t n)
{
	struct scsi_sense sn;
	if (!t->result) {
		int err = use10 ? scsi_parse_capacity10(buf, t->len - t->residual, cap) :
				  scsi_parse_capacity16(buf, t->len - t->residual, cap);
		if (err)
			fmt_snprintf(why, n, "malformed READ CAPACITY data");
		return err;
	}
	if (!use10 && !scsi_sense_parse(t->sense, t->sense_len, &sn) &&
	    sn.key == SENSE_ILLEGAL_REQUEST)
		return 1;
	fmt_snprintf(why, n, "%s", t->message);
	return t->result;
}

/* SBC-3 5.16: READ CAPACITY (16) first; (10) when the target lacks it. */
int iscsi_cmd_capacity(struct iscsi_session *s, uint64_t lun, struct scsi_capacity *cap,
		       iscsi_wait_fn w, void *a, char *why, size_t n)
{
	uint8_t buf[ISCSI_CAPACITY_BUF];
	struct iscsi_task t;
	int rc = 1;
	for (int use10 = 0; use10 < 2 && rc == 1; use10++) {
		iscsi_task_capacity(&t, lun, buf, use10);
		int err = iscsi_exec(s, &t, w, a);
		if (err && !t.result) /* never submitted */
			t.result = err, fmt_snprintf(t.message, sizeof(t.message), "%s", errno_str(err));
		rc = iscsi_capacity_result(&t, buf, use10, cap, why, n);
	}
	return rc;
}

/* SYNCHRONIZE CACHE (16), or (10) when the target refuses (16). */
int iscsi_cmd_sync_cache(struct iscsi_session *s, uint64_t lun, iscsi_wait_fn w, void *a)
{
	struct iscsi_task t;
	task_init(&t, lun, 0, 0, ISCSI_DIR_NONE);
	scsi_cdb_sync_cache16(t.cdb);
	int err = iscsi_exec(s, &t, w, a);
	if (err != -EIO)
		return err;
	task_init(&t, lun, 0, 0, ISCSI_DIR_NONE);
	scsi_cdb_sync_cache10(t.cdb);
	return iscsi_exec(s, &t, w, a);
}

/* Copies s[0..n) into dst (size cap) as a string; -ENAMETOOLONG when too long. */
static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

/* HOST[:PORT] into host (hn bytes) and port (3260 by default); 0 or -EINVAL. */
int iscsi_hostport_parse(const char *s, char *host, size_t hn, uint16_t *port)
{
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);
	uint64_t p = 3260;
	if (!len || copy_part(host, hn, s, len))
		return -EINVAL;
	if (colon) {
		p = 0;
		for (const char *c = colon + 1; *c; c++) {
			if (*c < '0' || *c > '9' || (p = p * 10 + (uint64_t)(*c - '0')) > 65535)
				return -EINVAL;
		}
		if (!colon[1] || !p)
			return -EINVAL;
	}
	*port = (uint16_t)p;
	return 0;
}

static int parse_userinfo(const char *s, size_t n, struct iscsi_url *u)
{
	const char *pct = 0;
	for (size_t i = 0; i < n && !pct; i++)
		if (s[i] == '%')
			pct = s + i;
	size_t ul = pct ? (size_t)(pct - s) : n;
	if (!ul || copy_part(u->user, sizeof(u->user), s, ul))
		return -EINVAL;
	if (pct && copy_part(u->secret, sizeof(u->secret), pct + 1, n - ul - 1))
		return -EINVAL;
	return 0;
}

/* An iscsi:// URL (exec.h); `why` names the bad part on -EINVAL. */
int iscsi_url_parse(const char *s, int need_lun, struct iscsi_url *u, const char **why)
{
	char hp[ISCSI_HOST_MAX + 8];
	memset(u, 0, sizeof(*u));
	*why = "URL must start with iscsi://";
	if (strncmp(s, "iscsi://", 8))
		return -EINVAL;
	s += 8;
	const char *slash = strchr(s, '/'), *at = strchr(s, '@');
	*why = "URL needs /IQN after the host";
	if (!slash)
		return -EINVAL;
	*why = "bad USER%SECRET part";
	if (at && at < slash && parse_userinfo(s, (size_t)(at - s), u))
		return -EINVAL;
	if (at && at < slash)
		s = at + 1;
	*why = "bad HOST[:PORT]";
	if (copy_part(hp, sizeof(hp), s, (size_t)(slash - s)) ||
	    iscsi_hostport_parse(hp, u->host, sizeof(u->host), &u->port))
		return -EINVAL;
	const char *iqn = slash + 1, *lun = strchr(iqn, '/');
	*why = "bad target IQN";
	if (copy_part(u->target, sizeof(u->target), iqn, lun ? (size_t)(lun - iqn) : strlen(iqn)) ||
	    !u->target[0])
		return -EINVAL;
	*why = "URL needs /LUN after the IQN";
	if (!lun || !lun[1])
		return need_lun ? -EINVAL : 0;
	*why = "LUN must be a number below 16384";
	for (const char *c = lun + 1; *c; c++)
		if (*c < '0' || *c > '9' || (u->lun = u->lun * 10 + (uint64_t)(*c - '0')) > 16383)
			return -EINVAL;
	u->has_lun = 1;
	return 0;
}
