/*
 * net/switch.h - hako's Ethernet switch: one port per guest NIC, one for
 * hako's own network interface (lwIP), one for the physical NIC (the
 * uplink). Runs on the service core only. Portable: ports reach their
 * hardware through `struct sw_port_ops`, and the host unit tests plug in
 * fakes (tests/unit/test_switch.c).
 *
 * Segments. Every guest port belongs to one segment: the LAN it names
 * (`net=lan:NAME`, no uplink) or the uplink (`net=uplink`), each split
 * further by the guest's VLAN (`vlan=N`, 0 = untagged). hako's own port is
 * on the uplink, untagged. The uplink is a trunk: its frames carry an
 * 802.1Q tag for every VLAN but the untagged one, and the switch adds the
 * tag on the way out and takes it off on the way in (IEEE 802.1Q 9.6).
 * No frame ever crosses from one segment to another.
 *
 * Forwarding (IEEE 802.1D 7.7, 7.8), for a frame arriving on port P:
 *  - from a guest: dropped if longer than the MTU (1500 bytes of payload),
 *    if tagged (guest ports are access ports), or if its source MAC is not
 *    the guest's own (no spoofing);
 *  - from the uplink: the tag picks the segment; a VLAN no port is on
 *    drops the frame; the source MAC is learned (ageing: SW_AGEING_US);
 *  - a unicast destination known in the segment (a guest's or hako's MAC,
 *    or one learned on the uplink) gets the frame alone; an unknown one is
 *    flooded to the segment's guests and uplink, never to hako; a frame
 *    from hako to an unknown destination goes to the uplink alone, so
 *    hako's management and iSCSI traffic reaches no guest it is not
 *    addressed to;
 *  - broadcast and multicast reach every other port of the segment.
 * Offloads: a guest may send a frame whose TCP/UDP checksum is left
 * partial, or a TCP/IPv4 segment train of up to 64 KiB (virtio-net's
 * CSUM and HOST_TSO4). A port that takes such frames (a guest that
 * negotiated GUEST_CSUM, GUEST_TSO4) gets them as they are; for any other
 * (the uplink, hako, a guest without them) the switch fills the checksum
 * in and cuts the train into frames of the MTU (net/gso.c). A train that
 * is not well-formed TCP/IPv4, or whose segments would not fit the MTU, is
 * dropped like an oversized frame.
 * Each port may send at most SW_BUDGET frames per round (sw_poll), so a
 * flooding guest delays only itself, and guests may fill the uplink's
 * transmit ring only up to SW_UPLINK_RESERVE slots from full: the rest is
 * hako's own traffic's.
 */
#ifndef HAKO_SWITCH_H
#define HAKO_SWITCH_H

#include <stdint.h>

#include "vmm/core/lib/iov.h"

#define SW_PORTS_MAX 72                 /* 16 guests x 4 NICs, uplink, hako */
#define SW_IOV_MAX 64                   /* pieces of one frame */
#define SW_IOV_IN_MAX (SW_IOV_MAX - 3)  /* ... as a port hands it in: room for a header, a tag */
#define SW_MTU 1500
#define SW_ETH_HLEN 14
#define SW_FRAME_MAX (SW_MTU + SW_ETH_HLEN)     /* without FCS */
#define SW_TRAIN_MAX (65535 + SW_ETH_HLEN)      /* a segment train: one IPv4 datagram */
#define SW_BUDGET 64                    /* frames a port sends per round */
#define SW_AGEING_US (300ull * 1000000) /* 802.1Q default ageing time */
#define SW_FDB_BUCKETS 256              /* learned MACs: 4-way buckets */
#define SW_FDB_WAYS 4
#define SW_UPLINK_RESERVE 64            /* uplink ring slots kept for hako */
#define SW_NAME_MAX 32

#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

enum sw_kind { SW_UPLINK, SW_HAKO, SW_GUEST };

/* What a frame leaves to the receiver, in virtio-net's terms (5.1.6.2). */
#define SW_OFF_CSUM 1                   /* a port takes partial checksums */
#define SW_OFF_TSO4 2                   /* ... and TCP/IPv4 segment trains */
struct sw_offload {
	uint8_t csum;                   /* the sum from csum_start on goes at csum_start + csum_offset */
	uint8_t tso4;                   /* a train of gso_size-byte TCP segments (csum set too) */
	uint16_t csum_start, csum_offset, gso_size;
	uint16_t hdr_len;               /* set by the switch for a train: its headers' length */
};

