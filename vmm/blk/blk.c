/*
 * vmm/blk/blk.c - the block layer's core (see blk.h for the model): the
 * scheme registry, opening and closing devices, checking and queueing
 * requests from any core, and starting and completing them on the service
 * core. Portable: unit-tested natively in tests/unit/test_blk.c.
 */
#include "vmm/blk/blk.h"

#include <stdarg.h>

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"

extern const struct blk_scheme __start_hako_blk_schemes[], __stop_hako_blk_schemes[];

static const struct blk_host_ops *host_ops;
static struct blockdev *open_list;      /* service core only */
static struct blk_open_req *ended_head, *ended_tail;  /* opens blk_poll reports */

void blk_set_host(const struct blk_host_ops *ops) { host_ops = ops; }
const struct blk_host_ops *blk_host(void) { return host_ops; }

uint64_t blk_blocks(const struct blockdev *d) { return d->blocks; }
uint32_t blk_block_size(const struct blockdev *d) { return d->block_size; }
int blk_readonly(const struct blockdev *d) { return d->readonly; }
const struct blk_stats *blk_stats(const struct blockdev *d) { return &d->stats; }
const char *blk_error(const struct blockdev *d) { return d->error; }
const struct blk_lat *blk_latency(const struct blockdev *d) { return &d->lat; }
void blk_lat_reset(struct blockdev *d) { memset(&d->lat, 0, sizeof(d->lat)); }
uint64_t blk_stamp(void) { return host_ops && host_ops->stamp ? host_ops->stamp() : 0; }

/* The scheme whose prefix starts `url`, or 0. */
static const struct blk_scheme *scheme_for(const char *url)
{
	for (const struct blk_scheme *s = __start_hako_blk_schemes; s < __stop_hako_blk_schemes; s++)
		if (!strncmp(url, s->prefix, strlen(s->prefix)))
			return s;
	return 0;
}

static int no_scheme(const char *url, char *err, unsigned len)
{
	char known[96], shown[BLK_URL_MAX];
	int n = 0;
	redact_url(url, shown, sizeof(shown));
	known[0] = 0;
	for (const struct blk_scheme *s = __start_hako_blk_schemes; s < __stop_hako_blk_schemes; s++)
		n += fmt_snprintf(known + n, n < (int)sizeof(known) ? sizeof(known) - n : 0, "%s%s...",
				  n ? ", " : "", s->prefix);
	fmt_snprintf(err, len, "unknown disk URL '%s' (known: %s)", shown, known);
	return -EINVAL;
}

/*
 * Checks a URL's syntax through its scheme. 0, or -EINVAL and a sentence
 * in `err`.
 */
int blk_url_check(const char *url, char *err, unsigned len)
{
	const struct blk_scheme *s = scheme_for(url);
	if (!s)
		return no_scheme(url, err, len);
	if (strlen(url) >= BLK_URL_MAX) {
		fmt_snprintf(err, len, "disk URL is too long (at most %u characters)", BLK_URL_MAX - 1);
		return -EINVAL;
	}
	return s->check(url + strlen(s->prefix), err, len);
}

/* The scheme of d's URL (blk_open checked it has one). */
static const struct blk_scheme *scheme_of(const struct blockdev *d)
{
	return scheme_for(d->url);
}

/*
 * Starts opening `url` (see blk.h). Service core. The scheme either ends
 * at once or returns BLK_OPEN_LATER and calls blk_opened() later; either
 * way the caller hears of it from blk_poll().
 */
int blk_open(const char *url, int readonly, struct blk_open_req *o)
{
	o->status = -EINPROGRESS;
	o->dev = 0;
	o->err[0] = 0;
	o->ended = 0;
	o->readonly = readonly;
	int rc = blk_url_check(url, o->err, sizeof(o->err));
	if (rc)
		return rc;
	if (!host_ops) {
		fmt_snprintf(o->err, sizeof(o->err), "the block layer has no host memory yet");
		return -ENODEV;
	}
	struct blockdev *d = host_ops->alloc(sizeof(*d));
	if (!d) {
		char shown[BLK_URL_MAX];
		redact_url(url, shown, sizeof(shown));
		fmt_snprintf(o->err, sizeof(o->err), "out of memory opening '%s'", shown);
		return -ENOMEM;
	}
	const struct blk_scheme *s = scheme_for(url);
	memcpy(d->url, url, strlen(url) + 1);
	d->opening = o;
	o->d = d;
	rc = s->open(url + strlen(s->prefix), d, o->err, sizeof(o->err));
	if (rc != BLK_OPEN_LATER)
		blk_opened(d, rc);
	return 0;
}

static int geometry_ok(const struct blockdev *d)
{
	uint32_t bs = d->block_size;
	return d->ops && d->ops->start && d->ops->close && bs >= 512 && !(bs & (bs - 1));
}

/* A scheme ended d's open (see blk.h): queued for blk_poll to report. */
void blk_opened(struct blockdev *d, int status)
{
	struct blk_open_req *o = d->opening;
	if (!status && !geometry_ok(d)) {
		char shown[BLK_URL_MAX];
		redact_url(d->url, shown, sizeof(shown));
		fmt_snprintf(o->err, sizeof(o->err), "backend of '%s' gave a bad geometry", shown);
		if (d->ops && d->ops->close)
			d->ops->close(d);
		status = -EIO;
	}
	o->status = status;
	o->ended = 1;
	o->next = 0;
	if (ended_tail)
		ended_tail->next = o;
	else
		ended_head = o;
	ended_tail = o;
	if (host_ops->kick)
		host_ops->kick();
}

