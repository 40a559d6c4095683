/*
 * drivers/net/e1000.c - Intel 8254x/8257x gigabit Ethernet, polled: the
 * 82540EM (QEMU "e1000") and the 82574L (QEMU "e1000e"). Both keep the
 * 8254x legacy descriptor formats and the register offsets used here
 * (Intel PCI/PCI-X Family of GbE Controllers SDM rev 4.0 ch. 3 and 13;
 * 82574 GbE Controller Datasheet ch. 7 and 10).
 *
 * Receive and transmit rings of E1000_RING descriptors, each with a
 * 2 KiB buffer allocated once. Interrupts are masked; the service core
 * polls the descriptors' DD bits. The tail registers, which start the
 * hardware, are written once per flush rather than once per frame.
 * Promiscuous mode is RCTL.UPE and RCTL.MPE (8254x SDM 13.4.22); VLAN
 * filtering and tag stripping stay off (RCTL.VFE, CTRL.VME), so tagged
 * frames arrive and leave as they are on the wire.
 */
#include <stddef.h>

#include "drivers/net/nic.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/time.h"
#include "vmm/core/lib/x86.h"


#define INTEL_VENDOR 0x8086
#define DEV_82540EM 0x100e
#define DEV_82574L 0x10d3

#define E1000_CTRL 0x0000
#define  E1000_CTRL_ASDE (1u << 5)
#define  E1000_CTRL_SLU (1u << 6)
#define  E1000_CTRL_RST (1u << 26)
#define E1000_STATUS 0x0008
#define  E1000_STATUS_LU (1u << 1)
#define E1000_EERD 0x0014           /* EEPROM read: 8254x SDM 13.4.4, 82574 10.2.2.4 */
#define  E1000_EERD_START (1u << 0)
#define E1000_ICR 0x00c0
#define E1000_IMC 0x00d8
#define E1000_RCTL 0x0100
#define  E1000_RCTL_EN (1u << 1)
#define  E1000_RCTL_UPE (1u << 3)   /* unicast promiscuous */
#define  E1000_RCTL_MPE (1u << 4)   /* multicast promiscuous */
#define  E1000_RCTL_BAM (1u << 15)
#define  E1000_RCTL_SECRC (1u << 26) /* BSIZE 00 = 2048-byte buffers */
#define E1000_TCTL 0x0400
#define  E1000_TCTL_EN (1u << 1)
#define  E1000_TCTL_PSP (1u << 3)
#define  E1000_TCTL_CT (0x0fu << 4)
#define  E1000_TCTL_COLD (0x40u << 12)
#define E1000_TIPG 0x0410
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_MTA 0x5200
#define E1000_RAL0 0x5400
#define E1000_RAH0 0x5404
#define  E1000_RAH_AV (1u << 31)

struct e1000_rx_desc { /* 8254x SDM 3.2.3 */
	uint64_t addr;     /* 0x00 */
	uint16_t length;   /* 0x08 */
	uint16_t csum;     /* 0x0a */
	uint8_t status;    /* 0x0c */
	uint8_t errors;    /* 0x0d */
	uint16_t special;  /* 0x0e */
} __attribute__((packed));
CHECK_OFFSET(struct e1000_rx_desc, status, 0x0c);
#define E1000_RXD_DD (1u << 0)
#define E1000_RXD_EOP (1u << 1)

struct e1000_tx_desc { /* 8254x SDM 3.3.3, legacy */
	uint64_t addr;     /* 0x00 */
	uint16_t length;   /* 0x08 */
	uint8_t cso;       /* 0x0a */
	uint8_t cmd;       /* 0x0b */
	uint8_t status;    /* 0x0c */
	uint8_t css;       /* 0x0d */
	uint16_t special;  /* 0x0e */
} __attribute__((packed));
CHECK_OFFSET(struct e1000_tx_desc, cmd, 0x0b);
#define E1000_TXD_EOP (1u << 0)
#define E1000_TXD_IFCS (1u << 1)
#define E1000_TXD_RS (1u << 3)
#define E1000_TXD_DD (1u << 0)

#define E1000_RING 256 /* 4 KiB of descriptors; a multiple of 8 (RDLEN) */
#define E1000_BUF 2048

struct e1000 {
	volatile uint8_t *regs;
	volatile struct e1000_rx_desc *rx;
	volatile struct e1000_tx_desc *tx;
	uint8_t *rx_bufs, *tx_bufs;
	unsigned rx_next;   /* next descriptor to look at */
	unsigned tx_next;   /* next descriptor to fill */
	unsigned tx_clean;  /* oldest descriptor not yet known done */
	unsigned rdt, tdt;  /* tail values the hardware has been given */
};

static struct e1000 e1000s[NIC_MAX];
static unsigned e1000_count;

static uint32_t rd(struct e1000 *e, unsigned reg)
{
	return *(volatile uint32_t *)(e->regs + reg);
}

static void wr(struct e1000 *e, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(e->regs + reg) = v;
}

