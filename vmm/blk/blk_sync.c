/*
 * vmm/blk/blk_sync.c - synchronous block I/O over the asynchronous block
 * layer (see blk_sync.h). Portable.
 */
#include "vmm/blk/blk_sync.h"

#include "vmm/core/lib/fmt.h"

static int (*sync_pump)(void) = blk_poll;

void blk_sync_set_pump(int (*pump)(void)) { sync_pump = pump ? pump : blk_poll; }
void blk_sync_pump(void) { sync_pump(); }

struct sync_wait {
	volatile int finished;
	int status;
};

static void sync_done(struct blk_req *r, int status)
{
	struct sync_wait *w = r->ctx;
	w->status = status;
	w->finished = 1;
}

/*
 * Submits one request and pumps until its completion: 0 or -E... Service
 * core, never from a completion callback or a backend (see blk_sync.h).
 */
int blk_sync_io(struct blockdev *d, enum blk_op op, uint64_t lba, uint32_t count, void *buf)
{
	struct sync_wait w = { 0, 0 };
	struct blk_req r = { .op = op, .lba = lba, .count = count, .buf = buf,
			     .done = sync_done, .ctx = &w };
	int rc = blk_submit(d, &r);
	if (rc)
		return rc;
	while (!w.finished)
		sync_pump();
	return w.status;
}

static void sync_open_done(struct blk_open_req *o)
{
	*(volatile int *)o->ctx = 1;
}

/* Starts the open and pumps until blk_poll() reported it (see blk_sync.h). */
int blk_sync_open(const char *url, int readonly, struct blockdev **out, char *err, unsigned len)
{
	struct blk_open_req o; /* on the stack: another session's verb may open meanwhile */
	volatile int ended = 0;
	o.done = sync_open_done;
	o.ctx = (void *)&ended;
	int rc = blk_open(url, readonly, &o);
	while (!rc && !ended)
		sync_pump();
	if (!rc)
		rc = o.status;
	if (rc) {
		fmt_snprintf(err, len, "%s", o.err);
		return rc;
	}
	*out = o.dev;
	return 0;
}
