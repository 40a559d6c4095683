/*
 * drivers/net/virtio_net.c - virtio-net over virtio 1.x PCI ("modern"
 * transport), polled (virtio spec 1.1: 4.1 PCI transport, 2.6 split
 * virtqueues, 5.1 network device).
 *
 * One receive queue (0) and one transmit queue (1), each with buffers of
 * VNET_BUF bytes allocated once: a received frame is copied out and its
 * buffer handed straight back; a frame to send is copied into the next
 * free transmit buffer. Notifications are batched both ways: the service
 * loop polls the rings, and the device interrupts only for received frames
 * (MSI-X, when it has it: msix_setup), which ends the service core's HLT
 * at once instead of at its next 1 ms tick; the driver notifies it once per
 * flush, and only when the device asks for notifications at all (it does
 * not while it is still working through a queue). Under an emulator each
 * notification is an exit into the device model that also takes its
 * global lock, which made it the largest cost per frame. Only VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC,
 * VIRTIO_NET_F_STATUS and, when offered, the control queue with
 * VIRTIO_NET_F_CTRL_RX are negotiated, so the 12-byte header is always
 * zero on transmit and ignored on receive (no offloads).
 *
 * Promiscuous mode (the uplink of guests' bridged NICs) is the control
 * queue's VIRTIO_NET_CTRL_RX_PROMISC command (5.1.6.5.1). A device without
 * VIRTIO_NET_F_CTRL_RX has no receive filter the driver could change;
 * QEMU's then passes every frame (it resets into promiscuous mode), which
 * is what hako relies on there.
 */
#include <stddef.h>

#include "drivers/net/nic.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/time.h"
#include "vmm/core/lib/virtio_ring.h"
#include "vmm/core/lib/x86.h"
#include "vmm/core/lapic.h"
#include "vmm/core/trap.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_DEV_NET_TRANSITIONAL 0x1000
#define VIRTIO_DEV_NET_MODERN 0x1041

/* struct virtio_pci_cap cfg_type values (4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* device_status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_F_VERSION_1 32
#define  VIRTIO_NET_S_LINK_UP 1

struct virtio_pci_common_cfg { /* 4.1.4.3 */
	uint32_t device_feature_select; /* 0x00 */
	uint32_t device_feature;        /* 0x04 */
	uint32_t driver_feature_select; /* 0x08 */
	uint32_t driver_feature;        /* 0x0c */
	uint16_t msix_config;           /* 0x10 */
	uint16_t num_queues;            /* 0x12 */
	uint8_t device_status;          /* 0x14 */
	uint8_t config_generation;      /* 0x15 */
	uint16_t queue_select;          /* 0x16 */
	uint16_t queue_size;            /* 0x18 */
	uint16_t queue_msix_vector;     /* 0x1a */
	uint16_t queue_enable;          /* 0x1c */
	uint16_t queue_notify_off;      /* 0x1e */
	uint64_t queue_desc;            /* 0x20 */
	uint64_t queue_driver;          /* 0x28 */
	uint64_t queue_device;          /* 0x30 */
} __attribute__((packed));
CHECK_OFFSET(struct virtio_pci_common_cfg, device_status, 0x14);
CHECK_OFFSET(struct virtio_pci_common_cfg, queue_desc, 0x20);

