/*
 * drivers/net/nic.h - the interface between Ethernet NIC drivers and the
 * network stack (net/netif.c).
 *
 * Drivers are polled from the service core: no interrupts. Frames cross
 * the interface by copy into and out of the driver's own DMA buffers, so
 * the stack never sees DMA memory and a driver never sees a pbuf. The
 * stack works in batches: it takes the frames waiting, queues what it
 * has to send, then calls flush once.
 */
#ifndef HAKO_NIC_H
#define HAKO_NIC_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/pci/pci.h"

#define NIC_MTU 1500
#define NIC_FRAME_MAX 1514 /* without the FCS, which the hardware adds */

struct nic;

struct nic_ops {
	/* 1 when the link is up. */
	int (*link_up)(struct nic *n);
	/* Queues one frame for sending; -EAGAIN when the ring is full. The
	 * device may not see it before the next flush. */
	int (*tx)(struct nic *n, const void *frame, size_t len);
	/* Copies the next received frame into buf (cap bytes); returns its
	 * length, 0 when none is waiting. Oversized frames are dropped. The
	 * buffer goes back to the device at the next flush. */
	int (*rx)(struct nic *n, void *buf, size_t cap);
	/* Tells the device about the frames queued and the buffers returned
	 * since the last flush: one doorbell (an MMIO write, which costs a
	 * trip through the emulator or hypervisor) for a whole batch. */
	void (*flush)(struct nic *n);
};

struct nic {
	const struct nic_ops *ops;
	const char *model; /* "virtio-net", "e1000", "e1000e" */
	struct pci_dev *pci;
	uint8_t mac[6];
	void *priv;
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
};

/* A driver: probe() returns 0 and fills `n` when it takes `d`. */
struct nic_driver {
	const char *name;
	int (*match)(const struct pci_dev *d);
	int (*probe)(struct pci_dev *d, struct nic *n);
};

extern const struct nic_driver virtio_net_driver;
extern const struct nic_driver e1000_driver;

#define NIC_MAX 4
extern struct nic nics[NIC_MAX];
extern unsigned nic_count;

/* Probes every PCI function against every driver; returns how many NICs. */
unsigned nic_probe_all(void);

#endif
