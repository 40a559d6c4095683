/*
 * vmm/dev/virtqueue.c - the device side of split virtqueues (virtio 1.2,
 * 2.7). Every value read from guest memory is copied once and checked
 * before use, so a driver that rewrites the rings under us (another vCPU)
 * gains nothing. Guest memory is reached piece by piece, never across a
 * 4 KiB page, through q->mem->map, which refuses anything outside the
 * guest. Portable; tests/unit/test_virtio.c feeds it random rings.
 */
#include "vmm/dev/virtqueue.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define VQ_PAGE 4096ull

static int fail(struct virtq *q, const char *why)
{
	q->error = why;
	return -EINVAL;
}

/* A small naturally aligned field (never across a page), or 0. */
static void *field(const struct virtq *q, uint64_t gpa, uint64_t len)
{
	return q->mem->map(q->mem->ctx, gpa, len);
}

/* Is guest-physical [gpa, gpa+len) all guest memory? Page by page. */
static int range_ok(const struct virtq *q, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return 0;
	while (len) {
		uint64_t n = VQ_PAGE - gpa % VQ_PAGE;
		if (n > len)
			n = len;
		if (!field(q, gpa, n))
			return 0;
		gpa += n, len -= n;
	}
	return 1;
}

/* Copies between guest [gpa, gpa+len) and host memory, page by page. */
static int copy(const struct virtq *q, uint64_t gpa, uint8_t *host, uint64_t len, int to_guest)
{
	while (len) {
		uint64_t n = VQ_PAGE - gpa % VQ_PAGE;
		if (n > len)
			n = len;
		uint8_t *p = field(q, gpa, n);
		if (!p)
			return -EINVAL;
		if (to_guest)
			memcpy(p, host, n);
		else
			memcpy(host, p, n);
		gpa += n, host += n, len -= n;
	}
	return 0;
}

/*
 * Checks the queue's layout (2.7: descriptor table 16-byte aligned,
 * available ring 2-byte, used ring 4-byte; sizes from 2.7.5-2.7.8).
 */
int vq_setup(struct virtq *q, uint16_t max)
{
	uint64_t n = q->size;
	q->error = 0;
	q->last_avail = q->used_idx = 0;
	if (!n || n > max || (n & (n - 1)))
		return fail(q, "queue size is not a power of two within QueueNumMax");
	if (q->desc % 16 || q->avail % 2 || q->used % 4)
		return fail(q, "ring address misaligned");
	if (!range_ok(q, q->desc, VIRTQ_DESC_BYTES(n)) || !range_ok(q, q->avail, VIRTQ_AVAIL_BYTES(n)) ||
	    !range_ok(q, q->used, VIRTQ_USED_BYTES(n)))
		return fail(q, "ring outside guest memory");
	return 0;
}

static int read_desc(struct virtq *q, uint16_t i, struct virtq_desc *d)
{
	const void *p = field(q, q->desc + sizeof(*d) * i, sizeof(*d));
	if (!p)
		return fail(q, "descriptor table outside guest memory");
	memcpy(d, p, sizeof(*d));   /* one copy; only the copy is checked and used */
	return 0;
}

/* Checks one descriptor and appends it to c. */
static int add_seg(struct virtq *q, struct vq_chain *c, const struct virtq_desc *d)
{
	int w = !!(d->flags & VIRTQ_DESC_F_WRITE);
	if (d->flags & VIRTQ_DESC_F_INDIRECT)
		return fail(q, "indirect descriptor, a feature not offered");
	if (!w && c->in_len)
		return fail(q, "device-readable descriptor after a writable one (2.7.4.2)");
	if (!d->len)
		return 0;
	if (d->len > c->max_len - c->out_len - c->in_len)
		return fail(q, "descriptor chain longer than the device accepts");
	if (c->nseg >= c->max_seg)
		return fail(q, "more descriptors in a chain than the device accepts");
	if (!range_ok(q, d->addr, d->len))
		return fail(q, "descriptor points outside guest memory");
	c->seg[c->nseg++] = (struct vq_seg){ d->addr, d->len, (uint8_t)w };
	if (w)
		c->in_len += d->len;
	else
		c->out_len += d->len;
	return 0;
}