struct virtio_net_hdr { /* 5.1.6, with VIRTIO_F_VERSION_1 */
	uint8_t flags;        /* 0x00 */
	uint8_t gso_type;     /* 0x01 */
	uint16_t hdr_len;     /* 0x02 */
	uint16_t gso_size;    /* 0x04 */
	uint16_t csum_start;  /* 0x06 */
	uint16_t csum_offset; /* 0x08 */
	uint16_t num_buffers; /* 0x0a */
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr is 12 bytes");

/* 5.1.6.5 Control Virtqueue */
struct virtio_net_ctrl_hdr {
	uint8_t class;   /* 0x00 */
	uint8_t command; /* 0x01 */
} __attribute__((packed));
#define VIRTIO_NET_CTRL_RX 0
#define  VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_OK 0
#define VNET_CTRL_TIMEOUT_US 100000

#define VNET_QSIZE 256 /* at most; the device may offer fewer */
#define VNET_CTRL_QSIZE 4
#define VNET_BUF 2048

struct vq {
	uint16_t size;
	uint16_t last_used; /* next used-ring index to look at */
	uint16_t avail_idx; /* our shadow of avail->idx */
	uint16_t free_count;
	uint16_t notified_idx; /* avail_idx when the device last heard of it */
	struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	uint8_t *bufs;
	volatile uint16_t *notify;
};

struct vnet {
	volatile struct virtio_pci_common_cfg *common;
	volatile uint8_t *device_cfg;
	volatile uint8_t *notify_base;
	uint32_t notify_mult;
	int has_status, has_ctrl_rx;
	struct vq rx, tx, ctrl;
};

static struct vnet vnets[NIC_MAX];
static unsigned vnet_count;

static int vnet_match(const struct pci_dev *d)
{
	return d->vendor == VIRTIO_VENDOR &&
	       (d->device == VIRTIO_DEV_NET_MODERN || d->device == VIRTIO_DEV_NET_TRANSITIONAL);
}

/* Finds the modern-transport structures through vendor capabilities. */
static int find_caps(struct pci_dev *d, struct vnet *v)
{
	for (unsigned off = pci_find_cap(d, PCI_CAP_ID_VNDR, 0); off;
	     off = pci_find_cap(d, PCI_CAP_ID_VNDR, off)) {
		uint8_t type = pci_read8(d, off + 3), bar = pci_read8(d, off + 4);
		uint32_t where = pci_read32(d, off + 8), len = pci_read32(d, off + 12);
		if (bar > 5 || d->bar_is_io[bar] || !d->bar[bar])
			continue;
		uint64_t a = d->bar[bar] + where;
		if (paging_map_mmio(a, len))
			continue;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG && !v->common)
			v->common = (volatile struct virtio_pci_common_cfg *)a;
		else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !v->notify_base) {
			v->notify_base = (volatile uint8_t *)a;
			v->notify_mult = pci_read32(d, off + 16);
		} else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !v->device_cfg)
			v->device_cfg = (volatile uint8_t *)a;
	}
	return v->common && v->notify_base && v->device_cfg ? 0 : -ENODEV;
}

static unsigned order_for(uint64_t bytes)
{
	unsigned o = 0;
	while ((PAGE_SIZE << o) < bytes)
		o++;
	return o;
}

/*
 * Receive interrupts: MSI-X table entry 0 becomes a message to this core
 * (the service core: probing runs on the boot core) with VEC_NIC_RX, and
 * MSI-X is enabled (PCI 3.0 6.8.2). The receive queue then names vector 0
 * (vq_setup). 0, or -E when the device has no usable MSI-X table.
 */
static int msix_setup(struct pci_dev *d)
{
	if (!d->msix_cap || !d->msix_vectors)
		return -ENODEV;
	uint32_t table = pci_read32(d, d->msix_cap + 4);
	unsigned bir = table & 7;
	if (bir > 5 || d->bar_is_io[bir] || !d->bar[bir])
		return -ENODEV;
	uint64_t a = d->bar[bir] + (table & ~7u);
	if (paging_map_mmio(a, 16))
		return -ENOMEM;
	volatile uint32_t *entry = (volatile uint32_t *)a;
	entry[0] = 0xfee00000u | (lapic_id() & 0xff) << 12; /* fixed, physical destination */
	entry[1] = 0;
	entry[2] = VEC_NIC_RX; /* edge */
	entry[3] = 0;          /* unmasked */
	uint16_t ctl = pci_read16(d, d->msix_cap + 2);
	pci_write16(d, d->msix_cap + 2, (uint16_t)((ctl | 0x8000) & ~0x4000)); /* enable, unmask */
	return 0;
}

static uint64_t rx_irqs; /* for `net` */

/* The interrupt only ends a HLT; the service loop polls the ring. */
static void rx_irq(struct trap_frame *f)
{
	(void)f;
	rx_irqs++;
	lapic_eoi();
}

