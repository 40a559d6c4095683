/*
 * vmm/dev/virtio_mmio.c - the virtio-mmio transport, version 2 (virtio
 * 1.2, 4.2.2 register layout, 4.2.3 device initialization, 3.1 the
 * driver's initialization sequence). Registers are 32 bits wide
 * (4.2.2.2: other widths are ignored: reads 0, writes dropped); the
 * configuration space at 0x100 takes any width. Portable.
 */
#include "vmm/dev/virtio_mmio.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define ALL_STATUS_BITS 0xff

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		      uint64_t features, const uint8_t *config, unsigned config_len,
		      const struct virtio_host *host, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->dev = dev;
	t->features = features;
	t->config = config;
	t->config_len = config_len;
	t->host = *host;
	t->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(3);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		t->vq[i].mem = &t->host.mem;
	unsigned n = 0;
	while (name[n] && n < sizeof(t->name) - 1)
		t->name[n] = name[n], n++;
}

static uint64_t offered(const struct virtio_mmio *t)
{
	return t->features | (1ull << VIRTIO_F_VERSION_1);
}

static void update_irq(struct virtio_mmio *t)
{
	t->host.irq(t->host.irq_ctx, t->isr != 0);
}

int virtio_mmio_live(const struct virtio_mmio *t)
{
	return (t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

void virtio_mmio_notify_used(struct virtio_mmio *t)
{
	t->isr |= VIRTIO_MMIO_INT_VRING;
	update_irq(t);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK) {
		t->isr |= VIRTIO_MMIO_INT_CONFIG;
		update_irq(t);
	}
}

void virtio_mmio_fail(struct virtio_mmio *t, const char *why)
{
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	if (log_ratelimit_ok(&t->rl))
		log_warn("%s: virtio: %s; device needs reset", t->name, why);
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	t->generation++;
	/* 2.1.2: tell a driver that is running that something changed */
	if (t->status & VIRTIO_STATUS_DRIVER_OK) {
		t->isr |= VIRTIO_MMIO_INT_CONFIG;
		update_irq(t);
	}
}

/* See virtio_mmio.h. t->lock held. */
void virtio_mmio_backlog(struct virtio_mmio *t, unsigned queue)
{
	t->backlog |= 1u << queue;
	if (t->host.kick)
		t->host.kick(t->host.irq_ctx);
}

/* Runs the device on `queue` for one budget; remembers whether it has more. */
static void run_queue(struct virtio_mmio *t, unsigned queue)
{
	if (queue < t->ops->num_queues && t->vq_ready[queue] && virtio_mmio_live(t) &&
	    t->ops->notify(t, queue))
		virtio_mmio_backlog(t, queue);
}

/* See virtio_mmio.h. Service core. */
int virtio_mmio_poll(struct virtio_mmio *t)
{
	if (!__atomic_load_n(&t->backlog, __ATOMIC_RELAXED))
		return 0; /* the usual case, without the lock */
	virtio_mmio_lock(t);
	uint32_t todo = t->backlog;
	t->backlog = 0;
	for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
		if (todo & (1u << q))
			run_queue(t, q);
	int left = t->backlog != 0;
	virtio_mmio_unlock(t);
	return left;
}

/* 4.2.3.1: writing 0 to Status resets the device and every queue. */
static void reset(struct virtio_mmio *t)
{
	t->ops->reset(t);
	t->generation++;
	t->backlog = 0;
	t->status = t->isr = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		t->vq[i] = (struct virtq){ .mem = &t->host.mem };
		t->vq_ready[i] = 0;
	}
	update_irq(t);
}

/*
 * 3.1.1 step 5: FEATURES_OK sticks only for a subset of what was offered
 * that includes VERSION_1 (this device has no legacy interface).
 */
static int features_acceptable(const struct virtio_mmio *t)
{
	return !(t->driver_features & ~offered(t)) &&
	       (t->driver_features & (1ull << VIRTIO_F_VERSION_1));
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	v &= ALL_STATUS_BITS;
	if (!v) {
		reset(t);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(t))
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	/* the driver cannot clear NEEDS_RESET other than by a reset */
	t->status = v | (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static struct virtq *selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->vq[t->queue_sel] : 0;
}

static void set_half(uint64_t *field, int high, uint32_t v)
{
	*field = high ? (*field & 0xffffffffull) | (uint64_t)v << 32
		      : (*field & ~0xffffffffull) | v;
}

static void write_queue_ready(struct virtio_mmio *t, uint32_t v)
{
	struct virtq *q = selected(t);
	if (!q)
		return;
	if (!(v & 1)) {
		t->vq_ready[t->queue_sel] = 0;
		return;
	}
	if (vq_setup(q, t->ops->queue_max)) {
		virtio_mmio_fail(t, q->error);
		return;
	}
	t->vq_ready[t->queue_sel] = 1;
}

/* Queue address and size registers; ignored while the queue is ready (4.2.2.2). */
static void write_queue_layout(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = selected(t);
	if (!q || t->vq_ready[t->queue_sel])
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->size = (uint16_t)(v > 0xffff ? 0 : v); return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc, 0, v); return;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc, 1, v); return;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->avail, 0, v); return;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail, 1, v); return;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->used, 0, v); return;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used, 1, v); return;
	}
}

/* The guest's notification is never lost: what the budget leaves is backlog. */
static void write_notify(struct virtio_mmio *t, uint32_t queue)
{
	run_queue(t, queue);
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->drv_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&t->driver_features, t->drv_features_sel == 1, v);
		return;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; return;
	case VIRTIO_MMIO_QUEUE_READY: write_queue_ready(t, v); return;
	case VIRTIO_MMIO_QUEUE_NOTIFY: write_notify(t, v); return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~v;
		update_irq(t);
		return;
	case VIRTIO_MMIO_STATUS: write_status(t, v); return;
	}
	write_queue_layout(t, off, v);  /* the rest are read-only: dropped */
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected(t);
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel < 2 ? (uint32_t)(offered(t) >> (32 * t->dev_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? t->vq_ready[t->queue_sel] : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->isr;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	}
	return 0;
}

/* Little-endian bytes of the configuration space; 0 beyond its end. */
static uint64_t read_config(const struct virtio_mmio *t, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	if (off > t->config_len || size > t->config_len - off)
		return 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)t->config[off + i] << (8 * i);
	return v;
}

/* MMIO read handler; `size` is 1, 2, 4 or 8. */
uint64_t virtio_mmio_read(void *dev, uint64_t off, unsigned size)
{
	struct virtio_mmio *t = dev;
	uint64_t v = 0;
	virtio_mmio_lock(t);
	if (off >= VIRTIO_MMIO_CONFIG)
		v = read_config(t, off - VIRTIO_MMIO_CONFIG, size);
	else if (size == 4 && off % 4 == 0)
		v = read_reg(t, off);
	virtio_mmio_unlock(t);
	return v;
}

/* MMIO write handler; the configuration space is read-only for this device. */
void virtio_mmio_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_mmio *t = dev;
	if (off >= VIRTIO_MMIO_CONFIG || size != 4 || off % 4)
		return;
	virtio_mmio_lock(t);
	write_reg(t, off, (uint32_t)value);
	virtio_mmio_unlock(t);
}
