/*
 * vmm/dev/virtio_net.c - the virtio network device (virtio 1.2, 5.1).
 *
 * Features offered: VIRTIO_NET_F_MAC (the definition's MAC), _STATUS (link
 * up or down), _MTU (1500), _MRG_RXBUF (5.1.6.3.1: a frame may fill
 * several receive buffers, their count in the header's num_buffers), the
 * offloads _CSUM and _HOST_TSO4 (the guest may leave TCP/UDP checksums
 * partial and send TCP/IPv4 segment trains of up to 64 KiB) and
 * _GUEST_CSUM and _GUEST_TSO4 (it takes them), and VERSION_1 from the
 * transport. The model only carries the header's offload fields between
 * the guest and the switch (net/switch.c), which passes a train whole to
 * a guest that takes trains and cuts it up for anyone else (net/gso.c).
 *
 * Transmit: the guest's notify (vCPU core) only kicks the service core,
 * which takes frames with virtio_net_tx_next(). While it is taking them
 * it sets VIRTQ_USED_F_NO_NOTIFY, so a guest sending a stream notifies
 * once, not per frame; when the queue is found empty the flag is cleared
 * and the queue looked at once more (2.7.10), so no frame waits unseen.
 * Receive: the device never needs to hear of new receive buffers (it
 * looks when it has a frame), so VIRTQ_USED_F_NO_NOTIFY stays set on that
 * queue and the guest's refills cost no exits. virtio_net_rx() pops as
 * many buffers as the frame needs; if
 * the guest has not posted enough, last_avail is rewound and the frame
 * dropped, so no buffer is half used. Used buffers are published together
 * (the driver reads num_buffers, then expects every one of them).
 * Interrupts: one per virtio_net_flush() at most, none while the driver
 * has set VIRTQ_AVAIL_F_NO_INTERRUPT (Linux's NAPI polling), and none
 * sooner than VNET_IRQ_GAP_US after the last: each one costs the guest
 * several exits, and delivering it to a running vCPU costs an IPI, which
 * under an emulator waits for its global lock (what a NIC's interrupt
 * throttling, e1000's ITR, is for). A driver that polls picks up what was
 * used meanwhile when it turns interrupts back on (2.7.7.1).
 *
 * Every chain comes through vq_pop() (vmm/dev/virtqueue.c), which checks
 * each descriptor against guest memory; this file adds the rules of 5.1.6:
 * transmit chains read-only and at least a header long, receive chains
 * writable and at least a header long. Breaking them is a malformed ring:
 * DEVICE_NEEDS_RESET for this device, nothing more. Portable.
 */
#include "vmm/dev/virtio_net.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
#define PAGE 4096ull

static int negotiated(const struct virtio_net *d, unsigned bit)
{
	return !!(d->t.driver_features & (1ull << bit));
}

static int running(const struct virtio_net *d, unsigned q)
{
	return virtio_mmio_live(&d->t) && d->t.vq_ready[q];
}

/* The queue broke a rule: the device needs a reset (lock held). */
static void broken(struct virtio_net *d, unsigned q, const char *why)
{
	virtio_mmio_fail(&d->t, why ? why : d->t.vq[q].error);
}

/* See virtio_net.h. */
unsigned virtio_net_offloads(struct virtio_net *d)
{
	spin_lock(&d->t.lock);
	unsigned o = negotiated(d, VIRTIO_NET_F_GUEST_CSUM) ? VNET_OFF_CSUM : 0;
	if (o && negotiated(d, VIRTIO_NET_F_GUEST_TSO4))
		o |= VNET_OFF_TSO4;
	spin_unlock(&d->t.lock);
	return o;
}

/* ---- transmit ---- */

/*
 * Guest memory [gpa, gpa+len) as host pieces appended to v: whole when the
 * host maps it in one piece, else page by page. -1 when v is full or the
 * memory vanished (vq_pop checked it: it cannot, but be safe).
 */
static int map_piece(struct virtio_net *d, uint64_t gpa, uint64_t len, struct iov *v,
		     unsigned max, unsigned *n)
{
	const struct vq_mem *m = &d->t.host.mem;
	while (len) {
		uint64_t k = len;
		void *p = m->map(m->ctx, gpa, k);
		if (!p) {
			k = PAGE - gpa % PAGE < len ? PAGE - gpa % PAGE : len;
			p = m->map(m->ctx, gpa, k);
		}
		if (!p || *n == max)
			return -1;
		v[(*n)++] = (struct iov){ p, (uint32_t)k };
		gpa += k, len -= k;
	}
	return 0;
}