void blk_open_failed(struct blockdev *d, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(d->opening->err, sizeof(d->opening->err), fmt, ap);
	va_end(ap);
	blk_opened(d, status);
}

static void unlink_ended(struct blk_open_req *o)
{
	struct blk_open_req *prev = 0;
	for (struct blk_open_req *p = ended_head; p; prev = p, p = p->next) {
		if (p != o)
			continue;
		if (prev)
			prev->next = o->next;
		else
			ended_head = o->next;
		if (ended_tail == o)
			ended_tail = prev;
		return;
	}
}

/* Abandons an open (see blk.h). */
void blk_open_cancel(struct blk_open_req *o)
{
	struct blockdev *d = o->d;
	if (!d)
		return; /* reported already, or never started */
	if (o->ended) {
		unlink_ended(o);
		if (!o->status)
			d->ops->close(d);
	} else {
		scheme_of(d)->cancel(d);
	}
	o->d = 0;
	host_ops->free(d, sizeof(*d));
}

/* Reports ended opens to their callers, oldest first. */
static int report_opens(void)
{
	int n = 0;
	while (ended_head) {
		struct blk_open_req *o = ended_head;
		struct blockdev *d = o->d;
		ended_head = o->next;
		if (!ended_head)
			ended_tail = 0;
		o->d = 0;
		d->opening = 0;
		if (!o->status) {
			d->readonly |= o->readonly;
			d->next_open = open_list;
			open_list = d;
			o->dev = d;
		} else {
			host_ops->free(d, sizeof(*d));
		}
		o->done(o); /* may free o, open or close devices */
		n++;
	}
	return n;
}

/* Is r's block range inside d? Overflow-safe. */
static int in_range(const struct blockdev *d, const struct blk_req *r)
{
	return r->lba < d->blocks && r->count <= d->blocks - r->lba;
}

static int check_req(const struct blockdev *d, const struct blk_req *r)
{
	if (!r->done)
		return -EINVAL;
	if (r->op == BLK_FLUSH)
		return 0;
	if ((r->op != BLK_READ && r->op != BLK_WRITE) || !r->count || !r->buf)
		return -EINVAL;
	if (r->op == BLK_WRITE && d->readonly)
		return -EPERM;
	return in_range(d, r) ? 0 : -ERANGE;
}

/*
 * Checks r and queues it on d (see blk.h for the contract). Any core.
 */
int blk_submit(struct blockdev *d, struct blk_req *r)
{
	int rc = check_req(d, r);
	if (rc)
		return rc;
	r->dev = d;
	r->next = 0;
	uint64_t kick = r->stamp[BLK_T_KICK];
	memset(r->stamp, 0, sizeof(r->stamp));
	r->stamp[BLK_T_KICK] = kick ? kick : blk_stamp();
	spin_lock(&d->lock);
	if (d->closing) {
		spin_unlock(&d->lock);
		return -ENODEV;
	}
	if (d->tail)
		d->tail->next = r;
	else
		d->head = r;
	d->tail = r;
	spin_unlock(&d->lock);
	if (host_ops->kick)
		host_ops->kick();
	return 0;
}

/* Takes d's whole queue, oldest first. */
static struct blk_req *take_queue(struct blockdev *d)
{
	spin_lock(&d->lock);
	struct blk_req *r = d->head;
	d->head = d->tail = 0;
	spin_unlock(&d->lock);
	return r;
}

/* Service core: reports ended opens, hands every queued request to its backend. */
int blk_poll(void)
{
	int busy = report_opens() > 0;
	for (struct blockdev *d = open_list; d; d = d->next_open) {
		struct blk_req *r = take_queue(d);
		while (r) {
			struct blk_req *next = r->next;  /* done() may free r */
			d->inflight++;
			d->ops->start(d, r);
			r = next;
			busy = 1;
		}
		busy |= d->inflight > 0;
	}
	return busy;
}

static void count(struct blk_stats *st, const struct blk_req *r, uint64_t bytes, int status)
{
	if (status) {
		st->errors++;
		return;
	}
	if (r->op == BLK_READ)
		st->reads++, st->bytes_read += bytes;
	else if (r->op == BLK_WRITE)
		st->writes++, st->bytes_written += bytes;
	else
		st->flushes++;
}

/*
 * A backend (or blk_close) finishes r; calls r->done. Service core. The
 * done stamp is taken after r->done returns (it may free r, so the stamps
 * are copied first): for virtio-blk it covers the used ring and the
 * interrupt.
 */
void blk_complete(struct blk_req *r, int status)
{
	struct blockdev *d = r->dev;
	uint64_t stamp[BLK_STAMPS];
	memcpy(stamp, r->stamp, sizeof(stamp));
	r->stamp[BLK_T_KICK] = 0; /* a request used again is stamped afresh */
	d->inflight--;
	count(&d->stats, r, (uint64_t)r->count * d->block_size, status);
	r->done(r, status);
	if (!status) {
		stamp[BLK_T_DONE] = blk_stamp();
		blk_lat_add(&d->lat, stamp);
	}
}

static void unlink_open(struct blockdev *d)
{
	for (struct blockdev **p = &open_list; *p; p = &(*p)->next_open)
		if (*p == d) {
			*p = d->next_open;
			return;
		}
}

/* Closes d (see blk.h): cancels what is queued, lets the backend finish. */
void blk_close(struct blockdev *d)
{
	spin_lock(&d->lock);
	d->closing = 1;
	spin_unlock(&d->lock);
	for (struct blk_req *r = take_queue(d), *next; r; r = next) {
		next = r->next;
		d->inflight++;
		blk_complete(r, -ECANCELED);
	}
	d->ops->close(d);
	unlink_open(d);
	host_ops->free(d, sizeof(*d));
}
