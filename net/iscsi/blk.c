/*
 * net/iscsi/blk.c - the `iscsi://[USER[%SECRET]@]HOST[:PORT]/IQN/LUN`
 * block-layer backend (vmm/blk/blk.h): each open device has its own
 * session (net/iscsi over net/iscsi/tcp.c). Reads and writes become
 * READ(16)/WRITE(16), flush becomes SYNCHRONIZE CACHE(10). Requests beyond
 * the session's task slots wait in a backlog; during a reconnect they wait
 * in the session and fail after its task timeout, so a guest sees an I/O
 * error, never silent loss. Opening (login, TEST UNIT READY, READ
 * CAPACITY) goes on in the background and ends with blk_opened().
 * Service core only.
 */
#include "net/iscsi/exec.h"
#include "net/iscsi/tcp.h"
#include "vmm/blk/blk.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

#define OPEN_WAIT_US (20 * 1000000ull)

/* Opening a LUN: log in, TEST UNIT READY, READ CAPACITY (16, else 10). */
enum lun_step { LUN_READY, LUN_LOGIN, LUN_TUR, LUN_CAPACITY16, LUN_CAPACITY10 };

struct lun_task {
	struct iscsi_task t;
	struct blk_req *r;
	struct iscsi_lun *lun;
};

struct iscsi_lun {
	struct iscsi_session *s;
	uint64_t lun;
	uint32_t block_size;
	struct lun_task slots[ISCSI_MAX_TASKS];
	int used[ISCSI_MAX_TASKS];
	struct blk_req *backlog, *backlog_tail;
	struct iscsi_lun *next;
	/* while opening (lun_open): the device, the step, its one task */
	struct blockdev *dev;
	enum lun_step step;
	uint64_t open_deadline;
	struct iscsi_task probe;
	uint8_t probe_buf[ISCSI_CAPACITY_BUF];
	int probe_done;
	struct iscsi_url url;
};

static struct iscsi_lun *open_luns;
static struct log_ratelimit fail_rl = LOG_RATELIMIT_INIT(5);

static int url_check(const char *spec, struct iscsi_url *u, char *err, unsigned len)
{
	char full[BLK_URL_MAX + 8];
	const char *why;
	fmt_snprintf(full, sizeof(full), "iscsi://%s", spec);
	if (iscsi_url_parse(full, 1, u, &why)) {
		fmt_snprintf(err, len,
			     "bad disk URL: %s (iscsi://[USER[%%SECRET]@]HOST[:PORT]/IQN/LUN[?OPTIONS])",
			     why);
		return -EINVAL;
	}
	return 0;
}

static int lun_check(const char *spec, char *err, unsigned len)
{
	struct iscsi_url u;
	return url_check(spec, &u, err, len);
}

static void start_backlog(struct iscsi_lun *l);

static void task_done(struct iscsi_task *t)
{
	struct lun_task *lt = t->arg;
	struct iscsi_lun *l = lt->lun;
	int status = t->result;
	if (!status && t->residual)
		status = -EIO; /* a short transfer is an I/O error for the guest */
	if (status) {
		fmt_snprintf(l->dev->error, sizeof(l->dev->error), "%s", t->message);
		if (log_ratelimit_ok(&fail_rl)) /* a guest can make many fail at once */
			log_warn("iscsi %s: request failed: %s: %s", l->s->cfg.target, errno_str(status),
				 t->message);
	}
	struct blk_req *r = lt->r;
	r->stamp[BLK_T_QUEUED] = t->t_queued;
	r->stamp[BLK_T_WIRE] = t->t_wire;
	r->stamp[BLK_T_RESPONSE] = t->t_response;
	l->used[lt - l->slots] = 0;
	blk_complete(r, status);
	start_backlog(l);
}

