/*
 * drivers/net/nic.h - the interface between Ethernet NIC drivers and the
 * network (net/uplink.c makes the NIC the switch's uplink port).
 *
 * Drivers are polled from the service core: no interrupts. Frames stay in
 * the driver's own DMA buffers: a received frame is read where the device
 * put it (rx_peek) and its buffer handed back afterwards (rx_next); a frame
 * to send is written straight into the next transmit buffer (tx_buf,
 * tx_commit). So the switch copies each frame once, between the NIC's ring
 * and a guest's (or lwIP's) memory. The network works in batches: it takes
 * the frames waiting, queues what it has to send, then calls flush once.
 */
#ifndef HAKO_NIC_H
#define HAKO_NIC_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/pci/pci.h"

#define NIC_MTU 1500
#define NIC_FRAME_MAX 1518 /* with an 802.1Q tag, without the FCS (the hardware adds it) */

struct nic;

struct nic_ops {
	/* 1 when the link is up. */
	int (*link_up)(struct nic *n);
	/* The next received frame: its length, *frame pointing at it in the
	 * driver's buffer (valid until rx_next), or 0 when none is waiting.
	 * Frames the device marked bad or too long are skipped and counted. */
	int (*rx_peek)(struct nic *n, const void **frame);
	/* Done with the frame rx_peek gave: its buffer goes back to the
	 * device at the next flush. */
	void (*rx_next)(struct nic *n);
	/* The buffer for the next frame to send (NIC_FRAME_MAX bytes), or 0
	 * when the transmit ring is full. */
	void *(*tx_buf)(struct nic *n);
	/* Queues the `len` bytes written into tx_buf's buffer. The device may
	 * not see the frame before the next flush. */
	void (*tx_commit)(struct nic *n, size_t len);
	/* How many frames tx_buf can give now. */
	unsigned (*tx_room)(struct nic *n);
	/* Tells the device about the frames queued and the buffers returned
	 * since the last flush: one doorbell (an MMIO write, which costs a
	 * trip through the emulator or hypervisor) for a whole batch. */
	void (*flush)(struct nic *n);
	/* on: receive every frame on the wire (the uplink of guests'
	 * bridged NICs); off: only the NIC's own, broadcast and multicast. */
	void (*set_promisc)(struct nic *n, int on);
};

struct nic {
	const struct nic_ops *ops;
	const char *model; /* "virtio-net", "e1000", "e1000e" */
	struct pci_dev *pci;
	uint8_t mac[6];
	void *priv;
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
	int promisc;
	/* Receive interrupts taken (VEC_NIC_RX, shared by the NICs that raise
	 * it), or 0 when this NIC is only polled. */
	const uint64_t *rx_irqs;
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