/* Sets up queue `idx` (4.1.5.1.3) with its rings and at most `cap` buffers;
 * `vector` is its MSI-X vector, or VIRTIO_MSI_NO_VECTOR. */
static int vq_setup(struct vnet *v, struct vq *q, uint16_t idx, uint16_t cap, uint16_t vector)
{
	v->common->queue_select = idx;
	uint16_t size = v->common->queue_size;
	if (!size)
		return -ENODEV;
	while (size > cap) /* the queue size stays a power of two (2.6) */
		size /= 2;
	v->common->queue_size = size;
	q->size = size;
	uint64_t avail_end = VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size);
	uint64_t ring = page_alloc(order_for(avail_end + PAGE_SIZE + VIRTQ_USED_BYTES(size)),
				   PAGE_HAKO);
	uint64_t bufs = page_alloc(order_for((uint64_t)VNET_BUF * size), PAGE_HAKO);
	if (!ring || !bufs)
		return -ENOMEM;
	q->desc = (struct virtq_desc *)ring;
	q->avail = (volatile struct virtq_avail *)(ring + VIRTQ_DESC_BYTES(size));
	q->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT; /* we poll the used ring */
	/* The used ring needs 4-byte alignment; put it on its own page. */
	q->used = (volatile struct virtq_used *)((ring + avail_end + PAGE_SIZE - 1) &
						 ~(PAGE_SIZE - 1));
	q->bufs = (uint8_t *)bufs;
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].addr = bufs + (uint64_t)i * VNET_BUF;
	v->common->queue_desc = ring;
	v->common->queue_driver = (uint64_t)q->avail;
	v->common->queue_device = (uint64_t)q->used;
	v->common->queue_msix_vector = vector;
	if (vector != VIRTIO_MSI_NO_VECTOR && v->common->queue_msix_vector == vector)
		q->avail->flags = 0; /* 4.1.4.3: the device answers NO_VECTOR when it cannot */
	else
		v->common->queue_msix_vector = VIRTIO_MSI_NO_VECTOR; /* no interrupts: we poll */
	q->notify = (volatile uint16_t *)(v->notify_base +
					  (uint32_t)v->common->queue_notify_off * v->notify_mult);
	v->common->queue_enable = 1;
	q->free_count = size;
	return 0;
}

static void vq_publish(struct vq *q, uint16_t desc_idx)
{
	q->avail->ring[q->avail_idx % q->size] = desc_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* ring entry before idx (2.6.13) */
	q->avail->idx = ++q->avail_idx;
}

/*
 * Notifies the device of buffers made available since the last call,
 * unless it asked not to be (2.6.10.2: the driver reads used->flags
 * after publishing avail->idx, with a barrier in between; a device that
 * clears the flag checks the ring again afterwards, so nothing is lost).
 */
static void vq_notify(struct vq *q)
{
	if (q->notified_idx == q->avail_idx)
		return;
	q->notified_idx = q->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* idx before flags and notify (2.6.13.6) */
	if (!(q->used->flags & VIRTQ_USED_F_NO_NOTIFY))
		*q->notify = 0;
}

static void rx_fill(struct vq *q)
{
	for (uint16_t i = 0; i < q->size; i++) {
		q->desc[i].len = VNET_BUF;
		q->desc[i].flags = VIRTQ_DESC_F_WRITE;
		vq_publish(q, i);
	}
	q->free_count = 0;
	vq_notify(q);
}

