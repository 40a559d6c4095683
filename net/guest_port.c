/*
 * net/guest_port.c - guests' NICs as ports of the switch: the backend the
 * VM core calls at every start and stop (vmm/net_attach.h), and the port
 * operations over the virtio-net device model (vmm/dev/virtio_net.h).
 *
 * A guest port's frames come out of its transmit queue as pieces of guest
 * memory and go into the destination's ring with one copy; frames for it
 * are copied straight into its receive buffers. The virtio-net header's
 * offload fields travel with a frame as its struct sw_offload. A guest on `net=uplink`
 * sees the uplink's link state; a guest on a LAN always has link.
 */
#include "net/bridge.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"
#include "vmm/net_attach.h"

struct guest_port {
	struct sw_port port;
	struct virtio_net *dev;
	int used;
};

static struct guest_port gports[SW_PORTS_MAX];

static struct virtio_net *dev_of(struct sw_port *p)
{
	return ((struct guest_port *)p->ctx)->dev;
}

static int gp_recv(struct sw_port *p, struct sw_frame *f)
{
	struct virtio_net_hdr h;
	f->from_hako = 0;
	if (!virtio_net_tx_next(dev_of(p), f->iov, SW_IOV_IN_MAX, &f->niov, &f->len, &h))
		return 0;
	f->off = (struct sw_offload){
		.csum = !!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM),
		.tso4 = h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4,
		.csum_start = h.csum_start,
		.csum_offset = h.csum_offset,
		.gso_size = h.gso_size,
	};
	return 1;
}

static void gp_recv_done(struct sw_port *p)
{
	virtio_net_tx_done(dev_of(p));
}

static int gp_send(struct sw_port *p, const struct sw_frame *f)
{
	const struct sw_offload *o = &f->off;
	if (!o->csum)
		return virtio_net_rx(dev_of(p), f->iov, f->niov, f->len, 0);
	const struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = o->tso4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE,
		.hdr_len = o->tso4 ? o->hdr_len : 0,
		.gso_size = o->tso4 ? o->gso_size : 0,
		.csum_start = o->csum_start,
		.csum_offset = o->csum_offset,
	};
	return virtio_net_rx(dev_of(p), f->iov, f->niov, f->len, &h);
}

static unsigned gp_offloads(struct sw_port *p)
{
	unsigned o = virtio_net_offloads(dev_of(p));
	return (o & VNET_OFF_CSUM ? SW_OFF_CSUM : 0) | (o & VNET_OFF_TSO4 ? SW_OFF_TSO4 : 0);
}

static int gp_flush(struct sw_port *p)
{
	return virtio_net_flush(dev_of(p), time_us());
}

static const struct sw_port_ops guest_ops = {
	gp_recv, gp_recv_done, gp_send, gp_flush, 0, gp_offloads,
};

static int is_uplink(const struct sw_port *p)
{
	return !p->lan[0];
}

/* The backend's attach (vmm/net_attach.h). */
static int gp_attach(const struct vm_nic_info *info, struct virtio_net *dev, void **handle,
		     char *err, unsigned len)
{
	struct guest_port *g = 0;
	for (unsigned i = 0; i < SW_PORTS_MAX && !g; i++)
		if (!gports[i].used)
			g = &gports[i];
	if (!g)
		return fmt_snprintf(err, len, "the switch has no free port"), -ENOSPC;
	memset(g, 0, sizeof(*g));
	g->dev = dev;
	struct sw_port *p = &g->port;
	*p = (struct sw_port){ .ops = &guest_ops, .ctx = g, .kind = SW_GUEST, .nic = info->index,
			       .vlan = info->vlan };
	memcpy(p->owner, info->guest, strnlen(info->guest, SW_NAME_MAX));
	memcpy(p->mac, info->mac, 6);
	if (info->nic->kind == VM_NET_LAN)
		memcpy(p->lan, info->nic->lan, strnlen(info->nic->lan, SW_NAME_MAX));
	int rc = sw_port_add(p, err, len);
	if (rc)
		return rc;
	g->used = 1;
	*handle = g;
	virtio_net_set_link(dev, is_uplink(p) ? bridge_uplink_up() : 1);
	bridge_guests_changed();
	return 0;
}

static void gp_detach(void *handle)
{
	struct guest_port *g = handle;
	sw_port_del(&g->port);
	g->used = 0;
	bridge_guests_changed();
}

static const struct vm_nic_backend backend = { gp_attach, gp_detach };

/* See bridge.h: the VM core calls gp_attach and gp_detach from now on. */
void guest_ports_init(void)
{
	vm_nic_set_backend(&backend);
}

/* See bridge.h. */
void guest_ports_set_uplink_link(int up)
{
	for (unsigned i = 0; i < SW_PORTS_MAX; i++)
		if (gports[i].used && is_uplink(&gports[i].port))
			virtio_net_set_link(gports[i].dev, up);
}

/* See bridge.h. */
const struct virtio_net_stats *guest_port_dev_stats(const struct sw_port *p)
{
	return p->kind == SW_GUEST ? &((const struct guest_port *)p->ctx)->dev->stats : 0;
}
