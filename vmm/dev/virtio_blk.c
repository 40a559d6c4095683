/*
 * vmm/dev/virtio_blk.c - the virtio block device (virtio 1.2, 5.2).
 *
 * A notify (on the vCPU's core) takes chains from the request queue into
 * free slots; each slot has a bounce buffer of VBLK_DATA_MAX bytes, so the
 * block layer only ever sees hako memory. Writes are copied in at once,
 * then the request goes to the block layer asynchronously. Its completion
 * (on the service core) copies read data out, writes the status byte,
 * returns the chain in the used ring, raises the interrupt, and takes the
 * chains that waited for a free slot. Requests the driver sends wrongly
 * (bad sector, odd length, too large) fail with VIRTIO_BLK_S_IOERR;
 * malformed rings put the device into DEVICE_NEEDS_RESET. Each of these
 * takes at most VIRTIO_POLL_BUDGET chains; what is left the service core
 * takes in its next rounds (virtio_mmio_poll, vmm/virtio_attach.c).
 * Portable.
 */
#include "vmm/dev/virtio_blk.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define SECTOR 512u
#define HDR_LEN sizeof(struct virtio_blk_req_hdr)

struct vblk_slot {
	struct blk_req req;
	struct virtio_blk *b;
	uint32_t generation;            /* the transport's when it started */
	uint32_t type;
	uint32_t data_len;
	int busy;
	struct vq_chain chain;
	struct vq_seg seg[VBLK_SEG_MAX + 2];    /* + header, status */
	uint8_t *buf;                   /* VBLK_DATA_MAX bytes */
};

struct virtio_blk {
	struct virtio_mmio t;
	struct blockdev *bd;            /* not ours: it outlives the device */
	int dead;                       /* destroyed; freed by the last completion */
	struct virtio_blk_config config;
	char id[VIRTIO_BLK_ID_BYTES];
	uint8_t *bounce;                /* VBLK_SLOTS * VBLK_DATA_MAX */
	struct vblk_slot slot[VBLK_SLOTS];
};

static int process(struct virtio_blk *b);
static void free_device(struct virtio_blk *b);
static int busy_slots(const struct virtio_blk *b);

/* Writes the status byte, returns the chain, frees the slot (lock held). */
static void finish(struct virtio_blk *b, struct vblk_slot *s, uint8_t status, uint32_t data_in)
{
	struct virtq *q = &b->t.vq[0];
	const struct vq_chain *c = &s->chain;
	s->busy = 0;
	if (s->generation != b->t.generation)
		return;                 /* reset since: the guest's memory is not ours to touch */
	if (vq_chain_write(q, c, c->in_len - 1, &status, 1) ||
	    vq_push(q, c->head, data_in + 1)) {
		virtio_mmio_fail(&b->t, q->error ? q->error : "request vanished from guest memory");
		return;
	}
	virtio_mmio_notify_used(&b->t);
}

/* Block-layer completion: service core. */
static void request_done(struct blk_req *r, int status)
{
	struct vblk_slot *s = r->ctx;
	struct virtio_blk *b = s->b;
	spin_lock(&b->t.lock);
	uint32_t in = 0;
	if (!status && s->type == VIRTIO_BLK_T_IN && s->generation == b->t.generation) {
		if (vq_chain_write(&b->t.vq[0], &s->chain, 0, s->buf, s->data_len))
			status = -EIO;  /* cannot happen: the chain was checked; be safe */
		else
			in = s->data_len;
	}
	finish(b, s, status ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, in);
	if (process(b))
		virtio_mmio_backlog(&b->t, 0);
	int last = b->dead && !busy_slots(b);
	spin_unlock(&b->t.lock);
	if (last)
		free_device(b);
}

/* Block range of a read or write, in the disk's blocks; 0 or -EINVAL. */
static int to_blocks(const struct virtio_blk *b, uint64_t sector, uint32_t len, struct blk_req *r)
{
	uint32_t bs = blk_block_size(b->bd);
	if (!len || len % bs || len > VBLK_DATA_MAX || sector > UINT64_MAX / SECTOR ||
	    (sector * SECTOR) % bs)
		return -EINVAL;
	r->lba = sector * SECTOR / bs;
	r->count = len / bs;
	return 0;
}

/* Fills s->req for an IN, OUT or FLUSH request; 0 or a VIRTIO_BLK_S_ status. */
static int prepare(struct virtio_blk *b, struct vblk_slot *s, const struct virtio_blk_req_hdr *h)
{
	struct blk_req *r = &s->req;
	*r = (struct blk_req){ .buf = s->buf, .done = request_done, .ctx = s };
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		r->op = BLK_READ;
		s->data_len = (uint32_t)(s->chain.in_len - 1);
		return to_blocks(b, h->sector, s->data_len, r) ? VIRTIO_BLK_S_IOERR : 0;
	case VIRTIO_BLK_T_OUT:
		r->op = BLK_WRITE;
		s->data_len = (uint32_t)(s->chain.out_len - HDR_LEN);
		if (to_blocks(b, h->sector, s->data_len, r) ||
		    vq_chain_read(&b->t.vq[0], &s->chain, HDR_LEN, s->buf, s->data_len))
			return VIRTIO_BLK_S_IOERR;
		return 0;
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_FLUSH;
		return 0;
	}
	return VIRTIO_BLK_S_UNSUPP;
}

/* GET_ID: the serial, NUL-padded, as much as fits (5.2.6). */
static void get_id(struct virtio_blk *b, struct vblk_slot *s)
{
	uint64_t n = s->chain.in_len - 1;
	if (n > VIRTIO_BLK_ID_BYTES)
		n = VIRTIO_BLK_ID_BYTES;
	if (vq_chain_write(&b->t.vq[0], &s->chain, 0, b->id, n))
		finish(b, s, VIRTIO_BLK_S_IOERR, 0);
	else
		finish(b, s, VIRTIO_BLK_S_OK, (uint32_t)n);
}