/* The chain's readable part from byte `skip` on, as host pieces. */
static int map_chain(struct virtio_net *d, const struct vq_chain *c, uint64_t skip,
		     struct iov *v, unsigned max, unsigned *n)
{
	*n = 0;
	for (unsigned i = 0; i < c->nseg; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (s->write)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		if (map_piece(d, s->gpa + skip, s->len - skip, v, max, n))
			return -1;
		skip = 0;
	}
	return 0;
}

/*
 * Pops the next transmit chain into d->txc: 1, or 0 when the queue is
 * empty (notifications then enabled again) or broken. Lock held.
 */
static int tx_pop(struct virtio_net *d)
{
	struct virtq *q = &d->t.vq[VNET_TXQ];
	d->txc = (struct vq_chain){ .seg = d->txseg, .max_seg = VNET_SEG_MAX,
				    .max_len = VNET_TX_LEN_MAX };
	int rc = vq_pop(q, &d->txc);
	if (!rc && d->tx_quiet) {
		/* about to go idle: ask for notifications, then look again */
		d->tx_quiet = 0;
		if (vq_suppress_notify(q, 0) < 0)
			rc = -EINVAL;
		else
			rc = vq_pop(q, &d->txc);
	}
	if (rc < 0) {
		broken(d, VNET_TXQ, 0);
		return 0;
	}
	if (rc && !d->tx_quiet) {
		d->tx_quiet = 1;
		if (vq_suppress_notify(q, 1) < 0) {
			broken(d, VNET_TXQ, 0);
			return 0;
		}
	}
	return rc;
}

/* 5.1.6.2: a transmit chain is device-readable and starts with a header. */
static int tx_check(struct virtio_net *d, struct virtio_net_hdr *h)
{
	const struct vq_chain *c = &d->txc;
	if (c->in_len || c->out_len < HDR_LEN ||
	    vq_chain_read(&d->t.vq[VNET_TXQ], c, 0, h, HDR_LEN)) {
		broken(d, VNET_TXQ, "transmit chain without a header, or with writable buffers");
		return -EINVAL;
	}
	return 0;
}

/* Returns the chain in d->txc to the guest, with 0 bytes written (lock held). */
static int tx_return(struct virtio_net *d)
{
	if (vq_push(&d->t.vq[VNET_TXQ], d->txc.head, 0)) {
		broken(d, VNET_TXQ, 0);
		return -EINVAL;
	}
	d->used_since_flush[VNET_TXQ] = 1;
	return 0;
}

/*
 * The offloads a transmit header asks for are the ones negotiated
 * (5.1.6.2.1: the driver MUST NOT ask for others); only NEEDS_CSUM among
 * the flags means anything on transmit.
 */
static int tx_header_ok(const struct virtio_net *d, struct virtio_net_hdr *h)
{
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if (h->flags && !negotiated(d, VIRTIO_NET_F_CSUM))
		return 0;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 1;
	return h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && negotiated(d, VIRTIO_NET_F_HOST_TSO4) &&
	       h->flags && h->gso_size;
}

/* See virtio_net.h. */
int virtio_net_tx_next(struct virtio_net *d, struct iov *v, unsigned max, unsigned *niov,
		       uint32_t *len, struct virtio_net_hdr *h)
{
	int got = 0;
	/* notifications on and none came: nothing to look at (the flag is the
	 * service core's; a reset clears it, and the guest notifies again) */
	if (!d->tx_quiet && !__atomic_exchange_n(&d->tx_kicked, 0, __ATOMIC_ACQ_REL))
		return 0;
	spin_lock(&d->t.lock);
	while (!got && running(d, VNET_TXQ) && tx_pop(d)) {
		if (tx_check(d, h))
			break;
		if (!tx_header_ok(d, h) || map_chain(d, &d->txc, HDR_LEN, v, max, niov)) {
			d->stats.tx_bad++;
			if (tx_return(d))
				break;
			continue;
		}
		*len = (uint32_t)(d->txc.out_len - HDR_LEN);
		d->tx_generation = d->t.generation;
		d->tx_taken = 1;
		d->stats.tx_frames++;
		d->stats.tx_bytes += *len;
		got = 1;
	}
	spin_unlock(&d->t.lock);
	return got;
}

/* See virtio_net.h. A reset since tx_next leaves the guest's ring alone. */
void virtio_net_tx_done(struct virtio_net *d)
{
	spin_lock(&d->t.lock);
	if (d->tx_taken && d->tx_generation == d->t.generation)
		(void)tx_return(d);     /* a failure has put the device into NEEDS_RESET */
	d->tx_taken = 0;
	spin_unlock(&d->t.lock);
}