static int lun_issue(struct iscsi_lun *l, struct blk_req *r)
{
	int i = 0;
	while (i < ISCSI_MAX_TASKS && l->used[i])
		i++;
	if (i == ISCSI_MAX_TASKS)
		return -EBUSY;
	struct lun_task *lt = &l->slots[i];
	memset(&lt->t, 0, sizeof(lt->t));
	lt->r = r, lt->lun = l;
	lt->t.lun = l->lun, lt->t.done = task_done, lt->t.arg = lt;
	if (r->op == BLK_FLUSH) {
		scsi_cdb_sync_cache10(lt->t.cdb);
	} else {
		lt->t.buf = r->buf;
		lt->t.len = r->count * l->block_size;
		lt->t.dir = r->op == BLK_WRITE ? ISCSI_DIR_WRITE : ISCSI_DIR_READ;
		scsi_cdb_rw16(lt->t.cdb, r->op == BLK_WRITE, r->lba, r->count);
	}
	l->used[i] = 1;
	int err = iscsi_submit(l->s, &lt->t);
	if (err) {
		l->used[i] = 0;
		fmt_snprintf(l->dev->error, sizeof(l->dev->error), "%s%s%s", errno_str(err),
			     l->s->error[0] ? ": " : "", l->s->error);
		if (log_ratelimit_ok(&fail_rl))
			log_warn("iscsi %s: request failed at once: %s", l->s->cfg.target,
				 l->dev->error);
		blk_complete(r, err);
	}
	return 0;
}

static void start_backlog(struct iscsi_lun *l)
{
	while (l->backlog) {
		struct blk_req *r = l->backlog;
		l->backlog = r->next;
		if (lun_issue(l, r)) {
			r->next = l->backlog, l->backlog = r;
			return;
		}
	}
	l->backlog_tail = 0;
}

static void lun_start(struct blockdev *d, struct blk_req *r)
{
	struct iscsi_lun *l = d->priv;
	if ((uint64_t)r->count * l->block_size > (16u << 20)) {
		blk_complete(r, -EINVAL);
		return;
	}
	r->next = 0;
	if (!l->backlog && !lun_issue(l, r))
		return;
	if (l->backlog_tail)
		l->backlog_tail->next = r;
	else
		l->backlog = r;
	l->backlog_tail = r;
}

static void lun_unlink(struct iscsi_lun *l)
{
	for (struct iscsi_lun **p = &open_luns; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			return;
		}
}

static void lun_close(struct blockdev *d)
{
	struct iscsi_lun *l = d->priv;
	lun_unlink(l);
	iscsi_abort_all(l->s, -ECANCELED, "disk closed");
	while (l->backlog) {
		struct blk_req *r = l->backlog;
		l->backlog = r->next;
		blk_complete(r, -ECANCELED);
	}
	iscsi_tcp_logout_free(l->s); /* Logout Request; the session lingers until answered */
	blk_host()->free(l, sizeof(*l));
}

static const struct blk_backend_ops lun_ops = { lun_start, lun_close, 1 };

/*
 * Opening a LUN is a small state machine that iscsi_blk_poll() drives
 * (blk.h: nothing waits for a disk to open): the session logs in, then
 * one task at a time asks TEST UNIT READY (which also takes the UNIT
 * ATTENTION a target reports first) and READ CAPACITY; its done callback
 * only marks it finished, so the next step runs from the poller, never
 * inside lwIP's receive callback.
 */
static void probe_done(struct iscsi_task *t)
{
	((struct iscsi_lun *)t->arg)->probe_done = 1;
}

static void lun_open_end(struct iscsi_lun *l, int rc, const char *why)
{
	const struct iscsi_url *u = &l->url;
	lun_unlink(l);
	blk_open_failed(l->dev, rc, "iSCSI disk %s/%llu at %s:%u: %s", u->target,
			(unsigned long long)u->lun, u->host, u->port,
			why[0] ? why : l->s->error[0] ? l->s->error : errno_str(rc));
	iscsi_tcp_logout_free(l->s);
	blk_host()->free(l, sizeof(*l));
}

