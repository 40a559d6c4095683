/*
 * net/bridge.h - hako's switch (net/switch.c) put to work on the service
 * core: its polling round as a service poller, the physical NIC as its
 * uplink port (net/bridge.c), the guests' NICs as ports (net/guest_port.c)
 * and hako's own interface as a port (net/netif.c).
 */
#ifndef HAKO_BRIDGE_H
#define HAKO_BRIDGE_H

#include "drivers/net/nic.h"
#include "net/switch.h"
#include "vmm/dev/virtio_net.h"

/* Makes `n` the uplink (once, when the network starts). */
void bridge_set_uplink(struct nic *n);
/* 1 when there is an uplink and its link is up. */
int bridge_uplink_up(void);
/* The uplink's link changed (net_poll watches it): guests' uplink NICs follow. */
void bridge_link_changed(int up);
/*
 * Guests joined or left the uplink's segments: the NIC listens
 * promiscuously while any guest is bridged to it, and only then.
 */
void bridge_guests_changed(void);

/* Registers the guest NICs' side with the VM core (vmm/net_attach.h). Boot. */
void guest_ports_init(void);
/* Every guest port on the uplink's segments gets the link state `up`. */
void guest_ports_set_uplink_link(int up);
/* The device behind a guest port (for `stats`), or 0 for other ports. */
const struct virtio_net_stats *guest_port_dev_stats(const struct sw_port *p);

#endif