/* ---- receive ---- */

/*
 * Copies bytes [from, from + n) of the stream "header, then frame" into
 * chain c at offset 0 (the chain has room: the caller checked).
 */
static int rx_fill(struct virtio_net *d, const struct vq_chain *c, const struct iov *v,
		   unsigned nv, uint32_t from, uint32_t n)
{
	const struct virtq *q = &d->t.vq[VNET_RXQ];
	static const uint8_t zero_hdr[sizeof(struct virtio_net_hdr)];
	uint32_t at = 0;
	if (from < HDR_LEN) {
		uint32_t k = HDR_LEN - from < n ? HDR_LEN - from : n;
		if (vq_chain_write(q, c, 0, zero_hdr + from, k))
			return -EINVAL;
		at = k, from += k;
	}
	from -= HDR_LEN;                /* now an offset in the frame */
	for (unsigned i = 0; i < nv && at < n; i++) {
		if (from >= v[i].len) {
			from -= v[i].len;
			continue;
		}
		uint32_t k = v[i].len - from < n - at ? v[i].len - from : n - at;
		if (vq_chain_write(q, c, at, (const uint8_t *)v[i].base + from, k))
			return -EINVAL;
		at += k, from = 0;
	}
	return at == n ? 0 : -EINVAL;
}

/*
 * Pops one receive chain into *c: 1, 0 when the guest has posted none,
 * -ENODEV for a malformed ring or a chain that breaks 5.1.6.3.
 */
static int rx_pop(struct virtio_net *d, struct vq_chain *c, struct vq_seg *seg)
{
	*c = (struct vq_chain){ .seg = seg, .max_seg = VNET_SEG_MAX, .max_len = UINT32_MAX };
	int rc = vq_pop(&d->t.vq[VNET_RXQ], c);
	if (rc < 0) {
		broken(d, VNET_RXQ, 0);
		return -ENODEV;
	}
	if (rc && (c->out_len || c->in_len < HDR_LEN)) {
		broken(d, VNET_RXQ, "receive buffer not writable or smaller than the header");
		return -ENODEV;
	}
	return rc;
}

/*
 * Fills as many buffers as the frame needs (one without MRG_RXBUF, which
 * must then hold it whole): the first chain in d->rx0, each in
 * rx_head/rx_len. Returns their count, -ENOBUFS or -ENODEV. Lock held.
 */
static int rx_take(struct virtio_net *d, const struct iov *v, unsigned n, uint32_t total)
{
	int merge = negotiated(d, VIRTIO_NET_F_MRG_RXBUF);
	unsigned nbuf = 0;
	for (uint32_t done = 0; done < total; nbuf++) {
		struct vq_chain *c = nbuf ? &d->rxc : &d->rx0;
		if (nbuf == VNET_RX_BUFS_MAX || (nbuf && !merge))
			return -ENOBUFS;
		int rc = rx_pop(d, c, nbuf ? d->rxseg : d->rx0seg);
		if (rc <= 0)
			return rc ? rc : -ENOBUFS;
		uint32_t k = c->in_len < total - done ? (uint32_t)c->in_len : total - done;
		if (!merge && k < total)
			return -ENOBUFS;        /* too small for the frame (5.1.6.3.1) */
		if (rx_fill(d, c, v, n, done, k)) {
			broken(d, VNET_RXQ, "receive buffer vanished from guest memory");
			return -ENODEV;
		}
		d->rx_head[nbuf] = c->head;
		d->rx_len[nbuf] = k;
		done += k;
	}
	return (int)nbuf;
}