static int negotiate(struct vnet *v)
{
	volatile struct virtio_pci_common_cfg *c = v->common;
	c->device_feature_select = 0;
	uint32_t lo = c->device_feature;
	c->device_feature_select = 1;
	uint32_t hi = c->device_feature;
	if (!(hi & (1u << (VIRTIO_F_VERSION_1 - 32))) || !(lo & (1u << VIRTIO_NET_F_MAC)))
		return -ENOTSUP;
	v->has_status = !!(lo & (1u << VIRTIO_NET_F_STATUS));
	v->has_ctrl_rx = (lo & (1u << VIRTIO_NET_F_CTRL_VQ)) && (lo & (1u << VIRTIO_NET_F_CTRL_RX));
	c->driver_feature_select = 0;
	c->driver_feature = (1u << VIRTIO_NET_F_MAC) | (v->has_status << VIRTIO_NET_F_STATUS) |
			    (v->has_ctrl_rx ? (1u << VIRTIO_NET_F_CTRL_VQ) | (1u << VIRTIO_NET_F_CTRL_RX) : 0);
	c->driver_feature_select = 1;
	c->driver_feature = 1u << (VIRTIO_F_VERSION_1 - 32);
	c->device_status |= VIRTIO_STATUS_FEATURES_OK;
	return (c->device_status & VIRTIO_STATUS_FEATURES_OK) ? 0 : -ENOTSUP;
}

static int vnet_link_up(struct nic *n)
{
	struct vnet *v = n->priv;
	if (!v->has_status)
		return 1;
	return !!(*(volatile uint16_t *)(v->device_cfg + 6) & VIRTIO_NET_S_LINK_UP);
}

/* Takes back transmit buffers the device has finished with. */
static void tx_reclaim(struct vq *q)
{
	while (q->last_used != q->used->idx) {
		q->last_used++;
		q->free_count++;
	}
}

static unsigned vnet_tx_room(struct nic *n)
{
	struct vnet *v = n->priv;
	tx_reclaim(&v->tx);
	return v->tx.free_count;
}

static void *vnet_tx_buf(struct nic *n)
{
	struct vnet *v = n->priv;
	struct vq *q = &v->tx;
	if (!vnet_tx_room(n)) {
		vq_notify(q); /* a full ring of frames the device has not heard of drains only then */
		return 0;
	}
	/* Buffers are used in ring order, so the next free one follows the
	 * last one published. This relies on the device finishing transmit
	 * buffers in order, as QEMU's does; VIRTIO_F_IN_ORDER would promise
	 * it (2.6.9), a device without it could in theory reorder. */
	uint16_t i = q->avail_idx % q->size;
	return q->bufs + (uint64_t)i * VNET_BUF + sizeof(struct virtio_net_hdr);
}

static void vnet_tx_commit(struct nic *n, size_t len)
{
	struct vnet *v = n->priv;
	struct vq *q = &v->tx;
	uint16_t i = q->avail_idx % q->size;
	memset(q->bufs + (uint64_t)i * VNET_BUF, 0, sizeof(struct virtio_net_hdr));
	q->desc[i].len = (uint32_t)(len + sizeof(struct virtio_net_hdr));
	q->desc[i].flags = 0;
	q->free_count--;
	vq_publish(q, i);
}

/* The frame in the used element at last_used; elements the device got wrong are skipped. */
static int vnet_rx_peek(struct nic *n, const void **frame)
{
	struct vnet *v = n->priv;
	struct vq *q = &v->rx;
	while (q->last_used != q->used->idx) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* idx before the element */
		volatile struct virtq_used_elem *e = &q->used->ring[q->last_used % q->size];
		uint32_t id = e->id, len = e->len;
		/* The device is trusted less than the spec asks: check id and len. */
		if (id < q->size && len > sizeof(struct virtio_net_hdr) && len <= VNET_BUF &&
		    len - sizeof(struct virtio_net_hdr) <= NIC_FRAME_MAX) {
			*frame = q->bufs + (uint64_t)id * VNET_BUF + sizeof(struct virtio_net_hdr);
			return (int)(len - sizeof(struct virtio_net_hdr));
		}
		n->rx_dropped++;
		q->last_used++;
		if (id < q->size)
			vq_publish(q, (uint16_t)id);
	}
	return 0;
}

/* The buffer goes straight back into the avail ring; the device hears at the next flush. */
static void vnet_rx_next(struct nic *n)
{
	struct vnet *v = n->priv;
	struct vq *q = &v->rx;
	uint32_t id = q->used->ring[q->last_used % q->size].id;
	q->last_used++;
	vq_publish(q, (uint16_t)id);
}

/*
 * Sends one control command with a one-byte argument and waits for the
 * device's answer (5.1.6.5). 0, or -EIO / -ETIMEDOUT.
 */