/* Follows the chain from `head`; more than `size` descriptors is a loop. */
static int walk(struct virtq *q, uint16_t head, struct vq_chain *c)
{
	struct virtq_desc d;
	uint16_t i = head;
	c->head = head;
	c->nseg = 0;
	c->out_len = c->in_len = 0;
	for (unsigned n = 0;; n++) {
		if (n >= q->size)
			return fail(q, "descriptor chain loops");
		if (read_desc(q, i, &d) || add_seg(q, c, &d))
			return -EINVAL;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= q->size)
			return fail(q, "next descriptor index out of range");
		i = d.next;
	}
}

/* Takes the next available chain (see virtqueue.h). */
int vq_pop(struct virtq *q, struct vq_chain *c)
{
	uint16_t *idx = field(q, q->avail + offsetof(struct virtq_avail, idx), 2);
	if (!idx)
		return fail(q, "available ring outside guest memory");
	/* read idx before the ring entries it covers (2.7.13.3) */
	uint16_t avail_idx = __atomic_load_n(idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (!pending)
		return 0;
	if (pending > q->size)
		return fail(q, "available index ahead of the ring by more than its size");
	uint16_t *slot = field(q, q->avail + offsetof(struct virtq_avail, ring) +
				       2ull * (q->last_avail % q->size), 2);
	if (!slot)
		return fail(q, "available ring outside guest memory");
	uint16_t head = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (head >= q->size)
		return fail(q, "chain head index out of range");
	if (walk(q, head, c))
		return -EINVAL;
	q->last_avail++;
	return 1;
}

/* Fills the next used ring element with (head, written), not yet published. */
int vq_put(struct virtq *q, uint16_t head, uint32_t written)
{
	uint64_t e = q->used + offsetof(struct virtq_used, ring) +
		     sizeof(struct virtq_used_elem) * (q->used_idx % q->size);
	uint32_t *id = field(q, e + offsetof(struct virtq_used_elem, id), 4);
	uint32_t *len = field(q, e + offsetof(struct virtq_used_elem, len), 4);
	if (!id || !len)
		return fail(q, "used ring outside guest memory");
	*id = head;
	*len = written;
	q->used_idx++;
	return 0;
}

/* Publishes the used index: the elements must be visible before it (2.7.8). */
int vq_publish(struct virtq *q)
{
	uint16_t *idx = field(q, q->used + offsetof(struct virtq_used, idx), 2);
	if (!idx)
		return fail(q, "used ring outside guest memory");
	__atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

/* Puts (head, written) in the used ring, then publishes the new index (2.7.8). */
int vq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	if (vq_put(q, head, written))
		return -EINVAL;
	return vq_publish(q);
}

int vq_suppress_notify(struct virtq *q, int suppress)
{
	uint16_t *flags = field(q, q->used, 2);
	if (!flags)
		return fail(q, "used ring outside guest memory");
	__atomic_store_n(flags, suppress ? VIRTQ_USED_F_NO_NOTIFY : 0, __ATOMIC_RELAXED);
	/* a driver that saw the flag clear may already have added chains:
	 * the caller looks at the ring again after this fence (2.7.10) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return 0;
}

int vq_wants_interrupt(const struct virtq *q)
{
	uint16_t *flags = field(q, q->avail, 2);
	if (!flags)
		return -EINVAL;
	/* the used index we published must be visible before we read the
	 * driver's flag, or an interrupt it asked for could be missed */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(flags, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Walks the segments of one direction, copying [off, off+len) of them. */
static int chain_copy(const struct virtq *q, const struct vq_chain *c, int write, uint64_t off,
		      uint8_t *host, uint64_t len)
{
	for (unsigned i = 0; i < c->nseg && len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off < len ? s->len - off : len;
		if (copy(q, s->gpa + off, host, n, write))
			return -EINVAL;
		host += n, len -= n, off = 0;
	}
	return len ? -EINVAL : 0;
}

int vq_chain_read(const struct virtq *q, const struct vq_chain *c, uint64_t off, void *dst,
		  uint64_t len)
{
	return chain_copy(q, c, 0, off, dst, len);
}

int vq_chain_write(const struct virtq *q, const struct vq_chain *c, uint64_t off, const void *src,
		   uint64_t len)
{
	return chain_copy(q, c, 1, off, (uint8_t *)src, len);
}