/* See virtio_net.h. */
int virtio_net_rx(struct virtio_net *d, const struct iov *v, unsigned n, uint32_t len,
		  const struct virtio_net_hdr *h)
{
	struct virtq *q = &d->t.vq[VNET_RXQ];
	int rc = -ENODEV;
	spin_lock(&d->t.lock);
	if (!running(d, VNET_RXQ))
		goto out;
	if (!d->rx_quiet) {
		d->rx_quiet = 1;
		if (vq_suppress_notify(q, 1) < 0) {
			broken(d, VNET_RXQ, 0);
			goto out;
		}
	}
	uint16_t start = q->last_avail, used0 = q->used_idx;
	rc = rx_take(d, v, n, len + HDR_LEN);
	if (rc < 0) {
		q->last_avail = start;  /* nothing was used: the buffers stay posted */
		if (rc == -ENOBUFS)
			d->stats.rx_no_buffer++;
		goto out;
	}
	/* the header, with the count, goes into the first buffer (5.1.6.4) */
	struct virtio_net_hdr out = { 0 };
	if (h)
		out = *h;
	out.num_buffers = (uint16_t)rc;
	if (vq_chain_write(q, &d->rx0, 0, &out, HDR_LEN))
		goto fail;
	for (int i = 0; i < rc; i++)
		if (vq_put(q, d->rx_head[i], d->rx_len[i]))
			goto fail;
	if (vq_publish(q))
		goto fail;
	d->used_since_flush[VNET_RXQ] = 1;
	d->stats.rx_frames++;
	d->stats.rx_bytes += len;
	rc = 0;
	goto out;
fail:
	q->used_idx = used0;
	broken(d, VNET_RXQ, 0);
	rc = -ENODEV;
out:
	spin_unlock(&d->t.lock);
	return rc;
}

/* ---- interrupts, link, device ---- */

/* See virtio_net.h. */
int virtio_net_flush(struct virtio_net *d, uint64_t now)
{
	int raise = 0;
	spin_lock(&d->t.lock);
	for (unsigned q = 0; q < 2; q++) {
		d->irq_due |= (uint8_t)(d->used_since_flush[q] << q);
		d->used_since_flush[q] = 0;
	}
	if (d->irq_due && now - d->last_irq_us >= VNET_IRQ_GAP_US) {
		/* whether the driver wants it is asked now, when it would come */
		for (unsigned q = 0; q < 2; q++)
			if (d->irq_due & (1u << q))
				raise |= running(d, q) && vq_wants_interrupt(&d->t.vq[q]) > 0;
		d->irq_due = 0;
	}
	if (raise) {
		d->last_irq_us = now;
		d->stats.interrupts++;
		virtio_mmio_notify_used(&d->t);
	}
	int pending = d->irq_due != 0;
	spin_unlock(&d->t.lock);
	return pending;
}

/* See virtio_net.h: VIRTIO_NET_S_LINK_UP, and a configuration-change interrupt. */
void virtio_net_set_link(struct virtio_net *d, int up)
{
	spin_lock(&d->t.lock);
	uint16_t s = up ? VIRTIO_NET_S_LINK_UP : 0;
	if (d->config.status != s) {
		d->config.status = s;
		virtio_mmio_config_changed(&d->t);
	}
	spin_unlock(&d->t.lock);
}

/* The guest queued frames: the service core takes them (never here, on a vCPU's core). */
/*
 * The transmit queue is drained by the switch's round on the service core,
 * under its per-port budget (net/switch.c), not here: a notify only marks
 * it, so it never stops at VIRTIO_POLL_BUDGET (0).
 */
static int notify(struct virtio_mmio *t, unsigned queue)
{
	struct virtio_net *d = t->dev;
	if (queue != VNET_TXQ)
		return 0;
	__atomic_store_n(&d->tx_kicked, 1, __ATOMIC_RELEASE);
	if (d->kick)
		d->kick(d->kick_ctx);
	return 0;
}

/* A frame taken but not yet done belongs to the old generation: dropped. */
static void reset(struct virtio_mmio *t)
{
	struct virtio_net *d = t->dev;
	d->tx_quiet = d->rx_quiet = 0;
	d->used_since_flush[0] = d->used_since_flush[1] = 0;
	d->irq_due = 0;
}

static const struct virtio_dev_ops vnet_ops = {
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = VNET_QUEUE_MAX,
	.notify = notify,
	.reset = reset,
};

/* See virtio_net.h. */
void virtio_net_init(struct virtio_net *d, const uint8_t mac[6], int link_up,
		     const struct virtio_host *host, void (*kick)(void *ctx), void *kick_ctx,
		     const char *name)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->config.mac, mac, 6);
	d->config.status = link_up ? VIRTIO_NET_S_LINK_UP : 0;
	d->config.mtu = VNET_MTU;
	d->kick = kick;
	d->kick_ctx = kick_ctx;
	uint64_t f = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
		     (1ull << VIRTIO_NET_F_MTU) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
		     (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4) |
		     (1ull << VIRTIO_NET_F_GUEST_CSUM) | (1ull << VIRTIO_NET_F_GUEST_TSO4);
	virtio_mmio_init(&d->t, &vnet_ops, d, f, (const uint8_t *)&d->config, sizeof(d->config),
			 host, name);
}