/* Starts the request in slot s (just popped); lock held. */
static void start(struct virtio_blk *b, struct vblk_slot *s)
{
	struct virtio_blk_req_hdr h;
	s->busy = 1;
	s->generation = b->t.generation;
	/* 5.2.6: a header the device reads, a status byte it writes */
	if (s->chain.out_len < HDR_LEN || s->chain.in_len < 1 ||
	    vq_chain_read(&b->t.vq[0], &s->chain, 0, &h, HDR_LEN)) {
		s->busy = 0;
		virtio_mmio_fail(&b->t, "virtio-blk request without header or status byte");
		return;
	}
	s->type = h.type;
	if (h.type == VIRTIO_BLK_T_GET_ID) {
		get_id(b, s);
		return;
	}
	uint64_t kick = blk_stamp(); /* before prepare() copies a write's data */
	int st = prepare(b, s, &h);
	s->req.stamp[BLK_T_KICK] = kick;
	if (!st && blk_submit(b->bd, &s->req))
		st = VIRTIO_BLK_S_IOERR;        /* beyond the end, or read-only */
	if (st)
		finish(b, s, (uint8_t)st, 0);
}

static int busy_slots(const struct virtio_blk *b)
{
	int n = 0;
	for (unsigned i = 0; i < VBLK_SLOTS; i++)
		n += b->slot[i].busy;
	return n;
}

static struct vblk_slot *free_slot(struct virtio_blk *b)
{
	for (unsigned i = 0; i < VBLK_SLOTS; i++)
		if (!b->slot[i].busy)
			return &b->slot[i];
	return 0;
}

/*
 * Takes available chains while slots are free, at most VIRTIO_POLL_BUDGET
 * of them (requests that complete at once free their slot at once, so
 * only the budget bounds a guest that keeps the ring full of them). Lock
 * held. Nonzero when it stopped at the budget; with every slot busy it
 * stops at 0, and the next completion takes the queue up again.
 */
static int process(struct virtio_blk *b)
{
	struct virtq *q = &b->t.vq[0];
	struct vblk_slot *s;
	for (unsigned n = 0; n < VIRTIO_POLL_BUDGET; n++) {
		if (!virtio_mmio_live(&b->t) || !b->t.vq_ready[0] || !(s = free_slot(b)))
			return 0;
		s->chain = (struct vq_chain){ .seg = s->seg, .max_seg = VBLK_SEG_MAX + 2,
					      .max_len = VBLK_DATA_MAX + HDR_LEN + 1 };
		int rc = vq_pop(q, &s->chain);
		if (rc < 0)
			virtio_mmio_fail(&b->t, q->error);
		if (rc <= 0)
			return 0;
		start(b, s);
	}
	return 1;
}

static int notify(struct virtio_mmio *t, unsigned queue)
{
	(void)queue;    /* one request queue */
	return process(t->dev);
}

/* Requests in flight finish later, under an old generation: they are dropped. */
static void reset(struct virtio_mmio *t)
{
	(void)t;        /* the transport bumps the generation */
}

static const struct virtio_dev_ops vblk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = VBLK_QUEUE_MAX,
	.notify = notify,
	.reset = reset,
};

static uint64_t features(const struct blockdev *bd)
{
	uint64_t f = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		     (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH);
	return blk_readonly(bd) ? f | (1ull << VIRTIO_BLK_F_RO) : f;
}

static void fill_config(struct virtio_blk *b)
{
	b->config.capacity = blk_blocks(b->bd) * (blk_block_size(b->bd) / SECTOR);
	b->config.size_max = VBLK_SIZE_MAX;
	b->config.seg_max = VBLK_SEG_MAX;
	b->config.blk_size = blk_block_size(b->bd);
}

/* See virtio_blk.h. */
int virtio_blk_create(struct blockdev *bd, const struct virtio_host *host, const char *name,
		      const char *id, struct virtio_blk **out)
{
	const struct blk_host_ops *h = blk_host();
	struct virtio_blk *b = h->alloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->bounce = h->alloc((uint64_t)VBLK_SLOTS * VBLK_DATA_MAX);
	if (!b->bounce) {
		h->free(b, sizeof(*b));
		return -ENOMEM;
	}
	b->bd = bd;
	fill_config(b);
	for (unsigned i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
		b->id[i] = id[i];
	for (unsigned i = 0; i < VBLK_SLOTS; i++) {
		b->slot[i].b = b;
		b->slot[i].buf = b->bounce + (uint64_t)i * VBLK_DATA_MAX;
	}
	virtio_mmio_init(&b->t, &vblk_ops, b, features(bd), (const uint8_t *)&b->config,
			 sizeof(b->config), host, name);
	*out = b;
	return 0;
}

static void free_device(struct virtio_blk *b)
{
	const struct blk_host_ops *h = blk_host();
	h->free(b->bounce, (uint64_t)VBLK_SLOTS * VBLK_DATA_MAX);
	h->free(b, sizeof(*b));
}

/*
 * See virtio_blk.h. Requests still in the block layer keep the device's
 * memory until they complete (they then touch neither the guest nor the
 * disk's data again); the last one frees it.
 */
void virtio_blk_destroy(struct virtio_blk *b)
{
	spin_lock(&b->t.lock);
	b->t.generation++;      /* completions from here on leave the guest alone */
	b->t.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	b->dead = 1;
	int busy = busy_slots(b);
	spin_unlock(&b->t.lock);
	if (!busy)
		free_device(b);
}

struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b) { return &b->t; }
