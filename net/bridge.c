/*
 * net/bridge.c - the switch's service poller and its uplink port over the
 * management NIC (drivers/net/nic.h).
 *
 * The uplink port reads received frames in place in the NIC's receive
 * buffers (rx_peek) and writes frames to send straight into its transmit
 * buffers (tx_buf): between a guest's ring and the NIC's ring a frame is
 * copied once. hako's own frames wait briefly for a full transmit ring to
 * drain (a dropped iSCSI segment costs a retransmission timeout); guests'
 * frames never wait: the switch keeps the last slots for hako's (see
 * SW_UPLINK_RESERVE) and drops a guest's frame for which there is no room.
 */
#include "net/bridge.h"

#include "net/net.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

static struct sw_port uplink_port;
static struct nic *up_nic;

static int uplink_recv(struct sw_port *p, struct sw_frame *f)
{
	const void *frame;
	(void)p; /* one uplink */
	int len = up_nic->ops->rx_peek(up_nic, &frame);
	if (len <= 0)
		return 0;
	f->iov[0] = (struct iov){ frame, (uint32_t)len };
	f->niov = 1;
	f->len = (uint32_t)len;
	f->from_hako = 0;
	return 1;
}

static void uplink_recv_done(struct sw_port *p)
{
	(void)p; /* one uplink */
	up_nic->ops->rx_next(up_nic);
	up_nic->rx_frames++;
}

/* A transmit buffer; for hako's frames, wait up to 1 ms for one. */
static void *uplink_buf(const struct sw_frame *f)
{
	void *buf = up_nic->ops->tx_buf(up_nic);
	for (int i = 0; !buf && f->from_hako && i < 200; i++) {
		delay_us(5);
		buf = up_nic->ops->tx_buf(up_nic);
	}
	return buf;
}

static int uplink_send(struct sw_port *p, const struct sw_frame *f)
{
	static struct log_ratelimit full_rl = LOG_RATELIMIT_INIT(3);
	(void)p; /* one uplink */
	void *buf = f->len <= NIC_FRAME_MAX ? uplink_buf(f) : 0;
	if (!buf) {
		up_nic->tx_dropped++;
		if (f->from_hako && log_ratelimit_ok(&full_rl))
			log_warn("net: %s transmit ring full; frame dropped", up_nic->model);
		return -ENOBUFS;
	}
	iov_read(f->iov, f->niov, 0, buf, f->len);
	up_nic->ops->tx_commit(up_nic, f->len);
	up_nic->tx_frames++;
	return 0;
}

static int uplink_flush(struct sw_port *p)
{
	(void)p; /* one uplink */
	up_nic->ops->flush(up_nic);
	return 0;
}

static unsigned uplink_room(struct sw_port *p)
{
	(void)p; /* one uplink */
	return up_nic->ops->tx_room(up_nic);
}

static const struct sw_port_ops uplink_ops = {
	uplink_recv, uplink_recv_done, uplink_send, uplink_flush, uplink_room, 0,
};

/* See bridge.h. */
void bridge_set_uplink(struct nic *n)
{
	char err[96];
	up_nic = n;
	uplink_port = (struct sw_port){ .ops = &uplink_ops, .kind = SW_UPLINK };
	if (sw_port_add(&uplink_port, err, sizeof(err))) {
		log_err("net: %s cannot be the switch's uplink: %s", n->model, err);
		up_nic = 0;
		return;
	}
	bridge_guests_changed();
	guest_ports_set_uplink_link(bridge_uplink_up());
}

/* See bridge.h: there is an uplink and its link is up. */
int bridge_uplink_up(void)
{
	return up_nic && up_nic->ops->link_up(up_nic);
}

/* See bridge.h: net_poll saw the link change. */
void bridge_link_changed(int up)
{
	guest_ports_set_uplink_link(up_nic && up);
}

/* See bridge.h: promiscuous while any guest is bridged, and only then. */
void bridge_guests_changed(void)
{
	int want = sw_uplink_guests() > 0;
	if (!up_nic || want == up_nic->promisc)
		return;
	up_nic->ops->set_promisc(up_nic, want);
	up_nic->promisc = want;
	log_info("net: %s promiscuous mode %s (%s)", up_nic->model, want ? "on" : "off",
		 want ? "guests are bridged to it" : "no guest is bridged to it");
}

/*
 * The switch's round as a service poller: busy when it moved frames (or an
 * interrupt it throttled is still to come), so the service core still
 * halts when the network is idle; a guest's transmit notify wakes it
 * (vmm/net_attach.c), the NIC is looked at on every round and at least
 * every timer tick. lwIP's frames sent during the round (ACKs for what it
 * received) go out with the round's flush.
 */
static int bridge_poll(void)
{
	net_tx_hold();
	int n = sw_poll(time_us());
	net_tx_release();
	return n || sw_pending();
}
SERVICE_POLLER(bridge, bridge_poll);
