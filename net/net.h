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

/* 1 when `sh` is a network console session's shell. */
struct shell;
int console_is_network(const struct shell *sh);

/* Starts the TCP services (console, bench) once the stack is up. */
void console_start(void);

#endif