static int e1000_match(const struct pci_dev *d)
{
	return d->vendor == INTEL_VENDOR && (d->device == DEV_82540EM || d->device == DEV_82574L);
}

static int e1000_link_up(struct nic *n)
{
	return !!(rd(n->priv, E1000_STATUS) & E1000_STATUS_LU);
}

/* Gives the hardware the descriptors filled or returned since the last call. */
static void e1000_flush(struct nic *n)
{
	struct e1000 *e = n->priv;
	unsigned rdt = (e->rx_next + E1000_RING - 1) % E1000_RING;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* descriptors before the tails */
	if (e->tdt != e->tx_next)
		wr(e, E1000_TDT, e->tdt = e->tx_next);
	if (e->rdt != rdt)
		wr(e, E1000_RDT, e->rdt = rdt);
}

/* Moves tx_clean past the descriptors the hardware has sent. */
static void tx_reclaim(struct e1000 *e)
{
	while (e->tx_clean != e->tx_next && (e->tx[e->tx_clean].status & E1000_TXD_DD))
		e->tx_clean = (e->tx_clean + 1) % E1000_RING;
}

/* One slot stays empty so that a full ring differs from an empty one. */
static unsigned e1000_tx_room(struct nic *n)
{
	struct e1000 *e = n->priv;
	tx_reclaim(e);
	return (e->tx_clean + E1000_RING - e->tx_next - 1) % E1000_RING;
}

static void *e1000_tx_buf(struct nic *n)
{
	struct e1000 *e = n->priv;
	if (!e1000_tx_room(n)) {
		e1000_flush(n); /* the ring drains only once the hardware knows of it */
		return 0;
	}
	return e->tx_bufs + (size_t)e->tx_next * E1000_BUF;
}

static void e1000_tx_commit(struct nic *n, size_t len)
{
	struct e1000 *e = n->priv;
	volatile struct e1000_tx_desc *d = &e->tx[e->tx_next];
	d->length = (uint16_t)len;
	d->status = 0;
	d->cmd = E1000_TXD_EOP | E1000_TXD_IFCS | E1000_TXD_RS;
	e->tx_next = (e->tx_next + 1) % E1000_RING;
}

static int e1000_rx_peek(struct nic *n, const void **frame)
{
	struct e1000 *e = n->priv;
	for (;;) {
		volatile struct e1000_rx_desc *d = &e->rx[e->rx_next];
		if (!(d->status & E1000_RXD_DD))
			return 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* DD before the data */
		unsigned len = d->length;
		/* Frames spanning several buffers cannot happen with 2 KiB
		 * buffers and a 1522-byte maximum; drop them if they do. */
		if ((d->status & E1000_RXD_EOP) && !d->errors && len && len <= NIC_FRAME_MAX) {
			*frame = e->rx_bufs + (size_t)e->rx_next * E1000_BUF;
			return (int)len;
		}
		n->rx_dropped++;
		d->status = 0;
		e->rx_next = (e->rx_next + 1) % E1000_RING;
	}
}

/* The descriptor goes back at the next flush: the tail then points at the
 * one before rx_next, which software keeps so that a full ring differs
 * from an empty one (SDM 3.2.6). */
static void e1000_rx_next(struct nic *n)
{
	struct e1000 *e = n->priv;
	e->rx[e->rx_next].status = 0;
	e->rx_next = (e->rx_next + 1) % E1000_RING;
}

static void e1000_set_promisc(struct nic *n, int on)
{
	struct e1000 *e = n->priv;
	uint32_t r = rd(e, E1000_RCTL);
	wr(e, E1000_RCTL, on ? r | E1000_RCTL_UPE | E1000_RCTL_MPE
			     : r & ~(E1000_RCTL_UPE | E1000_RCTL_MPE));
}

static const struct nic_ops e1000_ops = {
	.link_up = e1000_link_up,
	.rx_peek = e1000_rx_peek,
	.rx_next = e1000_rx_next,
	.tx_buf = e1000_tx_buf,
	.tx_commit = e1000_tx_commit,
	.tx_room = e1000_tx_room,
	.flush = e1000_flush,
	.set_promisc = e1000_set_promisc,
};

static int rings_alloc(struct e1000 *e)
{
	uint64_t rx = page_alloc(0, PAGE_HAKO), tx = page_alloc(0, PAGE_HAKO);
	uint64_t rxb = page_alloc(7, PAGE_HAKO), txb = page_alloc(7, PAGE_HAKO); /* 512 KiB */
	if (!rx || !tx || !rxb || !txb)
		return -ENOMEM;
	e->rx = (volatile struct e1000_rx_desc *)rx;
	e->tx = (volatile struct e1000_tx_desc *)tx;
	e->rx_bufs = (uint8_t *)rxb;
	e->tx_bufs = (uint8_t *)txb;
	for (unsigned i = 0; i < E1000_RING; i++) {
		e->rx[i].addr = rxb + (uint64_t)i * E1000_BUF;
		e->tx[i].addr = txb + (uint64_t)i * E1000_BUF;
		e->tx[i].status = E1000_TXD_DD;
	}
	return 0;
}