/* A frame (destination MAC first, no FCS) as pieces of memory. */
struct sw_frame {
	struct iov iov[SW_IOV_MAX];
	unsigned niov;
	uint32_t len;
	uint8_t from_hako;              /* for the uplink's send: worth waiting for room */
	struct sw_offload off;          /* all zero but for a guest's offloaded frames */
};

struct sw_port;

struct sw_port_ops {
	/*
	 * The next frame the port sent into the switch: 1 and f filled, or 0
	 * when none is waiting. f's memory stays valid until recv_done. 0 for
	 * hako's port, which hands frames in with sw_input() as lwIP sends.
	 */
	int (*recv)(struct sw_port *p, struct sw_frame *f);
	void (*recv_done)(struct sw_port *p);
	/* Copies f out of the port. 0, or -ENOBUFS / -ENODEV (dropped). */
	int (*send)(struct sw_port *p, const struct sw_frame *f);
	/* End of a batch: doorbells, interrupts. Nonzero: something waits
	 * (a throttled interrupt): flush again at the next round. */
	int (*flush)(struct sw_port *p);
	/* Optional: how many more frames send can take now (uplink ring). */
	unsigned (*room)(struct sw_port *p);
	/* Optional: the SW_OFF_* frames send takes as they are; 0 when absent. */
	unsigned (*offloads)(struct sw_port *p);
};

struct sw_counters {
	uint64_t in_frames, in_bytes;   /* the port sent into the switch */
	uint64_t out_frames, out_bytes; /* the switch delivered to the port */
	uint64_t drop_spoof;            /* in: source MAC not the port's own */
	uint64_t drop_size;             /* in: shorter than a header, above the MTU, a bad train */
	uint64_t drop_tagged;           /* in: a guest sent an 802.1Q frame */
	uint64_t drop_vlan;             /* in (uplink): a VLAN no port is on */
	uint64_t drop_full;             /* out: the port had no room */
};

struct sw_port {
	/* filled by the port's owner before sw_port_add() */
	const struct sw_port_ops *ops;
	void *ctx;
	enum sw_kind kind;
	char owner[SW_NAME_MAX + 1];    /* guest name ("" for uplink and hako) */
	unsigned nic;                   /* the guest's NIC index: eth0 = 0 */
	uint8_t mac[6];                 /* guest, hako: the only source accepted */
	char lan[SW_NAME_MAX + 1];      /* guest: its LAN; "" = the uplink */
	uint16_t vlan;                  /* guest: 0 = untagged */
	/* the switch's */
	struct sw_counters c;
	int seg;                        /* segment index; -1 for the uplink (all) */
	uint8_t dirty;                  /* needs a flush */
};

/*
 * Attaches p (the switch keeps the pointer until sw_port_del). 0, or
 * -ENOSPC (no free port), -EEXIST (a second uplink or hako port, or p's
 * MAC already on p's segment) with a sentence in err. Service core.
 */
int sw_port_add(struct sw_port *p, char *err, unsigned errlen);
/* Detaches p and forgets what was learned through it. */
void sw_port_del(struct sw_port *p);

/*
 * Forwards one frame that arrived on `from` (see above). The frame's
 * memory is read only during the call. `now_us` stamps learned MACs.
 */
void sw_input(struct sw_port *from, const struct sw_frame *f, uint64_t now_us);
/*
 * One round: takes up to SW_BUDGET frames from each port that has any,
 * forwards them, ages the learned MACs, flushes. Returns how many frames
 * it took (0: the switch was idle). Calls nested in a round return 0.
 */
int sw_poll(uint64_t now_us);
/*
 * Flushes every port that received or sent since the last flush; returns
 * how many still wait to be flushed again (sw_pending() until then).
 */
unsigned sw_flush(void);
unsigned sw_pending(void);

/* Port i (0..) in attach order, or 0 past the last: for `net` and `stats`. */
struct sw_port *sw_port_at(unsigned i);
/* How many guest ports are on the uplink's segments (the NIC listens promiscuously while any is). */
unsigned sw_uplink_guests(void);
/* Learned MACs right now. */
unsigned sw_fdb_count(void);
/* Forgets every port and learned MAC (host unit tests). */
void sw_reset(void);

#endif