static int ctrl_cmd(struct vnet *v, uint8_t class, uint8_t command, uint8_t arg)
{
	struct vq *q = &v->ctrl;
	uint8_t *cmd = q->bufs, *ack = q->bufs + VNET_BUF;
	cmd[0] = class, cmd[1] = command, cmd[2] = arg;
	*ack = 0xff;
	q->desc[0] = (struct virtq_desc){ (uint64_t)cmd, 3, VIRTQ_DESC_F_NEXT, 1 };
	q->desc[1] = (struct virtq_desc){ (uint64_t)ack, 1, VIRTQ_DESC_F_WRITE, 0 };
	vq_publish(q, 0);
	vq_notify(q);
	for (uint64_t t0 = time_us(); q->last_used == q->used->idx;) {
		if (time_us() - t0 > VNET_CTRL_TIMEOUT_US)
			return -ETIMEDOUT;
		delay_us(10);
	}
	q->last_used = q->used->idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return *(volatile uint8_t *)ack == VIRTIO_NET_OK ? 0 : -EIO;
}

static void vnet_set_promisc(struct nic *n, int on)
{
	struct vnet *v = n->priv;
	if (!v->has_ctrl_rx)
		return; /* no filter to change (see the top of this file) */
	int err = ctrl_cmd(v, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, (uint8_t)!!on);
	if (err)
		log_warn("virtio-net: promiscuous mode %s failed (%s)", on ? "on" : "off",
			 errno_str(err));
}

static void vnet_flush(struct nic *n)
{
	struct vnet *v = n->priv;
	vq_notify(&v->rx);
	vq_notify(&v->tx);
}

static const struct nic_ops vnet_ops = {
	.link_up = vnet_link_up,
	.rx_peek = vnet_rx_peek,
	.rx_next = vnet_rx_next,
	.tx_buf = vnet_tx_buf,
	.tx_commit = vnet_tx_commit,
	.tx_room = vnet_tx_room,
	.flush = vnet_flush,
	.set_promisc = vnet_set_promisc,
};

/* Device initialization, virtio 1.1 3.1.1. */
static int vnet_probe(struct pci_dev *d, struct nic *n)
{
	if (vnet_count == NIC_MAX)
		return -ENOSPC;
	struct vnet *v = &vnets[vnet_count];
	memset(v, 0, sizeof(*v));
	if (find_caps(d, v))
		return -ENODEV; /* a legacy-only device: not supported */
	pci_enable(d, "virtio-net");
	v->common->device_status = 0;
	for (int i = 0; i < 1000 && v->common->device_status; i++)
		delay_us(100);
	v->common->device_status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	int err = negotiate(v);
	uint16_t rx_vector = msix_setup(d) ? VIRTIO_MSI_NO_VECTOR : 0;
	if (!err)
		err = vq_setup(v, &v->rx, 0, VNET_QSIZE, rx_vector);
	if (!err)
		err = vq_setup(v, &v->tx, 1, VNET_QSIZE, VIRTIO_MSI_NO_VECTOR);
	if (!err && v->has_ctrl_rx) /* without VIRTIO_NET_F_MQ the control queue is 2 */
		err = vq_setup(v, &v->ctrl, 2, VNET_CTRL_QSIZE, VIRTIO_MSI_NO_VECTOR);
	if (err) {
		v->common->device_status = VIRTIO_STATUS_FAILED;
		return err;
	}
	for (int i = 0; i < 6; i++)
		n->mac[i] = v->device_cfg[i];
	v->common->device_status |= VIRTIO_STATUS_DRIVER_OK;
	rx_fill(&v->rx);
	n->ops = &vnet_ops;
	if (!v->rx.avail->flags) { /* received frames wake a halted service core */
		irq_register(VEC_NIC_RX, rx_irq);
		n->rx_irqs = &rx_irqs;
	}
	n->model = "virtio-net";
	n->priv = v;
	vnet_count++;
	return 0;
}

const struct nic_driver virtio_net_driver = { "virtio-net", vnet_match, vnet_probe };