static void probe_send(struct iscsi_lun *l, enum lun_step step)
{
	l->step = step;
	l->probe_done = 0;
	if (step == LUN_TUR)
		iscsi_task_tur(&l->probe, l->lun);
	else
		iscsi_task_capacity(&l->probe, l->lun, l->probe_buf, step == LUN_CAPACITY10);
	l->probe.done = probe_done;
	l->probe.arg = l;
	int rc = iscsi_submit(l->s, &l->probe);
	if (rc)
		lun_open_end(l, rc, "");
}

static void lun_opened(struct iscsi_lun *l, const struct scsi_capacity *cap)
{
	struct blockdev *d = l->dev;
	if (cap->block_size < 512 || cap->block_size & (cap->block_size - 1)) {
		char why[32];
		fmt_snprintf(why, sizeof(why), "block size %u", cap->block_size);
		return lun_open_end(l, -ENOTSUP, why);
	}
	l->step = LUN_READY;
	l->block_size = cap->block_size;
	d->ops = &lun_ops;
	d->blocks = cap->blocks, d->block_size = cap->block_size;
	blk_opened(d, 0);
}

/* One step of an open; may end it (and free l). */
static void lun_open_step(struct iscsi_lun *l)
{
	struct scsi_capacity cap;
	char why[96] = "";
	int rc;
	if (l->step == LUN_LOGIN) {
		rc = iscsi_login_status(l->s, l->open_deadline);
		if (rc == -EINPROGRESS)
			return;
		return rc ? lun_open_end(l, rc, "") : probe_send(l, LUN_TUR);
	}
	if (!l->probe_done)
		return;
	if (l->step == LUN_TUR) {
		if (l->probe.result)
			return lun_open_end(l, l->probe.result, l->probe.message);
		return probe_send(l, LUN_CAPACITY16);
	}
	rc = iscsi_capacity_result(&l->probe, l->probe_buf, l->step == LUN_CAPACITY10, &cap, why,
				   sizeof(why));
	if (rc == 1)
		return probe_send(l, LUN_CAPACITY10);
	if (rc)
		return lun_open_end(l, rc, why);
	lun_opened(l, &cap);
}

/* Starts the session; iscsi_blk_poll() goes on (see lun_open_step). */
static int lun_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	struct iscsi_url u;
	int rc = url_check(spec, &u, err, len);
	if (rc)
		return rc;
	struct iscsi_lun *l = blk_host()->alloc(sizeof(*l));
	if (!l || (rc = iscsi_open_url(&u, &l->s))) {
		if (l)
			blk_host()->free(l, sizeof(*l));
		fmt_snprintf(err, len, "cannot start an iSCSI session (%s)", errno_str(rc ? rc : -ENOMEM));
		return rc ? rc : -ENOMEM;
	}
	l->url = u;
	l->lun = u.lun;
	l->dev = d;
	l->step = LUN_LOGIN;
	l->open_deadline = time_us() + OPEN_WAIT_US;
	d->priv = l;
	l->next = open_luns, open_luns = l;
	return BLK_OPEN_LATER;
}

/* An open abandoned (blk_open_cancel): its session logs out in the background. */
static void lun_cancel(struct blockdev *d)
{
	struct iscsi_lun *l = d->priv;
	lun_unlink(l);
	iscsi_tcp_logout_free(l->s);
	blk_host()->free(l, sizeof(*l));
}
BLK_SCHEME(iscsi, "iscsi://", lun_check, lun_open, lun_cancel);

/*
 * Keeps every LUN's session going (timers, keepalive, reconnects) and
 * moves opening ones on. Busy while any LUN has commands in flight: their
 * answers come by polling.
 */
static int iscsi_blk_poll(void)
{
	int busy = 0;
	for (struct iscsi_lun *l = open_luns, *next; l; l = next) {
		next = l->next; /* an open that ends frees l */
		iscsi_tcp_poll(l->s);
		busy |= iscsi_tasks_pending(l->s) > 0;
		if (l->step != LUN_READY)
			lun_open_step(l);
	}
	return busy;
}
SERVICE_POLLER(iscsi_blk, iscsi_blk_poll);
