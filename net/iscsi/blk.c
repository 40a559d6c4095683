/*
 * net/iscsi/blk.c - the `iscsi://[USER[%SECRET]@]HOST[:PORT]/IQN/LUN`
 * block-layer backend (vmm/blk/blk.h): each open device has its own
 * session (net/iscsi over net/iscsi/tcp.c). Reads and writes become
 * READ(16)/WRITE(16), flush becomes SYNCHRONIZE CACHE(10). Requests beyond
 * the session's task slots wait in a backlog; during a reconnect they wait
 * in the session and fail after its task timeout, so a guest sees an I/O
 * error, never silent loss. Service core only.
 */
#include "net/iscsi/tcp.h"
#include "vmm/blk/blk.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

#define OPEN_WAIT_US (20 * 1000000ull)

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
};

static struct iscsi_lun *open_luns;

static int url_check(const char *spec, struct iscsi_url *u, char *err, unsigned len)
{
	char full[BLK_URL_MAX + 8];
	const char *why;
	fmt_snprintf(full, sizeof(full), "iscsi://%s", spec);
	if (iscsi_url_parse(full, 1, u, &why)) {
		fmt_snprintf(err, len, "bad disk URL: %s (iscsi://[USER[%%SECRET]@]HOST[:PORT]/IQN/LUN)",
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
	if (status)
		log_warn("iscsi %s: request failed: %s %s", l->s->cfg.target, errno_str(status),
			 t->message);
	struct blk_req *r = lt->r;
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

static void lun_close(struct blockdev *d)
{
	struct iscsi_lun *l = d->priv;
	for (struct iscsi_lun **p = &open_luns; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
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

/* Login, TEST UNIT READY and READ CAPACITY before the guest starts (blk_open may wait). */
static int lun_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	struct iscsi_url u;
	struct iscsi_config cfg;
	struct scsi_capacity cap;
	char why[96] = "";
	int rc = url_check(spec, &u, err, len);
	if (rc)
		return rc;
	if (!iscsi_tcp_can_wait()) {
		/* Opening waits on the network: never from inside lwIP (console.c
		 * runs shell commands outside it, so this is a host bug). */
		fmt_snprintf(err, len, "iSCSI disks cannot be opened from inside a network "
			     "callback");
		return -EBUSY;
	}
	memset(&cfg, 0, sizeof(cfg));
	iscsi_tcp_defaults(&cfg);
	fmt_snprintf(cfg.host, sizeof(cfg.host), "%s", u.host);
	cfg.port = u.port;
	fmt_snprintf(cfg.target, sizeof(cfg.target), "%s", u.target);
	fmt_snprintf(cfg.user, sizeof(cfg.user), "%s", u.user);
	fmt_snprintf(cfg.secret, sizeof(cfg.secret), "%s", u.secret);
	struct iscsi_lun *l = blk_host()->alloc(sizeof(*l));
	if (!l || (rc = iscsi_tcp_open(&cfg, &l->s))) {
		if (l)
			blk_host()->free(l, sizeof(*l));
		fmt_snprintf(err, len, "cannot start an iSCSI session (%s)", errno_str(rc ? rc : -ENOMEM));
		return rc ? rc : -ENOMEM;
	}
	rc = iscsi_wait_login(l->s, OPEN_WAIT_US, iscsi_tcp_wait_quiet, l->s);
	if (!rc)
		rc = iscsi_cmd_tur(l->s, u.lun, iscsi_tcp_wait_quiet, l->s, why, sizeof(why));
	if (!rc)
		rc = iscsi_cmd_capacity(l->s, u.lun, &cap, iscsi_tcp_wait_quiet, l->s, why, sizeof(why));
	if (!rc && (cap.block_size < 512 || cap.block_size & (cap.block_size - 1)))
		rc = -ENOTSUP, fmt_snprintf(why, sizeof(why), "block size %u", cap.block_size);
	if (rc) {
		fmt_snprintf(err, len, "iSCSI disk %s/%llu at %s:%u: %s", u.target,
			     (unsigned long long)u.lun, u.host, u.port,
			     why[0] ? why : l->s->error[0] ? l->s->error : errno_str(rc));
		iscsi_tcp_free(l->s);
		blk_host()->free(l, sizeof(*l));
		return rc;
	}
	l->lun = u.lun, l->block_size = cap.block_size;
	d->ops = &lun_ops, d->priv = l;
	d->blocks = cap.blocks, d->block_size = cap.block_size;
	l->next = open_luns, open_luns = l;
	return 0;
}
BLK_SCHEME(iscsi, "iscsi://", lun_check, lun_open);

/* Keeps every open LUN's session going: timers, keepalive, reconnects. */
/* Busy while any LUN has commands in flight: their answers come by polling. */
static int iscsi_blk_poll(void)
{
	int busy = 0;
	for (struct iscsi_lun *l = open_luns; l; l = l->next) {
		iscsi_tcp_poll(l->s);
		busy |= iscsi_tasks_pending(l->s) > 0;
	}
	return busy;
}
SERVICE_POLLER(iscsi_blk, iscsi_blk_poll);
