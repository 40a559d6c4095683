/*
 * net/net.h - hako's management network: one interface, driven by lwIP on
 * the service core (NO_SYS=1, raw API). Everything here runs only on the
 * service core, from service_poll().
 */
#ifndef HAKO_NET_H
#define HAKO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/net/nic.h"

struct net_status {
	const struct nic *nic; /* 0 when there is no usable NIC */
	const char *mode;      /* "dhcp", "static", "off" */
	int link;              /* 1 when the link is up */
	int configured;        /* 1 when the interface has an address */
	uint32_t ip, mask, gw; /* network byte order, as lwIP keeps them */
	uint32_t dns;          /* the DNS server host names are looked up at, or 0 */
	const char *dns_from;  /* "dns= in hako.cfg" or "DHCP" */
	char why[96];          /* when not configured: why not */
};

/* Fills `st`; usable before the network started (then not configured). */
void net_get_status(struct net_status *st);

/* "A.B.C.D" of a network-order address into buf (16 bytes). */
void net_ip_str(uint32_t ip, char *buf, size_t n);

/*
 * Frames lwIP sends between net_tx_hold() and net_tx_release() reach the
 * NIC with one flush at the release (one doorbell for a burst of
 * segments); outside a hold each frame is flushed at once. Holds nest.
 */
void net_tx_hold(void);
void net_tx_release(void);

/* How boot configures the management interface (from hako.cfg). */
struct net_config {
	const char *mode;      /* "dhcp" (also when 0), "static" or "off" */
	const char *nic;       /* nic=: a PCI address BB:DD.F or a MAC; 0: pick one */
	const char *ip, *gw;   /* net=static: "A.B.C.D/N" and "A.B.C.D" (gw may be 0) */
	const char *hostname;  /* for DHCP; 0: "hako" */
	const char *dns;       /* dns=: "A.B.C.D", the DNS server instead of DHCP's; 0: DHCP's */
	void (*started)(void); /* called once lwIP is up: services start listening */
};

/*
 * Configures the management network; it starts at the first net_poll()
 * (PCI scan, NIC choice, lwIP, DHCP or the static address). `c` and its
 * strings must stay valid. Call once, before the service loop.
 */
void net_init(const struct net_config *c);

/*
 * 1 while lwIP runs (input, timers) on the service core, so inside every
 * lwIP callback: code there must not wait by polling the service loop.
 */
int net_in_stack(void);

/* The benchmark's TCP source (net/netsrc.c): see netsrc_start() there. */
int netsrc_start(uint16_t port, uint64_t size);

#endif