static void rx_init(struct e1000 *e)
{
	wr(e, E1000_RDBAL, (uint32_t)(uint64_t)e->rx);
	wr(e, E1000_RDBAH, (uint32_t)((uint64_t)e->rx >> 32));
	wr(e, E1000_RDLEN, E1000_RING * sizeof(struct e1000_rx_desc));
	wr(e, E1000_RDH, 0);
	wr(e, E1000_RDT, e->rdt = E1000_RING - 1);
	for (unsigned i = 0; i < 128; i++)
		wr(e, E1000_MTA + 4 * i, 0);
	wr(e, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC);
}

static void tx_init(struct e1000 *e)
{
	wr(e, E1000_TDBAL, (uint32_t)(uint64_t)e->tx);
	wr(e, E1000_TDBAH, (uint32_t)((uint64_t)e->tx >> 32));
	wr(e, E1000_TDLEN, E1000_RING * sizeof(struct e1000_tx_desc));
	wr(e, E1000_TDH, 0);
	wr(e, E1000_TDT, 0);
	/* IPG values for IEEE 802.3 copper (8254x SDM 13.4.34). */
	wr(e, E1000_TIPG, 10 | 8 << 10 | 6 << 20);
	wr(e, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT | E1000_TCTL_COLD);
}

/*
 * EEPROM word `addr` through EERD. The 8254x puts the address at bit 8 and
 * DONE at bit 4, the 82574 the address at bit 2 and DONE at bit 1.
 */
static int eeprom_word(struct e1000 *e, int is_82574, unsigned addr, uint16_t *out)
{
	uint32_t done = is_82574 ? 1u << 1 : 1u << 4;
	wr(e, E1000_EERD, (addr << (is_82574 ? 2 : 8)) | E1000_EERD_START);
	for (int i = 0; i < 1000; i++) {
		uint32_t v = rd(e, E1000_EERD);
		if (v & done) {
			*out = (uint16_t)(v >> 16);
			return 0;
		}
		delay_us(10);
	}
	return -ETIMEDOUT;
}

/*
 * The MAC: receive address 0 as the hardware loaded it from its EEPROM at
 * reset; some models (Bochs's 82540EM) leave it empty after a software
 * reset, so then the EEPROM's words 0-2, written back into RAL0/RAH0 for
 * the receive filter (8254x SDM 5.6.1, 13.4.31).
 */
static int read_mac(struct e1000 *e, int is_82574, uint8_t mac[6])
{
	uint32_t lo = rd(e, E1000_RAL0), hi = rd(e, E1000_RAH0);
	if (!(hi & E1000_RAH_AV)) {
		uint16_t w[3];
		for (unsigned i = 0; i < 3; i++)
			if (eeprom_word(e, is_82574, i, &w[i]))
				return -ENODEV;
		lo = w[0] | (uint32_t)w[1] << 16;
		hi = w[2] | E1000_RAH_AV;
		wr(e, E1000_RAL0, lo);
		wr(e, E1000_RAH0, hi);
	}
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(lo >> (8 * i));
	mac[4] = (uint8_t)hi, mac[5] = (uint8_t)(hi >> 8);
	return (mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) ? -ENODEV : 0;
}

static int e1000_probe(struct pci_dev *d, struct nic *n)
{
	if (e1000_count == NIC_MAX || d->bar_is_io[0] || !d->bar[0])
		return -ENODEV;
	struct e1000 *e = &e1000s[e1000_count];
	memset(e, 0, sizeof(*e));
	e->regs = (volatile uint8_t *)d->bar[0];
	if (paging_map_mmio(d->bar[0], 128 * 1024))
		return -EINVAL;
	pci_enable(d, d->device == DEV_82574L ? "e1000e" : "e1000");
	wr(e, E1000_IMC, 0xffffffff);
	wr(e, E1000_CTRL, rd(e, E1000_CTRL) | E1000_CTRL_RST);
	delay_us(1000); /* reset completes within 1 us; give it a millisecond */
	for (int i = 0; i < 100 && (rd(e, E1000_CTRL) & E1000_CTRL_RST); i++)
		delay_us(1000);
	wr(e, E1000_IMC, 0xffffffff); /* reset unmasks nothing, but be sure */
	(void)rd(e, E1000_ICR);        /* reading ICR clears pending causes */
	int err = read_mac(e, d->device == DEV_82574L, n->mac);
	if (!err)
		err = rings_alloc(e);
	if (err)
		return err;
	wr(e, E1000_CTRL, rd(e, E1000_CTRL) | E1000_CTRL_SLU | E1000_CTRL_ASDE);
	rx_init(e);
	tx_init(e);
	n->ops = &e1000_ops;
	n->model = d->device == DEV_82574L ? "e1000e" : "e1000";
	n->priv = e;
	e1000_count++;
	return 0;
}

const struct nic_driver e1000_driver = { "e1000", e1000_match, e1000_probe };
